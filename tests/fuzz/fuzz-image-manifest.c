/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: a registry's manifest, index or image config (untrusted
 * JSON).  Each parser must accept or refuse it cleanly; what it accepts must
 * hold valid digests and a bounded number of layers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct img_manifest *m = calloc(1, sizeof(*m));
	char pick[IMG_DIGEST_LEN + 1];
	struct err *err = NULL;
	char **ids = NULL;

	if (!m)
		return 0;
	if (img_manifest_parse((const char *)data, size, m, &err) == 0) {
		if (!img_digest_valid(m->config) || m->n_layers > IMG_LAYERS_MAX)
			abort();
		for (size_t i = 0; i < m->n_layers; i++)
			if (!img_digest_valid(m->layers[i].digest) || m->layers[i].size == 0)
				abort();
	} else if (!err) {
		abort();
	}
	err_free(&err);
	if (img_index_pick((const char *)data, size, pick, &err) == 0 && !img_digest_valid(pick))
		abort();
	err_free(&err);
	if (img_config_diff_ids((const char *)data, size, &ids, &err) == 0) {
		for (char **p = ids; p && *p; p++)
			if (!img_digest_valid(*p))
				abort();
		strv_free(ids);
	}
	err_free(&err);
	free(m);
	return 0;
}
