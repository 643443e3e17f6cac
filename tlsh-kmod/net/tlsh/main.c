// SPDX-License-Identifier: GPL-2.0
/*
 * AF_TLSH: the TLS handshake upcall.  Module init and exit only; see
 * Documentation/networking/tls-handshake-upcall.rst.
 */

#include <linux/module.h>
#include <linux/net.h>

#include "internal.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

static int __init tlsh_init(void)
{
	int err;

	err = tlsh_netns_init();
	if (err)
		goto err_netns;
	err = tlsh_req_init();
	if (err)
		goto err_req;
	err = tlsh_af_init();
	if (err)
		goto err_af;
	tlsh_sockopt_init();
	return 0;

err_af:
	tlsh_req_exit();
err_req:
	tlsh_netns_exit();
err_netns:
	return err;
}

static void __exit tlsh_exit(void)
{
	tlsh_sockopt_exit();
	tlsh_af_exit();
	tlsh_req_exit();
	tlsh_netns_exit();
}

module_init(tlsh_init);
module_exit(tlsh_exit);

MODULE_DESCRIPTION("AF_TLSH: TLS handshake upcall to a user-space agent");
MODULE_LICENSE("GPL");
MODULE_ALIAS_NETPROTO(PF_TLSH);
