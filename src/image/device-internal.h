/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Host device nodes for config.json (device.c), used by spec.c. */
#ifndef ISOLA_IMAGE_DEVICE_INTERNAL_H
#define ISOLA_IMAGE_DEVICE_INTERNAL_H

#include <jansson.h>

/* --device's nodes in linux.devices, their rules appended to @rules (the devices cgroup's). */
void img_spec_add_devices(json_t *lx, json_t *rules, char **list);
/* --privileged: the host's /dev nodes as linux.devices entries (NULL: none). */
json_t *img_spec_host_devices(void);

#endif
