// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: every parser of the helper that reads what a server
 * or the kernel sent.  The first byte picks the parser, the rest is the
 * input:
 *   0  the reply to the NFSv4 COMPOUND of the WRONGSEC check (nfs4.c)
 *   1  the reply to the AUTH_TLS probe (probe.c)
 *   2  /proc/self/mountstats (status.c), for the mount on /mnt/x
 *   3  a sock_diag netlink dump (sockdiag.c), for 192.0.2.1:2049
 * The xid is taken from the input's first four bytes, so the parsers get
 * past the "is this a reply to our call" check.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../rpctls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t xid_of(const uint8_t *p, size_t n)
{
	return n < 4 ? 0 : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
			   (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char addr[4] = { 192, 0, 2, 1 };
	const struct ktls_match want = {
		.daddr = addr, .alen = 4, .dport = 2049, .sport = 0,
	};
	char err[512], proto[16];
	struct ktls_info ki;
	unsigned char *copy;
	uint32_t status;
	bool done = false;
	long lport;
	FILE *f;

	if (size < 1)
		return 0;
	/* an exact-size heap copy, so AddressSanitizer sees every overrun */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	switch (data[0] % 4) {
	case 0:
		mh_nfs4_parse_reply(copy, size - 1, xid_of(copy, size - 1),
				    &status, err, sizeof(err));
		break;
	case 1:
		mh_probe_parse_reply(copy, size - 1, xid_of(copy, size - 1), err,
				     sizeof(err));
		break;
	case 2:
		f = fmemopen(copy, size - 1 ? size - 1 : 1, "r");
		if (f) {
			mh_mountstats_connect_count(f, "/mnt/x", proto,
						    sizeof(proto), &lport);
			fclose(f);
		}
		break;
	case 3:
		memset(&ki, 0, sizeof(ki));
		mh_sockdiag_parse(copy, size - 1, &want, &ki, &done);
		break;
	}
	free(copy);
	return 0;
}
