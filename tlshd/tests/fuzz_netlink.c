// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the netlink upcall's parsers (netlink.c), fed what
 * the kernel would send.  The first byte picks the parser: 0 an ACCEPT
 * reply, 1 the controller's family answer, 2 notifications (READY).
 * The message is copied to a buffer of its exact size, so AddressSanitizer
 * sees any read past it.  Seeds: tlshd-unit writes its crafted messages to
 * $TLSHD_NL_CORPUS.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlshd.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	tlshd_log_open(true);		/* never the host's syslog */
	tlshd_log_set_level(-3, 0);	/* and nothing at all: speed */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlshd_nl_family fam;
	struct tlshd_params p;
	char why[256], *buf;
	int fd;

	if (size < 1)
		return 0;
	buf = malloc(size - 1 ? size - 1 : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		tlshd_netlink_parse_accept(buf, size - 1, 0x1c, &fd, &p, why,
					   sizeof(why));
		break;
	case 1:
		tlshd_netlink_parse_family(buf, size - 1, &fam, why,
					   sizeof(why));
		break;
	default:
		tlshd_netlink_parse_notifications(buf, size - 1, 0x1c);
	}
	free(buf);
	return 0;
}
