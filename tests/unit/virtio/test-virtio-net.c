/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-net on a real, temporary TAP device (gone when the test exits): a
 * frame the guest transmits shows up on the interface, a frame sent to the
 * interface lands in the guest's receive buffer.  Needs root and /dev/net/tun.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "fake-vm.h"
#include "tap.h"
#include "virtio.h"
#include "vm-config.h"

#define ETH_P_TEST 0x88b5 /* IEEE local experimental */
#define HDR	   12

static const uint8_t guest_mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

static int frame(uint8_t *f, const uint8_t *src, const char *payload)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETH_P_TEST >> 8;
	f[13] = ETH_P_TEST & 0xff;
	memset(f + 14, 0, 46);
	memcpy(f + 14, payload, strlen(payload));
	return 60;
}

static void disable_ipv6(const char *name)
{
	char path[96];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	f = fopen(path, "we");
	if (f) {
		fputs("1", f);
		fclose(f);
	}
}

/* Bring the interface up and open a packet socket on it. */
static int host_side(const char *name, int *ret_ifindex)
{
	struct ifreq ifr = {0};
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int p;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return -1;
	*ret_ifindex = if_nametoindex(name);
	p = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_TEST));
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_TEST),
				  .sll_ifindex = *ret_ifindex};
	struct timeval tv = {2, 0};
	if (p < 0 || bind(p, (struct sockaddr *)&sll, sizeof(sll)) < 0 ||
	    setsockopt(p, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -1;
	return p;
}

static void test_tx(struct drv *d, int pkt)
{
	uint8_t buf[128];
	ssize_t n;

	memset(gp(BUFQ(d, 1, 0)), 0, HDR);
	frame((uint8_t *)gp(BUFQ(d, 1, 0)) + HDR, guest_mac, "isola-tx");
	desc_q(d, 1, 0, BUFQ(d, 1, 0), HDR + 60, 0, 0);
	is_int(drv_submit_q(d, 1, 0), 0, "tx: frame returned with length 0");
	n = recv(pkt, buf, sizeof(buf), 0);
	ok(n == 60 && memcmp(buf + 6, guest_mac, 6) == 0 && memcmp(buf + 14, "isola-tx", 8) == 0,
	   "tx: the guest's frame appears on the TAP interface (%zd bytes)", n);
}

static void test_rx(struct drv *d, int pkt, int ifindex)
{
	uint8_t f[60], host_mac[6] = {0x02, 0, 0, 0, 0, 0x99};
	struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6};
	int len = -1;

	for (unsigned i = 0; i < 3; i++) {
		desc_q(d, 0, i, BUFQ(d, 0, i), 2048, VIRTQ_DESC_F_WRITE, 0);
		AVAILQ(d, 0)->ring[i] = i;
	}
	__atomic_store_n(&AVAILQ(d, 0)->idx, 3, __ATOMIC_RELEASE);
	d->avail_idx[0] = 3;
	wr(d, 0x50, 0);
	frame(f, host_mac, "isola-rx");
	memset(to.sll_addr, 0xff, 6);
	ok(sendto(pkt, f, sizeof(f), 0, (struct sockaddr *)&to, sizeof(to)) == sizeof(f),
	   "rx: frame sent to the TAP interface");
	/* Other traffic (IPv6 neighbour discovery) may come first: look at each buffer. */
	for (int t = 0; t < 2000 && len < 0; t++) {
		uint16_t used = __atomic_load_n(&USEDQ(d, 0)->idx, __ATOMIC_ACQUIRE);

		for (uint16_t u = 0; u < used; u++) {
			struct virtq_used_elem *e = &USEDQ(d, 0)->ring[u];
			uint8_t *b = gp(BUFQ(d, 0, e->id));

			if (e->len >= HDR + 22 && memcmp(b + HDR + 14, "isola-rx", 8) == 0) {
				len = e->len;
				ok(b[10] == 1 && b[11] == 0, "rx: num_buffers is 1");
			}
		}
		usleep(1000);
	}
	is_int(len, HDR + 60, "rx: frame delivered with the virtio-net header");
}

/* Offer one-buffer receive chains [first, first+n) of `len` bytes each, and kick. */
static void offer_rx(struct drv *d, unsigned first, unsigned n, uint32_t len)
{
	for (unsigned i = first; i < first + n; i++) {
		desc_q(d, 0, i, BUFQ(d, 0, 0) + i * 256, len, VIRTQ_DESC_F_WRITE, 0);
		AVAILQ(d, 0)->ring[d->avail_idx[0]++ % QSZ] = i;
	}
	__atomic_store_n(&AVAILQ(d, 0)->idx, d->avail_idx[0], __ATOMIC_RELEASE);
	wr(d, 0x50, 0);
}

/* Wait until the used index reaches `want`. */
static bool used_reaches(struct drv *d, uint16_t want)
{
	for (int t = 0; t < 2000; t++) {
		if (__atomic_load_n(&USEDQ(d, 0)->idx, __ATOMIC_ACQUIRE) == want)
			return true;
		usleep(1000);
	}
	return false;
}

static void send_host_frame(int pkt, int ifindex, unsigned len)
{
	uint8_t f[1500] = {0}, host_mac[6] = {0x02, 0, 0, 0, 0, 0x99};
	struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6};

	frame(f, host_mac, "isola-rx");
	memset(to.sll_addr, 0xff, 6);
	if (sendto(pkt, f, len, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)len)
		printf("# sendto: %m\n");
}

/*
 * MRG_RXBUF: a too-short chain is returned empty and the frame spans the
 * next two; a frame larger than the whole ring is dropped and the next one
 * still arrives, spread over six 12-byte buffers.
 */
static void test_rx_mrg(struct drv *d, int pkt, int ifindex)
{
	struct virtq_used_elem *u = USEDQ(d, 0)->ring;
	uint8_t *b1 = gp(BUFQ(d, 0, 0) + 256);

	wr(d, 0x70, 0);
	ok(drv_init(d, (1ull << 32) | 1u << 5 | 1u << 15) & VIRTIO_STATUS_FEATURES_OK,
	   "mrg: MRG_RXBUF accepted");
	drv_queues(d, 2);
	offer_rx(d, 0, 1, 4);
	offer_rx(d, 1, 2, 48);
	send_host_frame(pkt, ifindex, 60);
	ok(used_reaches(d, 3), "mrg: three chains used");
	ok(u[0].id == 0 && u[0].len == 0, "mrg: the 4-byte chain came back empty");
	ok(u[1].id == 1 && u[1].len == 48 && u[2].id == 2 && u[2].len == 24,
	   "mrg: the 72 bytes span the next two (%u, %u)", u[1].len, u[2].len);
	ok(b1[10] == 2 && b1[11] == 0 && memcmp(b1 + HDR + 14, "isola-rx", 8) == 0,
	   "mrg: num_buffers 2, frame intact");

	offer_rx(d, 0, QSZ, HDR);
	send_host_frame(pkt, ifindex, 600);
	send_host_frame(pkt, ifindex, 60);
	ok(used_reaches(d, 3 + 6), "mrg: a 600-byte frame dropped, the next in six buffers");
	ok(u[3].id == 0 && ((uint8_t *)gp(BUFQ(d, 0, 0)))[10] == 6, "mrg: num_buffers 6");
}

int main(void)
{
	_cleanup_err_ struct err *err = NULL;
	struct vm_config cfg = {0};
	struct drv d = {.base = BASE, .ring = MEM_GPA};
	char name[IFNAMSIZ];
	uint8_t mac[6];
	int pkt, ifindex;

	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) < 0) {
		skip("SKIP: needs root and /dev/net/tun");
		return tap_done();
	}
	if (fake_vm_init() < 0)
		return 1;
	snprintf(name, sizeof(name), "isolaut%d", (int)getpid() % 1000000);
	cfg.n_nets = 1;
	cfg.nets[0] = (struct vm_net_cfg){.tap = name, .has_mac = true};
	memcpy(cfg.nets[0].mac, guest_mac, 6);
	if (!ok(vmm_virtio_setup(VM, &cfg, &err) == 0, "net on a new tap %s %s", name,
		err ? err->msg : ""))
		return tap_done();
	is_int(rd(&d, 0x8), VIRTIO_ID_NET, "net: device id");
	for (unsigned i = 0; i < 6; i++)
		bus_access(&mmio_bus, BASE + 0x100 + i, &mac[i], 1, false);
	ok(memcmp(mac, guest_mac, 6) == 0, "net: MAC in config space");
	ok((rd(&d, 0x10) & 3) == 3, "net: CSUM and GUEST_CSUM offered (the TAP passes them)");
	ok(rd(&d, 0x10) & 1u << 15, "net: MRG_RXBUF offered");
	ok(drv_init(&d, (1ull << 32) | 1u << 5 | 1u << 16) & VIRTIO_STATUS_FEATURES_OK,
	   "net: VERSION_1 + MAC + STATUS accepted");
	drv_queues(&d, 2);
	disable_ipv6(name); /* no neighbour discovery frames in the receive tests */
	pkt = host_side(name, &ifindex);
	if (ok(pkt >= 0, "host side of %s up", name)) {
		test_tx(&d, pkt);
		test_rx(&d, pkt, ifindex);
		test_rx_mrg(&d, pkt, ifindex);
		close(pkt);
	}
	vmm_virtio_teardown(VM);
	ok(if_nametoindex(name) == 0, "tap %s gone after teardown", name);
	fake_vm_fini();
	return tap_done();
}
