// SPDX-License-Identifier: GPL-2.0
/*
 * tlshd: serves TLS handshake requests from the kernel (AF_TLSH).
 * See tlshd(8) and tlshd.conf(5).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlshd.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tlshd [-c FILE] [-s] [--check]\n"
		"Perform TLS handshakes for the kernel (AF_TLSH upcall).\n\n"
		"  -c, --config FILE  configuration file (default %s)\n"
		"  -s, --stderr       log to stderr instead of syslog\n"
		"  -n, --check        load the configuration and credentials, then exit\n"
		"  -h, --help         show this help\n"
		"  -v, --version      show the version\n",
		TLSHD_DEFAULT_CONFIG);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "stderr", no_argument, NULL, 's' },
		{ "check", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = TLSHD_DEFAULT_CONFIG;
	bool to_stderr = false, check = false;
	struct tlshd_config *cf;
	char err[512];
	int c, ret;

	while ((c = getopt_long(argc, argv, "c:snhv", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 's':
			to_stderr = true;
			break;
		case 'n':
			check = true;
			to_stderr = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'v':
			printf("tlshd %s (GnuTLS %s)\n", TLSHD_VERSION,
			       gnutls_check_version(NULL));
			return 0;
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

	tlshd_log_open(to_stderr);
	ret = gnutls_global_init();
	if (ret < 0) {
		tlshd_log_err("gnutls_global_init: %s", gnutls_strerror(ret));
		return 1;
	}
	cf = tlshd_config_load(path, err, sizeof(err));
	if (cf && tlshd_config_load_creds(cf, err, sizeof(err)) < 0) {
		tlshd_config_put(cf);
		cf = NULL;
	}
	if (!cf) {
		tlshd_log_err("%s", err);
		return 1;
	}
	tlshd_log_set_level(cf->cf_loglevel, cf->cf_tls_debug);
	if (check) {
		/* the system trust store is otherwise loaded on first use */
		tlshd_config_creds(cf, false);
		tlshd_config_creds(cf, true);
		printf("%s: configuration OK\n", path);
		tlshd_config_put(cf);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	tlshd_keyring_link_session(cf);
	ret = tlshd_upcall_run(&cf, path);
	tlshd_config_put(cf);
	gnutls_global_deinit();
	return ret;
}
