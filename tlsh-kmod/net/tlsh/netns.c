// SPDX-License-Identifier: GPL-2.0
/*
 * AF_TLSH per network namespace state: the listener slots and the
 * counters shown in /proc/net/tlsh, one "name value" pair per line:
 *
 *	requests	requests queued to an agent
 *	accepted	requests the agent accepted
 *	succeeded	reported success with kTLS installed
 *	failed		reported failure, agent gone, or success without kTLS
 *	failed_*	the same by reason (errno), failed_other for the rest
 *	timed_out	the kernel's timeout expired
 *	cancelled	the consumer withdrew the request
 *	no_agent	requests refused with ESRCH (not in "requests")
 *	alpn_none	succeeded, but the peer negotiated no ALPN
 *	requeued	requests an accept() took and gave back (it failed)
 *	in_flight	requests not yet ended
 *	queued		requests waiting for accept()
 *	listener_inet, listener_inet6	1 when an agent listens
 */

#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "internal.h"

static unsigned int tlsh_net_id __read_mostly;

static const char *const tlsh_stat_names[TLSH_NR_STATS] = {
	[TLSH_STAT_REQUESTS]		= "requests",
	[TLSH_STAT_ACCEPTED]		= "accepted",
	[TLSH_STAT_SUCCEEDED]		= "succeeded",
	[TLSH_STAT_FAILED]		= "failed",
#define TLSH_STAT_FAILED_NAME(e, name, by, what)			\
	[TLSH_STAT_FAILED_##e]		= "failed_" #name,
	TLSH_STATUS_TABLE(TLSH_STAT_FAILED_NAME)
#undef TLSH_STAT_FAILED_NAME
	[TLSH_STAT_FAILED_OTHER]	= "failed_other",
	[TLSH_STAT_TIMED_OUT]		= "timed_out",
	[TLSH_STAT_CANCELLED]		= "cancelled",
	[TLSH_STAT_NO_AGENT]		= "no_agent",
	[TLSH_STAT_ALPN_NONE]		= "alpn_none",
	[TLSH_STAT_REQUEUED]		= "requeued",
};

struct tlsh_net *tlsh_pernet(struct net *net)
{
	return net_generic(net, tlsh_net_id);
}

int tlsh_family_slot(int family)
{
	switch (family) {
	case AF_INET:
		return TLSH_SLOT_INET;
	case AF_INET6:
		return TLSH_SLOT_INET6;
	default:
		return -1;
	}
}

void tlsh_stat_inc(struct tlsh_net *tn, enum tlsh_stat item)
{
	atomic_long_inc(&tn->tn_stats[item]);
}

static int tlsh_stats_show(struct seq_file *seq, void *v)
{
	struct tlsh_net *tn = tlsh_pernet(seq_file_single_net(seq));
	long val[TLSH_NR_STATS], ended;
	unsigned int queued = 0;
	bool listening[TLSH_NR_SLOTS];
	int i;

	for (i = 0; i < TLSH_NR_STATS; i++)
		val[i] = atomic_long_read(&tn->tn_stats[i]);
	spin_lock(&tlsh_lock);
	for (i = 0; i < TLSH_NR_SLOTS; i++) {
		listening[i] = tn->tn_listener[i] &&
			       tn->tn_listener[i]->ts_listening;
		if (tn->tn_listener[i])
			queued += tn->tn_listener[i]->ts_qlen;
	}
	spin_unlock(&tlsh_lock);

	for (i = 0; i < TLSH_NR_STATS; i++)
		seq_printf(seq, "%s %ld\n", tlsh_stat_names[i], val[i]);
	ended = val[TLSH_STAT_SUCCEEDED] + val[TLSH_STAT_FAILED] +
		val[TLSH_STAT_TIMED_OUT] + val[TLSH_STAT_CANCELLED];
	seq_printf(seq, "in_flight %ld\n", val[TLSH_STAT_REQUESTS] - ended);
	seq_printf(seq, "queued %u\n", queued);
	seq_printf(seq, "listener_inet %d\n", listening[TLSH_SLOT_INET]);
	seq_printf(seq, "listener_inet6 %d\n", listening[TLSH_SLOT_INET6]);
	return 0;
}

static int __net_init tlsh_net_init(struct net *net)
{
	if (!proc_create_net_single("tlsh", 0444, net->proc_net,
				    tlsh_stats_show, NULL))
		return -ENOMEM;
	return 0;
}

static void __net_exit tlsh_net_exit(struct net *net)
{
	struct tlsh_net *tn = tlsh_pernet(net);
	int i;

	/* A listener holds a reference on its namespace. */
	for (i = 0; i < TLSH_NR_SLOTS; i++)
		WARN_ON_ONCE(tn->tn_listener[i]);
	remove_proc_entry("tlsh", net->proc_net);
}

static struct pernet_operations tlsh_net_ops = {
	.init	= tlsh_net_init,
	.exit	= tlsh_net_exit,
	.id	= &tlsh_net_id,
	.size	= sizeof(struct tlsh_net),
};

int tlsh_netns_init(void)
{
	return register_pernet_subsys(&tlsh_net_ops);
}

void tlsh_netns_exit(void)
{
	unregister_pernet_subsys(&tlsh_net_ops);
}
