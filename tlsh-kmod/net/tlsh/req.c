// SPDX-License-Identifier: GPL-2.0
/*
 * AF_TLSH request lifecycle: submit, accept, report, timeout, cancel,
 * listener gone.
 *
 * A request is QUEUED on its listener, then ACCEPTED by the agent, then
 * DONE.  Whoever moves it to DONE under tlsh_lock (the agent's report, the
 * timeout, the consumer's cancel, or the listener's release) owns its
 * completion: it stops the timer, counts the outcome, calls ta_done
 * (except for a cancel) and drops the "live" reference.
 *
 * References: one for being live (until DONE), one for the pending timer,
 * and short ones taken by tlsh_req_lookup().  Each request also pins the
 * consumer's file and this module.
 */

#include <linux/file.h>
#include <linux/hashtable.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/inet_connection_sock.h>
#include <net/tls.h>

#include "internal.h"
#include "trace.h"

/* Most requests waiting for accept() on one listener */
#define TLSH_QUEUE_MAX	1024

DEFINE_SPINLOCK(tlsh_lock);
static DEFINE_HASHTABLE(tlsh_reqs, 8);
static struct workqueue_struct *tlsh_wq;
static atomic64_t tlsh_next_id = ATOMIC64_INIT(0);

static void tlsh_req_free(struct tlsh_req *req)
{
	fput(req->tr_file);
	kfree(req->tr_peername);
	kfree(req->tr_priorities);
	kfree(req);
	module_put(THIS_MODULE);
}

void tlsh_req_put(struct tlsh_req *req)
{
	if (refcount_dec_and_test(&req->tr_ref))
		tlsh_req_free(req);
}

/* The live request on @sock, if any.  Caller holds tlsh_lock. */
static struct tlsh_req *tlsh_req_find_locked(struct socket *sock)
{
	struct tlsh_req *req;

	hash_for_each_possible(tlsh_reqs, req, tr_hash, (unsigned long)sock)
		if (req->tr_sock == sock)
			return req;
	return NULL;
}

/* Move @req to DONE; true if the caller now owns its completion. */
static bool tlsh_req_claim_locked(struct tlsh_req *req)
{
	if (req->tr_state == TLSH_REQ_DONE)
		return false;
	if (req->tr_state == TLSH_REQ_QUEUED)
		req->tr_listener->ts_qlen--;
	list_del_init(&req->tr_list);
	hash_del(&req->tr_hash);
	req->tr_state = TLSH_REQ_DONE;
	return true;
}

/* The errno of each failed_NAME counter, in the counters' order */
#define TLSH_STATUS_ERRNO(e, name, by, what)	e,
static const int tlsh_status_errno[] = {
	TLSH_STATUS_TABLE(TLSH_STATUS_ERRNO)
};

#undef TLSH_STATUS_ERRNO

static void tlsh_req_count(struct tlsh_req *req, enum tlsh_end end,
			   int status)
{
	struct tlsh_net *tn = req->tr_tn;
	enum tlsh_stat reason;
	unsigned int i;

	switch (end) {
	case TLSH_END_TIMEOUT:
		tlsh_stat_inc(tn, TLSH_STAT_TIMED_OUT);
		return;
	case TLSH_END_CANCEL:
		tlsh_stat_inc(tn, TLSH_STAT_CANCELLED);
		return;
	default:
		break;
	}
	if (!status) {
		tlsh_stat_inc(tn, TLSH_STAT_SUCCEEDED);
		return;
	}
	reason = TLSH_STAT_FAILED_OTHER;
	for (i = 0; i < ARRAY_SIZE(tlsh_status_errno); i++) {
		if (status == -tlsh_status_errno[i]) {
			reason = TLSH_STAT_FAILED_FIRST + i;
			break;
		}
	}
	tlsh_stat_inc(tn, TLSH_STAT_FAILED);
	tlsh_stat_inc(tn, reason);
}

/* Complete a request that the caller claimed.  No lock held. */
static void tlsh_req_finish(struct tlsh_req *req, enum tlsh_end end,
			    int status, key_serial_t peerid)
{
	if (cancel_delayed_work(&req->tr_timeout))
		tlsh_req_put(req);	/* the timer's reference */
	tlsh_req_count(req, end, status);
	if (end == TLSH_END_CANCEL) {
		trace_tlsh_cancelled(req);
	} else {
		if (req->tr_anchor_out)
			strscpy(req->tr_anchor_out, status ? "" : req->tr_anchor,
				req->tr_anchor_out_len);
		if (end == TLSH_END_TIMEOUT)
			trace_tlsh_timed_out(req);
		trace_tlsh_done(req, status, peerid);
		req->tr_done(req->tr_data, status, peerid);
	}
	tlsh_req_put(req);		/* the live reference */
}

static void tlsh_req_timeout(struct work_struct *work)
{
	struct tlsh_req *req = container_of(to_delayed_work(work),
					    struct tlsh_req, tr_timeout);
	bool mine;

	spin_lock(&tlsh_lock);
	mine = tlsh_req_claim_locked(req);
	spin_unlock(&tlsh_lock);
	if (mine)
		tlsh_req_finish(req, TLSH_END_TIMEOUT, -ETIMEDOUT, 0);
	tlsh_req_put(req);		/* the timer's reference */
}

static struct tlsh_req *tlsh_req_alloc(u32 type, const struct tlsh_args *args)
{
	struct tlsh_req *req;

	req = kzalloc(sizeof(*req), GFP_KERNEL);
	if (!req)
		return NULL;
	if (args->ta_peername) {
		req->tr_peername = kstrdup(args->ta_peername, GFP_KERNEL);
		if (!req->tr_peername)
			goto err;
	}
	if (args->ta_priorities) {
		req->tr_priorities = kstrdup(args->ta_priorities, GFP_KERNEL);
		if (!req->tr_priorities)
			goto err;
	}
	INIT_HLIST_NODE(&req->tr_hash);
	INIT_LIST_HEAD(&req->tr_list);
	INIT_DELAYED_WORK(&req->tr_timeout, tlsh_req_timeout);
	req->tr_sock = args->ta_sock;
	req->tr_done = args->ta_done;
	req->tr_data = args->ta_data;
	req->tr_type = type;
	req->tr_flags = args->ta_flags;
	req->tr_timeout_ms = args->ta_timeout_ms ?: TLSH_DEFAULT_TIMEOUT_MS;
	req->tr_keyring = args->ta_keyring;
	req->tr_x509_cert = args->ta_x509_cert;
	req->tr_privkey = args->ta_privkey;
	req->tr_num_psk_ids = args->ta_num_psk_ids;
	if (args->ta_peer_anchor && args->ta_peer_anchor_len) {
		req->tr_anchor_out = args->ta_peer_anchor;
		req->tr_anchor_out_len = args->ta_peer_anchor_len;
	}
	if (args->ta_num_psk_ids)
		memcpy(req->tr_psk_ids, args->ta_psk_ids,
		       args->ta_num_psk_ids * sizeof(key_serial_t));
	return req;
err:
	kfree(req->tr_peername);
	kfree(req);
	return NULL;
}

/* Arguments were checked by the caller (api.c). */
int tlsh_req_submit(u32 type, const struct tlsh_args *args)
{
	struct sock *sk = args->ta_sock->sk;
	int family = sk->sk_family;
	struct tlsh_net *tn = tlsh_pernet(sock_net(sk));
	int slot = tlsh_family_slot(family);
	struct tlsh_sock *tsk;
	struct tlsh_req *req;
	int err = 0;

	req = tlsh_req_alloc(type, args);
	if (!req)
		return -ENOMEM;
	req->tr_tn = tn;

	spin_lock(&tlsh_lock);
	tsk = tn->tn_listener[slot];
	if (!tsk || !tsk->ts_listening)
		err = -ESRCH;
	else if (tlsh_req_find_locked(req->tr_sock))
		err = -EBUSY;
	else if (tsk->ts_qlen >= TLSH_QUEUE_MAX)
		err = -EBUSY;
	if (err) {
		spin_unlock(&tlsh_lock);
		if (err == -ESRCH) {
			tlsh_stat_inc(tn, TLSH_STAT_NO_AGENT);
			trace_tlsh_no_agent(type, family);
		}
		kfree(req->tr_peername);
		kfree(req->tr_priorities);
		kfree(req);
		return err;
	}
	__module_get(THIS_MODULE);
	req->tr_file = get_file(req->tr_sock->file);
	req->tr_id = atomic64_inc_return(&tlsh_next_id);
	req->tr_listener = tsk;
	req->tr_state = TLSH_REQ_QUEUED;
	refcount_set(&req->tr_ref, 2);	/* live + timer */
	hash_add(tlsh_reqs, &req->tr_hash, (unsigned long)req->tr_sock);
	list_add_tail(&req->tr_list, &tsk->ts_queue);
	tsk->ts_qlen++;
	queue_delayed_work(tlsh_wq, &req->tr_timeout,
			   msecs_to_jiffies(req->tr_timeout_ms));
	tlsh_stat_inc(tn, TLSH_STAT_REQUESTS);
	trace_tlsh_queued(req, family);
	tsk->ts_sk.sk_data_ready(&tsk->ts_sk);
	spin_unlock(&tlsh_lock);
	return 0;
}

bool tlsh_req_cancel(struct socket *sock)
{
	struct tlsh_req *req;
	bool mine = false;

	spin_lock(&tlsh_lock);
	req = tlsh_req_find_locked(sock);
	if (req)
		mine = tlsh_req_claim_locked(req);
	spin_unlock(&tlsh_lock);
	if (mine)
		tlsh_req_finish(req, TLSH_END_CANCEL, -ECANCELED, 0);
	return mine;
}

/* Hand the oldest queued request to the agent: a new reference on its file. */
struct file *tlsh_req_accept(struct tlsh_sock *tsk)
{
	struct tlsh_req *req;
	struct file *file = NULL;

	spin_lock(&tlsh_lock);
	req = list_first_entry_or_null(&tsk->ts_queue, struct tlsh_req,
				       tr_list);
	if (req) {
		list_move_tail(&req->tr_list, &tsk->ts_accepted);
		tsk->ts_qlen--;
		req->tr_state = TLSH_REQ_ACCEPTED;
		file = get_file(req->tr_file);
		tlsh_stat_inc(req->tr_tn, TLSH_STAT_ACCEPTED);
		trace_tlsh_accepted(req);
	}
	spin_unlock(&tlsh_lock);
	return file;
}

/* accept() failed after tlsh_req_accept() handed out @file (copying the
 * peer address, say): give its request back to the head of the queue,
 * for the next accept(), rather than leave it with nobody until its
 * timeout.
 */
void tlsh_req_unaccept(struct tlsh_sock *tsk, struct file *file)
{
	struct socket *sock = sock_from_file(file);
	struct tlsh_req *req;

	if (!sock)
		return;
	spin_lock(&tlsh_lock);
	req = tlsh_req_find_locked(sock);
	if (req && req->tr_state == TLSH_REQ_ACCEPTED &&
	    req->tr_listener == tsk && tsk->ts_listening) {
		list_move(&req->tr_list, &tsk->ts_queue);
		tsk->ts_qlen++;
		req->tr_state = TLSH_REQ_QUEUED;
		tlsh_stat_inc(req->tr_tn, TLSH_STAT_REQUEUED);
		trace_tlsh_queued(req, sock->sk->sk_family);
		tsk->ts_sk.sk_data_ready(&tsk->ts_sk);
	}
	spin_unlock(&tlsh_lock);
}

/* TLSH_PEER_ANCHOR: @anchor is NUL-terminated, cut to TLSH_ANCHOR_MAX */
void tlsh_req_set_anchor(struct tlsh_req *req, const char *anchor)
{
	spin_lock(&tlsh_lock);
	strscpy(req->tr_anchor, anchor, sizeof(req->tr_anchor));
	spin_unlock(&tlsh_lock);
}

/* The accepted request on @sock, with a reference; NULL if none. */
struct tlsh_req *tlsh_req_lookup(struct socket *sock)
{
	struct tlsh_req *req;

	spin_lock(&tlsh_lock);
	req = tlsh_req_find_locked(sock);
	if (req && req->tr_state == TLSH_REQ_ACCEPTED)
		refcount_inc(&req->tr_ref);
	else
		req = NULL;
	spin_unlock(&tlsh_lock);
	return req;
}

/* Both directions of kTLS installed on @sk? */
static bool tlsh_ktls_ready(struct sock *sk)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);
	struct tls_context *ctx;
	bool ready = false;

	lock_sock(sk);
	if (icsk->icsk_ulp_ops && !strcmp(icsk->icsk_ulp_ops->name, "tls")) {
		ctx = tls_get_ctx(sk);
		ready = ctx && ctx->tx_conf != TLS_BASE &&
			ctx->rx_conf != TLS_BASE;
	}
	release_sock(sk);
	return ready;
}

/* The agent's report: @status is 0 or a negative errno.  A success report
 * without kTLS TX and RX fails the request with -EPROTO, and says so.
 */
int tlsh_req_report(struct tlsh_req *req, int status, key_serial_t peerid)
{
	int ret = 0;
	bool mine;

	if (!status && !tlsh_ktls_ready(req->tr_sock->sk)) {
		status = -EPROTO;
		ret = -EPROTO;
	}
	if (status)
		peerid = 0;
	spin_lock(&tlsh_lock);
	mine = tlsh_req_claim_locked(req);
	spin_unlock(&tlsh_lock);
	if (!mine)
		return -ENOENT;
	trace_tlsh_report(req, status, peerid);
	tlsh_req_finish(req, TLSH_END_REPORT, status, peerid);
	return ret;
}

/* @tsk no longer listens: fail everything it queued or accepted. */
void tlsh_req_listener_gone(struct tlsh_sock *tsk)
{
	struct tlsh_req *req, *tmp;
	LIST_HEAD(gone);

	spin_lock(&tlsh_lock);
	list_splice_init(&tsk->ts_queue, &gone);
	list_splice_tail_init(&tsk->ts_accepted, &gone);
	tsk->ts_qlen = 0;
	list_for_each_entry(req, &gone, tr_list) {
		hash_del(&req->tr_hash);
		req->tr_state = TLSH_REQ_DONE;
	}
	spin_unlock(&tlsh_lock);

	list_for_each_entry_safe(req, tmp, &gone, tr_list) {
		list_del_init(&req->tr_list);
		tlsh_req_finish(req, TLSH_END_AGENT_GONE, -EPIPE, 0);
	}
}

int tlsh_req_init(void)
{
	tlsh_wq = alloc_workqueue("tlsh", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	return tlsh_wq ? 0 : -ENOMEM;
}

void tlsh_req_exit(void)
{
	/* Every request pinned the module: none is left, but a timer
	 * callback may still be returning from its last put.
	 */
	destroy_workqueue(tlsh_wq);
}
