/* SPDX-License-Identifier: GPL-2.0 */
/* tlshd-unit: one TAP line per case (unit.c), the netlink part. */
#ifndef TLSHD_UNIT_H
#define TLSHD_UNIT_H

#include <stdbool.h>

void result(bool ok, const char *name, const char *why);
void test_netlink(const char *manpage);

#endif /* TLSHD_UNIT_H */
