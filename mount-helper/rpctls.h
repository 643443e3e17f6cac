/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rpctls: the NFS-over-TLS mount helper and status command.
 *
 * One binary, dispatched on its name (wireguard-tools style):
 *   mount.nfs, mount.nfs4, rpctls-mount   the mount(8) helper (mount.c)
 *   umount.nfs, umount.nfs4               the umount(8) helper (mount.c)
 *   rpctls status|probe|cleanup           the command (main.c)
 *
 * Functions other files call carry the prefix mh_ and are declared here,
 * grouped by the file that defines them; the rest are static.
 *
 * Environment overrides, for tests and unusual installs:
 *   RPCTLS_MOUNT_NFS   the real mount.nfs (default /sbin/mount.nfs.real)
 *   RPCTLS_PROC        where /proc is (status fixtures)
 *   RPCTLS_RUNDIR      per-mount records (default /run/rpctls/mounts)
 *   RPCTLS_TLSHD_CONF  tlshd's configuration (default: where tlshd looks,
 *                      /etc/tlshd/config, else /etc/tlshd.conf)
 *   RPCTLS_SKIP_KERNEL_CHECK  do not ask the kernel about xprtsec= (tests)
 */
#ifndef RPCTLS_H
#define RPCTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

/*
 * mount.nfs exit codes (nfs-utils utils/mount/error.h, mount(8)); not
 * EX_*, whose <sysexits.h> values differ (EX_USAGE 64, EX_SYSERR 71)
 */
#define MH_EX_OK	0
#define MH_EX_USAGE	1
#define MH_EX_SYSERR	2
#define MH_EX_FAIL	32

enum xprtsec {
	XS_UNSET = 0,
	XS_NONE,
	XS_TLS,
	XS_MTLS,
	XS_AUTO,
};

/* options.c: the mount options we handle; everything else passes through */
struct mopts {
	enum xprtsec	xprtsec;
	char		*tlscert;	/* tlscert=FILE */
	char		*tlskey;	/* tlskey=FILE */
	bool		has_serials;	/* cert_serial=/privkey_serial= given */
	unsigned int	port;		/* port=, 0 = default 2049 */
	unsigned int	vers;		/* NFS major version for the probe */
	bool		rdma_or_udp;	/* proto=rdma/udp: no TLS possible */
	char		*passthru;	/* other options, comma separated */
};

const char *mh_xprtsec_name(enum xprtsec x);
int mh_mopts_parse(const char *opts, bool nfs4, struct mopts *m, char *err,
		   size_t errlen);
void mh_mopts_free(struct mopts *m);
char *mh_mopts_build(const struct mopts *m, enum xprtsec chosen,
		     int32_t cert_serial, int32_t key_serial);
int mh_split_spec(const char *spec, char *host, size_t hlen, char *err,
		  size_t errlen);
bool mh_rpctls_relevant(const char *opts);

/* probe.c: RFC 9289 section 4.1 in user space */
enum probe_result {
	PROBE_STARTTLS,		/* MSG_ACCEPTED, verifier AUTH_NONE "STARTTLS" */
	PROBE_NO_STARTTLS,	/* MSG_ACCEPTED without the STARTTLS verifier */
	PROBE_DENIED,		/* MSG_DENIED: server does not know AUTH_TLS */
	PROBE_BAD_REPLY,	/* not an RPC reply to our call */
	PROBE_UNREACHABLE,	/* resolve/connect/timeout failed */
};

struct peer {
	char		host[256];
	char		addrstr[64];
	struct sockaddr_storage addr;
	socklen_t	addrlen;
	int		family;
	unsigned int	port;
};

int mh_peer_resolve(struct peer *p, const char *host, unsigned int port,
		    char *err, size_t errlen);
int mh_peer_connect(const struct peer *p, int timeout_ms, char *err,
		    size_t errlen);
enum probe_result mh_probe_auth_tls(int fd, unsigned int vers, int timeout_ms,
				    char *detail, size_t dlen);
enum probe_result mh_probe_parse_reply(const unsigned char *reply, size_t n,
				       uint32_t xid, char *detail, size_t dlen);
const char *mh_probe_result_name(enum probe_result r);
int mh_rpc_send_record(int fd, const void *buf, size_t len);
int mh_rpc_recv_record(int fd, void *buf, size_t cap, int timeout_ms);

/* diag.c: a user-space TLS handshake to explain a failure */
struct diag_opts {
	const char	*truststore;	/* CA file; NULL: system store */
	const char	*certfile;	/* client certificate (PEM) or NULL */
	const char	*keyfile;
	const char	*certpem;	/* ... or in memory */
	size_t		certlen;
	const char	*keypem;
	size_t		keylen;
	const char	*export_path;	/* for the WRONGSEC check, or NULL */
	unsigned int	vers;
	int		timeout_ms;
};

enum diag_verdict {
	DIAG_OK,		/* handshake and a NULL RPC over TLS worked */
	DIAG_NO_STARTTLS,
	DIAG_UNREACHABLE,
	DIAG_UNTRUSTED,
	DIAG_EXPIRED,
	DIAG_NOT_ACTIVATED,
	DIAG_REVOKED,
	DIAG_NAME_MISMATCH,
	DIAG_BAD_CERT_OTHER,
	DIAG_NEEDS_CLIENT_CERT,
	DIAG_CLIENT_CERT_REJECTED,
	DIAG_ALPN,
	DIAG_TLS_VERSION,
	DIAG_HANDSHAKE_FAILED,
	DIAG_WRONGSEC,
	DIAG_UNKNOWN,
};

struct diag_report {
	enum diag_verdict verdict;
	char		message[512];	/* one sentence naming the cause */
	char		tls_version[32];
	char		cipher[64];
	char		peer_subject[256];
};

const char *mh_diag_tlshd_conf(void);
void mh_diag_run(const struct peer *p, const struct diag_opts *o,
		 struct diag_report *r);
void mh_diag_plain(const struct peer *p, const struct diag_opts *o,
		   struct diag_report *r);

/* nfs4.c: minimal NFSv4.0 COMPOUND for the WRONGSEC check */
typedef int (*rpc_io_fn)(void *ctx, const void *out, size_t outlen,
			 void *in, size_t incap);
int mh_nfs4_lookup_status(rpc_io_fn io, void *ctx, const char *path,
			  uint32_t *status, char *err, size_t errlen);
int mh_nfs4_parse_reply(const unsigned char *reply, size_t n, uint32_t xid,
			uint32_t *status, char *err, size_t errlen);
#define RPC_MAX_AUTH_BYTES	400	/* RFC 5531: opaque_auth body */

/* kernel.c: what the running kernel and agent can do */
enum kcap {
	KCAP_TLS,		/* the kernel knows xprtsec= */
	KCAP_NO_TLS,		/* "Unknown parameter 'xprtsec'" */
	KCAP_NO_NFS,		/* no such filesystem type */
	KCAP_UNKNOWN,		/* cannot tell (no fsopen, not root) */
};
enum kcap mh_kernel_tls_capable(const char *fstype, char *detail, size_t dlen);
const char *mh_proc_root(void);
int mh_tlsh_counters_read(const char *path, char names[][32], long *vals,
			  int max);
long mh_tlsh_counter(char names[][32], const long *vals, int n,
		     const char *name);
enum agent_state { AGENT_LISTENING, AGENT_NOT_LISTENING, AGENT_NO_MODULE };
enum agent_state mh_agent_check(int family, char *detail, size_t dlen);

/* keys.c: per-mount identity in a kernel keyring */
struct mount_keys {
	int32_t		keyring;
	int32_t		cert;
	int32_t		key;
};
int mh_keys_load(const char *certfile, const char *keyfile, const char *dir,
		 struct mount_keys *k, char *err, size_t errlen);
void mh_keys_drop(const struct mount_keys *k);
int mh_record_write(const char *dir, const char *spec,
		    const struct mount_keys *k, char *err, size_t errlen);
int mh_record_read(const char *dir, struct mount_keys *k);
void mh_record_remove(const char *dir);
const char *mh_run_dir(void);
int mh_cleanup_stale(bool verbose);

/* sockdiag.c: kTLS state of a connection (sock_diag INET_DIAG_ULP_INFO) */
struct ktls_info {
	char		ulp[16];	/* "tls" under kTLS, "" without a ULP */
	unsigned int	version;	/* TLS_1_3_VERSION, ... (0: unknown) */
	unsigned int	cipher;		/* TLS_CIPHER_* (0: unknown) */
	unsigned int	txconf, rxconf;	/* TLS_CONF_* */
	char		netns[64];	/* /run/netns name, "" for ours */
	int		nconn;		/* connections that matched */
	int		ntls;		/* ... of them under kTLS */
	bool		mixed;		/* kTLS ones differ in version/cipher */
};
int mh_ktls_lookup(const char *addr, unsigned int dport, unsigned int sport,
		   struct ktls_info *ki);
const char *mh_ktls_version_name(unsigned int v);
const char *mh_ktls_cipher_name(unsigned int c);
const char *mh_ktls_conf_name(unsigned int c);

/* sockdiag.c: the part that reads a netlink reply (fuzzed) */
struct ktls_match {
	const void	*daddr;
	size_t		alen;
	unsigned int	dport, sport;
};
int mh_sockdiag_parse(const void *buf, size_t n, const struct ktls_match *want,
		      struct ktls_info *ki, bool *done);

/* status.c: DIR's xprt line in a mountstats file (fuzzed) */
long mh_mountstats_connect_count(FILE *f, const char *dir, char *proto,
				 size_t plen, long *lport);

/* mount.c */
int mh_mount_main(int argc, char **argv, const char *progname);
int mh_umount_main(int argc, char **argv, const char *progname);

/* status.c */
int mh_status_main(int argc, char **argv);

/* log: stderr and syslog */
void mh_audit(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* RPCTLS_H */
