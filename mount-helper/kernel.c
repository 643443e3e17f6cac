// SPDX-License-Identifier: GPL-2.0
/*
 * What the running kernel can do, asked without mounting anything:
 *
 *  - RPC-with-TLS: open an NFS filesystem context (fsopen(2)) and hand it
 *    "xprtsec=tls" (fsconfig(2)).  The NFS option parser runs right there:
 *    a kernel without RPC-with-TLS answers EINVAL and logs "Unknown
 *    parameter 'xprtsec'" into the context, which we read back.  Nothing
 *    is mounted; closing the context discards it.
 *  - a handshake agent: /proc/net/tlsh (AF_TLSH, tlsh-kmod) of this
 *    network namespace says whether an agent listens per address family.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rpctls.h"

#ifndef FSCONFIG_SET_STRING
#define FSCONFIG_SET_STRING	1
#endif
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC		0x00000001
#endif

const char *mh_proc_root(void)
{
	const char *p = getenv("RPCTLS_PROC");

	return p && *p ? p : "/proc";
}

enum kcap mh_kernel_tls_capable(const char *fstype, char *detail, size_t dlen)
{
	char msg[256];
	long fd;
	ssize_t n;

#ifdef SYS_fsopen
	fd = syscall(SYS_fsopen, fstype, FSOPEN_CLOEXEC);
#else
	fd = -1;
	errno = ENOSYS;
#endif
	if (fd < 0) {
		if (errno == ENODEV) {
			snprintf(detail, dlen,
				 "the kernel has no NFS client: filesystem type '%s' is unknown (modprobe nfs?)",
				 fstype);
			return KCAP_NO_NFS;
		}
		snprintf(detail, dlen, "cannot ask the kernel (fsopen %s: %s)",
			 fstype, strerror(errno));
		return KCAP_UNKNOWN;
	}
#ifdef SYS_fsconfig
	if (syscall(SYS_fsconfig, (int)fd, FSCONFIG_SET_STRING, "xprtsec",
		    "tls", 0) == 0) {
		close((int)fd);
		snprintf(detail, dlen,
			 "the kernel accepts xprtsec= (RPC-with-TLS)");
		return KCAP_TLS;
	}
#endif
	if (errno != EINVAL) {
		snprintf(detail, dlen, "cannot ask the kernel (fsconfig: %s)",
			 strerror(errno));
		close((int)fd);
		return KCAP_UNKNOWN;
	}
	/* The parser's message, "e nfs4: Unknown parameter 'xprtsec'" */
	n = read((int)fd, msg, sizeof(msg) - 1);
	close((int)fd);
	if (n > 0) {
		msg[n] = '\0';
		msg[strcspn(msg, "\n")] = '\0';
	} else {
		snprintf(msg, sizeof(msg), "e EINVAL");
	}
	snprintf(detail, dlen,
		 "this kernel has no RPC-with-TLS: it refuses the xprtsec= mount option (kernel says: %s)",
		 msg[1] == ' ' ? msg + 2 : msg);
	return KCAP_NO_TLS;
}

/* "name value" lines; returns the number read or -errno. */
int mh_tlsh_counters_read(const char *path, char names[][32], long *vals,
			  int max)
{
	FILE *f = fopen(path, "re");
	char line[128];
	int n = 0;

	if (!f)
		return -errno;
	while (n < max && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%31s %ld", names[n], &vals[n]) == 2)
			n++;
	}
	fclose(f);
	return n;
}

long mh_tlsh_counter(char names[][32], const long *vals, int n,
		     const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return vals[i];
	return -1;
}

enum agent_state mh_agent_check(int family, char *detail, size_t dlen)
{
	const char *which = family == AF_INET6 ? "listener_inet6" :
						 "listener_inet";
	char path[512], names[32][32];
	long vals[32], v;
	int n;

	snprintf(path, sizeof(path), "%s/net/tlsh", mh_proc_root());
	n = mh_tlsh_counters_read(path, names, vals, 32);
	if (n < 0) {
		snprintf(detail, dlen,
			 "no TLS handshake upcall in this kernel: %s: %s (load the tlsh module and start tlshd)",
			 path, strerror(-n));
		return AGENT_NO_MODULE;
	}
	v = mh_tlsh_counter(names, vals, n, which);
	if (v == 1) {
		snprintf(detail, dlen, "%s 1 in %s", which, path);
		return AGENT_LISTENING;
	}
	snprintf(detail, dlen,
		 "no TLS handshake agent listens in this network namespace for %s (%s %ld in %s): start tlshd in this network namespace",
		 family == AF_INET6 ? "IPv6" : "IPv4", which, v, path);
	return AGENT_NOT_LISTENING;
}
