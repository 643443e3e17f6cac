/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tlshd: the user-space TLS handshake agent for the kernel's handshake
 * upcalls (AF_TLSH, and mainline's generic netlink "handshake" family).
 *
 * Prototypes are grouped by the file that defines them.  Functions are
 * named tlshd_<file>_<verb>; per-request state lives in struct
 * tlshd_handshake.
 */
#ifndef TLSHD_H
#define TLSHD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include <linux/tlsh.h>

#include "policy.h"

#define TLSHD_VERSION		"1.0"
/* Used when the kernel passes a zero timeout. */
#define TLSHD_DEFAULT_TIMEOUT_MS	20000U
#define TLSHD_MAX_CHAIN		16
#define TLSHD_MAX_KEYRINGS	16
#define TLSHD_MAX_STAMPS	8
/* "DN (source)" of the trust anchor that verified a peer */
#define TLSHD_ANCHOR_MAX	256

/* A certificate chain with its private key, as GnuTLS sends it. */
struct tlshd_certkey {
	gnutls_pcert_st		ck_pcert[TLSHD_MAX_CHAIN];
	unsigned int		ck_ncerts;
	gnutls_privkey_t	ck_key;
};

/* One [authenticate.client] or [authenticate.server] section. */
struct tlshd_auth_conf {
	char			*ac_truststore;
	char			*ac_crl;
	char			*ac_certificate;
	char			*ac_private_key;	/* a file or a GnuTLS URL */
	/* ktls-utils 1.4's ML-DSA pair: accepted, not used (a warning) */
	char			*ac_pq_certificate;
	char			*ac_pq_private_key;
	bool			ac_require_eku;
	int			ac_alpn_required;	/* -1: as [authenticate] */
	/*
	 * x509.system_trust: also trust the system store.  Unset, the
	 * client role uses it only when there is no x509.truststore, and
	 * the server role never does: a certificate bought for any web
	 * server must not authenticate an NFS client.
	 */
	bool			ac_system_trust;
	bool			ac_system_trust_set;
	/*
	 * x509.crl_cuts_sessions (server role): a CRL read again cuts the
	 * live sessions of the clients it revokes (live.c).  -1: unset, on.
	 */
	int			ac_crl_cuts;
};

/*
 * A file the credentials were built from, as it was when read: a change
 * (ACME renewal, a new CRL) makes the next handshake use a rebuilt
 * configuration (tlshd_config_changed(), tlshd_config_rebuild()).
 */
struct tlshd_file_stamp {
	const char		*fs_path;	/* points into the config */
	const char		*fs_section;	/* "authenticate.server" */
	const char		*fs_key;	/* "x509.crl" */
	int			fs_errno;	/* stat() failed with it */
	dev_t			fs_dev;
	ino_t			fs_ino;
	off_t			fs_size;
	struct timespec		fs_mtime;
	struct timespec		fs_ctime;
};

/*
 * A parsed configuration file plus the GnuTLS credentials built from it.
 * Handshakes hold a reference, so SIGHUP can swap in a new one while
 * older handshakes finish with the one they started with.  The references
 * are atomic (workers drop theirs); everything else is read-only once
 * loaded, but for the system trust store loaded on first use (under a
 * lock, tlshd_config_creds()).
 */
struct tlshd_config {
	unsigned int		cf_refs;
	char			*cf_path;
	char			*cf_text;	/* the text parsed, to rebuild */
	size_t			cf_textlen;
	char			*cf_warnings;	/* one per line, or NULL */
	int			cf_loglevel;	/* [debug] loglevel */
	int			cf_tls_debug;	/* [debug] tls */
	int			cf_nl_debug;	/* [debug] nl */
	char			*cf_keyrings[TLSHD_MAX_KEYRINGS];
	/* linked whatever the file says (.nfs, .nfsd, .nvme), as ktls-utils */
	bool			cf_keyring_implicit[TLSHD_MAX_KEYRINGS];
	unsigned int		cf_nkeyrings;
	bool			cf_alpn_required;	/* [authenticate] */
	struct tlshd_auth_conf	cf_client;
	struct tlshd_auth_conf	cf_server;

	/* built by tlshd_config_load_creds() */
	gnutls_certificate_credentials_t cf_client_creds;
	gnutls_certificate_credentials_t cf_server_creds;
	/*
	 * No x509.truststore: the system trust store, loaded by the first
	 * handshake that needs it (tlshd_config_creds()), since it costs
	 * about 26 KiB of heap per CA (3.7 MiB for Debian's 144).
	 */
	bool			cf_client_system_trust;
	bool			cf_server_system_trust;
	/* the x509.truststore CAs alone, when the system store is added */
	gnutls_x509_trust_list_t cf_client_file_tl;
	gnutls_x509_trust_list_t cf_server_file_tl;
	struct tlshd_certkey	*cf_client_ck;	/* NULL: none configured */
	struct tlshd_certkey	*cf_server_ck;
	struct tlshd_file_stamp	cf_stamps[TLSHD_MAX_STAMPS];
	unsigned int		cf_nstamps;
};

/* The request parameters the kernel passes (SOL_TLSH getsockopt). */
struct tlshd_params {
	uint64_t		p_req_id;
	uint32_t		p_type;		/* enum tlsh_type */
	uint32_t		p_flags;	/* TLSH_F_* */
	uint32_t		p_timeout_ms;
	int32_t			p_cert;		/* key serials, 0 = none */
	int32_t			p_privkey;
	int32_t			p_keyring;
	int32_t			p_psk_ids[TLSH_PSK_IDS_MAX];
	unsigned int		p_npsk;
	char			p_peername[TLSH_PEERNAME_MAX];
	char			p_priorities[TLSH_PRIORITIES_MAX];
};

/* Where a request came from, and so how its outcome is reported. */
enum tlshd_upcall {
	TLSHD_UPCALL_TLSH = 1,		/* AF_TLSH (rpctls' kernel) */
	TLSHD_UPCALL_NETLINK = 2,	/* mainline's "handshake" genetlink */
};

/* A handshake runs from tlshd_handshake_new() until done() reports it. */
enum tlshd_hs_state {
	TLSHD_HS_RUNNING,
	TLSHD_HS_DONE,
};

/* Per-request state. */
struct tlshd_handshake {
	int			hs_fd;
	int			hs_orig_flags;	/* fcntl F_GETFL at start */
	struct tlshd_params	hs_params;
	struct tlshd_config	*hs_config;
	gnutls_session_t	hs_session;
	gnutls_psk_client_credentials_t hs_psk_client;
	gnutls_psk_server_credentials_t hs_psk_server;
	struct tlshd_certkey	*hs_keyring_ck;	/* from kernel key serials */
	enum tlshd_hs_state	hs_state;
	bool			hs_want_write;
	struct timespec		hs_start;
	uint64_t		hs_deadline_ms;	/* CLOCK_MONOTONIC */
	char			hs_peeraddr[INET6_ADDRSTRLEN];
	unsigned int		hs_peerport;

	/* outcome */
	int			hs_status;	/* 0 or positive errno */
	int32_t			hs_peerid;
	bool			hs_peer_auth;
	bool			hs_alpn_none;	/* peer negotiated no ALPN */
	int32_t			hs_psk_serial;	/* PSK the server accepted */
	bool			hs_psk_unknown;
	int			hs_verify_errno;	/* set by verify callback */
	/* the alert that says why the peer's certificate was refused */
	gnutls_alert_description_t hs_verify_alert;
	char			hs_reason[256];
	char			hs_peer_subject[256];
	/* the trust anchor that verified the peer: DN and where it is from */
	char			hs_peer_anchor[TLSHD_ANCHOR_MAX];

	enum tlshd_upcall	hs_upcall;

	/* a worker's bookkeeping (worker.c) */
	struct tlshd_handshake	*hs_next;
	struct tlshd_handshake	*hs_prev;
	uint32_t		hs_events;
};

/* config.c */
struct tlshd_config *tlshd_config_parse_buf(const char *buf, size_t len,
					    const char *name, char *err,
					    size_t errlen);
struct tlshd_config *tlshd_config_load(const char *path, char *err,
				       size_t errlen);
int tlshd_config_load_creds(struct tlshd_config *cf, char *err,
			    size_t errlen);
gnutls_certificate_credentials_t tlshd_config_creds(struct tlshd_config *cf,
						    bool server);
bool tlshd_config_has_anchors(const struct tlshd_config *cf, bool server);
const char *tlshd_config_anchor_source(const struct tlshd_config *cf,
				       bool server, gnutls_x509_crt_t anchor);
struct tlshd_config *tlshd_config_get(struct tlshd_config *cf);
void tlshd_config_put(struct tlshd_config *cf);
bool tlshd_config_alpn_required(const struct tlshd_config *cf, bool server);
void tlshd_config_log_warnings(const struct tlshd_config *cf);
bool tlshd_config_changed(const struct tlshd_config *cf, char *what,
			  size_t len);
void tlshd_config_restamp(struct tlshd_config *cf);
struct tlshd_config *tlshd_config_rebuild(const struct tlshd_config *cf,
					  char *err, size_t errlen);
int tlshd_config_keyring_serial(const char *name);

/* log.c */
enum tlshd_log_level {
	TLSHD_LOG_ERR,
	TLSHD_LOG_WARN,
	TLSHD_LOG_NOTICE,	/* audit lines */
	TLSHD_LOG_INFO,
	TLSHD_LOG_DEBUG,
};
void tlshd_log_open(bool to_stderr);
void tlshd_log_set_level(int loglevel, int tls_debug);
void tlshd_log(enum tlshd_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define tlshd_log_err(...)	tlshd_log(TLSHD_LOG_ERR, __VA_ARGS__)
#define tlshd_log_warn(...)	tlshd_log(TLSHD_LOG_WARN, __VA_ARGS__)
#define tlshd_log_info(...)	tlshd_log(TLSHD_LOG_INFO, __VA_ARGS__)
#define tlshd_log_debug(...)	tlshd_log(TLSHD_LOG_DEBUG, __VA_ARGS__)
void tlshd_log_audit(const struct tlshd_handshake *hs);

/* reclaim.c */
void tlshd_reclaim_guard(void);
const char *tlshd_log_type_name(uint32_t type);

/* x509.c */
int tlshd_x509_certkey_load_mem(struct tlshd_certkey *ck,
				const gnutls_datum_t *cert,
				const gnutls_datum_t *key, char *err,
				size_t errlen);
int tlshd_x509_certkey_load_files(struct tlshd_certkey *ck,
				  const char *certfile, const char *keyfile,
				  char *err, size_t errlen);
void tlshd_x509_certkey_free(struct tlshd_certkey *ck);
bool tlshd_x509_is_url(const char *s);
void tlshd_x509_redact_url(const char *url, char *buf, size_t len);
int tlshd_x509_verify_cb(gnutls_session_t session);
int tlshd_x509_retrieve_cb(gnutls_session_t session,
			   const gnutls_datum_t *req_ca_rdn, int nreqs,
			   const gnutls_pk_algorithm_t *pk_algos,
			   int pk_algos_length, gnutls_pcert_st **pcert,
			   unsigned int *pcert_length,
			   gnutls_privkey_t *privkey);

/* keyring.c */
int tlshd_keyring_read(int32_t serial, gnutls_datum_t *out);
int tlshd_keyring_psk_identity(int32_t serial, char *buf, size_t len);
int32_t tlshd_keyring_find_psk(const struct tlshd_config *cf,
			       int32_t kernel_keyring, const char *identity);
int32_t tlshd_keyring_add_peer_cert(int32_t keyring, uint64_t req_id,
				    const gnutls_datum_t *der);
void tlshd_keyring_link_session(const struct tlshd_config *cf);
void tlshd_keyring_init(void);
int tlshd_keyring_load_certkey(struct tlshd_handshake *hs);

/* ktls.c */
/*
 * Test seam: the host has no kTLS, so the host tests in tlshd/tests/
 * set this to finish handshakes without installing keys and keep the
 * GnuTLS session for record I/O.  The daemon never sets it.
 */
extern bool tlshd_ktls_disabled;
int tlshd_ktls_install(gnutls_session_t session, int fd, char *why,
		       size_t whylen);
bool tlshd_ktls_cipher_ok(gnutls_cipher_algorithm_t cipher);

/* handshake.c */
struct tlshd_handshake *tlshd_handshake_new(int fd,
					    const struct tlshd_params *p,
					    struct tlshd_config *cf);
int tlshd_handshake_start(struct tlshd_handshake *hs);
int tlshd_handshake_step(struct tlshd_handshake *hs);
void tlshd_handshake_timeout(struct tlshd_handshake *hs);
void tlshd_handshake_fail(struct tlshd_handshake *hs, int status,
			  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int tlshd_handshake_error(struct tlshd_handshake *hs, int status,
			  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void tlshd_handshake_free(struct tlshd_handshake *hs);
int tlshd_handshake_session_init(struct tlshd_handshake *hs,
				 unsigned int init_flags,
				 unsigned int alpn_flags, bool psk);
const char *tlshd_handshake_priorities(const struct tlshd_handshake *hs,
				       bool psk, char *buf, size_t len);
uint64_t tlshd_now_ms(void);

/* client.c */
int tlshd_client_setup(struct tlshd_handshake *hs);
int tlshd_client_finish(struct tlshd_handshake *hs);

/* server.c */
int tlshd_server_setup(struct tlshd_handshake *hs);
int tlshd_server_finish(struct tlshd_handshake *hs);

/* status.c */
struct tlshd_status {
	int		st_errno;	/* 0 or a positive errno */
	const char	*st_name;
	const char	*st_meaning;
	int		st_by;		/* TLSH_STATUS_BY_* */
};
const struct tlshd_status *tlshd_status_table(size_t *n);
const char *tlshd_status_name(int status);
int tlshd_status_check(int status, uint64_t req_id);

/* netlink.c */
struct nlmsghdr;
struct tlshd_nl_family {
	uint16_t	nf_family;	/* genetlink id of "handshake" */
	uint32_t	nf_group;	/* its "tlshd" multicast group */
};
struct tlshd_nl {
	int		nl_fd;
	uint32_t	nl_portid;
	uint32_t	nl_seq;
	uint16_t	nl_family;
	bool		nl_kernel;	/* peer is the kernel (not a test) */
};
/* tlshd_netlink_accept(): a request was refused (logged, DONE sent) */
#define TLSHD_NL_REFUSED	2
/*
 * Test seam: tlshd-nltest sets this to hand out its end of a socketpair
 * that plays the kernel.  The daemon never sets it.
 */
extern int (*tlshd_netlink_test_socket)(bool join);
/* [debug] nl: 1 logs each netlink command, 2 also each notification */
extern int tlshd_netlink_debug;
int tlshd_netlink_probe(struct tlshd_nl_family *fam, char *why,
			size_t whylen);
int tlshd_netlink_open(struct tlshd_nl *nl, const struct tlshd_nl_family *fam,
		       bool join, char *why, size_t whylen);
void tlshd_netlink_close(struct tlshd_nl *nl);
int tlshd_netlink_ready(struct tlshd_nl *nl);
int tlshd_netlink_accept(struct tlshd_nl *nl, int *fd, struct tlshd_params *p);
int tlshd_netlink_done(struct tlshd_nl *nl, int sockfd, int status,
		       int32_t peerid);
int tlshd_netlink_parse_family(const void *buf, size_t len,
			       struct tlshd_nl_family *fam, char *why,
			       size_t whylen);
int tlshd_netlink_parse_ready(const struct nlmsghdr *nlh, uint16_t family,
			      char *why, size_t whylen);
int tlshd_netlink_parse_notifications(const void *buf, size_t len,
				      uint16_t family);
int tlshd_netlink_parse_accept(const void *buf, size_t len, uint16_t family,
			       int *sockfd, struct tlshd_params *p, char *why,
			       size_t whylen);
size_t tlshd_netlink_build_done(void *buf, size_t len, uint16_t family,
				uint32_t seq, int sockfd, int status,
				int32_t peerid);

/* upcall.c: AF_TLSH */
int tlshd_upcall_listen(int family);
int tlshd_upcall_read_params(int fd, struct tlshd_params *p);
void tlshd_upcall_report_anchor(int fd, uint64_t req_id, const char *anchor);
void tlshd_upcall_report(int fd, uint64_t req_id, int status, int32_t peerid,
			 bool auth, bool alpn_none);
bool tlshd_upcall_tlsh_present(void);

/* live.c: server sessions kept so that a new CRL can cut them */
#define TLSHD_LIVE_MAX		4096U
#define TLSHD_LIVE_CHECK_MS	2000
int tlshd_live_open(void);
int tlshd_live_keep(int fd, const gnutls_datum_t *chain, unsigned int n,
		    uint64_t req_id, const char *who);
void tlshd_live_add(struct tlshd_handshake *hs);
void tlshd_live_reap(void);
unsigned int tlshd_live_count(void);
unsigned int tlshd_live_check(struct tlshd_config *cf);
void tlshd_live_close(void);

/* dispatch.c: the main thread */
#define TLSHD_MAX_INFLIGHT	4096
#define TLSHD_MAX_WORKERS	256
int tlshd_dispatch_run(struct tlshd_config **cfp, const char *config_path,
		       unsigned int upcalls, unsigned int nworkers);

/* worker.c */
unsigned int tlshd_workers_default(void);
int tlshd_workers_start(unsigned int n, const struct tlshd_nl_family *fam,
			int wake_fd);
void tlshd_workers_submit(struct tlshd_handshake *hs);
unsigned int tlshd_workers_inflight(void);
bool tlshd_workers_freed(void);
void tlshd_workers_stop(void);

#endif /* TLSHD_H */
