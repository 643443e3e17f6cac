/* SPDX-License-Identifier: GPL-2.0 */
/* tlshd-unit: one TAP line per case (unit.c), the netlink and live parts. */
#ifndef TLSHD_UNIT_H
#define TLSHD_UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tlshd_config;

void result(bool ok, const char *name, const char *why);
bool copy_file(const char *from, const char *to, mode_t mode);
struct tlshd_config *load_conf(const char *path, const char *text,
			       char *err, size_t len);
void test_netlink(const char *manpage);
void test_live(const char *dir, const char *certs);

#endif /* TLSHD_UNIT_H */
