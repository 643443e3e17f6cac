// SPDX-License-Identifier: GPL-2.0
/*
 * The mount(8)/umount(8) helper.  mount(8) runs /sbin/mount.nfs SPEC DIR
 * [-fnrsvwN] [-o OPTS]; installed as that name (the distribution's
 * program moved to mount.nfs.real), we:
 *
 *   1. exec the real mount.nfs at once when OPTS hold nothing of ours,
 *      so plain NFS mounts behave exactly as before;
 *   2. otherwise check what can be checked before mounting, each failure
 *      named: the options, kernel RPC-with-TLS support, a handshake agent
 *      in this network namespace, and for xprtsec=auto the server's
 *      answer to the AUTH_TLS probe;
 *   3. load tlscert=/tlskey= into a keyring (keys.c);
 *   4. run the real mount.nfs with the rewritten options;
 *   5. when it fails, find out why in user space (diag.c) and say so.
 *
 * Exit codes are mount.nfs's: 0, 1 usage, 2 system error, 32 mount failure.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "rpctls.h"

#define PROBE_TIMEOUT_MS	10000

static bool verbose;

void mh_audit(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	openlog("rpctls", LOG_PID, LOG_DAEMON);
	vsyslog(prio, fmt, ap);
	closelog();
	va_end(ap);
}

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void msg(const char *fmt, ...)
{
	va_list ap;

	fputs("mount.nfs: rpctls: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The distribution's mount.nfs, never ourselves. */
static const char *real_mount_nfs(void)
{
	static const char *const cands[] = { "/sbin/mount.nfs.real",
					     "/usr/sbin/mount.nfs.real",
					     "/sbin/mount.nfs" };
	const char *env = getenv("RPCTLS_MOUNT_NFS");
	char self[PATH_MAX], cand[PATH_MAX];
	ssize_t n;
	size_t i;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	for (i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		if (access(cands[i], X_OK))
			continue;
		if (!realpath(cands[i], cand) || !strcmp(cand, self))
			continue;
		return cands[i];
	}
	return NULL;
}

static int exec_real(const char *argv0, char **args)
{
	const char *real = real_mount_nfs();

	if (!real) {
		fprintf(stderr,
			"%s: rpctls: the real mount.nfs (nfs-common) is not installed: no /sbin/mount.nfs.real\n",
			argv0);
		return MH_EX_SYSERR;
	}
	args[0] = (char *)argv0;
	execv(real, args);
	fprintf(stderr, "%s: rpctls: cannot run %s: %s\n", argv0, real,
		strerror(errno));
	return MH_EX_SYSERR;
}

static int run_real(const char *argv0, char **args)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		msg("fork: %s", strerror(errno));
		return MH_EX_SYSERR;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		_exit(exec_real(argv0, args));
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return MH_EX_SYSERR;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return MH_EX_SYSERR;
}

static const char *export_of(const char *spec)
{
	const char *p = spec[0] == '[' ? strchr(spec, ']') : spec;

	p = p ? strstr(p, ":/") : NULL;
	return p ? p + 1 : NULL;
}

/* Client identity for the diagnosis: the mount's, else tlshd's. */
static void diag_identity(const struct mopts *m, struct diag_opts *d,
			  char *cbuf, char *kbuf, size_t len)
{
	char line[1024], sec[64] = "";
	FILE *f;

	if (m->tlscert) {
		d->certfile = m->tlscert;
		d->keyfile = m->tlskey;
		return;
	}
	f = fopen(mh_diag_tlshd_conf(), "re");
	if (!f)
		return;
	cbuf[0] = kbuf[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		char k[64], v[960];

		if (sscanf(line, " [%63[^]]]", sec) == 1)
			continue;
		if (strcmp(sec, "authenticate.client"))
			continue;
		if (sscanf(line, " %63[^= \t] = %959[^\n]", k, v) != 2)
			continue;
		if (!strcmp(k, "x509.certificate"))
			snprintf(cbuf, len, "%s", v);
		else if (!strcmp(k, "x509.private_key"))
			snprintf(kbuf, len, "%s", v);
	}
	fclose(f);
	if (cbuf[0] && kbuf[0]) {
		d->certfile = cbuf;
		d->keyfile = kbuf;
	}
}

static int explain_failure(const struct peer *p, const struct mopts *m,
			   enum xprtsec chosen, const char *spec)
{
	struct diag_opts d = { .vers = m->vers ? m->vers : 4,
			       .timeout_ms = PROBE_TIMEOUT_MS,
			       .export_path = export_of(spec) };
	char cbuf[1024], kbuf[1024];
	struct diag_report r;

	if (chosen == XS_MTLS)
		diag_identity(m, &d, cbuf, kbuf, sizeof(cbuf));
	if (chosen != XS_TLS && chosen != XS_MTLS) {
		/* plaintext: only WRONGSEC can be ours to explain */
		mh_diag_plain(p, &d, &r);
		if (r.verdict == DIAG_WRONGSEC) {
			msg("cause: %s", r.message);
			return 1;
		}
		return 0;
	}
	mh_diag_run(p, &d, &r);
	if (r.verdict == DIAG_OK) {
		msg("the same TLS handshake from user space works (%s); the kernel's attempt failed for a reason rpctls cannot see: check tlshd's log (journalctl -t tlshd) and dmesg",
		    r.message);
		return 0;
	}
	msg("cause: %s", r.message);
	return 1;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s SERVER:/PATH DIR [-fnrsvwN] [-o OPTIONS]\n"
		"  rpctls options: xprtsec=none|tls|mtls|auto, tlscert=FILE, tlskey=FILE\n"
		"  everything else goes to mount.nfs unchanged; see rpctls-mount(8)\n",
		prog);
}

/* One mount request, as it goes through the steps of mh_mount_main(). */
struct mount_req {
	bool		nfs4;
	const char	*argv0;		/* mount.nfs or mount.nfs4 */
	char		*spec, *dir;	/* SERVER:/PATH and DIR */
	char		*opts;		/* every -o, comma separated */
	char		*newopts;	/* what the real mount.nfs gets */
	char		**args;		/* its argument vector */
	int		nargs;
	bool		fake;		/* -f: no identity is loaded */
	struct mopts	m;
	enum xprtsec	chosen;		/* XS_UNSET: plaintext */
	struct peer	p;
	struct mount_keys keys;
	char		host[256];
	char		dirbuf[PATH_MAX];
	char		autowhy[640];	/* why xprtsec=auto chose TLS */
};

/* What a step returns besides an exit code (>= 0) */
#define STEP_NEXT	(-1)	/* go on with the next check */
#define STEP_MOUNT	(-2)	/* mount now with r->chosen */

/* Appends -o OPTS to r->opts; the real mount.nfs gets one -o at the end. */
static int add_opts(struct mount_req *r, const char *o)
{
	size_t olen = r->opts ? strlen(r->opts) : 0;
	char *n = realloc(r->opts, olen + strlen(o) + 2);

	if (!n)
		return MH_EX_SYSERR;
	r->opts = n;
	if (olen)
		n[olen++] = ',';
	strcpy(n + olen, o);
	return STEP_NEXT;
}

/* mount(8)'s arguments: SPEC DIR, flags (kept), -o OPTS (collected). */
static int collect_args(struct mount_req *r, int argc, char **argv)
{
	int i, ret;

	r->args = calloc((size_t)argc + 4, sizeof(*r->args));
	if (!r->args)
		return MH_EX_SYSERR;
	r->args[r->nargs++] = (char *)r->argv0;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strncmp(a, "-o", 2)) {
			const char *o = a[2] ? a + 2 :
				       (i + 1 < argc ? argv[++i] : NULL);

			if (!o) {
				usage(r->argv0);
				return MH_EX_USAGE;
			}
			ret = add_opts(r, o);
			if (ret != STEP_NEXT)
				return ret;
			continue;
		}
		if (a[0] == '-') {
			if (strchr(a, 'v'))
				verbose = true;
			if (strchr(a, 'f'))
				r->fake = true;
			if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
				usage(r->argv0);
				return MH_EX_USAGE;
			}
		} else if (!r->spec) {
			r->spec = argv[i];
		} else if (!r->dir) {
			r->dir = argv[i];
		}
		r->args[r->nargs++] = argv[i];
	}
	return STEP_NEXT;
}

/* Not ours: exactly what mount(8) asked for. */
static int pass_through(struct mount_req *r)
{
	if (r->opts) {
		r->args[r->nargs++] = "-o";
		r->args[r->nargs++] = r->opts;
	}
	return exec_real(r->argv0, r->args);
}

/* SPEC, DIR and the options are well formed. */
static int check_request(struct mount_req *r)
{
	char err[512];

	if (!r->spec || !r->dir) {
		usage(r->argv0);
		return MH_EX_USAGE;
	}
	/* a server that closes under us must not kill the helper */
	signal(SIGPIPE, SIG_IGN);
	if (realpath(r->dir, r->dirbuf))
		r->dir = r->dirbuf;
	if (mh_mopts_parse(r->opts, r->nfs4, &r->m, err, sizeof(err)) < 0) {
		msg("bad option %s", err);
		return MH_EX_FAIL;
	}
	if (mh_split_spec(r->spec, r->host, sizeof(r->host), err,
			  sizeof(err)) < 0) {
		msg("%s", err);
		return MH_EX_FAIL;
	}
	r->chosen = r->m.xprtsec;
	return r->chosen == XS_NONE ? STEP_MOUNT : STEP_NEXT;
}

/* The kernel (RPCTLS_SKIP_KERNEL_CHECK=1: host tests, no NFS) */
static int check_kernel(struct mount_req *r)
{
	bool skip = getenv("RPCTLS_SKIP_KERNEL_CHECK");
	char detail[512];

	switch (skip ? KCAP_UNKNOWN :
		mh_kernel_tls_capable(r->nfs4 ? "nfs4" : "nfs", detail,
				      sizeof(detail))) {
	case KCAP_TLS:
		if (verbose)
			msg("%s", detail);
		break;
	case KCAP_NO_TLS:
		if (r->chosen == XS_AUTO) {
			mh_audit(LOG_WARNING,
				 "%s on %s: xprtsec=auto chose plaintext: %s",
				 r->spec, r->dir, detail);
			msg("xprtsec=auto: plaintext, because %s", detail);
			r->chosen = XS_UNSET;
			return STEP_MOUNT;
		}
		msg("xprtsec=%s: %s", mh_xprtsec_name(r->chosen), detail);
		return MH_EX_FAIL;
	case KCAP_NO_NFS:
		msg("%s", detail);
		return MH_EX_FAIL;
	case KCAP_UNKNOWN:
		if (verbose && !skip)
			msg("%s", detail);
		break;
	}
	return STEP_NEXT;
}

/*
 * The server.  Only auto needs its answer before mounting.  Under tls and
 * mtls the kernel sends the same probe and fails closed without STARTTLS;
 * a probe of ours would also make the server start a handshake that
 * nobody finishes, a failure in its agent's log for every mount.  When a
 * mount fails, explain_failure() probes.
 */
static int check_server(struct mount_req *r)
{
	char err[512], detail[512];
	enum probe_result pr;
	int fd;

	if (mh_peer_resolve(&r->p, r->host, r->m.port, err, sizeof(err)) < 0) {
		msg("%s", err);
		return MH_EX_FAIL;
	}
	if (r->chosen != XS_AUTO)
		return STEP_NEXT;
	fd = mh_peer_connect(&r->p, PROBE_TIMEOUT_MS, err, sizeof(err));
	if (fd < 0) {
		msg("xprtsec=auto cannot choose: %s", err);
		mh_audit(LOG_WARNING, "%s on %s: xprtsec=auto: %s", r->spec,
			 r->dir, err);
		return MH_EX_FAIL;
	}
	pr = mh_probe_auth_tls(fd, r->m.vers, PROBE_TIMEOUT_MS, detail,
			       sizeof(detail));
	close(fd);
	if (verbose)
		msg("probe %s port %u: %s", r->p.addrstr, r->p.port, detail);
	if (pr == PROBE_NO_STARTTLS || pr == PROBE_DENIED) {
		mh_audit(LOG_NOTICE,
			 "%s on %s: xprtsec=auto chose plaintext: server %s port %u: %s",
			 r->spec, r->dir, r->p.addrstr, r->p.port, detail);
		msg("xprtsec=auto: plaintext: %s", detail);
		r->chosen = XS_UNSET;
		return STEP_MOUNT;
	}
	if (pr != PROBE_STARTTLS) {
		msg("xprtsec=auto cannot choose: %s", detail);
		return MH_EX_FAIL;
	}
	r->chosen = r->m.tlscert ? XS_MTLS : XS_TLS;
	snprintf(r->autowhy, sizeof(r->autowhy), "server %s port %u: %s",
		 r->p.addrstr, r->p.port, detail);
	return STEP_NEXT;
}

/* The agent: a handshake agent listens in this network namespace. */
static int check_agent(struct mount_req *r)
{
	char detail[512];
	enum agent_state a = mh_agent_check(r->p.family, detail, sizeof(detail));

	if (a != AGENT_LISTENING && r->m.xprtsec == XS_AUTO) {
		/* opportunistic: this host cannot do TLS now */
		mh_audit(LOG_WARNING,
			 "%s on %s: xprtsec=auto chose plaintext although the server offers TLS: %s",
			 r->spec, r->dir, detail);
		msg("xprtsec=auto: plaintext although the server offers TLS, because %s",
		    detail);
		r->chosen = XS_UNSET;
		return STEP_MOUNT;
	}
	if (a != AGENT_LISTENING) {
		msg("xprtsec=%s: %s", mh_xprtsec_name(r->chosen), detail);
		return MH_EX_FAIL;
	}
	if (r->m.xprtsec == XS_AUTO) {
		mh_audit(LOG_NOTICE, "%s on %s: xprtsec=auto chose %s: %s",
			 r->spec, r->dir, mh_xprtsec_name(r->chosen), r->autowhy);
		msg("xprtsec=auto: %s: %s", mh_xprtsec_name(r->chosen),
		    r->autowhy);
	}
	return STEP_NEXT;
}

/* The identity: tlscert=/tlskey= into a keyring, and its record. */
static int load_identity(struct mount_req *r)
{
	char err[512];

	if (r->chosen != XS_MTLS || !r->m.tlscert || r->fake)
		return STEP_NEXT;
	if (mh_keys_load(r->m.tlscert, r->m.tlskey, r->dir, &r->keys, err,
			 sizeof(err)) < 0) {
		msg("%s", err);
		return MH_EX_FAIL;
	}
	if (mh_record_write(r->dir, r->spec, &r->keys, err, sizeof(err)) < 0) {
		msg("%s", err);
		mh_keys_drop(&r->keys);
		return MH_EX_SYSERR;
	}
	return STEP_NEXT;
}

/* Runs the real mount.nfs; on failure drops the keys and explains. */
static int mount_now(struct mount_req *r)
{
	char err[512];
	int ret;

	r->newopts = mh_mopts_build(&r->m, r->chosen, r->keys.cert, r->keys.key);
	if (r->newopts) {
		r->args[r->nargs++] = "-o";
		r->args[r->nargs++] = r->newopts;
	}
	r->args[r->nargs] = NULL;
	if (verbose)
		msg("running mount.nfs with -o %s",
		    r->newopts ? r->newopts : "");
	ret = run_real(r->argv0, r->args);
	if (ret == 0) {
		if (r->chosen == XS_TLS || r->chosen == XS_MTLS ||
		    r->m.xprtsec)
			mh_audit(LOG_INFO, "mounted %s on %s with xprtsec=%s%s",
				 r->spec, r->dir,
				 r->chosen == XS_UNSET ? "none" :
						      mh_xprtsec_name(r->chosen),
				 r->keys.cert ? " and a per-mount certificate" :
					     "");
		return 0;
	}
	if (r->keys.keyring) {
		mh_keys_drop(&r->keys);
		mh_record_remove(r->dir);
	}
	if (r->fake || !(r->chosen == XS_TLS || r->chosen == XS_MTLS ||
			 r->m.xprtsec == XS_NONE || r->m.xprtsec == XS_AUTO))
		return ret;
	if (r->m.xprtsec == XS_NONE &&
	    mh_peer_resolve(&r->p, r->host, r->m.port, err, sizeof(err)) < 0)
		return ret;
	explain_failure(&r->p, &r->m, r->chosen, r->spec);
	return ret;
}

int mh_mount_main(int argc, char **argv, const char *progname)
{
	struct mount_req r = { .nfs4 = !strcmp(progname, "mount.nfs4") };
	int ret;

	r.argv0 = r.nfs4 ? "mount.nfs4" : "mount.nfs";
	ret = collect_args(&r, argc, argv);
	if (ret != STEP_NEXT)
		goto out;
	if (!r.opts || !mh_rpctls_relevant(r.opts)) {
		ret = pass_through(&r);
		goto out;
	}
	ret = check_request(&r);
	if (ret == STEP_NEXT)
		ret = check_kernel(&r);
	if (ret == STEP_NEXT)
		ret = check_server(&r);
	if (ret == STEP_NEXT)
		ret = check_agent(&r);
	if (ret == STEP_NEXT)
		ret = load_identity(&r);
	if (ret == STEP_NEXT || ret == STEP_MOUNT)
		ret = mount_now(&r);
out:
	mh_mopts_free(&r.m);
	free(r.newopts);
	free(r.opts);
	free(r.args);
	return ret;
}

int mh_umount_main(int argc, char **argv, const char *progname)
{
	const char *argv0 = !strcmp(progname, "umount.nfs4") ? "umount.nfs4" :
							       "umount.nfs";
	char dirbuf[PATH_MAX], **args;
	const char *dir = NULL;
	struct mount_keys k;
	int i, ret;

	args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args)
		return MH_EX_SYSERR;
	for (i = 1; i < argc; i++) {
		args[i] = argv[i];
		if (argv[i][0] != '-' && !dir)
			dir = argv[i];
	}
	if (!dir) {
		ret = exec_real(argv0, args);
		goto out;
	}
	if (realpath(dir, dirbuf))
		dir = dirbuf;
	if (mh_record_read(dir, &k) < 0) {
		ret = exec_real(argv0, args);
		goto out;
	}
	ret = run_real(argv0, args);
	if (ret == 0) {
		mh_keys_drop(&k);
		mh_record_remove(dir);
		mh_audit(LOG_INFO, "unmounted %s: dropped its TLS keys (keyring %d)",
			 dir, k.keyring);
	}
out:
	free(args);
	return ret;
}
