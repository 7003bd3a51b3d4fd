/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Split virtqueue walking against crafted rings in a malloc'ed "guest memory":
 * valid chains, bad addresses, loops, wrap-around, indirect tables, caps.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "guest-mem.h"
#include "tap.h"
#include "virtqueue.h"

#define MEM_GPA	  0x100000ull
#define MEM_SIZE  (1u << 20)
#define BIG_GPA	  0x10000000ull
#define BIG_SIZE  (128ull << 20)
#define QSZ	  8
#define DESC_GPA  MEM_GPA
#define AVAIL_GPA (MEM_GPA + 0x1000)
#define USED_GPA  (MEM_GPA + 0x2000)
#define IND_GPA	  (MEM_GPA + 0x3000)
#define BUF_GPA	  (MEM_GPA + 0x10000)

static struct guest_mem mem;
static uint8_t *ram;
static struct virtq vq;
static struct virtq_req req;

static void *gp(uint64_t gpa)
{
	return ram + (gpa - MEM_GPA);
}

static struct virtq_desc *desc(unsigned i)
{
	return (struct virtq_desc *)gp(DESC_GPA) + i;
}

static struct virtq_desc *ind(unsigned i)
{
	return (struct virtq_desc *)gp(IND_GPA) + i;
}

static struct virtq_avail *avail(void)
{
	return gp(AVAIL_GPA);
}

static struct virtq_used *used(void)
{
	return gp(USED_GPA);
}

static void set(struct virtq_desc *d, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

/* Fresh queue with the given features; the guest side starts empty. */
static void reset_queue(bool indirect, bool event_idx)
{
	memset(ram, 0, 0x10000);
	virtq_reset(&vq);
	vq.size = QSZ;
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = USED_GPA;
	vq.indirect = indirect;
	vq.event_idx = event_idx;
	if (virtq_enable(&vq, &mem) < 0)
		abort();
}

/* The guest makes descriptor `head` available. */
static void offer(uint16_t head)
{
	avail()->ring[avail()->idx % QSZ] = head;
	avail()->idx++;
}

static void test_enable(void)
{
	struct virtq q = {
	    .size = QSZ, .desc_gpa = DESC_GPA, .avail_gpa = AVAIL_GPA, .used_gpa = USED_GPA};

	is_int(virtq_enable(&q, &mem), 0, "enable a well-placed queue");
	q.size = 6;
	is_int(virtq_enable(&q, &mem), -EINVAL, "queue size not a power of two");
	q.size = 512;
	is_int(virtq_enable(&q, &mem), -EINVAL, "queue size above QueueNumMax");
	q.size = QSZ;
	q.desc_gpa = DESC_GPA + 8;
	is_int(virtq_enable(&q, &mem), -EINVAL, "misaligned descriptor table");
	q.desc_gpa = MEM_GPA + MEM_SIZE - 64;
	is_int(virtq_enable(&q, &mem), -EINVAL, "descriptor table runs off guest memory");
	q.desc_gpa = DESC_GPA;
	q.used_gpa = UINT64_MAX - 3;
	is_int(virtq_enable(&q, &mem), -EINVAL, "used ring address wraps");
}

static void test_valid_chain(void)
{
	reset_queue(false, false);
	is_int(virtq_pop(&vq, &req), 0, "empty ring pops nothing");
	set(desc(0), BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 3);
	set(desc(3), BUF_GPA + 0x100, 0, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 5);
	set(desc(5), BUF_GPA + 0x200, 32, VIRTQ_DESC_F_WRITE, 0);
	memcpy(gp(BUF_GPA), "0123456789abcdef", 16);
	offer(0);
	is_int(virtq_pop(&vq, &req), 1, "a readable + zero-length + writable chain pops");
	is_int(req.head, 0, "head index");
	ok(req.n_out == 1 && req.n_in == 1,
	   "one readable and one writable buffer (zero-length skipped)");
	ok(req.out_len == 16 && req.in_len == 32, "buffer lengths");
	ok(req.iov[0].iov_base == gp(BUF_GPA) && req.iov[1].iov_base == gp(BUF_GPA + 0x200),
	   "buffers map to guest memory");

	char out[20] = {0};
	is_int(virtq_iov_to_buf(req.iov, req.n_out, 4, out, sizeof(out)), 12,
	       "copy out, skipping 4");
	ok(memcmp(out, "456789abcdef", 12) == 0, "copied bytes");
	is_int(virtq_buf_to_iov(req.iov + req.n_out, req.n_in, 30, "xyz", 3), 2,
	       "copy in is bounded by the buffer");
	virtq_push(&vq, req.head, 7);
	ok(used()->idx == 1 && used()->ring[0].id == 0 && used()->ring[0].len == 7,
	   "used ring holds id and length");
	is_int(virtq_pop(&vq, &req), 0, "ring drained");
}

/*
 * Live migration's device dirty log: a completion marks the used ring's page
 * and the writable buffers' pages (one spanning two pages marks both), not
 * the readable ones, and nothing is recorded while tracking is off.
 */
static void test_dirty_marks(void)
{
	uint64_t bm[MEM_SIZE / 4096 / 64] = {0};
	const uint64_t used_pg = (USED_GPA - MEM_GPA) / 4096, rd_pg = (BUF_GPA - MEM_GPA) / 4096,
		       wr_pg = (BUF_GPA + 0x5ff0 - MEM_GPA) / 4096;

#define BIT(p) ((bm[(p) / 64] >> ((p) % 64)) & 1)
	reset_queue(false, false);
	set(desc(0), BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set(desc(1), BUF_GPA + 0x5ff0, 32, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	is_int(virtq_pop(&vq, &req), 1, "a chain pops");
	virtq_mark_written(&vq, req.iov + req.n_out, req.n_in);
	virtq_push(&vq, req.head, 32);
	ok(guest_mem_harvest(&mem, 0, bm) == 0, "nothing recorded while not tracking");
	ok(guest_mem_track(&mem, true) == 0, "tracking on");
	offer(0);
	is_int(virtq_pop(&vq, &req), 1, "the chain pops again");
	virtq_mark_written(&vq, req.iov + req.n_out, req.n_in);
	virtq_push(&vq, req.head, 32);
	is_int((int)guest_mem_harvest(&mem, 0, bm), 3, "three pages recorded");
	ok(BIT(used_pg), "the used ring's page");
	ok(BIT(wr_pg) && BIT(wr_pg + 1), "both pages of the writable buffer");
	ok(!BIT(rd_pg), "not the readable buffer's page");
	guest_mem_track_free(&mem);
#undef BIT
}

/* Offer a chain built by the caller and expect it to be failed, not popped. */
static void expect_bad(const char *what)
{
	uint16_t before = used()->idx;

	offer(0);
	is_int(virtq_pop(&vq, &req), -EBADMSG, "%s: request failed", what);
	ok(used()->idx == (uint16_t)(before + 1) && used()->ring[before % QSZ].len == 0,
	   "%s: returned to the guest with length 0", what);
	ok(!vq.broken, "%s: queue still usable", what);
}

static void test_bad_chains(void)
{
	reset_queue(false, false);
	set(desc(0), MEM_GPA + MEM_SIZE - 8, 16, 0, 0);
	expect_bad("buffer straddling the end of guest memory");
	set(desc(0), UINT64_MAX - 8, 64, 0, 0);
	expect_bad("buffer address that wraps");
	set(desc(0), BUF_GPA, UINT32_MAX, VIRTQ_DESC_F_WRITE, 0);
	expect_bad("huge length");
	set(desc(0), 0x1000, 16, 0, 0);
	expect_bad("address below guest memory");
	set(desc(0), BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set(desc(1), BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	expect_bad("two-descriptor loop");
	set(desc(0), BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	expect_bad("descriptor pointing at itself");
	set(desc(0), BUF_GPA, 16, VIRTQ_DESC_F_NEXT, QSZ);
	expect_bad("next beyond the table");
	set(desc(0), BUF_GPA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set(desc(1), BUF_GPA, 16, 0, 0);
	expect_bad("readable after writable");
	set(desc(0), IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad("indirect descriptor without VIRTIO_F_INDIRECT_DESC");

	/* Zero-length only chain is valid and empty. */
	set(desc(0), 0, 0, 0, 0);
	offer(0);
	is_int(virtq_pop(&vq, &req), 1, "a single zero-length descriptor pops");
	ok(req.n_out == 0 && req.n_in == 0, "with no buffers");
	virtq_push(&vq, req.head, 0);
}

static void test_caps(void)
{
	reset_queue(false, false);
	for (unsigned i = 0; i < 5; i++)
		set(desc(i), BIG_GPA + i * (16ull << 20), 16u << 20, VIRTQ_DESC_F_NEXT, i + 1);
	desc(4)->flags = 0;
	expect_bad("80 MiB chain above the 64 MiB cap");
	desc(2)->flags = 0;
	offer(0);
	is_int(virtq_pop(&vq, &req), 1, "48 MiB chain is accepted");
	ok(req.out_len == 48u << 20 && req.n_out == 3, "three 16 MiB buffers");
	virtq_push(&vq, req.head, 0);

	/* A device that only maps the buffers (balloon free page reports) raises it. */
	vq.max_chain_bytes = 128u << 20;
	virtq_reset(&vq);
	is_int(vq.max_chain_bytes, 128u << 20, "a queue's own cap survives a reset");
	reset_queue(false, false);
	for (unsigned i = 0; i < 8; i++)
		set(desc(i), BIG_GPA + i * (16ull << 20), 16u << 20, VIRTQ_DESC_F_NEXT, i + 1);
	desc(7)->flags = 0;
	offer(0);
	is_int(virtq_pop(&vq, &req), 1, "128 MiB chain accepted under a 128 MiB cap");
	ok(req.out_len == 128u << 20 && req.n_out == 8, "eight 16 MiB buffers");
	virtq_push(&vq, req.head, 0);
	set(desc(7), BIG_GPA + 7 * (16ull << 20), (16u << 20) + 4096, 0, 0);
	expect_bad("128 MiB + 4 KiB chain above it");
	vq.max_chain_bytes = 0;
}

static void test_ring_corruption(void)
{
	reset_queue(false, false);
	set(desc(0), BUF_GPA, 16, 0, 0);
	avail()->ring[0] = QSZ;
	avail()->idx = 1;
	is_int(virtq_pop(&vq, &req), -EIO, "head index beyond the table breaks the queue");
	ok(vq.broken, "queue marked broken");
	is_int(virtq_pop(&vq, &req), -EIO, "and stays broken");
	ok(!virtq_enable_notify(&vq), "a broken queue asks for no more work");

	reset_queue(false, false);
	avail()->idx = QSZ + 1;
	is_int(virtq_pop(&vq, &req), -EIO, "more buffers offered than the ring holds");
}

static void test_wrap(void)
{
	reset_queue(false, false);
	vq.last_avail = vq.used_idx = 0xfffe;
	avail()->idx = used()->idx = 0xfffe;
	for (unsigned i = 0; i < 4; i++) {
		set(desc(i), BUF_GPA + i * 64, 64, VIRTQ_DESC_F_WRITE, 0);
		offer(i);
	}
	is_int(avail()->idx, 2, "avail index wrapped");
	unsigned n = 0;
	while (virtq_pop(&vq, &req) == 1) {
		if (req.head != n)
			break;
		virtq_push(&vq, req.head, 64);
		n++;
	}
	is_int(n, 4, "four chains popped in order across the 16-bit wrap");
	ok(used()->idx == 2 && used()->ring[1].id == 3, "used index wrapped too");
}

static void test_indirect(void)
{
	reset_queue(true, false);
	set(ind(0), BUF_GPA, 10, VIRTQ_DESC_F_NEXT, 2);
	set(ind(2), BUF_GPA + 0x100, 20, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	set(ind(1), BUF_GPA + 0x200, 1, VIRTQ_DESC_F_WRITE, 0);
	set(desc(0), IND_GPA, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	is_int(virtq_pop(&vq, &req), 1, "indirect table pops");
	ok(req.n_out == 1 && req.n_in == 2 && req.out_len == 10 && req.in_len == 21,
	   "indirect buffers in order");
	virtq_push(&vq, req.head, 21);

	set(ind(1), IND_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad("indirect inside indirect");
	set(ind(1), BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	set(ind(2), BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	expect_bad("loop inside an indirect table");
	set(desc(0), IND_GPA, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	expect_bad("INDIRECT together with NEXT");
	set(desc(0), IND_GPA, 20, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad("indirect length not a multiple of 16");
	set(desc(0), IND_GPA, 0, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad("empty indirect table");
	set(desc(0), IND_GPA, (VIRTQ_MAX_SIZE + 1) * 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad("indirect table above the cap");
	set(desc(0), MEM_GPA + MEM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad("indirect table outside guest memory");
}

static void test_notify(void)
{
	uint16_t *used_event, *avail_event;

	ok(virtq_need_event(0, 1, 0), "need_event: crossing event 0");
	ok(!virtq_need_event(5, 3, 0), "need_event: event not reached");
	ok(virtq_need_event(0xffff, 1, 0xfffe), "need_event: across the wrap");
	ok(!virtq_need_event(1, 5, 3), "need_event: event already passed before old");

	reset_queue(false, false);
	virtq_push(&vq, 0, 0);
	ok(virtq_need_interrupt(&vq), "interrupt by default");
	avail()->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	virtq_push(&vq, 0, 0);
	ok(!virtq_need_interrupt(&vq), "NO_INTERRUPT suppresses it");
	virtq_disable_notify(&vq);
	is_int(used()->flags, VIRTQ_USED_F_NO_NOTIFY, "disable_notify sets NO_NOTIFY");
	ok(!virtq_enable_notify(&vq), "enable_notify: nothing pending");
	is_int(used()->flags, 0, "enable_notify clears NO_NOTIFY");

	reset_queue(false, true);
	used_event = &avail()->ring[QSZ];
	avail_event = (uint16_t *)&used()->ring[QSZ];
	virtq_push(&vq, 0, 0);
	ok(virtq_need_interrupt(&vq), "event idx: first interrupt always sent");
	*used_event = 3;
	virtq_push(&vq, 0, 0);
	ok(!virtq_need_interrupt(&vq), "event idx: used_event 3 not reached at 2");
	virtq_push(&vq, 0, 0);
	virtq_push(&vq, 0, 0);
	ok(virtq_need_interrupt(&vq), "event idx: used_event 3 crossed at 4");
	set(desc(0), BUF_GPA, 4, 0, 0);
	offer(0);
	offer(0);
	is_int(virtq_pop(&vq, &req), 1, "pop one of two");
	ok(virtq_enable_notify(&vq), "enable_notify sees the one still pending");
	is_int(*avail_event, 1, "avail_event set to the next index we will read");
}

/*
 * The transport's size may change once the driver took the queue back
 * (virtio-mmio QueueReady 0, then QueueNum): the rings stay as checked at
 * enable, and a buffer the device still holds is not returned into them.
 */
static void test_taken_back(void)
{
	uint8_t *past = (uint8_t *)&used()->ring[QSZ] + 2;
	uint8_t canary[4096];

	reset_queue(false, true);
	memset(past, 0x5a, sizeof(canary));
	memcpy(canary, past, sizeof(canary));
	set(desc(0), BUF_GPA, 16, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	is_int(virtq_pop(&vq, &req), 1, "the device holds a buffer");
	vq.used_idx = 99; /* as after 99 returned buffers */
	vq.size = 0;	  /* a transport that let the size change under it */
	virtq_push(&vq, 0, 16);
	ok(used()->ring[99 % QSZ].len == 16 && !memcmp(past, canary, sizeof(canary)),
	   "the used entry goes by the size checked at enable, not past the ring");
	offer(0);
	is_int(virtq_pop(&vq, &req), 1, "and so does the next pop");

	reset_queue(false, true);
	offer(0);
	is_int(virtq_pop(&vq, &req), 1, "held again");
	vq.ready = false; /* QueueReady 0 */
	vq.size = 0;
	used()->flags = 0;
	virtq_push(&vq, 0, 16);
	virtq_disable_notify(&vq);
	ok(used()->idx == 0 && used()->ring[0].len == 0 && used()->flags == 0,
	   "a queue taken back gets nothing written into its rings");
	ok(!virtq_need_interrupt(&vq) && !virtq_enable_notify(&vq), "and no interrupt for it");
}

int main(void)
{
	ram = aligned_alloc(4096, MEM_SIZE);
	void *big =
	    mmap(NULL, BIG_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!ram || big == MAP_FAILED)
		return 1;
	mem.regions[0] = (struct guest_mem_region){MEM_GPA, MEM_SIZE, ram};
	mem.regions[1] = (struct guest_mem_region){BIG_GPA, BIG_SIZE, big};
	mem.nr = 2;

	test_enable();
	test_valid_chain();
	test_bad_chains();
	test_caps();
	test_ring_corruption();
	test_wrap();
	test_indirect();
	test_notify();
	test_dirty_marks();
	test_taken_back();

	munmap(big, BIG_SIZE);
	free(ram);
	return tap_done();
}
