// SPDX-License-Identifier: GPL-2.0
/*
 * rpctls: dispatch on the program name, then on the subcommand.
 */
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpctls.h"

static const char *const verdict_names[] = {
	[DIAG_OK] = "ok",
	[DIAG_NO_STARTTLS] = "no-starttls",
	[DIAG_UNREACHABLE] = "unreachable",
	[DIAG_UNTRUSTED] = "untrusted",
	[DIAG_EXPIRED] = "expired",
	[DIAG_NOT_ACTIVATED] = "not-yet-valid",
	[DIAG_REVOKED] = "revoked",
	[DIAG_NAME_MISMATCH] = "name-mismatch",
	[DIAG_BAD_CERT_OTHER] = "bad-certificate",
	[DIAG_NEEDS_CLIENT_CERT] = "needs-client-cert",
	[DIAG_CLIENT_CERT_REJECTED] = "client-cert-rejected",
	[DIAG_ALPN] = "alpn",
	[DIAG_TLS_VERSION] = "tls-version",
	[DIAG_HANDSHAKE_FAILED] = "handshake-failed",
	[DIAG_WRONGSEC] = "wrongsec",
	[DIAG_UNKNOWN] = "error",
};

static bool num(const char *s, unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	v = strtoul(s, &end, 10);
	if (*end || v > max)
		return false;
	*out = (unsigned int)v;
	return true;
}

static int probe_usage(void)
{
	fprintf(stderr,
		"usage: rpctls probe [--ca FILE] [--cert FILE --key FILE] [--port N]\n"
		"                    [--vers 3|4] [--export PATH] [--timeout SEC] [--probe-only] SERVER\n");
	return MH_EX_USAGE;
}

/* rpctls probe's command line */
struct probe_args {
	struct diag_opts	o;
	unsigned int		port;
	bool			probe_only;
};

/* One option of rpctls probe: 0, or an exit status. */
static int probe_opt(int c, struct probe_args *a)
{
	unsigned int sec;

	switch (c) {
	case 'a':
		a->o.truststore = optarg;
		return 0;
	case 'c':
		a->o.certfile = optarg;
		return 0;
	case 'k':
		a->o.keyfile = optarg;
		return 0;
	case 'p':
		if (num(optarg, 65535, &a->port))
			return 0;
		fprintf(stderr, "rpctls: --port '%s': not a port number\n",
			optarg);
		return MH_EX_USAGE;
	case 'V':
		if (num(optarg, 4, &a->o.vers))
			return 0;
		fprintf(stderr, "rpctls: --vers '%s': 2, 3 or 4\n", optarg);
		return MH_EX_USAGE;
	case 'e':
		a->o.export_path = optarg;
		return 0;
	case 't':
		if (!num(optarg, 3600, &sec) || !sec) {
			fprintf(stderr, "rpctls: --timeout '%s': seconds, 1-3600\n",
				optarg);
			return MH_EX_USAGE;
		}
		a->o.timeout_ms = (int)sec * 1000;
		return 0;
	case 'P':
		a->probe_only = true;
		return 0;
	}
	return probe_usage();
}

/* 0, or an exit status */
static int probe_args(int argc, char **argv, struct probe_args *a)
{
	static const struct option lo[] = {
		{ "ca", required_argument, NULL, 'a' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "port", required_argument, NULL, 'p' },
		{ "vers", required_argument, NULL, 'V' },
		{ "export", required_argument, NULL, 'e' },
		{ "timeout", required_argument, NULL, 't' },
		{ "probe-only", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	const struct diag_opts *o = &a->o;
	int c, ret;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		ret = probe_opt(c, a);
		if (ret)
			return ret;
	}
	if (optind != argc - 1 || !!o->certfile != !!o->keyfile ||
	    o->timeout_ms <= 0 || a->port > 65535 || o->vers < 2 ||
	    o->vers > 4)
		return probe_usage();
	return 0;
}

/* --probe-only: the AUTH_TLS probe and nothing else */
static int probe_only(const struct peer *p, const struct diag_opts *o)
{
	char err[256], detail[256];
	enum probe_result pr;
	int fd;

	fd = mh_peer_connect(p, o->timeout_ms, err, sizeof(err));
	if (fd < 0) {
		printf("probe: unreachable: %s\n", err);
		return MH_EX_FAIL;
	}
	pr = mh_probe_auth_tls(fd, o->vers, o->timeout_ms, detail,
			       sizeof(detail));
	close(fd);
	printf("probe: %s: %s\n", mh_probe_result_name(pr), detail);
	return pr == PROBE_STARTTLS ? 0 : MH_EX_FAIL;
}

static int probe_main(int argc, char **argv)
{
	struct probe_args a = { .o = { .vers = 4, .timeout_ms = 10000 } };
	struct diag_report r;
	struct peer p;
	char err[256];
	int ret;

	ret = probe_args(argc, argv, &a);
	if (ret)
		return ret;
	if (mh_peer_resolve(&p, argv[optind], a.port, err, sizeof(err)) < 0) {
		fprintf(stderr, "rpctls: %s\n", err);
		return MH_EX_FAIL;
	}
	if (a.probe_only)
		return probe_only(&p, &a.o);
	mh_diag_run(&p, &a.o, &r);
	printf("verdict: %s: %s\n", verdict_names[r.verdict], r.message);
	return r.verdict == DIAG_OK ? 0 : MH_EX_FAIL;
}

static int options_main(int argc, char **argv)
{
	char err[512], *out;
	struct mopts m;
	int ret;

	enum xprtsec chosen;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: rpctls options OPTIONS [none|tls|mtls]\n");
		return MH_EX_USAGE;
	}
	ret = mh_mopts_parse(argv[1], false, &m, err, sizeof(err));
	if (ret < 0) {
		printf("error: %s\n", err);
		return MH_EX_FAIL;
	}
	printf("xprtsec=%s tlscert=%s tlskey=%s port=%u vers=%u\n",
	       mh_xprtsec_name(m.xprtsec), m.tlscert ? m.tlscert : "-",
	       m.tlskey ? m.tlskey : "-", m.port, m.vers);
	/* what an xprtsec=auto probe would turn into */
	chosen = m.xprtsec;
	if (argc == 3)
		chosen = !strcmp(argv[2], "tls") ? XS_TLS :
			 !strcmp(argv[2], "mtls") ? XS_MTLS : XS_UNSET;
	/* 1001/1002 stand for the key serials keys.c would get */
	out = mh_mopts_build(&m, chosen, chosen == XS_MTLS && m.tlscert ? 1001 : 0,
			     chosen == XS_MTLS && m.tlscert ? 1002 : 0);
	printf("passed on: %s\n", out ? out : "");
	free(out);
	mh_mopts_free(&m);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: rpctls COMMAND\n"
		"  status                 NFS mounts, their TLS state, the handshake agent\n"
		"  probe [...] SERVER     AUTH_TLS probe and TLS diagnosis of an NFS server\n"
		"  cleanup                drop per-mount TLS keys of mounts that are gone\n"
		"  options OPTS           show how the mount helper would rewrite OPTS\n"
		"As mount.nfs / umount.nfs it is the mount helper: see rpctls-mount(8).\n");
}

int main(int argc, char **argv)
{
	char *copy = strdup(argv[0] ? argv[0] : "rpctls");
	const char *prog = copy ? basename(copy) : "rpctls";

	if (!strncmp(prog, "mount.nfs", 9) || !strcmp(prog, "rpctls-mount"))
		return mh_mount_main(argc, argv, prog);
	if (!strncmp(prog, "umount.nfs", 10))
		return mh_umount_main(argc, argv, prog);
	if (argc < 2) {
		usage();
		return MH_EX_USAGE;
	}
	if (!strcmp(argv[1], "status"))
		return mh_status_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "probe")) {
		signal(SIGPIPE, SIG_IGN);
		return probe_main(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "cleanup")) {
		int n = mh_cleanup_stale(true);

		printf("%d stale per-mount key set%s dropped\n", n,
		       n == 1 ? "" : "s");
		return 0;
	}
	if (!strcmp(argv[1], "options"))
		return options_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "mount"))
		return mh_mount_main(argc - 1, argv + 1, "mount.nfs");
	if (!strcmp(argv[1], "umount"))
		return mh_umount_main(argc - 1, argv + 1, "umount.nfs");
	usage();
	return MH_EX_USAGE;
}
