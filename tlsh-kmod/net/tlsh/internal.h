/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AF_TLSH internals shared by the files of net/tlsh.
 *
 * Locking: one spinlock, tlsh_lock, guards every listener slot, every
 * listener's queues, the request hash and each request's state.  All
 * callers run in process context.  A request's ta_done callback is always
 * called with no lock held.
 */
#ifndef _NET_TLSH_INTERNAL_H
#define _NET_TLSH_INTERNAL_H

#include <linux/list.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/tlsh.h>
#include <net/sock.h>
#include <net/tlsh.h>

/* Listener slots per namespace: one per address family */
enum {
	TLSH_SLOT_INET,
	TLSH_SLOT_INET6,
	TLSH_NR_SLOTS,
};

/* Counters in /proc/net/tlsh; keep tlsh_stat_names[] in step.  One
 * failed_NAME counter per entry of TLSH_STATUS_TABLE (uapi/linux/tlsh.h),
 * in its order.
 */
#define TLSH_STAT_FAILED_ENUM(e, name, by, what)	TLSH_STAT_FAILED_##e,
enum tlsh_stat {
	TLSH_STAT_REQUESTS,
	TLSH_STAT_ACCEPTED,
	TLSH_STAT_SUCCEEDED,
	TLSH_STAT_FAILED,
	TLSH_STATUS_TABLE(TLSH_STAT_FAILED_ENUM)
	TLSH_STAT_FAILED_OTHER,
	TLSH_STAT_TIMED_OUT,
	TLSH_STAT_CANCELLED,
	TLSH_STAT_NO_AGENT,
	TLSH_STAT_ALPN_NONE,
	TLSH_STAT_REQUEUED,
	TLSH_NR_STATS,
};

#undef TLSH_STAT_FAILED_ENUM
#define TLSH_STAT_FAILED_FIRST	(TLSH_STAT_FAILED + 1)

struct tlsh_net {
	struct tlsh_sock	*tn_listener[TLSH_NR_SLOTS];
	atomic_long_t		tn_stats[TLSH_NR_STATS];
};

/* An AF_TLSH socket: the agent's listener */
struct tlsh_sock {
	struct sock		ts_sk;		/* first */
	int			ts_slot;	/* -1 until bound */
	bool			ts_listening;
	unsigned int		ts_qlen;
	struct list_head	ts_queue;	/* QUEUED, oldest first */
	struct list_head	ts_accepted;	/* ACCEPTED */
};

static inline struct tlsh_sock *tlsh_sk(const struct sock *sk)
{
	return container_of(sk, struct tlsh_sock, ts_sk);
}

enum tlsh_req_state {
	TLSH_REQ_QUEUED,
	TLSH_REQ_ACCEPTED,
	TLSH_REQ_DONE,
};

/* How a request ended */
enum tlsh_end {
	TLSH_END_REPORT,
	TLSH_END_TIMEOUT,
	TLSH_END_CANCEL,
	TLSH_END_AGENT_GONE,
};

struct tlsh_req {
	struct hlist_node	tr_hash;	/* tlsh_reqs, keyed by tr_sock */
	struct list_head	tr_list;	/* listener queue or accepted */
	refcount_t		tr_ref;
	enum tlsh_req_state	tr_state;
	u64			tr_id;
	struct tlsh_net		*tr_tn;
	struct tlsh_sock	*tr_listener;	/* valid until DONE */
	struct socket		*tr_sock;
	struct file		*tr_file;	/* reference held */
	tlsh_done_t		tr_done;
	void			*tr_data;
	struct delayed_work	tr_timeout;

	/* parameters, read by the agent with getsockopt(SOL_TLSH) */
	u32			tr_type;
	u32			tr_flags;
	u32			tr_timeout_ms;
	key_serial_t		tr_keyring;
	key_serial_t		tr_x509_cert;
	key_serial_t		tr_privkey;
	unsigned int		tr_num_psk_ids;
	key_serial_t		tr_psk_ids[TLSH_PSK_IDS_MAX];
	char			*tr_peername;
	char			*tr_priorities;

	/* outcome details the agent reported before TLSH_RESULT */
	char			tr_anchor[TLSH_ANCHOR_MAX];
	char			*tr_anchor_out;	/* the consumer's buffer */
	size_t			tr_anchor_out_len;
};

extern spinlock_t tlsh_lock;

/* netns.c */
int tlsh_netns_init(void);
void tlsh_netns_exit(void);
struct tlsh_net *tlsh_pernet(struct net *net);
int tlsh_family_slot(int family);
void tlsh_stat_inc(struct tlsh_net *tn, enum tlsh_stat item);

/* req.c */
int tlsh_req_init(void);
void tlsh_req_exit(void);
int tlsh_req_submit(u32 type, const struct tlsh_args *args);
bool tlsh_req_cancel(struct socket *sock);
struct file *tlsh_req_accept(struct tlsh_sock *tsk);
void tlsh_req_unaccept(struct tlsh_sock *tsk, struct file *file);
void tlsh_req_set_anchor(struct tlsh_req *req, const char *anchor);
struct tlsh_req *tlsh_req_lookup(struct socket *sock);
int tlsh_req_report(struct tlsh_req *req, int status, key_serial_t peerid);
void tlsh_req_listener_gone(struct tlsh_sock *tsk);
void tlsh_req_put(struct tlsh_req *req);

/* af_tlsh.c */
int tlsh_af_init(void);
void tlsh_af_exit(void);

/* sockopt.c */
void tlsh_sockopt_init(void);
void tlsh_sockopt_exit(void);

#endif /* _NET_TLSH_INTERNAL_H */
