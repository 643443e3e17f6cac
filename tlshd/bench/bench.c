// SPDX-License-Identifier: GPL-2.0
/* What tlshd-hsbench and tlshd-rpcload share (bench.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "bench.h"

const char *bench_prog = "tlshd-bench";

void bench_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", bench_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

double bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

unsigned int bench_number(const char *s, const char *what, unsigned int max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > max)
		bench_die("%s '%s': want a number from 1 to %u", what, s, max);
	return (unsigned int)v;
}

unsigned int bench_levels(char *s, unsigned int *levels,
			  unsigned int max_levels, unsigned int max_j)
{
	unsigned int n = 0;
	char *tok;

	while ((tok = strsep(&s, ","))) {
		if (n == max_levels)
			bench_die("-j: at most %u levels", max_levels);
		levels[n++] = bench_number(tok, "-j", max_j);
	}
	return n;
}

socklen_t bench_addr(const char *addr, unsigned int port,
		     struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		return sizeof(*sin6);
	}
	bench_die("'%s' is not an IPv4 or IPv6 address", addr);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_pct(double *v, size_t n, double p)
{
	size_t k;

	if (!n)
		return 0;
	qsort(v, n, sizeof(double), cmp_double);
	k = (size_t)(p / 100.0 * n + 0.999999);
	return v[(k < 1 ? 1 : k) - 1];
}

gnutls_certificate_credentials_t bench_client_creds(const char *ca,
						    const char *crl,
						    const char *cert,
						    const char *key)
{
	gnutls_certificate_credentials_t creds;
	int ret;

	ret = gnutls_global_init();
	if (!ret)
		ret = gnutls_certificate_allocate_credentials(&creds);
	if (ret < 0)
		bench_die("GnuTLS: %s", gnutls_strerror(ret));
	ret = gnutls_certificate_set_x509_trust_file(creds, ca,
						     GNUTLS_X509_FMT_PEM);
	if (ret <= 0)
		bench_die("--ca %s: %s", ca,
			  ret ? gnutls_strerror(ret) : "no certificates found");
	if (crl) {
		ret = gnutls_certificate_set_x509_crl_file(creds, crl,
							   GNUTLS_X509_FMT_PEM);
		if (ret < 0)
			bench_die("--crl %s: %s", crl, gnutls_strerror(ret));
	}
	if (cert) {
		ret = gnutls_certificate_set_x509_key_file(creds, cert, key,
							   GNUTLS_X509_FMT_PEM);
		if (ret < 0)
			bench_die("--cert/--key: %s", gnutls_strerror(ret));
	}
	return creds;
}
