// SPDX-License-Identifier: GPL-2.0
/*
 * tlsh_test: an AF_TLSH consumer for tests, driven from the shell through
 * /sys/kernel/debug/tlsh_test.
 *
 * Commands, one per line written to "ctl"; a write may hold several lines,
 * run in order, and the first failed command fails the write with its
 * errno.  SLOT is 0..511; sockets are made in the writer's network
 * namespace; ADDR is IPv4 or IPv6 (no brackets):
 *
 *   connect SLOT ADDR PORT	connect a kernel TCP socket (with a file)
 *   listen SLOT ADDR PORT	a kernel listening TCP socket
 *   accept SLOT LSLOT		accept one connection from listening slot
 *				LSLOT into SLOT (waits up to 10 s)
 *   hello SLOT TYPE [KEY=VAL...]
 *				request a handshake; TYPE is client_anon,
 *				client_x509, client_psk, server_x509 or
 *				server_psk; KEYs: peername, timeout (ms),
 *				keyring, cert, privkey, psk (N[,N...]),
 *				prio, flags.  Fails with the API's errno.
 *   wait SLOT MS		wait until done ran (ETIMEDOUT if not)
 *   cancel SLOT		tlsh_cancel(); fails with ENOENT when it
 *				returned false
 *   send SLOT TEXT		send TEXT (the rest of the line)
 *   recv SLOT MS		receive up to 255 bytes, waiting up to MS
 *   close SLOT			release the slot's socket (a pending request
 *				keeps it alive: the agent may hold it)
 *
 * "slots" lists each used slot on one line:
 *
 *   SLOT state=S req=R status=N peerid=N cancel=N rxtype=N rx=DATA anchor=A
 *
 * S: connected, listening, closed; R: none, pending, done, cancelled;
 * status and peerid: what done received; cancel: -1 never called, else
 * tlsh_cancel()'s result; rxtype: the TLS record type of the last recv
 * (23 = application data, 0 = not kTLS); rx: the last bytes received;
 * anchor: the trust anchor the agent reported (ta_peer_anchor).
 */

#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/inet.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/nsproxy.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/tlsh.h>
#include <linux/tls.h>
#include <net/inet_connection_sock.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tlsh.h>

#define TT_SLOTS	512
#define TT_RX_MAX	255
#define TT_WRITE_MAX	32768
#define TT_ACCEPT_MS	10000

enum tt_state { TTS_NONE, TTS_CONNECTED, TTS_LISTENING, TTS_CLOSED };
enum tt_req { TT_REQ_NONE, TT_REQ_PENDING, TT_REQ_DONE, TT_REQ_CANCELLED };

static const char *const tt_state_names[] = {
	"none", "connected", "listening", "closed",
};

static const char *const tt_req_names[] = {
	"none", "pending", "done", "cancelled",
};

struct tt_slot {
	struct mutex	lock;		/* serialises commands on the slot */
	spinlock_t	res_lock;	/* req, status, peerid */
	enum tt_state	state;
	struct socket	*sock;		/* connected socket, or listening */
	struct file	*file;		/* connected socket's file */
	struct socket	*req_sock;	/* socket of the last request */
	struct net	*net;
	enum tt_req	req;
	int		status;
	key_serial_t	peerid;
	int		cancel;
	int		rxtype;
	int		rxlen;
	char		rx[TT_RX_MAX + 1];
	char		anchor[TLSH_ANCHOR_MAX];	/* filled before done */
};

static struct tt_slot *tt_slots[TT_SLOTS];
static DEFINE_MUTEX(tt_slots_lock);
static DECLARE_WAIT_QUEUE_HEAD(tt_wq);
static struct dentry *tt_dir;

static struct tt_slot *tt_slot_get(const char *arg)
{
	struct tt_slot *s;
	unsigned int n;

	if (!arg || kstrtouint(arg, 10, &n) || n >= TT_SLOTS)
		return ERR_PTR(-EINVAL);
	mutex_lock(&tt_slots_lock);
	s = tt_slots[n];
	if (!s) {
		s = kzalloc(sizeof(*s), GFP_KERNEL);
		if (s) {
			mutex_init(&s->lock);
			spin_lock_init(&s->res_lock);
			s->cancel = -1;
			tt_slots[n] = s;
		}
	}
	mutex_unlock(&tt_slots_lock);
	return s ?: ERR_PTR(-ENOMEM);
}

static void tt_done(void *data, int status, key_serial_t peerid)
{
	struct tt_slot *s = data;

	spin_lock(&s->res_lock);
	s->status = status;
	s->peerid = peerid;
	s->req = TT_REQ_DONE;
	spin_unlock(&s->res_lock);
	wake_up_all(&tt_wq);
}

static bool tt_req_is(struct tt_slot *s, enum tt_req req)
{
	bool ret;

	spin_lock(&s->res_lock);
	ret = s->req == req;
	spin_unlock(&s->res_lock);
	return ret;
}

static int tt_parse_addr(const char *addr, const char *port,
			 struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	u16 p;

	if (!addr || !port || kstrtou16(port, 10, &p))
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (in4_pton(addr, -1, (u8 *)&sin->sin_addr, '\0', NULL)) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(p);
		return sizeof(*sin);
	}
	if (in6_pton(addr, -1, (u8 *)&sin6->sin6_addr, '\0', NULL)) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p);
		return sizeof(*sin6);
	}
	return -EINVAL;
}

/* Give @sock a file and make it the slot's connected socket. */
static int tt_slot_attach(struct tt_slot *s, struct socket *sock,
			  struct net *net)
{
	struct file *file;

	file = sock_alloc_file(sock, 0, NULL);	/* releases @sock on error */
	if (IS_ERR(file))
		return PTR_ERR(file);
	sock->sk->sk_sndtimeo = 10 * HZ;
	s->sock = sock;
	s->file = file;
	s->net = get_net(net);
	s->state = TTS_CONNECTED;
	s->rxlen = 0;
	s->rxtype = 0;
	return 0;
}

static bool tt_slot_busy(struct tt_slot *s)
{
	return s->state == TTS_CONNECTED || s->state == TTS_LISTENING;
}

static int tt_cmd_connect(struct tt_slot *s, char **args)
{
	struct net *net = current->nsproxy->net_ns;
	struct sockaddr_storage ss;
	struct socket *sock;
	char *addr, *port;
	int len, err;

	if (tt_slot_busy(s))
		return -EBUSY;
	addr = strsep(args, " ");
	port = strsep(args, " ");
	len = tt_parse_addr(addr, port, &ss);
	if (len < 0)
		return len;
	err = sock_create_kern(net, ss.ss_family, SOCK_STREAM, IPPROTO_TCP,
			       &sock);
	if (err)
		return err;
	err = kernel_connect(sock, (struct sockaddr *)&ss, len, 0);
	if (err) {
		sock_release(sock);
		return err;
	}
	return tt_slot_attach(s, sock, net);
}

static int tt_cmd_listen(struct tt_slot *s, char **args)
{
	struct net *net = current->nsproxy->net_ns;
	struct sockaddr_storage ss;
	struct socket *sock;
	char *addr, *port;
	int len, err;

	if (tt_slot_busy(s))
		return -EBUSY;
	addr = strsep(args, " ");
	port = strsep(args, " ");
	len = tt_parse_addr(addr, port, &ss);
	if (len < 0)
		return len;
	err = sock_create_kern(net, ss.ss_family, SOCK_STREAM, IPPROTO_TCP,
			       &sock);
	if (err)
		return err;
	sock_set_reuseaddr(sock->sk);
	err = kernel_bind(sock, (struct sockaddr *)&ss, len);
	if (!err)
		err = kernel_listen(sock, 256);
	if (err) {
		sock_release(sock);
		return err;
	}
	sock->sk->sk_rcvtimeo = msecs_to_jiffies(TT_ACCEPT_MS);
	s->sock = sock;
	s->net = get_net(net);
	s->state = TTS_LISTENING;
	return 0;
}

static int tt_cmd_accept(struct tt_slot *s, char **args)
{
	struct tt_slot *ls = tt_slot_get(strsep(args, " "));
	struct socket *newsock;
	struct net *net;
	int err;

	if (IS_ERR(ls))
		return PTR_ERR(ls);
	if (ls == s || tt_slot_busy(s))
		return -EBUSY;
	mutex_lock_nested(&ls->lock, SINGLE_DEPTH_NESTING);
	if (ls->state != TTS_LISTENING) {
		mutex_unlock(&ls->lock);
		return -EINVAL;
	}
	net = get_net(ls->net);
	err = kernel_accept(ls->sock, &newsock, 0);
	mutex_unlock(&ls->lock);
	if (!err)
		err = tt_slot_attach(s, newsock, net);
	put_net(net);
	return err;
}

static int tt_parse_psk(char *val, struct tlsh_args *ta, key_serial_t *ids)
{
	char *tok;

	ta->ta_num_psk_ids = 0;
	while ((tok = strsep(&val, ","))) {
		if (ta->ta_num_psk_ids >= TLSH_PSK_IDS_MAX + 1)
			return -EINVAL;
		if (kstrtos32(tok, 0, &ids[ta->ta_num_psk_ids++]))
			return -EINVAL;
	}
	ta->ta_psk_ids = ids;
	return 0;
}

static int tt_parse_param(char *kv, struct tlsh_args *ta, key_serial_t *ids)
{
	char *key = strsep(&kv, "=");

	if (!kv)
		return -EINVAL;
	if (!strcmp(key, "peername"))
		ta->ta_peername = kv;
	else if (!strcmp(key, "prio"))
		ta->ta_priorities = kv;
	else if (!strcmp(key, "timeout"))
		return kstrtouint(kv, 0, &ta->ta_timeout_ms);
	else if (!strcmp(key, "keyring"))
		return kstrtos32(kv, 0, &ta->ta_keyring);
	else if (!strcmp(key, "cert"))
		return kstrtos32(kv, 0, &ta->ta_x509_cert);
	else if (!strcmp(key, "privkey"))
		return kstrtos32(kv, 0, &ta->ta_privkey);
	else if (!strcmp(key, "flags"))
		return kstrtou32(kv, 0, &ta->ta_flags);
	else if (!strcmp(key, "psk"))
		return tt_parse_psk(kv, ta, ids);
	else
		return -EINVAL;
	return 0;
}

static int tt_cmd_hello(struct tt_slot *s, char **args)
{
	static const struct {
		const char *name;
		int (*fn)(const struct tlsh_args *args);
	} types[] = {
		{ "client_anon", tlsh_client_hello_anon },
		{ "client_x509", tlsh_client_hello_x509 },
		{ "client_psk", tlsh_client_hello_psk },
		{ "server_x509", tlsh_server_hello_x509 },
		{ "server_psk", tlsh_server_hello_psk },
	};
	key_serial_t ids[TLSH_PSK_IDS_MAX + 1];
	struct tlsh_args ta = { };
	char *type = strsep(args, " ");
	char *kv;
	int i, err;

	for (i = 0; i < ARRAY_SIZE(types); i++)
		if (type && !strcmp(type, types[i].name))
			break;
	if (i == ARRAY_SIZE(types))
		return -EINVAL;
	while ((kv = strsep(args, " ")))
		if (*kv) {
			err = tt_parse_param(kv, &ta, ids);
			if (err)
				return err;
		}
	if (s->state != TTS_CONNECTED)
		return -ENOTCONN;
	if (tt_req_is(s, TT_REQ_PENDING))
		return -EBUSY;

	ta.ta_sock = s->sock;
	ta.ta_done = tt_done;
	ta.ta_peer_anchor = s->anchor;
	ta.ta_peer_anchor_len = sizeof(s->anchor);
	ta.ta_data = s;
	spin_lock(&s->res_lock);
	s->req = TT_REQ_PENDING;
	s->status = 0;
	s->peerid = 0;
	s->cancel = -1;
	s->anchor[0] = '\0';
	spin_unlock(&s->res_lock);
	s->req_sock = s->sock;
	err = types[i].fn(&ta);
	if (err) {
		spin_lock(&s->res_lock);
		s->req = TT_REQ_NONE;
		s->status = err;
		spin_unlock(&s->res_lock);
	}
	return err;
}

static int tt_cmd_wait(struct tt_slot *s, char **args)
{
	unsigned int ms;
	long ret;

	if (kstrtouint(strsep(args, " ") ?: "", 10, &ms))
		return -EINVAL;
	ret = wait_event_interruptible_timeout(tt_wq,
					       !tt_req_is(s, TT_REQ_PENDING),
					       msecs_to_jiffies(ms));
	if (ret < 0)
		return ret;
	return ret ? 0 : -ETIMEDOUT;
}

/* Also after close: the request keeps the socket alive while pending. */
static int tt_cmd_cancel(struct tt_slot *s)
{
	bool ok;

	if (!s->req_sock)
		return -ENOTCONN;
	ok = tlsh_cancel(s->req_sock);
	spin_lock(&s->res_lock);
	s->cancel = ok;
	if (ok)
		s->req = TT_REQ_CANCELLED;
	spin_unlock(&s->res_lock);
	return ok ? 0 : -ENOENT;
}

static int tt_cmd_send(struct tt_slot *s, char *text)
{
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
	struct kvec vec;
	int ret;

	if (s->state != TTS_CONNECTED)
		return -ENOTCONN;
	if (!text)
		text = "";
	vec.iov_base = text;
	vec.iov_len = strlen(text);
	ret = kernel_sendmsg(s->sock, &msg, &vec, 1, vec.iov_len);
	if (ret < 0)
		return ret;
	return ret == vec.iov_len ? 0 : -EIO;
}

static int tt_cmd_recv(struct tt_slot *s, char **args)
{
	char cbuf[CMSG_SPACE(sizeof(u8))] = { };
	struct cmsghdr *cmsg = (struct cmsghdr *)cbuf;
	struct msghdr msg = { };
	struct kvec vec;
	unsigned int ms;
	int ret;

	if (kstrtouint(strsep(args, " ") ?: "", 10, &ms))
		return -EINVAL;
	if (s->state != TTS_CONNECTED)
		return -ENOTCONN;
	s->sock->sk->sk_rcvtimeo = msecs_to_jiffies(ms) ?: 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	msg.msg_control_is_user = false;
	vec.iov_base = s->rx;
	vec.iov_len = TT_RX_MAX;
	ret = kernel_recvmsg(s->sock, &msg, &vec, 1, TT_RX_MAX, 0);
	if (ret < 0)
		return ret;
	s->rxlen = ret;
	s->rx[ret] = '\0';
	s->rxtype = 0;
	if (cmsg->cmsg_len && cmsg->cmsg_level == SOL_TLS &&
	    cmsg->cmsg_type == TLS_GET_RECORD_TYPE)
		s->rxtype = *(u8 *)CMSG_DATA(cmsg);
	else if (inet_csk(s->sock->sk)->icsk_ulp_ops)
		s->rxtype = 23;	/* kTLS reports only non-data records */
	return 0;
}

static void tt_slot_close(struct tt_slot *s)
{
	if (s->state == TTS_CONNECTED)
		fput(s->file);
	else if (s->state == TTS_LISTENING)
		sock_release(s->sock);
	else
		return;
	put_net(s->net);
	s->net = NULL;
	s->file = NULL;
	s->sock = NULL;
	s->state = TTS_CLOSED;
}

static int tt_run(char *line)
{
	char *cmd = strsep(&line, " ");
	struct tt_slot *s = tt_slot_get(strsep(&line, " "));
	int err;

	if (IS_ERR(s))
		return PTR_ERR(s);
	mutex_lock(&s->lock);
	if (!strcmp(cmd, "connect"))
		err = tt_cmd_connect(s, &line);
	else if (!strcmp(cmd, "listen"))
		err = tt_cmd_listen(s, &line);
	else if (!strcmp(cmd, "accept"))
		err = tt_cmd_accept(s, &line);
	else if (!strcmp(cmd, "hello"))
		err = tt_cmd_hello(s, &line);
	else if (!strcmp(cmd, "wait"))
		err = tt_cmd_wait(s, &line);
	else if (!strcmp(cmd, "cancel"))
		err = tt_cmd_cancel(s);
	else if (!strcmp(cmd, "send"))
		err = tt_cmd_send(s, line);
	else if (!strcmp(cmd, "recv"))
		err = tt_cmd_recv(s, &line);
	else if (!strcmp(cmd, "close"))
		err = (tt_slot_close(s), 0);
	else
		err = -EINVAL;
	mutex_unlock(&s->lock);
	return err;
}

/* One command per line; the first failure ends the write with its errno. */
static ssize_t tt_ctl_write(struct file *file, const char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	char *buf, *next, *line;
	int err = 0;

	if (count >= TT_WRITE_MAX)
		return -EINVAL;
	buf = memdup_user_nul(ubuf, count);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	next = buf;
	while (!err && (line = strsep(&next, "\n"))) {
		line = strim(line);
		if (*line)
			err = tt_run(line);
	}
	kfree(buf);
	return err ? err : count;
}

static const struct file_operations tt_ctl_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= tt_ctl_write,
	.llseek	= noop_llseek,
};

static int tt_slots_show(struct seq_file *m, void *v)
{
	struct tt_slot *s;
	int i;

	mutex_lock(&tt_slots_lock);
	for (i = 0; i < TT_SLOTS; i++) {
		s = tt_slots[i];
		if (!s)
			continue;
		/* not s->lock: a command may be waiting under it */
		spin_lock(&s->res_lock);
		seq_printf(m, "%d state=%s req=%s status=%d peerid=%d cancel=%d rxtype=%d rx=%*pE anchor=%*pE\n",
			   i, tt_state_names[s->state], tt_req_names[s->req],
			   s->status, s->peerid, s->cancel, s->rxtype,
			   s->rxlen, s->rx,
			   (int)strnlen(s->anchor, sizeof(s->anchor)),
			   s->anchor);
		spin_unlock(&s->res_lock);
	}
	mutex_unlock(&tt_slots_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tt_slots);

static int __init tt_init(void)
{
	tt_dir = debugfs_create_dir("tlsh_test", NULL);
	debugfs_create_file("ctl", 0200, tt_dir, NULL, &tt_ctl_fops);
	debugfs_create_file("slots", 0444, tt_dir, NULL, &tt_slots_fops);
	return 0;
}

/* Withdraw or wait out every pending request, then free the slots. */
static void __exit tt_exit(void)
{
	struct tt_slot *s;
	int i;

	debugfs_remove_recursive(tt_dir);
	for (i = 0; i < TT_SLOTS; i++) {
		s = tt_slots[i];
		if (!s)
			continue;
		if (tt_req_is(s, TT_REQ_PENDING) && !tlsh_cancel(s->req_sock))
			wait_event(tt_wq, !tt_req_is(s, TT_REQ_PENDING));
		tt_slot_close(s);
		kfree(s);
	}
}

module_init(tt_init);
module_exit(tt_exit);

MODULE_DESCRIPTION("AF_TLSH test consumer (debugfs)");
MODULE_LICENSE("GPL");
