// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the tlshd.conf parser (no files are touched). */
#include <stddef.h>
#include <stdint.h>

#include "tlshd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlshd_config *cf;
	char err[256];

	cf = tlshd_config_parse_buf((const char *)data, size, "fuzz.conf",
				    err, sizeof(err));
	tlshd_config_put(cf);
	return 0;
}
