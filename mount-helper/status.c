// SPDX-License-Identifier: GPL-2.0
/*
 * rpctls status: what the kernel says about NFS mounts and the handshake
 * agent, and nothing else.
 *
 *   mounts      PROC/self/mountinfo (mount point, source, fstype, options:
 *               xprtsec=, cert_serial=, addr=) and PROC/self/mountstats
 *               (the transport's connect count: under xprtsec=tls|mtls
 *               every connection starts with a handshake)
 *   identity    per-mount keys recorded by the mount helper (keys.c)
 *   agent       PROC/net/tlsh of this network namespace, and of every
 *               other network namespace a process in PROC lives in
 *               (PROC/PID/net/tlsh), named after /run/netns entries
 *
 * The kernel does not expose the TLS version, cipher or peer certificate
 * of a mount's connection: those lines say "not available".
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rpctls.h"

#define NA "not available (the kernel does not expose it)"

static void unescape(char *s)
{
	char *o = s, *i = s;

	while (*i) {
		if (i[0] == '\\' && isdigit((unsigned char)i[1]) &&
		    isdigit((unsigned char)i[2]) && isdigit((unsigned char)i[3])) {
			*o++ = (char)((i[1] - '0') * 64 + (i[2] - '0') * 8 +
				      (i[3] - '0'));
			i += 4;
		} else {
			*o++ = *i++;
		}
	}
	*o = '\0';
}

/* value of "key=" in a comma-separated option list, or NULL */
static const char *optval(const char *opts, const char *key, char *buf,
			  size_t len)
{
	size_t kl = strlen(key);
	const char *p = opts;

	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			size_t n = strcspn(p + kl + 1, ",");

			snprintf(buf, len, "%.*s", (int)n, p + kl + 1);
			return buf;
		}
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return NULL;
}

/* The xprt line of DIR's block in mountstats: connect count, or -1. */
static long connect_count(const char *dir, char *proto, size_t plen,
			  long *lport)
{
	char path[512];
	long cc;
	FILE *f;

	snprintf(path, sizeof(path), "%s/self/mountstats", mh_proc_root());
	f = fopen(path, "re");
	if (!f)
		return -1;
	cc = mh_mountstats_connect_count(f, dir, proto, plen, lport);
	fclose(f);
	return cc;
}

/*
 * Reads mountstats from @f: in the block of the mount on @dir, the xprt
 * line's protocol, local port and connect count (returned; -1 if none).
 */
long mh_mountstats_connect_count(FILE *f, const char *dir, char *proto,
				 size_t plen, long *lport)
{
	char line[2048], want[1100];
	bool in = false;
	long cc = -1;

	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "device ", 7)) {
			char *on = strstr(line, " mounted on ");
			char *with = on ? strstr(on + 12, " with fstype ") : NULL;

			in = false;
			if (on && with) {
				snprintf(want, sizeof(want), "%.*s",
					 (int)(with - on - 12), on + 12);
				unescape(want);
				in = !strcmp(want, dir);
			}
			continue;
		}
		if (in && strstr(line, "xprt:")) {
			char p[16];
			long port, bind, conn;

			if (sscanf(strstr(line, "xprt:") + 5, "%15s %ld %ld %ld",
				   p, &port, &bind, &conn) == 4) {
				snprintf(proto, plen, "%s", p);
				cc = conn;
				*lport = port;
			}
			break;
		}
	}
	return cc;
}

/*
 * The TLS lines of a mount: the kernel's kTLS state of its connection
 * (sockdiag.c); the peer's certificate and the handshake's result are the
 * agent's to log.
 */
static void show_tls(const char *addr, const char *port, long lport)
{
	unsigned int dport = port ? (unsigned int)atoi(port) : 2049;
	char where[160], ns[96] = "";
	struct ktls_info ki;
	const char *vn, *cn;
	int ret = -ENOENT;

	if (addr)
		ret = mh_ktls_lookup(addr, dport, lport > 0 ? (unsigned int)lport : 0,
				     &ki);
	if (ret == 1 && ki.netns[0])
		snprintf(ns, sizeof(ns), ", network namespace \"%s\"", ki.netns);
	if (ret == 1 && lport > 0)
		snprintf(where, sizeof(where), "local port %ld%s", lport, ns);
	else if (ret == 1)
		snprintf(where, sizeof(where),
			 "%d of %d connection%s to %s port %u%s; the kernel does not say which is this mount's",
			 ki.ntls, ki.nconn, ki.nconn == 1 ? "" : "s", addr,
			 dport, ns);
	if (ret == 1 && ki.ntls && !ki.mixed) {
		vn = mh_ktls_version_name(ki.version);
		cn = mh_ktls_cipher_name(ki.cipher);
		printf("    TLS version:     %s (kTLS; %s)\n",
		       vn ? vn : "unknown version", where);
		printf("    cipher:          %s (record layer: tx %s, rx %s)\n",
		       cn ? cn : "unknown", mh_ktls_conf_name(ki.txconf),
		       mh_ktls_conf_name(ki.rxconf));
	} else if (ret == 1 && ki.ntls) {
		printf("    TLS version:     kTLS, but not the same on all of them (%s)\n",
		       where);
	} else if (ret == 1) {
		printf("    TLS version:     NONE: no kTLS on the connection (%s)\n",
		       where);
	} else if (ret == 0 || ret == -ENOENT) {
		printf("    TLS version:     not available (no established connection to %s port %u; it is set up again on the next RPC)\n",
		       addr ? addr : "the server", dport);
	} else {
		printf("    TLS version:     not available (sock_diag: %s)\n",
		       strerror(-ret));
	}
	printf("    peer identity:   %s; tlshd logs the certificate it verified\n",
	       "not available per mount (the kernel does not keep it)");
	printf("    handshakes:      one per connection (below); results in the agent counters and tlshd's log\n");
}

/* "xprtsec=..." of a mount in words */
static const char *security_mode(const char *xs)
{
	if (!xs)
		return "plaintext (no xprtsec= in the mount options)";
	if (!strcmp(xs, "tls"))
		return "xprtsec=tls (TLS, server authenticated)";
	if (!strcmp(xs, "mtls"))
		return "xprtsec=mtls (TLS, mutual authentication)";
	if (!strcmp(xs, "none"))
		return "xprtsec=none (plaintext)";
	return xs;
}

/* Connections of the mount on @mp, their kTLS state, its identity */
static void show_transport(const char *mp, const char *opts, const char *xs)
{
	char v[128], proto[16] = "", how[160], a[128];
	const char *addr, *cs;
	struct mount_keys k;
	long cc, lport = -1;

	addr = optval(opts, "addr", a, sizeof(a));
	printf("    peer:            %s\n", addr ? addr : "unknown");
	cc = connect_count(mp, proto, sizeof(proto), &lport);
	if (xs && strcmp(xs, "none"))
		show_tls(addr, optval(opts, "port", v, sizeof(v)), lport);
	if (cc >= 0)
		snprintf(how, sizeof(how), "%ld%s", cc,
			 xs && strcmp(xs, "none") ?
			 " (each one began with a TLS handshake)" : "");
	else
		snprintf(how, sizeof(how), "unknown (no xprt line in mountstats)");
	printf("    connections:     %s%s%s\n", how,
	       proto[0] ? ", transport " : "", proto);
	cs = optval(opts, "cert_serial", v, sizeof(v));
	if (!mh_record_read(mp, &k))
		printf("    client identity: per-mount certificate from the mount helper: keyring %d, cert key %d, private key %d\n",
		       k.keyring, k.cert, k.key);
	else if (cs)
		printf("    client identity: cert_serial=%s\n", cs);
	else if (xs && !strcmp(xs, "mtls"))
		printf("    client identity: tlshd's configured certificate\n");
}

/* One mountinfo line: shown when it is an NFS mount; true then */
static bool show_mount(char *line)
{
	char mp[1024], fstype[32], src[1024], opts[4096], *sep;
	char v[128], xsbuf[128];
	const char *xs;

	if (sscanf(line, "%*s %*s %*s %*s %1023s", mp) != 1)
		return false;
	sep = strstr(line, " - ");
	if (!sep || sscanf(sep + 3, "%31s %1023s %4095s", fstype, src,
			   opts) != 3)
		return false;
	if (strcmp(fstype, "nfs") && strcmp(fstype, "nfs4"))
		return false;
	unescape(mp);
	unescape(src);
	printf("  %s on %s (%s", src, mp, fstype);
	if (optval(opts, "vers", v, sizeof(v)))
		printf(", vers=%s", v);
	printf(")\n");
	xs = optval(opts, "xprtsec", xsbuf, sizeof(xsbuf));
	printf("    security mode:   %s\n", security_mode(xs));
	show_transport(mp, opts, xs);
	return true;
}

static int show_mounts(void)
{
	char path[512], line[8192];
	int count = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/self/mountinfo", mh_proc_root());
	f = fopen(path, "re");
	if (!f) {
		printf("NFS mounts: cannot read %s: %s\n", path,
		       strerror(errno));
		return -1;
	}
	printf("NFS mounts (this mount namespace):\n");
	while (fgets(line, sizeof(line), f))
		count += show_mount(line);
	fclose(f);
	if (!count)
		printf("  none\n");
	return count;
}

struct ns {
	char		id[64];		/* "net:[4026531840]" */
	char		name[64];
	int		pid;		/* 0: PROC/net (ours) */
};

static void ns_names(struct ns *n)
{
	DIR *d = opendir("/run/netns");
	struct dirent *e;
	unsigned long ino;

	if (!d || sscanf(n->id, "net:[%lu]", &ino) != 1) {
		if (d)
			closedir(d);
		return;
	}
	while ((e = readdir(d))) {
		char p[512];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/run/netns/%s", e->d_name);
		if (!stat(p, &st) && st.st_ino == ino) {
			snprintf(n->name, sizeof(n->name), "%.63s", e->d_name);
			break;
		}
	}
	closedir(d);
}

static void show_counters(const char *path)
{
	static const char *const order[] = {
		"listener_inet", "listener_inet6", "requests", "accepted",
		"succeeded", "failed", "timed_out", "cancelled", "no_agent",
		"in_flight", "queued",
	};
	char names[40][32];
	long vals[40];
	size_t i;
	int n = mh_tlsh_counters_read(path, names, vals, 40), col = 0;

	if (n < 0) {
		printf("    no AF_TLSH upcall (%s: %s): tlsh module not loaded\n",
		       path, strerror(-n));
		return;
	}
	printf("    agent:           %s\n",
	       mh_tlsh_counter(names, vals, n, "listener_inet") == 1 ||
	       mh_tlsh_counter(names, vals, n, "listener_inet6") == 1 ?
	       "listening" : "NOT listening (no tlshd in this namespace)");
	printf("   ");
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		long v = mh_tlsh_counter(names, vals, n, order[i]);

		if (v < 0)
			continue;
		printf(" %s %ld", order[i], v);
		if (++col % 6 == 0)
			printf("\n   ");
	}
	printf("\n   ");
	col = 0;
	for (i = 0; i < (size_t)n; i++) {
		if (strncmp(names[i], "failed_", 7) || !vals[i])
			continue;
		printf(" %s %ld", names[i], vals[i]);
		col++;
	}
	if (!col)
		printf(" no failures by reason");
	printf("\n");
}

/* Read /proc/net/tlsh from inside /run/netns/NAME (a child process). */
static void show_counters_in(const char *name)
{
	char p[512];
	pid_t pid;
	int fd, status;

	snprintf(p, sizeof(p), "/run/netns/%s", name);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
			printf("    cannot enter %s: %s\n", p, strerror(errno));
			fflush(stdout);
			_exit(1);
		}
		show_counters("/proc/thread-self/net/tlsh");
		fflush(stdout);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
}

/* The network namespaces found, the first one ours */
struct ns_list {
	struct ns	v[64];
	int		n;
};

/* Adds @id unless it is there already or the list is full */
static void ns_add(struct ns_list *l, const char *id, int pid)
{
	int i;

	if (l->n >= 64)
		return;
	for (i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].id, id))
			return;
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	snprintf(l->v[l->n].id, sizeof(l->v[l->n].id), "%.63s", id);
	l->v[l->n].pid = pid;
	l->n++;
}

/* The namespaces processes live in, from PROC/PID/ns/net */
static void ns_of_processes(struct ns_list *l)
{
	char link[512], id[64];
	struct dirent *e;
	ssize_t n;
	DIR *d = opendir(mh_proc_root());

	while (d && (e = readdir(d)) && l->n < 64) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(link, sizeof(link), "%s/%s/ns/net", mh_proc_root(),
			 e->d_name);
		n = readlink(link, id, sizeof(id) - 1);
		if (n <= 0)
			continue;
		id[n] = '\0';
		ns_add(l, id, atoi(e->d_name));
	}
	if (d)
		closedir(d);
}

/* Named namespaces no process lives in: /run/netns, via setns(). */
static void ns_named(struct ns_list *l)
{
	char p[512], id[64];
	struct dirent *e;
	struct stat st;
	DIR *d = getenv("RPCTLS_PROC") ? NULL : opendir("/run/netns");

	while (d && (e = readdir(d)) && l->n < 64) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/run/netns/%.255s", e->d_name);
		if (stat(p, &st))
			continue;
		snprintf(id, sizeof(id), "net:[%lu]", (unsigned long)st.st_ino);
		ns_add(l, id, -1);
	}
	if (d)
		closedir(d);
}

static void show_ns_agent(struct ns *ns, bool ours)
{
	char path[512];

	ns_names(ns);
	if (ns->pid == -1) {
		printf("  %s \"%s\"\n", ns->id, ns->name);
		show_counters_in(ns->name);
		return;
	}
	printf("  %s%s%s%s%s\n", ns->id, ns->name[0] ? " \"" : "", ns->name,
	       ns->name[0] ? "\"" : "", ours ? " (this one)" : "");
	if (ns->pid)
		snprintf(path, sizeof(path), "%s/%d/net/tlsh", mh_proc_root(),
			 ns->pid);
	else
		snprintf(path, sizeof(path), "%s/net/tlsh", mh_proc_root());
	show_counters(path);
}

static void show_agents(void)
{
	char self[64] = "", link[512];
	struct ns_list l = { .n = 0 };
	ssize_t n;
	int i;

	printf("TLS handshake agent (AF_TLSH) per network namespace:\n");
	snprintf(link, sizeof(link), "%s/self/ns/net", mh_proc_root());
	n = readlink(link, self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	ns_add(&l, self[0] ? self : "this", 0);
	ns_of_processes(&l);
	ns_named(&l);
	for (i = 0; i < l.n; i++)
		show_ns_agent(&l.v[i], i == 0);
}

static void show_kernel(void)
{
	char detail[512];
	enum kcap c;

	if (getenv("RPCTLS_PROC")) {
		printf("Kernel: not checked (RPCTLS_PROC is set)\n");
		return;
	}
	c = mh_kernel_tls_capable("nfs4", detail, sizeof(detail));
	printf("Kernel: %s\n", c == KCAP_TLS ? "RPC-with-TLS (xprtsec=) supported" :
	       detail);
}

int mh_status_main(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: rpctls status\n");
		return MH_EX_USAGE;
	}
	show_kernel();
	show_mounts();
	show_agents();
	return 0;
}
