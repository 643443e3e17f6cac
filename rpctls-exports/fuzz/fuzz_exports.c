// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: rpctls-exports' parsers, built from its source with
 * main() renamed.  The first byte picks one:
 *   0  exports(5)-style lines (the lexer and parse_line), one per line
 *   1  the kernel's table as /proc/fs/nfsd/xprtsec shows it
 *   2  the path escaping written to the kernel, then read back
 */
#include <stdint.h>

#define main rpctls_exports_main
#include "../rpctls-exports.c"
#undef main

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct table t = { 0 };
	char *buf, *line, *next, why[512];
	unsigned int modes;
	FILE *f;

	if (size < 1)
		return 0;
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		for (line = buf; line; line = next) {
			struct lexer lx = { .file = "fuzz", .line = 1 };
			char *path;

			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			lx.p = line;
			parse_line(&lx, &path, &modes, why, sizeof(why));
		}
		break;
	case 1:
		f = fmemopen(buf, size - 1 ? size - 1 : 1, "r");
		if (f) {
			read_kernel_stream(f, "fuzz", &t);
			fclose(f);
		}
		table_free(&t);
		break;
	case 2: {
		char esc[PATH_MAX * 4 + 1];

		escape(buf, esc, sizeof(esc));
		unescape(esc);
		if (strlen(buf) < PATH_MAX && strcmp(esc, buf))
			abort();	/* the kernel would get another path */
		break;
	}
	}
	free(buf);
	return 0;
}
