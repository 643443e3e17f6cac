/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the two benchmark clients share (hsbench.c, rpcload.c): errors,
 * numbers and the peer's address from the command line, the clock,
 * percentiles, and the GnuTLS client credentials.
 */
#ifndef TLSHD_BENCH_H
#define TLSHD_BENCH_H

#include <stddef.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>

/* The program's name, the prefix of bench_die()'s messages. */
extern const char *bench_prog;

/* Print "PROG: message" on stderr and exit with status 2. */
void bench_die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* CLOCK_MONOTONIC in milliseconds. */
double bench_now_ms(void);

/* @s as a number from 1 to @max, or die naming @what. */
unsigned int bench_number(const char *s, const char *what, unsigned int max);

/*
 * "-j 1,8,64": the comma-separated levels in @s (modified) into @levels,
 * at most @max_levels of them, each from 1 to @max_j; returns how many.
 */
unsigned int bench_levels(char *s, unsigned int *levels,
			  unsigned int max_levels, unsigned int max_j);

/* An IPv4 or IPv6 address and @port into @ss; returns its length, or dies. */
socklen_t bench_addr(const char *addr, unsigned int port,
		     struct sockaddr_storage *ss);

/* The nearest-rank @p percentile of @v (sorted in place), 0 when @n is 0. */
double bench_pct(double *v, size_t n, double p);

/*
 * gnutls_global_init() and client credentials: trust @ca (PEM), check
 * @crl when not NULL, present @cert/@key when not NULL.  Dies on errors.
 */
gnutls_certificate_credentials_t bench_client_creds(const char *ca,
						    const char *crl,
						    const char *cert,
						    const char *key);

#endif /* TLSHD_BENCH_H */
