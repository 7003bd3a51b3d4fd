/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* preboot-dev.c: the pre-boot PUT/PATCH bodies into the configuration. */
#include <jansson.h>

#include "../vm-config.h"

int pb_boot_source(struct vm_config *cfg, json_t *j, struct err **err);
int pb_machine_config(struct vm_config *cfg, json_t *j, bool patch, struct err **err);
int pb_drive(struct vm_config *cfg, const char *id, json_t *j, struct err **err);
int pb_net(struct vm_config *cfg, const char *id, json_t *j, struct err **err);
int pb_vsock(struct vm_config *cfg, json_t *j, struct err **err);
int pb_balloon(struct vm_config *cfg, json_t *j, struct err **err);
int pb_entropy(struct vm_config *cfg, json_t *j, struct err **err);
