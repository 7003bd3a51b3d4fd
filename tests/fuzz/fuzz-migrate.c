/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the input is what a source sends to a migration's
 * destination.  It is read exactly as `isola vm receive` reads it, into two
 * small guest memory regions with guard pages after them; the input's first
 * byte also feeds the source's reply parser.  Nothing may be read or written
 * out of bounds, and a stream that gets through must end in a state frame.
 * After CONFIG comes the device list (DEVCFG), parsed as a snapshot state.
 * A hello with MIG_F_AUTH makes the reader check its proof and the tags with
 * a fixed key (32 zero bytes; the corpus has a stream tagged with it).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "migrate/migrate-internal.h"
#include "snap-format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LOW  (256u << 10)
#define HIGH (64u << 10)

/* Each region is followed by an inaccessible page: a stray write faults. */
static uint8_t *region(size_t size)
{
	uint8_t *p =
	    mmap(NULL, size + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + size, 4096, PROT_NONE) < 0)
		abort();
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_mem mem;
	static struct mig_key key = {.len = 32};
	static struct mig_mac mac;
	struct mig_buf b = {data, size, 0};
	struct mig_reader rd = {mig_buf_read, &b, &mac};
	uint8_t nonce[MIG_NONCE];
	struct err *e = NULL;
	struct mig_config c;
	uint8_t *state = NULL;
	uint32_t flags = 0;
	size_t len = 0;
	bool got;

	if (!mem.nr) {
		mem.regions[0] = (struct guest_mem_region){0, LOW, region(LOW)};
		mem.regions[1] = (struct guest_mem_region){4ULL << 30, HIGH, region(HIGH)};
		mem.nr = 2;
	}
	mig_mac_free(&mac);
	got = mig_read_hello(&rd, &key, &flags, nonce, &e) >= 0;
	if (got && (flags & MIG_F_AUTH) &&
	    mig_mac_init(&mac, &key, MIG_LABEL_S2D, nonce, nonce, &e) < 0)
		abort();
	got =
	    got && mig_read_config(&rd, &c, &e) >= 0 && mig_read_devcfg(&rd, &state, &len, &e) >= 0;
	if (got) { /* the device list is a snapshot state: its parser takes it over */
		struct snap_reader sr;

		got = snap_parse(&sr, state, len, &e) >= 0;
		state = NULL;
		snap_reader_free(&sr);
	}
	got = got && mig_read_memory(&rd, &mem, &state, &len, &e) >= 0;
	if (got && (!state || len == 0))
		abort();
	free(state);
	err_free(&e);
	b = (struct mig_buf){data, size, 0};
	mac.seq = 0;
	(void)mig_read_reply(&rd, size ? data[0] % 11 : MIG_OK, "the peer", &e);
	err_free(&e);
	return 0;
}
