// SPDX-License-Identifier: GPL-2.0
/*
 * Keys by serial (libkeyutils).
 *
 *  - certificates and private keys: a key whose payload is the PEM or DER
 *    encoding (any readable type, usually "user");
 *  - PSKs: a "psk" or "user" key whose description is the PSK identity
 *    and whose payload is the raw key;
 *  - the server finds a PSK by identity in the kernel's keyring for the
 *    request, then in each keyring named by [authenticate] keyrings, then,
 *    only when the kernel named no keyring, in the session keyring; an
 *    identity that names one of our peer keys ("tlshd:peer:...") is never
 *    a PSK;
 *  - a verified peer certificate (DER) becomes a "user" key described by
 *    its SHA-256, "tlshd:peer:<hex>", and its serial is the peer identity
 *    reported.  It goes to the keyring the kernel passed, else to
 *    tlshd's own "tlshd:peers" keyring, which hangs off the process
 *    keyring: no PSK search reaches it (the session keyring does not hold
 *    it) and it goes away with tlshd.  One key per distinct certificate:
 *    add_key() of an existing description updates that key in place and
 *    returns its serial, so a client handshaking in a loop costs one key,
 *    not one per handshake.  In tlshd:peers a key expires ten minutes
 *    after its last use, and the keyring holds at most PEER_KEYS_MAX of
 *    them (it is emptied when full): the keys count against root's key
 *    quota, which per-mount keys and every other root key share.  The
 *    kernel keeps only the serial, for display.
 */
#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <keyutils.h>

#include "tlshd.h"

#define PEER_KEY_TIMEOUT_S	600
#define PEER_KEYS_MAX		256
#define PEER_PREFIX		"tlshd:peer:"
#define PEERS_KEYRING		"tlshd:peers"

int tlshd_keyring_read(int32_t serial, gnutls_datum_t *out)
{
	void *buf = NULL;
	long n;

	n = keyctl_read_alloc(serial, &buf);
	if (n < 0)
		return -errno;
	out->data = buf;
	out->size = (unsigned int)n;
	return 0;
}

/* "type;uid;gid;perm;description" */
static int describe(int32_t serial, char *type, size_t tlen, char *desc,
		    size_t dlen)
{
	char *d = NULL, *p;
	int i;

	if (keyctl_describe_alloc(serial, &d) < 0)
		return -errno;
	p = d;
	for (i = 0; i < 4 && p; i++) {
		char *semi = strchr(p, ';');

		if (i == 0 && type)
			snprintf(type, tlen, "%.*s",
				 semi ? (int)(semi - p) : (int)strlen(p), p);
		p = semi ? semi + 1 : NULL;
	}
	if (!p) {
		free(d);
		return -EINVAL;
	}
	if (desc)
		snprintf(desc, dlen, "%s", p);
	free(d);
	return 0;
}

int tlshd_keyring_psk_identity(int32_t serial, char *buf, size_t len)
{
	char type[32];
	int ret;

	ret = describe(serial, type, sizeof(type), buf, len);
	if (ret < 0)
		return ret;
	if (strcmp(type, "psk") && strcmp(type, "user"))
		return -EKEYREJECTED;
	return 0;
}

static int32_t search(int32_t ring, const char *identity)
{
	long k;

	k = keyctl_search(ring, "psk", identity, 0);
	if (k > 0)
		return (int32_t)k;
	k = keyctl_search(ring, "user", identity, 0);
	return k > 0 ? (int32_t)k : 0;
}

/* A configured keyring: a serial number, or found by name. */
static long ring_id(const char *name)
{
	int serial = tlshd_config_keyring_serial(name);

	if (serial)
		return serial;
	return find_key_by_type_and_desc("keyring", name, 0);
}

int32_t tlshd_keyring_find_psk(const struct tlshd_config *cf,
			       int32_t kernel_keyring, const char *identity)
{
	unsigned int i;
	int32_t k;

	/* A peer certificate is public: its key must never serve as a PSK */
	if (!strncmp(identity, PEER_PREFIX, strlen(PEER_PREFIX)))
		return 0;

	if (kernel_keyring > 0) {
		k = search(kernel_keyring, identity);
		if (k)
			return k;
	}
	for (i = 0; i < cf->cf_nkeyrings; i++) {
		long ring = ring_id(cf->cf_keyrings[i]);

		if (ring <= 0)
			continue;
		k = search((int32_t)ring, identity);
		if (k)
			return k;
	}
	/* A request that names its keyring is confined to it. */
	if (kernel_keyring > 0)
		return 0;
	return search(KEY_SPEC_SESSION_KEYRING, identity);
}

/*
 * tlshd:peers is shared by the worker threads: finding or making it, the
 * size check, the clearing and the add are one step under this lock, or
 * two workers could each empty it or make a second one.
 */
static pthread_mutex_t peers_lock = PTHREAD_MUTEX_INITIALIZER;

/* tlshd:peers in the process keyring, created on first use; peers_lock */
static int32_t peers_keyring(void)
{
	static int32_t ring;
	long k;

	if (ring > 0 && keyctl_read(ring, NULL, 0) >= 0)
		return ring;
	k = keyctl_search(KEY_SPEC_PROCESS_KEYRING, "keyring", PEERS_KEYRING,
			  0);
	if (k < 0)
		k = add_key("keyring", PEERS_KEYRING, NULL, 0,
			    KEY_SPEC_PROCESS_KEYRING);
	ring = k > 0 ? (int32_t)k : 0;
	return ring;
}

/*
 * Make tlshd:peers before the worker threads start.  Since Linux 4.12 the
 * process keyring lives in each thread's credentials: a keyring that one
 * worker made later would be invisible to the others, and each would make
 * its own, one peer key per certificate per worker.  Threads started after
 * this share it.
 */
void tlshd_keyring_init(void)
{
	pthread_mutex_lock(&peers_lock);
	if (peers_keyring() <= 0)
		tlshd_log_warn("cannot make the %s keyring: %s; peer certificates go to the keyring the kernel names, or are not recorded",
			       PEERS_KEYRING, strerror(errno));
	pthread_mutex_unlock(&peers_lock);
}

/* Number of keys in @ring, or -1 */
static long ring_size(int32_t ring)
{
	long n = keyctl_read(ring, NULL, 0);

	return n < 0 ? -1 : n / (long)sizeof(key_serial_t);
}

int32_t tlshd_keyring_add_peer_cert(int32_t keyring, uint64_t req_id,
				    const gnutls_datum_t *der)
{
	unsigned char hash[32];
	char desc[sizeof(PEER_PREFIX) + 2 * sizeof(hash)];
	int32_t ring = keyring;
	key_serial_t k;
	size_t i;
	int errsv;

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, der->data, der->size, hash)) {
		tlshd_log_err("req=%" PRIu64 ": peer identity not recorded: cannot hash the certificate",
			      req_id);
		return 0;
	}
	i = (size_t)snprintf(desc, sizeof(desc), "%s", PEER_PREFIX);
	for (size_t j = 0; j < sizeof(hash); j++)
		i += (size_t)snprintf(desc + i, sizeof(desc) - i, "%02x",
				      hash[j]);

	if (ring <= 0) {
		pthread_mutex_lock(&peers_lock);
		ring = peers_keyring();
		if (ring <= 0) {
			tlshd_log_err("req=%" PRIu64 ": peer identity not recorded: no %s keyring: %s",
				      req_id, PEERS_KEYRING, strerror(errno));
			pthread_mutex_unlock(&peers_lock);
			return 0;
		}
		/* Full: a new certificate empties it (the kernel keeps serials
		 * only, for display; an update of a known one does not count).
		 */
		if (ring_size(ring) >= PEER_KEYS_MAX &&
		    keyctl_search(ring, "user", desc, 0) < 0) {
			tlshd_log_warn("%s holds %d peer certificates: emptied",
				       PEERS_KEYRING, PEER_KEYS_MAX);
			keyctl_clear(ring);
		}
		k = add_key("user", desc, der->data, der->size, ring);
		errsv = errno;
		pthread_mutex_unlock(&peers_lock);
		errno = errsv;
	} else {
		k = add_key("user", desc, der->data, der->size, ring);
	}
	if (k < 0 && keyring > 0) {
		tlshd_log_warn("req=%" PRIu64 ": cannot add the peer certificate to keyring %d: %s; using %s",
			       req_id, keyring, strerror(errno), PEERS_KEYRING);
		return tlshd_keyring_add_peer_cert(0, req_id, der);
	}
	if (k < 0) {
		tlshd_log_err("req=%" PRIu64 ": peer identity not recorded (the peer counts as anonymous): %s%s",
			      req_id, strerror(errno),
			      errno == EDQUOT ? " (root's key quota, /proc/sys/kernel/keys/root_max*)" : "");
		return 0;
	}
	if (keyring <= 0)
		keyctl_set_timeout(k, PEER_KEY_TIMEOUT_S);
	return k;
}

/*
 * Link the configured keyrings into our session keyring (as ktls-utils),
 * and .nfs, .nfsd and .nvme, which ktls-utils always links: those are
 * only there once their kernel module made them, so their absence is no
 * warning.
 */
void tlshd_keyring_link_session(const struct tlshd_config *cf)
{
	unsigned int i;

	for (i = 0; i < cf->cf_nkeyrings; i++) {
		long ring = ring_id(cf->cf_keyrings[i]);

		if (ring <= 0) {
			if (cf->cf_keyring_implicit[i])
				tlshd_log_debug("keyring '%s' not there (yet)",
						cf->cf_keyrings[i]);
			else
				tlshd_log_warn("keyring '%s' not found: %s",
					       cf->cf_keyrings[i],
					       strerror(errno));
			continue;
		}
		if (keyctl_link(ring, KEY_SPEC_SESSION_KEYRING) < 0)
			tlshd_log_warn("cannot link keyring '%s': %s",
				       cf->cf_keyrings[i], strerror(errno));
		else
			tlshd_log_info("linked keyring '%s' (%ld)",
				       cf->cf_keyrings[i], ring);
	}
}

/* The certificate and key the kernel named by serial. */
int tlshd_keyring_load_certkey(struct tlshd_handshake *hs)
{
	const struct tlshd_params *p = &hs->hs_params;
	gnutls_datum_t cert = { NULL, 0 }, key = { NULL, 0 };
	char why[200];
	int ret;

	ret = tlshd_keyring_read(p->p_cert, &cert);
	if (ret < 0)
		return tlshd_handshake_error(hs, ENOKEY,
					     "certificate key %d: %s",
					     p->p_cert, strerror(-ret));
	ret = tlshd_keyring_read(p->p_privkey, &key);
	if (ret < 0) {
		free(cert.data);
		return tlshd_handshake_error(hs, ENOKEY, "private key %d: %s",
					     p->p_privkey, strerror(-ret));
	}
	hs->hs_keyring_ck = calloc(1, sizeof(*hs->hs_keyring_ck));
	if (!hs->hs_keyring_ck)
		ret = tlshd_handshake_error(hs, ENOMEM, "out of memory");
	else if (tlshd_x509_certkey_load_mem(hs->hs_keyring_ck, &cert, &key,
					     why, sizeof(why)) < 0)
		ret = tlshd_handshake_error(hs, ENOKEY, "keys %d/%d: %s",
					    p->p_cert, p->p_privkey, why);
	else
		ret = 0;
	if (key.data)
		explicit_bzero(key.data, key.size);
	free(key.data);
	free(cert.data);
	return ret;
}
