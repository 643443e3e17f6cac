// SPDX-License-Identifier: GPL-2.0
/*
 * The AF_TLSH address family: the agent's listener.
 *
 * socket(AF_TLSH, SOCK_STREAM, 0), bind() to AF_INET or AF_INET6 (one
 * listener per family per network namespace, CAP_NET_ADMIN in that
 * namespace), listen(), then poll() and accept().  accept() returns a new
 * fd for the consumer's own TCP socket file (proto_ops.accept_file); an
 * accept() that fails after that gives the request back to the queue
 * (accept_file_undo).  Releasing the listener fails every request it still
 * holds with -EPIPE.
 */

#include <linux/capability.h>
#include <linux/file.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "internal.h"

static struct proto tlsh_proto = {
	.name		= "TLSH",
	.owner		= THIS_MODULE,
	.obj_size	= sizeof(struct tlsh_sock),
};

static int tlsh_release(struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct tlsh_sock *tsk;
	struct tlsh_net *tn;

	if (!sk)
		return 0;
	tsk = tlsh_sk(sk);
	tn = tlsh_pernet(sock_net(sk));

	spin_lock(&tlsh_lock);
	if (tsk->ts_slot >= 0 && tn->tn_listener[tsk->ts_slot] == tsk)
		tn->tn_listener[tsk->ts_slot] = NULL;
	tsk->ts_listening = false;
	spin_unlock(&tlsh_lock);

	tlsh_req_listener_gone(tsk);

	sock_orphan(sk);
	sock->sk = NULL;
	sock_put(sk);
	return 0;
}

static int tlsh_bind(struct socket *sock, struct sockaddr *uaddr, int len)
{
	struct sockaddr_tlsh *sa = (struct sockaddr_tlsh *)uaddr;
	struct sock *sk = sock->sk;
	struct tlsh_sock *tsk = tlsh_sk(sk);
	struct net *net = sock_net(sk);
	struct tlsh_net *tn = tlsh_pernet(net);
	int slot, err = 0;

	if (len < (int)sizeof(*sa))
		return -EINVAL;
	if (sa->tlsh_sa_family != AF_TLSH)
		return -EAFNOSUPPORT;
	if (sa->tlsh_reserved)
		return -EINVAL;
	slot = tlsh_family_slot(sa->tlsh_family);
	if (slot < 0)
		return -EAFNOSUPPORT;
	if (!ns_capable(net->user_ns, CAP_NET_ADMIN))
		return -EPERM;

	spin_lock(&tlsh_lock);
	if (tsk->ts_slot >= 0) {
		err = -EINVAL;
	} else if (tn->tn_listener[slot]) {
		err = -EADDRINUSE;
	} else {
		tn->tn_listener[slot] = tsk;
		tsk->ts_slot = slot;
	}
	spin_unlock(&tlsh_lock);
	return err;
}

/* The backlog is not used: the queue is bounded by TLSH_QUEUE_MAX. */
static int tlsh_listen(struct socket *sock, int backlog)
{
	struct tlsh_sock *tsk = tlsh_sk(sock->sk);
	int err = 0;

	spin_lock(&tlsh_lock);
	if (tsk->ts_slot < 0) {
		err = -EDESTADDRREQ;
	} else {
		tsk->ts_listening = true;
		sock->sk->sk_state = TCP_LISTEN;
	}
	spin_unlock(&tlsh_lock);
	return err;
}

static struct file *tlsh_accept_file(struct socket *sock, int flags)
{
	struct sock *sk = sock->sk;
	struct tlsh_sock *tsk = tlsh_sk(sk);
	long timeo = sock_rcvtimeo(sk, flags & O_NONBLOCK);
	struct file *file;
	long ret;

	if (!READ_ONCE(tsk->ts_listening))
		return ERR_PTR(-EINVAL);
	for (;;) {
		file = tlsh_req_accept(tsk);
		if (file)
			return file;
		if (!timeo)
			return ERR_PTR(-EAGAIN);
		ret = wait_event_interruptible_timeout(*sk_sleep(sk),
						       READ_ONCE(tsk->ts_qlen),
						       timeo);
		if (ret < 0)
			return ERR_PTR(sock_intr_errno(timeo));
		if (!ret)
			return ERR_PTR(-EAGAIN);
		timeo = ret;
	}
}

/* accept() failed after tlsh_accept_file() handed out @file */
static void tlsh_accept_file_undo(struct socket *sock, struct file *file)
{
	tlsh_req_unaccept(tlsh_sk(sock->sk), file);
}

static int tlsh_getname(struct socket *sock, struct sockaddr *addr, int peer)
{
	struct sockaddr_tlsh *sa = (struct sockaddr_tlsh *)addr;
	struct tlsh_sock *tsk = tlsh_sk(sock->sk);

	if (peer)
		return -EOPNOTSUPP;
	memset(sa, 0, sizeof(*sa));
	sa->tlsh_sa_family = AF_TLSH;
	switch (READ_ONCE(tsk->ts_slot)) {
	case TLSH_SLOT_INET:
		sa->tlsh_family = AF_INET;
		break;
	case TLSH_SLOT_INET6:
		sa->tlsh_family = AF_INET6;
		break;
	}
	return sizeof(*sa);
}

static __poll_t tlsh_poll(struct file *file, struct socket *sock,
			  poll_table *wait)
{
	struct tlsh_sock *tsk = tlsh_sk(sock->sk);

	sock_poll_wait(file, sock, wait);
	return READ_ONCE(tsk->ts_qlen) ? EPOLLIN | EPOLLRDNORM : 0;
}

static const struct proto_ops tlsh_ops = {
	.family		= PF_TLSH,
	.owner		= THIS_MODULE,
	.release	= tlsh_release,
	.bind		= tlsh_bind,
	.connect	= sock_no_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.accept_file	= tlsh_accept_file,
	.accept_file_undo = tlsh_accept_file_undo,
	.getname	= tlsh_getname,
	.poll		= tlsh_poll,
	.ioctl		= sock_no_ioctl,
	.listen		= tlsh_listen,
	.shutdown	= sock_no_shutdown,
	.sendmsg	= sock_no_sendmsg,
	.recvmsg	= sock_no_recvmsg,
	.mmap		= sock_no_mmap,
	.sendpage	= sock_no_sendpage,
};

static int tlsh_create(struct net *net, struct socket *sock, int protocol,
		       int kern)
{
	struct tlsh_sock *tsk;
	struct sock *sk;

	if (sock->type != SOCK_STREAM)
		return -ESOCKTNOSUPPORT;
	if (protocol)
		return -EPROTONOSUPPORT;
	sk = sk_alloc(net, PF_TLSH, GFP_KERNEL, &tlsh_proto, kern);
	if (!sk)
		return -ENOMEM;
	sock->ops = &tlsh_ops;
	sock_init_data(sock, sk);
	tsk = tlsh_sk(sk);
	tsk->ts_slot = -1;
	INIT_LIST_HEAD(&tsk->ts_queue);
	INIT_LIST_HEAD(&tsk->ts_accepted);
	return 0;
}

static const struct net_proto_family tlsh_family = {
	.family	= PF_TLSH,
	.create	= tlsh_create,
	.owner	= THIS_MODULE,
};

int tlsh_af_init(void)
{
	int err;

	err = proto_register(&tlsh_proto, 0);
	if (err)
		return err;
	err = sock_register(&tlsh_family);
	if (err)
		proto_unregister(&tlsh_proto);
	return err;
}

void tlsh_af_exit(void)
{
	sock_unregister(PF_TLSH);
	proto_unregister(&tlsh_proto);
}
