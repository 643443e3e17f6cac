// SPDX-License-Identifier: GPL-2.0
/*
 * Just enough NFSv4.0 to ask the question "does the server let this
 * transport reach the export?": COMPOUND { PUTROOTFH, LOOKUP each path
 * component, GETFH } with AUTH_SYS root credentials.  The COMPOUND status
 * is the status of the first failing operation, e.g. NFS4ERR_WRONGSEC
 * (10016) when the export refuses this transport security mode.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rpctls.h"

#define OP_GETFH	10
#define OP_LOOKUP	15
#define OP_PUTROOTFH	24

struct xdr {
	unsigned char	buf[2048];
	size_t		len;
	bool		overflow;
};

static void put32(struct xdr *x, uint32_t v)
{
	if (x->len + 4 > sizeof(x->buf)) {
		x->overflow = true;
		return;
	}
	v = htonl(v);
	memcpy(x->buf + x->len, &v, 4);
	x->len += 4;
}

static void putopaque(struct xdr *x, const void *p, size_t n)
{
	size_t pad = (4 - n % 4) % 4;

	put32(x, (uint32_t)n);
	if (x->len + n + pad > sizeof(x->buf)) {
		x->overflow = true;
		return;
	}
	memcpy(x->buf + x->len, p, n);
	memset(x->buf + x->len + n, 0, pad);
	x->len += n + pad;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int mh_nfs4_lookup_status(rpc_io_fn io, void *ctx, const char *path,
			  uint32_t *status, char *err, size_t errlen)
{
	uint32_t xid = (uint32_t)time(NULL) * 2654435761U ^ (uint32_t)getpid();
	unsigned char reply[4096];
	const char *p = path, *slash;
	struct xdr x = { .len = 0 };
	uint32_t nops = 2;
	size_t nops_at;
	int n;

	put32(&x, xid);
	put32(&x, 0);			/* CALL */
	put32(&x, 2);			/* RPC version */
	put32(&x, 100003);
	put32(&x, 4);
	put32(&x, 1);			/* COMPOUND */
	put32(&x, 1);			/* AUTH_SYS */
	put32(&x, 20 + 8);		/* body length: stamp, "rpctls", ids */
	put32(&x, (uint32_t)time(NULL));
	putopaque(&x, "rpctls", 6);	/* machinename: 4 + 8 bytes */
	put32(&x, 0);			/* uid */
	put32(&x, 0);			/* gid */
	put32(&x, 0);			/* no gids */
	put32(&x, 0);			/* verifier AUTH_NONE */
	put32(&x, 0);
	putopaque(&x, "", 0);		/* tag */
	put32(&x, 0);			/* minor version */
	nops_at = x.len;
	put32(&x, 0);			/* patched below */
	put32(&x, OP_PUTROOTFH);
	while (*p) {
		size_t clen;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		slash = strchr(p, '/');
		clen = slash ? (size_t)(slash - p) : strlen(p);
		put32(&x, OP_LOOKUP);
		putopaque(&x, p, clen);
		nops++;
		p += clen;
	}
	put32(&x, OP_GETFH);
	if (x.overflow) {
		snprintf(err, errlen, "path '%s' is too long", path);
		return -ENAMETOOLONG;
	}
	nops = htonl(nops);
	memcpy(x.buf + nops_at, &nops, 4);

	n = io(ctx, x.buf, x.len, reply, sizeof(reply));
	if (n < 0) {
		snprintf(err, errlen, "NFSv4 COMPOUND: %s", strerror(-n));
		return n;
	}
	return mh_nfs4_parse_reply(reply, (size_t)n, xid, status, err, errlen);
}

/*
 * The reply to our COMPOUND: xid, REPLY, MSG_ACCEPTED, the verifier
 * (opaque_auth: flavor, length, body), accept status SUCCESS, then the
 * COMPOUND status.  Every length from the wire is checked against what is
 * left of the reply before it is used in arithmetic.
 */
int mh_nfs4_parse_reply(const unsigned char *reply, size_t n, uint32_t xid,
			uint32_t *status, char *err, size_t errlen)
{
	size_t off, vlen;

	if (n < 24 || get32(reply) != xid || get32(reply + 4) != 1) {
		snprintf(err, errlen, "NFSv4 COMPOUND: not a reply to our call");
		return -EPROTO;
	}
	if (get32(reply + 8) != 0) {
		snprintf(err, errlen,
			 "NFSv4 COMPOUND was denied (MSG_DENIED, reject status %u)",
			 get32(reply + 12));
		return -EACCES;
	}
	vlen = get32(reply + 16);
	/* RFC 5531: a verifier body is at most 400 bytes */
	if (vlen > RPC_MAX_AUTH_BYTES || vlen > n - 20) {
		snprintf(err, errlen,
			 "NFSv4 COMPOUND: malformed reply (verifier of %zu bytes in a %zu-byte reply)",
			 vlen, n);
		return -EPROTO;
	}
	off = 20 + ((vlen + 3) & ~(size_t)3);
	if (n < off + 8 || get32(reply + off) != 0) {
		snprintf(err, errlen,
			 "NFSv4 COMPOUND not executed (accept status %u)",
			 n >= off + 4 ? get32(reply + off) : 0);
		return -EPROTO;
	}
	*status = get32(reply + off + 4);
	return 0;
}
