// SPDX-License-Identifier: GPL-2.0
/*
 * tlshd: serves TLS handshake requests from the kernel, through rpctls'
 * AF_TLSH upcall or mainline's netlink "handshake" upcall (Linux 6.5+).
 * See tlshd(8) and tlshd.conf(5).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tlshd.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tlshd [-c FILE] [-s] [-u UPCALL] [--check]\n"
		"Perform TLS handshakes for the kernel.\n\n"
		"  -c, --config FILE  configuration file (default %s,\n"
		"                     or %s when only that one exists)\n"
		"  -u, --upcall WHICH auto (default: every upcall the kernel has),\n"
		"                     tlsh (AF_TLSH) or netlink (Linux 6.5+)\n"
		"  -w, --workers N    handshake threads (default: one per CPU, %u here)\n"
		"  -s, --stderr       log to stderr instead of syslog\n"
		"  -n, --check        load the configuration and credentials, then exit\n"
		"  -h, --help         show this help\n"
		"  -v, --version      show the version\n",
		TLSHD_DEFAULT_CONFIG, TLSHD_LEGACY_CONFIG,
		tlshd_workers_default());
}

/*
 * Which upcalls to serve: "auto" takes every one the running kernel has;
 * a kernel with neither is an error that says what is missing.
 */
static unsigned int pick_upcalls(const char *which)
{
	struct tlshd_nl_family fam;
	bool tlsh = false, nl = false;
	char why[256] = "";

	if (strcmp(which, "netlink"))
		tlsh = tlshd_upcall_tlsh_present();
	if (strcmp(which, "tlsh"))
		nl = tlshd_netlink_probe(&fam, why, sizeof(why)) == 0;
	if (!strcmp(which, "tlsh") && !tlsh)
		tlshd_log_err("--upcall tlsh: this kernel has no AF_TLSH handshake upcall (is the tlsh module loaded?)");
	else if (!strcmp(which, "netlink") && !nl)
		tlshd_log_err("--upcall netlink: %s", why);
	else if (!tlsh && !nl)
		tlshd_log_err("this kernel offers no handshake upcall: no AF_TLSH (rpctls' tlsh module) and %s",
			      why);
	return (tlsh ? TLSHD_UPCALL_TLSH : 0) | (nl ? TLSHD_UPCALL_NETLINK : 0);
}

/* The command line */
struct args {
	const char	*path;		/* --config, NULL: the default */
	const char	*upcall;	/* auto, tlsh or netlink */
	unsigned int	nworkers;
	bool		to_stderr;
	bool		check;		/* --check: read the config, stop */
};

/* main() stops with status 0 (--help, --version) */
#define EXIT_DONE	(-1)

/* 0: go on; else main() stops with that status (EXIT_DONE: 0). */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "stderr", no_argument, NULL, 's' },
		{ "check", no_argument, NULL, 'n' },
		{ "upcall", required_argument, NULL, 'u' },
		{ "workers", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "c:snu:w:hv", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->path = optarg;
			break;
		case 's':
			a->to_stderr = true;
			break;
		case 'n':
			a->check = true;
			a->to_stderr = true;
			break;
		case 'u':
			a->upcall = optarg;
			if (strcmp(optarg, "auto") && strcmp(optarg, "tlsh") &&
			    strcmp(optarg, "netlink")) {
				fprintf(stderr, "tlshd: --upcall wants auto, tlsh or netlink, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'w':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 1 || v > TLSHD_MAX_WORKERS) {
				fprintf(stderr, "tlshd: --workers wants a number from 1 to %d, not '%s'\n",
					TLSHD_MAX_WORKERS, optarg);
				return 2;
			}
			a->nworkers = (unsigned int)v;
			break;
		case 'h':
			usage(stdout);
			return EXIT_DONE;
		case 'v':
			printf("tlshd %s (GnuTLS %s)\n", TLSHD_VERSION,
			       gnutls_check_version(NULL));
			return EXIT_DONE;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tlshd: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	return 0;
}

/* The default configuration file, and a word about the legacy one */
static const char *default_config(void)
{
	const char *path = tlshd_config_default_path();

	if (!strcmp(path, TLSHD_LEGACY_CONFIG))
		tlshd_log(TLSHD_LOG_NOTICE, "reading %s; ktls-utils 1.3 and later read %s: please move it there",
			  TLSHD_LEGACY_CONFIG, TLSHD_DEFAULT_CONFIG);
	else if (!access(TLSHD_LEGACY_CONFIG, F_OK))
		tlshd_log_warn("%s is ignored: %s is read instead",
			       TLSHD_LEGACY_CONFIG, TLSHD_DEFAULT_CONFIG);
	return path;
}

/* The configuration with its credentials, its settings applied; or NULL */
static struct tlshd_config *load_config(const char *path)
{
	struct tlshd_config *cf;
	char err[512];

	cf = tlshd_config_load(path, err, sizeof(err));
	if (cf && tlshd_config_load_creds(cf, err, sizeof(err)) < 0) {
		tlshd_config_put(cf);
		cf = NULL;
	}
	if (!cf) {
		tlshd_log_err("%s", err);
		return NULL;
	}
	tlshd_config_log_warnings(cf);
	tlshd_log_set_level(cf->cf_loglevel, cf->cf_tls_debug);
	tlshd_netlink_debug = cf->cf_nl_debug;
	return cf;
}

/* --check: the system trust store is otherwise loaded on first use */
static int check_config(struct tlshd_config *cf, const char *path)
{
	tlshd_config_creds(cf, false);
	tlshd_config_creds(cf, true);
	printf("%s: configuration OK\n", path);
	return 0;
}

static int serve(struct tlshd_config **cfp, const struct args *a)
{
	unsigned int upcalls = pick_upcalls(a->upcall);

	if (!upcalls)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	/* before the workers start: they inherit the I/O flusher flag */
	tlshd_reclaim_guard();
	tlshd_keyring_link_session(*cfp);
	tlshd_keyring_init();
	return tlshd_dispatch_run(cfp, a->path, upcalls, a->nworkers);
}

int main(int argc, char **argv)
{
	struct args a = { .upcall = "auto",
			  .nworkers = tlshd_workers_default() };
	struct tlshd_config *cf;
	int ret;

	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret == EXIT_DONE ? 0 : ret;
	tlshd_log_open(a.to_stderr);
	if (!a.path)
		a.path = default_config();
	ret = gnutls_global_init();
	if (ret < 0) {
		tlshd_log_err("gnutls_global_init: %s", gnutls_strerror(ret));
		return 1;
	}
	cf = load_config(a.path);
	if (!cf)
		return 1;
	if (a.check)
		ret = check_config(cf, a.path);
	else
		ret = serve(&cf, &a);
	tlshd_config_put(cf);
	gnutls_global_deinit();
	return ret;
}
