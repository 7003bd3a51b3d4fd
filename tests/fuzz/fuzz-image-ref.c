/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: image references and registry host names from the
 * command line or an image name.  An accepted reference has a registry that
 * parses as host[:port], and its canonical name parses back to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *)data, size), host[IMG_HOST_MAX + 1];
	struct img_ref r = {}, r2 = {};
	struct err *err = NULL;
	unsigned port;

	if (!s)
		return 0;
	(void)img_registry_is_local(s);
	if (img_registry_host_parse(s, host, &port) == 0 && (port > 65535 || !*host))
		abort();
	if (img_ref_parse(s, &r, &err) == 0) {
		char *name = img_ref_name(&r);

		if (!r.registry || !r.repo || (!r.tag && !r.digest) || !name)
			abort();
		if (img_registry_host_parse(r.registry, host, &port) < 0 &&
		    strcmp(r.registry, "docker.io"))
			abort();
		if (img_ref_parse(name, &r2, &err) < 0 || strcmp(r2.registry, r.registry) ||
		    strcmp(r2.repo, r.repo))
			abort();
		img_ref_free(&r2);
		free(name);
		img_ref_free(&r);
	} else if (!err) {
		abort();
	}
	err_free(&err);
	free(s);
	return 0;
}
