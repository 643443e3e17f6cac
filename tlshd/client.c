// SPDX-License-Identifier: GPL-2.0
/*
 * ClientHello side: anonymous x.509 (server verified, no client
 * certificate), mutual x.509 (certificate and key from the kernel's key
 * serials, else from [authenticate.client]), and PSK from the keyring.
 * ALPN "sunrpc" is always offered and must be what the server selects.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlshd.h"

static int setup_psk(struct tlshd_handshake *hs)
{
	const struct tlshd_params *p = &hs->hs_params;
	gnutls_datum_t user, key = { NULL, 0 };
	char identity[256], why[300] = "";
	unsigned int i;
	int ret;

	if (!p->p_npsk)
		return tlshd_handshake_error(hs, ENOKEY,
					     "PSK handshake without a PSK");
	/* GnuTLS offers one external PSK: the first usable one. */
	for (i = 0; i < p->p_npsk; i++) {
		int32_t serial = p->p_psk_ids[i];

		ret = tlshd_keyring_psk_identity(serial, identity,
						 sizeof(identity));
		if (!ret)
			ret = tlshd_keyring_read(serial, &key);
		if (ret < 0) {
			snprintf(why, sizeof(why), "PSK key %d: %s", serial,
				 strerror(-ret));
			continue;
		}
		if (!key.size || !identity[0]) {
			snprintf(why, sizeof(why),
				 "PSK key %d: empty key or identity", serial);
			free(key.data);
			key.data = NULL;
			continue;
		}
		hs->hs_psk_serial = serial;
		break;
	}
	if (!hs->hs_psk_serial)
		return tlshd_handshake_error(hs, ENOKEY, "%s", why);

	ret = gnutls_psk_allocate_client_credentials(&hs->hs_psk_client);
	if (!ret) {
		user.data = (unsigned char *)identity;
		user.size = strlen(identity);
		ret = gnutls_psk_set_client_credentials2(hs->hs_psk_client,
							 &user, &key,
							 GNUTLS_PSK_KEY_RAW);
	}
	if (key.data)
		explicit_bzero(key.data, key.size);
	free(key.data);
	if (ret < 0)
		return tlshd_handshake_error(hs, ENOKEY, "PSK %d: %s",
					     hs->hs_psk_serial,
					     gnutls_strerror(ret));
	return gnutls_credentials_set(hs->hs_session, GNUTLS_CRD_PSK,
				      hs->hs_psk_client) < 0 ?
		tlshd_handshake_error(hs, EIO, "credentials") : 0;
}

static bool is_address(const char *name)
{
	unsigned char a[16];

	return inet_pton(AF_INET, name, a) == 1 ||
	       inet_pton(AF_INET6, name, a) == 1 || name[0] == '[';
}

int tlshd_client_setup(struct tlshd_handshake *hs)
{
	const struct tlshd_params *p = &hs->hs_params;
	struct tlshd_config *cf = hs->hs_config;
	bool psk = p->p_type == TLSH_TYPE_CLIENTHELLO_PSK;
	int ret;

	ret = tlshd_handshake_session_init(hs, GNUTLS_CLIENT, 0, psk);
	if (ret < 0)
		return ret;

	if (psk)
		return setup_psk(hs);

	if (p->p_peername[0] && !is_address(p->p_peername))
		gnutls_server_name_set(hs->hs_session, GNUTLS_NAME_DNS,
				       p->p_peername, strlen(p->p_peername));
	if (p->p_type == TLSH_TYPE_CLIENTHELLO_X509) {
		if (p->p_cert > 0 && p->p_privkey > 0) {
			if (tlshd_keyring_load_certkey(hs))
				return -1;
		} else if (p->p_cert > 0 || p->p_privkey > 0) {
			return tlshd_handshake_error(hs, EINVAL,
				"certificate serial %d without key serial %d",
				p->p_cert, p->p_privkey);
		} else if (!cf->cf_client_ck) {
			return tlshd_handshake_error(hs, ENOKEY,
				"mutual TLS needs a client certificate: none from the kernel and no x509.certificate in [authenticate.client] of %s",
				cf->cf_path);
		}
	}
	ret = gnutls_credentials_set(hs->hs_session, GNUTLS_CRD_CERTIFICATE,
				     tlshd_config_creds(cf, false));
	if (ret < 0)
		return tlshd_handshake_error(hs, EIO, "credentials: %s",
					     gnutls_strerror(ret));
	return 0;
}

int tlshd_client_finish(struct tlshd_handshake *hs)
{
	if (hs->hs_params.p_type == TLSH_TYPE_CLIENTHELLO_PSK) {
		if (gnutls_auth_get_type(hs->hs_session) != GNUTLS_CRD_PSK)
			return tlshd_handshake_error(hs, EKEYREJECTED,
				"server did not accept our PSK");
		hs->hs_peerid = hs->hs_psk_serial;
		hs->hs_peer_auth = true;
		return 0;
	}
	/* The verify callback ran and approved, or we never got here. */
	if (!hs->hs_peer_auth)
		return tlshd_handshake_error(hs, EACCES,
					     "server certificate not verified");
	return 0;
}
