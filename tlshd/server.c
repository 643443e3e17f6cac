// SPDX-License-Identifier: GPL-2.0
/*
 * ServerHello side: x.509 (our certificate from the kernel's key serials,
 * else [authenticate.server]; the client's certificate is requested when
 * the server role has a trust anchor for it, and required with
 * TLSH_F_PEER_CERT_REQUIRED) and PSK (identity looked up in the keyrings).  ALPN "sunrpc" is the only protocol we answer and a
 * client that does not offer it is refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "tlshd.h"

static int psk_cb(gnutls_session_t session, const gnutls_datum_t *username,
		  gnutls_datum_t *key)
{
	struct tlshd_handshake *hs = gnutls_session_get_ptr(session);
	gnutls_datum_t k = { NULL, 0 };
	char identity[256];
	int32_t serial;

	if (!hs)
		return -1;
	if (!username->size || username->size >= sizeof(identity) ||
	    memchr(username->data, '\0', username->size)) {
		hs->hs_psk_unknown = true;
		snprintf(hs->hs_reason, sizeof(hs->hs_reason),
			 "malformed PSK identity (%u bytes)", username->size);
		return -1;
	}
	memcpy(identity, username->data, username->size);
	identity[username->size] = '\0';
	serial = tlshd_keyring_find_psk(hs->hs_config,
					hs->hs_params.p_keyring, identity);
	if (!serial || tlshd_keyring_read(serial, &k) < 0 || !k.size) {
		char shown[200];

		hs->hs_psk_unknown = true;
		/* the client's bytes: escaped before they reach the log */
		snprintf(hs->hs_reason, sizeof(hs->hs_reason),
			 "unknown PSK identity '%s'",
			 tlshd_log_escape(identity, username->size, shown,
					  sizeof(shown)));
		free(k.data);
		return -1;
	}
	key->data = gnutls_malloc(k.size);
	if (!key->data) {
		explicit_bzero(k.data, k.size);
		free(k.data);
		return -1;
	}
	memcpy(key->data, k.data, k.size);
	key->size = k.size;
	explicit_bzero(k.data, k.size);
	free(k.data);
	hs->hs_psk_serial = serial;
	return 0;
}

int tlshd_server_setup(struct tlshd_handshake *hs)
{
	const struct tlshd_params *p = &hs->hs_params;
	struct tlshd_config *cf = hs->hs_config;
	bool psk = p->p_type == TLSH_TYPE_SERVERHELLO_PSK;
	int ret;

	ret = tlshd_handshake_session_init(hs, GNUTLS_SERVER,
					   GNUTLS_ALPN_SERVER_PRECEDENCE, psk);
	if (ret < 0)
		return ret;

	if (psk) {
		ret = gnutls_psk_allocate_server_credentials(&hs->hs_psk_server);
		if (ret < 0)
			return tlshd_handshake_error(hs, ENOMEM, "%s",
						     gnutls_strerror(ret));
		gnutls_psk_set_server_credentials_function2(hs->hs_psk_server,
							    psk_cb);
		ret = gnutls_credentials_set(hs->hs_session, GNUTLS_CRD_PSK,
					     hs->hs_psk_server);
		return ret < 0 ? tlshd_handshake_error(hs, EIO, "%s",
						       gnutls_strerror(ret)) : 0;
	}

	if (p->p_cert > 0 && p->p_privkey > 0) {
		if (tlshd_keyring_load_certkey(hs))
			return -1;
	} else if (p->p_cert > 0 || p->p_privkey > 0) {
		return tlshd_handshake_error(hs, EINVAL,
			"certificate serial %d without key serial %d",
			p->p_cert, p->p_privkey);
	} else if (!cf->cf_server_ck) {
		return tlshd_handshake_error(hs, ENOKEY,
			"no server certificate: none from the kernel and no x509.certificate in [authenticate.server] of %s",
			cf->cf_path);
	}
	/*
	 * No anchor for client certificates (no x509.truststore and the
	 * system store not asked for): none is requested, so every client
	 * is anonymous, and one that must authenticate cannot.
	 */
	if (!tlshd_config_has_anchors(cf, true) &&
	    (p->p_flags & TLSH_F_PEER_CERT_REQUIRED))
		return tlshd_handshake_error(hs, EACCES,
			"client certificate required, but [authenticate.server] of %s has no x509.truststore (the system store authenticates clients only with x509.system_trust = true)",
			cf->cf_path);
	ret = gnutls_credentials_set(hs->hs_session, GNUTLS_CRD_CERTIFICATE,
				     tlshd_config_creds(cf, true));
	if (ret < 0)
		return tlshd_handshake_error(hs, EIO, "credentials: %s",
					     gnutls_strerror(ret));
	gnutls_certificate_server_set_request(hs->hs_session,
		(p->p_flags & TLSH_F_PEER_CERT_REQUIRED) ? GNUTLS_CERT_REQUIRE :
		tlshd_config_has_anchors(cf, true) ? GNUTLS_CERT_REQUEST :
		GNUTLS_CERT_IGNORE);
	return 0;
}

int tlshd_server_finish(struct tlshd_handshake *hs)
{
	if (hs->hs_params.p_type == TLSH_TYPE_SERVERHELLO_PSK) {
		if (gnutls_auth_get_type(hs->hs_session) != GNUTLS_CRD_PSK ||
		    !hs->hs_psk_serial)
			return tlshd_handshake_error(hs, EKEYREJECTED,
				"client did not authenticate with a PSK");
		hs->hs_peerid = hs->hs_psk_serial;
		hs->hs_peer_auth = true;
		return 0;
	}
	if ((hs->hs_params.p_flags & TLSH_F_PEER_CERT_REQUIRED) &&
	    !hs->hs_peer_auth)
		return tlshd_handshake_error(hs, EACCES,
			"client certificate required, none verified");
	return 0;
}
