// SPDX-License-Identifier: GPL-2.0
/*
 * Per-mount TLS identity (tlscert=FILE,tlskey=FILE).
 *
 * The PEM files are checked with GnuTLS (a certificate, a private key,
 * and the key belongs to the certificate), then added as two "user" keys
 * (tlshd reads any readable key by serial, tlshd/keyring.c) to a new
 * keyring "rpctls:DIR" linked into the mounting user's keyring, so they
 * outlive this process.  Permissions: possessor all; the owning user (the
 * mounter; tlshd runs as root) view, read, search; nobody else anything.
 * The kernel gets cert_serial=/privkey_serial=.
 *
 * The serials are recorded in RUNDIR/<escaped DIR> (default
 * /run/rpctls/mounts); umount.nfs (this program) or "rpctls cleanup"
 * unlinks and invalidates them when the mount is gone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <keyutils.h>

#include "rpctls.h"

#define KEY_PERM (KEY_POS_ALL | KEY_USR_VIEW | KEY_USR_READ | KEY_USR_SEARCH)

const char *mh_run_dir(void)
{
	const char *d = getenv("RPCTLS_RUNDIR");

	return d && *d ? d : "/run/rpctls/mounts";
}

static int read_file(const char *path, char **out, size_t *len, char *err,
		     size_t errlen)
{
	char *buf = NULL;
	size_t cap = 0, n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
		return -errno;
	}
	for (;;) {
		ssize_t r;

		if (n + 4096 > cap) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			if (cap > 1 << 20) {
				snprintf(err, errlen, "%s: larger than 1 MiB",
					 path);
				goto fail;
			}
			nb = realloc(buf, cap);
			if (!nb)
				goto fail;
			buf = nb;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			snprintf(err, errlen, "cannot read %s: %s", path,
				 strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
fail:
	if (buf)
		explicit_bzero(buf, cap);
	free(buf);
	close(fd);
	return -EINVAL;
}

/* The files hold a PEM certificate and its PEM private key. */
static int check_pem(const char *certfile, const char *c, size_t clen,
		     const char *keyfile, const char *k, size_t klen,
		     char *err, size_t errlen)
{
	gnutls_datum_t cd = { (unsigned char *)c, (unsigned int)clen };
	gnutls_datum_t kd = { (unsigned char *)k, (unsigned int)klen };
	gnutls_certificate_credentials_t cred;
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t key;
	int ret;

	if (gnutls_x509_crt_init(&crt) < 0)
		return -ENOMEM;
	ret = gnutls_x509_crt_import(crt, &cd, GNUTLS_X509_FMT_PEM);
	gnutls_x509_crt_deinit(crt);
	if (ret < 0) {
		snprintf(err, errlen, "tlscert=%s: not a PEM certificate: %s",
			 certfile, gnutls_strerror(ret));
		return -EINVAL;
	}
	if (gnutls_x509_privkey_init(&key) < 0)
		return -ENOMEM;
	ret = gnutls_x509_privkey_import(key, &kd, GNUTLS_X509_FMT_PEM);
	gnutls_x509_privkey_deinit(key);
	if (ret < 0) {
		snprintf(err, errlen,
			 "tlskey=%s: not a PEM private key (unencrypted PKCS#8 or PKCS#1/SEC1): %s",
			 keyfile, gnutls_strerror(ret));
		return -EINVAL;
	}
	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return -ENOMEM;
	ret = gnutls_certificate_set_x509_key_mem(cred, &cd, &kd,
						  GNUTLS_X509_FMT_PEM);
	gnutls_certificate_free_credentials(cred);
	if (ret < 0) {
		snprintf(err, errlen, "tlskey=%s does not belong to tlscert=%s: %s",
			 keyfile, certfile, gnutls_strerror(ret));
		return -EINVAL;
	}
	return 0;
}

int mh_keys_load(const char *certfile, const char *keyfile, const char *dir,
		 struct mount_keys *k, char *err, size_t errlen)
{
	char *c = NULL, *kp = NULL, desc[512];
	size_t clen = 0, klen = 0;
	int ret;

	memset(k, 0, sizeof(*k));
	ret = read_file(certfile, &c, &clen, err, errlen);
	if (ret < 0)
		return ret;
	ret = read_file(keyfile, &kp, &klen, err, errlen);
	if (ret < 0)
		goto out;
	ret = check_pem(certfile, c, clen, keyfile, kp, klen, err, errlen);
	if (ret < 0)
		goto out;

	snprintf(desc, sizeof(desc), "rpctls:%s", dir);
	k->keyring = add_key("keyring", desc, NULL, 0,
			     KEY_SPEC_USER_KEYRING);
	if (k->keyring < 0)
		goto kerr;
	keyctl_setperm(k->keyring, KEY_PERM);
	snprintf(desc, sizeof(desc), "rpctls:cert:%s", dir);
	k->cert = add_key("user", desc, c, clen, k->keyring);
	if (k->cert < 0)
		goto kerr;
	keyctl_setperm(k->cert, KEY_PERM);
	snprintf(desc, sizeof(desc), "rpctls:key:%s", dir);
	k->key = add_key("user", desc, kp, klen, k->keyring);
	if (k->key < 0)
		goto kerr;
	keyctl_setperm(k->key, KEY_PERM);
	ret = 0;
	goto out;
kerr:
	ret = -errno;
	snprintf(err, errlen, "cannot add the TLS identity to a kernel keyring: %s%s",
		 strerror(errno),
		 errno == EDQUOT ? " (key quota: see /proc/sys/kernel/keys/maxbytes)" : "");
	mh_keys_drop(k);
out:
	if (kp)
		explicit_bzero(kp, klen);
	free(kp);
	free(c);
	return ret;
}

void mh_keys_drop(const struct mount_keys *k)
{
	if (k->cert > 0)
		keyctl_invalidate(k->cert);
	if (k->key > 0)
		keyctl_invalidate(k->key);
	if (k->keyring > 0) {
		keyctl_unlink(k->keyring, KEY_SPEC_USER_KEYRING);
		keyctl_invalidate(k->keyring);
	}
}

/* "/mnt/a b" -> "RUNDIR/%2Fmnt%2Fa b" */
static void record_path(const char *dir, char *out, size_t len)
{
	size_t off = (size_t)snprintf(out, len, "%s/", mh_run_dir());
	const char *p;

	for (p = dir; *p && off + 4 < len; p++) {
		if (*p == '/' || *p == '%' || *p == '\n')
			off += (size_t)snprintf(out + off, len - off, "%%%02X",
						(unsigned char)*p);
		else
			out[off++] = *p;
	}
	out[off] = '\0';
}

static int mkdir_p(const char *path)
{
	char buf[512], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int mh_record_write(const char *dir, const char *spec,
		    const struct mount_keys *k, char *err, size_t errlen)
{
	char path[1024];
	FILE *f;
	int ret;

	ret = mkdir_p(mh_run_dir());
	if (ret < 0) {
		snprintf(err, errlen, "cannot create %s: %s", mh_run_dir(),
			 strerror(-ret));
		return ret;
	}
	record_path(dir, path, sizeof(path));
	f = fopen(path, "we");
	if (!f) {
		snprintf(err, errlen, "cannot write %s: %s", path,
			 strerror(errno));
		return -errno;
	}
	fprintf(f, "mountpoint %s\nspec %s\nkeyring %d\ncert %d\nkey %d\n",
		dir, spec, k->keyring, k->cert, k->key);
	if (fclose(f) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path,
			 strerror(errno));
		return -EIO;
	}
	return 0;
}

static int record_read_path(const char *path, struct mount_keys *k,
			    char *mnt, size_t mlen)
{
	char line[1200];
	FILE *f = fopen(path, "re");

	memset(k, 0, sizeof(*k));
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "mountpoint ", 11) && mnt && mlen) {
			size_t n = strlen(line + 11);

			n = n < mlen ? n : mlen - 1;
			memcpy(mnt, line + 11, n);
			mnt[n] = '\0';
		}
		sscanf(line, "keyring %d", &k->keyring);
		sscanf(line, "cert %d", &k->cert);
		sscanf(line, "key %d", &k->key);
	}
	fclose(f);
	return 0;
}

int mh_record_read(const char *dir, struct mount_keys *k)
{
	char path[1024];

	record_path(dir, path, sizeof(path));
	return record_read_path(path, k, NULL, 0);
}

void mh_record_remove(const char *dir)
{
	char path[1024];

	record_path(dir, path, sizeof(path));
	unlink(path);
}

/* Is DIR an NFS mount point in this mount namespace? */
static bool nfs_mounted(const char *dir)
{
	char path[512], line[4096];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/self/mountinfo", mh_proc_root());
	f = fopen(path, "re");
	if (!f)
		return true;	/* cannot tell: keep the keys */
	while (!found && fgets(line, sizeof(line), f)) {
		char mp[1024], *sep, fstype[32];

		if (sscanf(line, "%*s %*s %*s %*s %1023s", mp) != 1)
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%31s", fstype) != 1)
			continue;
		if (strncmp(fstype, "nfs", 3))
			continue;
		/* mountinfo escapes space, tab, newline, backslash as \ooo */
		{
			char un[1024], *o = un, *i = mp;

			while (*i && o < un + sizeof(un) - 1) {
				if (i[0] == '\\' && i[1] && i[2] && i[3]) {
					*o++ = (char)strtol((char[]){ i[1], i[2], i[3], 0 },
							    NULL, 8);
					i += 4;
				} else {
					*o++ = *i++;
				}
			}
			*o = '\0';
			found = !strcmp(un, dir);
		}
	}
	fclose(f);
	return found;
}

/* Drop the keys of mounts that are gone; returns how many. */
int mh_cleanup_stale(bool verbose)
{
	struct dirent **ents;
	int n, i, dropped = 0;

	n = scandir(mh_run_dir(), &ents, NULL, alphasort);
	if (n < 0)
		return 0;
	for (i = 0; i < n; i++) {
		char path[1024], mnt[1024] = "";
		struct mount_keys k;

		if (ents[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", mh_run_dir(),
				 ents[i]->d_name);
			if (!record_read_path(path, &k, mnt, sizeof(mnt)) &&
			    mnt[0] && !nfs_mounted(mnt)) {
				mh_keys_drop(&k);
				unlink(path);
				dropped++;
				if (verbose)
					printf("dropped the TLS keys of %s (keyring %d, no longer mounted)\n",
					       mnt, k.keyring);
			}
		}
		free(ents[i]);
	}
	free(ents);
	return dropped;
}
