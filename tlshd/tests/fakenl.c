// SPDX-License-Identifier: GPL-2.0
/* The kernel's side of the handshake netlink family, for tests (fakenl.h). */
#include <linux/genetlink.h>
#include <libmnl/libmnl.h>

#include "nl_handshake.h"
#include "fakenl.h"

struct nlmsghdr *fakenl_genl(char *buf, uint16_t type, uint8_t cmd,
			     uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = 1;
	return nlh;
}

struct nlmsghdr *fakenl_error(char *buf, uint32_t seq, int error)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = seq;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = error;
	return nlh;
}

struct nlmsghdr *fakenl_family(char *buf, uint32_t seq, bool with_id,
			       bool with_tlshd)
{
	struct nlmsghdr *nlh = fakenl_genl(buf, GENL_ID_CTRL,
					   CTRL_CMD_NEWFAMILY, seq);
	struct nlattr *groups, *grp;

	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, HANDSHAKE_FAMILY_NAME);
	if (with_id)
		mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, FAKENL_FAMILY);
	mnl_attr_put_u32(nlh, CTRL_ATTR_VERSION, 1);
	groups = mnl_attr_nest_start(nlh, CTRL_ATTR_MCAST_GROUPS);
	grp = mnl_attr_nest_start(nlh, 1);
	mnl_attr_put_strz(nlh, CTRL_ATTR_MCAST_GRP_NAME, "none");
	mnl_attr_put_u32(nlh, CTRL_ATTR_MCAST_GRP_ID, 8);
	mnl_attr_nest_end(nlh, grp);
	if (with_tlshd) {
		grp = mnl_attr_nest_start(nlh, 2);
		mnl_attr_put_u32(nlh, CTRL_ATTR_MCAST_GRP_ID, FAKENL_GROUP);
		mnl_attr_put_strz(nlh, CTRL_ATTR_MCAST_GRP_NAME, "tlshd");
		mnl_attr_nest_end(nlh, grp);
	}
	mnl_attr_nest_end(nlh, groups);
	return nlh;
}

static int done_attr(const struct nlattr *a, void *data)
{
	struct fakenl_done *d = data;

	if (mnl_attr_validate(a, MNL_TYPE_U32) < 0) {
		d->bad = true;
		return MNL_CB_OK;
	}
	switch (mnl_attr_get_type(a)) {
	case HANDSHAKE_A_DONE_STATUS:
		d->status = (int)mnl_attr_get_u32(a);
		break;
	case HANDSHAKE_A_DONE_SOCKFD:
		d->sockfd = (int)mnl_attr_get_u32(a);
		break;
	case HANDSHAKE_A_DONE_REMOTE_AUTH:
		d->auth = mnl_attr_get_u32(a);
		d->nauth++;
		break;
	default:
		d->bad = true;
	}
	return MNL_CB_OK;
}

bool fakenl_done_parse(const struct nlmsghdr *nlh, struct fakenl_done *d)
{
	return mnl_attr_parse(nlh, GENL_HDRLEN, done_attr, d) == MNL_CB_OK &&
	       !d->bad;
}
