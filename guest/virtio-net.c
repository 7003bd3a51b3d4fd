/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-net test guest: sends one broadcast frame of EtherType 0x88b5
 * (local experimental) carrying "isola-net-tx", then waits for a frame of the
 * same type carrying "isola-net-rx" (other traffic is skipped).
 * `udp [csum]`: sends a UDP datagram 10.0.9.2:4000 -> 10.0.9.1:4001
 * carrying "isola-udp-tx" (with `csum`, CSUM and GUEST_CSUM are negotiated and
 * the UDP checksum is left to the device: NEEDS_CSUM with only the
 * pseudo-header sum in the field), then waits for a datagram to port 4000
 * carrying "isola-udp-rx" and prints the flags of its virtio_net_hdr.
 * `answer`: the other side of the first mode, for two VMs on a bridge: waits
 * for an "isola-net-tx" frame and answers with "isola-net-rx".
 * `mrg`: the first mode with MRG_RXBUF and four 48-byte receive buffers, so
 * a 60-byte frame (72 with the header) arrives in two; prints num_buffers.
 * `hold=US` waits after printing the MAC, then prints the MAC the device has now.
 * `seq=N`: a stop-and-wait exchange with a peer on the link (the migration test):
 * frame i carries "isola-seq", i and 32 bytes derived from i; the peer answers
 * "isola-ack" with the same i and bytes.  No answer within 100 ms: the frame is
 * sent again (a retransmit, as after a lost frame).  An answer for an earlier i
 * is a stale ack (the answer to a retransmitted frame whose first copy was not
 * lost); one for a later i, or with the wrong bytes, is corruption (exit 6), and
 * so is a used ring that jumps (vdrv_wait).  Prints "virtio-net: seq i" every 50
 * frames and "virtio-net: seq done N, retransmits R, stale S" at the end.
 * `burst=N`: sends N test frames back to back and prints how long that took.
 * `count=MS`: sends "isola-net-tx", then counts the "isola-net-rx" frames that arrive
 * within MS milliseconds.
 * Exit codes: 0 ok, 1 no device, 2 negotiation, 3 queue, 4 timeout, 6 corrupt.
 */
#include "virtio-drv.h"

#define VIRTIO_ID_NET 1
#define F_CSUM	      (1ull << 0)
#define F_GUEST_CSUM  (1ull << 1)
#define F_MAC	      (1ull << 5)
#define F_MRG_RXBUF   (1ull << 15)
#define MRG_BUFS      4
#define MRG_BUF_LEN   48
#define F_STATUS      (1ull << 16)
#define NET_HDR	      12 /* virtio_net_hdr incl. num_buffers (VERSION_1) */
#define ETH_P_TEST    0x88b5
#define TIMEOUT_US    10000000

static uint8_t txbuf[NET_HDR + 80], rxbuf[2048];

#define ETH_P_IP    0x0800
#define UDP_OFF	    (14 + 20)  /* UDP header in the frame (IPv4 without options) */
#define HOST_IP	    0x0a000901 /* 10.0.9.1 */
#define GUEST_IP    0x0a000902 /* 10.0.9.2 */
#define NEEDS_CSUM  1
#define UDP_PAYLOAD 12

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* The ones' complement sum of big-endian 16-bit words, not yet folded. */
static uint32_t sum16(const uint8_t *p, unsigned len, uint32_t sum)
{
	for (unsigned i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* Receive into rxbuf until match(frame, length, arg); the length with header, or -1. */
static int64_t wait_frame(struct vdrv_queue *rxq,
			  bool (*match)(const uint8_t *f, int64_t len, const void *arg),
			  const void *arg)
{
	struct vdrv_buf rb = {rxbuf, sizeof(rxbuf), true};

	for (uint64_t end = guest_now_us() + TIMEOUT_US; guest_now_us() < end;) {
		int64_t len;

		vdrv_offer(rxq, &rb, 1);
		vdrv_kick(rxq);
		len = vdrv_wait(rxq, TIMEOUT_US);
		if (len < 0)
			return -1;
		if (len >= NET_HDR && match(rxbuf + NET_HDR, len - NET_HDR, arg))
			return len;
	}
	return -1;
}

/*
 * A UDP/IPv4 datagram with a virtio_net_hdr in front.  With `offload` the
 * checksum field holds the folded pseudo-header sum and the header asks the
 * device to finish it (NEEDS_CSUM, csum_start, csum_offset), as Linux does.
 */
static unsigned build_udp(uint8_t *buf, const uint8_t mac[6], bool offload)
{
	uint8_t *f = buf + NET_HDR, *ip = f + 14, *udp = f + UDP_OFF;
	unsigned ulen = 8 + UDP_PAYLOAD;
	uint32_t pseudo;

	memset(buf, 0, NET_HDR + UDP_OFF + ulen);
	memset(f, 0xff, 6); /* broadcast: the host takes it for its own address */
	memcpy(f + 6, mac, 6);
	put16(f + 12, ETH_P_IP);
	ip[0] = 0x45, ip[8] = 64, ip[9] = 17; /* IPv4, TTL, UDP */
	put16(ip + 2, 20 + ulen);
	put32(ip + 12, GUEST_IP);
	put32(ip + 16, HOST_IP);
	put16(ip + 10, ~fold(sum16(ip, 20, 0)));
	put16(udp, 4000);
	put16(udp + 2, 4001);
	put16(udp + 4, ulen);
	memcpy(udp + 8, "isola-udp-tx", UDP_PAYLOAD);
	pseudo = sum16(ip + 12, 8, 17 + ulen);
	if (offload) {
		buf[0] = NEEDS_CSUM;
		buf[6] = UDP_OFF; /* csum_start, little-endian */
		buf[8] = 6;	  /* csum_offset: the UDP checksum field */
		put16(udp + 6, fold(pseudo));
	} else {
		put16(udp + 6, ~fold(sum16(udp, ulen, pseudo)));
	}
	return NET_HDR + UDP_OFF + ulen;
}

static bool is_udp_reply(const uint8_t *f, int64_t len, const void *unused)
{
	return len >= UDP_OFF + 8 + UDP_PAYLOAD && f[12] == 0x08 && f[13] == 0x00 &&
	       f[14 + 9] == 17 && f[UDP_OFF + 2] == 4000 >> 8 && f[UDP_OFF + 3] == (4000 & 0xff) &&
	       !memcmp(f + UDP_OFF + 8, "isola-udp-rx", UDP_PAYLOAD);
}

static int udp_mode(struct vdrv_queue *rxq, struct vdrv_queue *txq, const uint8_t mac[6],
		    bool offload)
{
	struct vdrv_buf tb = {txbuf, build_udp(txbuf, mac, offload), false};

	if (vdrv_submit(txq, &tb, 1, TIMEOUT_US) < 0)
		return 4;
	guest_printf("virtio-net: udp sent%s\n", offload ? " (checksum by the device)" : "");
	if (wait_frame(rxq, is_udp_reply, NULL) < 0)
		return 4;
	guest_printf("virtio-net: udp received, hdr flags %u gso %u\n", rxbuf[0], rxbuf[1]);
	return 0;
}

static bool is_test_frame(const uint8_t *f, const char *tag)
{
	return f[12] == ETH_P_TEST >> 8 && f[13] == (ETH_P_TEST & 0xff) &&
	       !memcmp(f + 14, tag, guest_strnlen(tag, 32));
}

/* Clear txbuf for a 60-byte broadcast frame of type ETH_P_TEST from `mac`; its payload. */
static uint8_t *test_frame_start(const uint8_t mac[6])
{
	uint8_t *f = txbuf + NET_HDR;

	memset(txbuf, 0, sizeof(txbuf));
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = ETH_P_TEST >> 8;
	f[13] = ETH_P_TEST & 0xff;
	return f + 14;
}

/* Send the frame test_frame_start() began. */
static int test_frame_send(struct vdrv_queue *txq)
{
	struct vdrv_buf tb = {txbuf, NET_HDR + 60, false};

	return vdrv_submit(txq, &tb, 1, TIMEOUT_US) < 0 ? -1 : 0;
}

/* A test frame carrying `tag`. */
static int send_test_frame(struct vdrv_queue *txq, const uint8_t mac[6], const char *tag)
{
	memcpy(test_frame_start(mac), tag, guest_strnlen(tag, 32));
	return test_frame_send(txq);
}

static bool test_frame_tagged(const uint8_t *f, int64_t len, const void *tag)
{
	return len >= 26 && is_test_frame(f, tag);
}

/* Receive until a test frame carrying `tag` arrives (in rxbuf); its length or -1. */
static int64_t wait_test_frame(struct vdrv_queue *rxq, const char *tag)
{
	return wait_frame(rxq, test_frame_tagged, tag);
}

static uint8_t mrgbuf[MRG_BUFS][MRG_BUF_LEN];

/* Take the next used buffer (they come back in the order offered), offer it again. */
static int64_t mrg_next(struct vdrv_queue *rxq, unsigned *next, size_t *total)
{
	unsigned i = *next;
	int64_t len = vdrv_wait(rxq, TIMEOUT_US);

	if (len < 0 || len > MRG_BUF_LEN || *total + len > sizeof(rxbuf))
		return -1;
	memcpy(rxbuf + *total, mrgbuf[i], len);
	*total += len;
	vdrv_offer_at(rxq, i, &(struct vdrv_buf){mrgbuf[i], MRG_BUF_LEN, true});
	*next = (i + 1) % MRG_BUFS;
	return len;
}

static int mrg_mode(struct vdrv_queue *rxq, struct vdrv_queue *txq, const uint8_t mac[6])
{
	unsigned next = 0, nb;

	for (unsigned i = 0; i < MRG_BUFS; i++)
		vdrv_offer_at(rxq, i, &(struct vdrv_buf){mrgbuf[i], MRG_BUF_LEN, true});
	vdrv_kick(rxq);
	if (send_test_frame(txq, mac, "isola-net-tx") < 0)
		return 4;
	for (uint64_t end = guest_now_us() + TIMEOUT_US; guest_now_us() < end;) {
		size_t total = 0;

		if (mrg_next(rxq, &next, &total) < 0)
			return 4;
		nb = rxbuf[10] | rxbuf[11] << 8;
		for (unsigned k = 1; k < nb; k++)
			if (mrg_next(rxq, &next, &total) < 0)
				return 4;
		vdrv_kick(rxq);
		if (total >= NET_HDR + 26 && is_test_frame(rxbuf + NET_HDR, "isola-net-rx")) {
			guest_printf("virtio-net: got %d-byte frame, num_buffers %u\n",
				     (int)total - NET_HDR, nb);
			return 0;
		}
	}
	return 4;
}

#define SEQ_BUFS    8
#define SEQ_RTO_US  100000
#define SEQ_TAG_LEN 9

static uint8_t seqbuf[SEQ_BUFS][2048];

/* The 9-byte tag, the u32 sequence number and 32 bytes derived from it. */
static void seq_payload(uint8_t *p, const char *tag, uint32_t seq)
{
	memcpy(p, tag, SEQ_TAG_LEN);
	memcpy(p + SEQ_TAG_LEN, &seq, 4);
	for (unsigned k = 0; k < 32; k++)
		p[SEQ_TAG_LEN + 4 + k] = seq * 7 + k;
}

static int seq_send(struct vdrv_queue *txq, const uint8_t mac[6], uint32_t seq)
{
	seq_payload(test_frame_start(mac), "isola-seq", seq);
	return test_frame_send(txq);
}

/* An answer in f: its sequence number (checked against its bytes), -1 not one, -2 corrupt. */
static int64_t seq_ack(const uint8_t *f, int64_t len)
{
	uint8_t want[SEQ_TAG_LEN + 4 + 32];
	uint32_t seq;

	if (len < 14 + (int64_t)sizeof(want) || !is_test_frame(f, "isola-ack"))
		return -1;
	memcpy(&seq, f + 14 + SEQ_TAG_LEN, 4);
	seq_payload(want, "isola-ack", seq);
	return memcmp(f + 14, want, sizeof(want)) ? -2 : (int64_t)seq;
}

/* Wait up to SEQ_RTO_US for the ack of seq; 1 acked, 0 timeout, -1 corrupt. */
static int seq_wait(struct vdrv_queue *rxq, unsigned *next, uint32_t seq, uint32_t *stale)
{
	uint64_t end = guest_now_us() + SEQ_RTO_US;

	for (uint64_t now; (now = guest_now_us()) < end;) {
		int64_t len = vdrv_wait(rxq, end - now), a;
		unsigned i = *next;

		if (len < 0)
			return 0;
		a = len >= NET_HDR ? seq_ack(seqbuf[i] + NET_HDR, len - NET_HDR) : -1;
		vdrv_offer_at(rxq, i, &(struct vdrv_buf){seqbuf[i], sizeof(seqbuf[i]), true});
		vdrv_kick(rxq);
		*next = (i + 1) % SEQ_BUFS;
		if (a == seq)
			return 1;
		if (a >= 0 && a < (int64_t)seq) {
			(*stale)++;
			continue;
		}
		if (a != -1) {
			guest_printf("virtio-net: seq %u: bad answer (%ld)\n", seq, (long)a);
			return -1;
		}
	}
	return 0;
}

static int seq_mode(struct vdrv_queue *rxq, struct vdrv_queue *txq, const uint8_t mac[6],
		    uint32_t count)
{
	uint32_t retransmits = 0, stale = 0;
	unsigned next = 0;

	for (unsigned i = 0; i < SEQ_BUFS; i++)
		vdrv_offer_at(rxq, i, &(struct vdrv_buf){seqbuf[i], sizeof(seqbuf[i]), true});
	vdrv_kick(rxq);
	for (uint32_t seq = 1; seq <= count; seq++) {
		unsigned tries = 0;
		int r;

		do {
			if (tries && ++retransmits && tries > 100) {
				guest_printf("virtio-net: seq %u: no answer\n", seq);
				return 4;
			}
			tries++;
			if (seq_send(txq, mac, seq) < 0)
				return 4;
		} while ((r = seq_wait(rxq, &next, seq, &stale)) == 0);
		if (r < 0)
			return 6;
		if (seq % 50 == 0)
			guest_printf("virtio-net: seq %u\n", seq);
	}
	guest_printf("virtio-net: seq done %u, retransmits %u, stale %u\n", count, retransmits,
		     stale);
	return 0;
}

/* `burst=N`: N test frames back to back; how long they took (a transmit limit shows). */
static int burst_mode(struct vdrv_queue *txq, const uint8_t mac[6], uint64_t n)
{
	uint64_t start = guest_now_us();

	for (uint64_t i = 0; i < n; i++)
		if (send_test_frame(txq, mac, "isola-burst") < 0)
			return 4;
	guest_printf("virtio-net: burst %u sent in %u us\n", (unsigned)n,
		     (unsigned)(guest_now_us() - start));
	return 0;
}

/*
 * `count=MS`: say "isola-net-tx" (the peer's cue), then count the "isola-net-rx" frames
 * that arrive within MS milliseconds (a receive limit shows).
 */
static int count_mode(struct vdrv_queue *rxq, struct vdrv_queue *txq, const uint8_t mac[6],
		      uint64_t ms)
{
	struct vdrv_buf rb = {rxbuf, sizeof(rxbuf), true};
	uint64_t end, now;
	unsigned got = 0;

	if (send_test_frame(txq, mac, "isola-net-tx") < 0)
		return 4;
	end = guest_now_us() + ms * 1000;
	while ((now = guest_now_us()) < end) {
		int64_t len;

		vdrv_offer(rxq, &rb, 1);
		vdrv_kick(rxq);
		len = vdrv_wait(rxq, end - now);
		if (len < 0)
			break;
		if (len >= NET_HDR + 26 && is_test_frame(rxbuf + NET_HDR, "isola-net-rx"))
			got++;
	}
	guest_printf("virtio-net: counted %u frames in %u ms\n", got, (unsigned)ms);
	return 0;
}

int main(void)
{
	struct vdrv_queue rxq, txq;
	struct vdrv_dev d;
	uint8_t mac[6];
	int64_t len;

	if (vdrv_find(VIRTIO_ID_NET, 0, &d) < 0) {
		guest_printf("virtio-net: no device on the cmdline \"%s\"\n", guest_cmdline());
		return 1;
	}
	bool offload = guest_cmdline_has("csum"), mrg = guest_cmdline_has("mrg");

	if (vdrv_init(&d, F_MAC | F_STATUS | (offload ? F_CSUM | F_GUEST_CSUM : 0) |
			      (mrg ? F_MRG_RXBUF : 0)) < 0)
		return 2;
	if (mrg && !(d.features & F_MRG_RXBUF))
		return 2;
	if (offload && (d.features & (F_CSUM | F_GUEST_CSUM)) != (F_CSUM | F_GUEST_CSUM))
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

	if (guest_cmdline_has("udp"))
		return udp_mode(&rxq, &txq, mac, offload);
	if (guest_cmdline_has("seq"))
		return seq_mode(&rxq, &txq, mac, guest_cmdline_u64_or("seq", 100, 10000000));
	if (guest_cmdline_has("burst"))
		return burst_mode(&txq, mac, guest_cmdline_u64_or("burst", 30, 100000));
	if (guest_cmdline_has("count"))
		return count_mode(&rxq, &txq, mac, guest_cmdline_u64_or("count", 2000, 60000));
	if (mrg)
		return mrg_mode(&rxq, &txq, mac);
	if (guest_cmdline_has("answer")) {
		/* The peer of another VM on a bridge: its frame in, ours back. */
		guest_printf("virtio-net: waiting for a frame\n");
		if (wait_test_frame(&rxq, "isola-net-tx") < 0 ||
		    send_test_frame(&txq, mac, "isola-net-rx") < 0)
			return 4;
		guest_printf("virtio-net: answered %02x:%02x:%02x:%02x:%02x:%02x\n",
			     rxbuf[NET_HDR + 6], rxbuf[NET_HDR + 7], rxbuf[NET_HDR + 8],
			     rxbuf[NET_HDR + 9], rxbuf[NET_HDR + 10], rxbuf[NET_HDR + 11]);
		return 0;
	}
	if (send_test_frame(&txq, mac, "isola-net-tx") < 0)
		return 4;
	guest_printf("virtio-net: frame sent\n");
	len = wait_test_frame(&rxq, "isola-net-rx");
	if (len < 0)
		return 4;
	guest_printf("virtio-net: got %d-byte frame, num_buffers %u\n", (int)len - NET_HDR,
		     rxbuf[10]);
	return 0;
}
