/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-net test guest: sends one broadcast frame of EtherType 0x88b5
 * (local experimental) carrying "isola-net-tx", then waits for a frame of the
 * same type carrying "isola-net-rx" (other traffic is skipped).  `hold=US`
 * waits after printing the MAC, then prints the MAC the device has now.
 * Exit codes: 0 ok, 1 no device, 2 negotiation, 3 queue, 4 timeout.
 */
#include "virtio-drv.h"

#define VIRTIO_ID_NET 1
#define F_MAC	      (1ull << 5)
#define F_STATUS      (1ull << 16)
#define NET_HDR	      12 /* virtio_net_hdr incl. num_buffers (VERSION_1) */
#define ETH_P_TEST    0x88b5
#define TIMEOUT_US    10000000

static uint8_t txbuf[NET_HDR + 60], rxbuf[2048];

static bool is_test_frame(const uint8_t *f, const char *tag)
{
	return f[12] == ETH_P_TEST >> 8 && f[13] == (ETH_P_TEST & 0xff) &&
	       !memcmp(f + 14, tag, guest_strnlen(tag, 32));
}

int main(void)
{
	struct vdrv_queue rxq, txq;
	struct vdrv_dev d;
	uint8_t mac[6];
	uint64_t end;

	if (vdrv_find(VIRTIO_ID_NET, 0, &d) < 0) {
		guest_printf("virtio-net: no device on the cmdline \"%s\"\n", guest_cmdline());
		return 1;
	}
	if (vdrv_init(&d, F_MAC | F_STATUS) < 0)
		return 2;
	if (vdrv_queue_setup(&d, 0, &rxq) < 0 || vdrv_queue_setup(&d, 1, &txq) < 0)
		return 3;
	vdrv_driver_ok(&d);
	for (unsigned i = 0; i < 6; i++)
		mac[i] = vdrv_config8(&d, i);
	guest_printf("virtio-net: mac %02x:%02x:%02x:%02x:%02x:%02x, status %u\n", mac[0], mac[1],
		     mac[2], mac[3], mac[4], mac[5], vdrv_config8(&d, 6));
	if (guest_cmdline_has("hold")) {
		vdrv_hold("virtio-net");
		guest_printf("virtio-net: mac now %02x:%02x:%02x:%02x:%02x:%02x\n",
			     vdrv_config8(&d, 0), vdrv_config8(&d, 1), vdrv_config8(&d, 2),
			     vdrv_config8(&d, 3), vdrv_config8(&d, 4), vdrv_config8(&d, 5));
	}

	uint8_t *f = txbuf + NET_HDR;
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = ETH_P_TEST >> 8;
	f[13] = ETH_P_TEST & 0xff;
	memcpy(f + 14, "isola-net-tx", 12);
	struct vdrv_buf tb = {txbuf, sizeof(txbuf), false};
	if (vdrv_submit(&txq, &tb, 1, TIMEOUT_US) < 0)
		return 4;
	guest_printf("virtio-net: frame sent\n");

	struct vdrv_buf rb = {rxbuf, sizeof(rxbuf), true};
	for (end = guest_now_us() + TIMEOUT_US; guest_now_us() < end;) {
		int64_t len;

		vdrv_offer(&rxq, &rb, 1);
		vdrv_kick(&rxq);
		len = vdrv_wait(&rxq, TIMEOUT_US);
		if (len < 0)
			return 4;
		if (len >= NET_HDR + 26 && is_test_frame(rxbuf + NET_HDR, "isola-net-rx")) {
			guest_printf("virtio-net: got %d-byte frame, num_buffers %u\n",
				     (int)len - NET_HDR, rxbuf[10]);
			return 0;
		}
	}
	return 4;
}
