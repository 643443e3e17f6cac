/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's side of the "handshake" generic netlink family, as the
 * tests play it: the messages net/handshake and the genetlink controller
 * send to tlshd, and the parse of tlshd's DONE.  Shared by tlshd-unit's
 * crafted messages (unit_netlink.c) and tlshd-nltest's fake kernel
 * (nltest.c).
 */
#ifndef TLSHD_FAKENL_H
#define TLSHD_FAKENL_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/netlink.h>

#define FAKENL_FAMILY	0x1c	/* the handshake family's id in the tests */
#define FAKENL_GROUP	9	/* its "tlshd" multicast group */

/* A generic netlink header for @type/@cmd (version 1) at @buf. */
struct nlmsghdr *fakenl_genl(char *buf, uint16_t type, uint8_t cmd,
			     uint32_t seq);

/* An NLMSG_ERROR (an ack when @error is 0) at @buf. */
struct nlmsghdr *fakenl_error(char *buf, uint32_t seq, int error);

/*
 * The controller's CTRL_CMD_NEWFAMILY answer for the handshake family: its
 * name, version, the id FAKENL_FAMILY (unless !@with_id), a group "none"
 * (8) and the "tlshd" group FAKENL_GROUP (unless !@with_tlshd).
 */
struct nlmsghdr *fakenl_family(char *buf, uint32_t seq, bool with_id,
			       bool with_tlshd);

/* HANDSHAKE_CMD_DONE's attributes, as the kernel reads them. */
struct fakenl_done {
	int		status, sockfd;
	int		nauth;		/* REMOTE_AUTH attributes seen */
	uint32_t	auth;		/* the last one */
	bool		bad;		/* an attribute not u32, or unknown */
};

/* Parse the attributes of DONE message @nlh into @d; false if malformed. */
bool fakenl_done_parse(const struct nlmsghdr *nlh, struct fakenl_done *d);

#endif /* TLSHD_FAKENL_H */
