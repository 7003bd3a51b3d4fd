/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The host <-> isola-agent protocol: frames and the process config, against hostile input. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "cleanup.h"
#include "proto.h"
#include "tap.h"

static int parse(const char *p, size_t len, struct vmct_config *c)
{
	const char *why = NULL;
	int r = vmct_config_parse((const uint8_t *)p, len, c, &why);

	if (r < 0)
		printf("# refused: %s\n", why ? why : "(no reason)");
	return r;
}

#define P(lit, c) parse(lit, sizeof(lit) - 1, c)

/* A config the agent must refuse: its bytes (a literal with NULs) and why. */
struct refused {
	const char *cfg;
	size_t len;
	const char *what;
};
#define R(lit, what)                       \
	{                                  \
		lit, sizeof(lit) - 1, what \
	}

/* Each entry of t is refused (and leaves nothing to free). */
static void check_refused(const struct refused *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct vmct_config c = {};

		ok(parse(t[i].cfg, t[i].len, &c) < 0, "%s", t[i].what);
		vmct_config_free(&c);
	}
}

static void test_roundtrip(void)
{
	char *argv[] = {"sh", "-c", "echo a=b; exit 7", NULL};
	char *env[] = {"PATH=/bin", "X=a=b", NULL};
	struct vmct_config in = {.argv = argv, .env = env, .cwd = "/tmp", .uid = 1000, .gid = 100};
	struct vmct_config out = {};
	uint32_t len = 0;
	uint8_t *buf = vmct_config_encode(&in, &len);

	ok(buf && len > 0, "encode");
	is_int(vmct_config_parse(buf, len, &out, NULL), 0, "parse what encode wrote");
	ok(out.argv && !strcmp(out.argv[0], "sh") && !strcmp(out.argv[2], "echo a=b; exit 7") &&
	       !out.argv[3],
	   "argv survives, '=' in an arg too");
	ok(out.env && !strcmp(out.env[1], "X=a=b") && !out.env[2], "env survives");
	ok(!strcmp(out.cwd, "/tmp") && out.uid == 1000 && out.gid == 100 && !out.tty && !out.init,
	   "cwd, uid, gid, tty, no init");
	vmct_config_free(&out);
	free(buf);

	{
		char *paths[] = {"M /proc/kcore", "R /proc/sys", NULL};

		in.paths = paths;
		buf = vmct_config_encode(&in, &len);
		is_int(vmct_config_parse(buf, len, &out, NULL), 0, "parse a config with paths");
		ok(out.paths && !strcmp(out.paths[0], "M /proc/kcore") &&
		       !strcmp(out.paths[1], "R /proc/sys") && !out.paths[2],
		   "masked and read-only paths survive, in order");
		vmct_config_free(&out);
		free(buf);
		in.paths = NULL;
	}

	in.init = true;
	buf = vmct_config_encode(&in, &len);
	is_int(vmct_config_parse(buf, len, &out, NULL), 0, "parse an init config");
	ok(out.init, "init survives");
	vmct_config_free(&out);
	free(buf);
	in.init = false;

	/* v2: a terminal and its size. */
	in.tty = true;
	in.rows = 40;
	in.cols = 132;
	buf = vmct_config_encode(&in, &len);
	is_int(vmct_config_parse(buf, len, &out, NULL), 0, "parse a tty config");
	ok(out.tty && out.rows == 40 && out.cols == 132, "tty, rows, cols survive");
	vmct_config_free(&out);
	free(buf);
}

static void test_hostile_config(void)
{
	static const struct refused bad[] = {
	    R("arg=true", "no final NUL is refused"),
	    R("", "empty is refused"),
	    R("cwd=/\0", "no arg is refused"),
	    R("arg=x\0bogus\0", "an entry without '=' is refused"),
	    R("arg=x\0what=1\0", "an unknown key is refused"),
	    R("arg=x\0uid=1\0uid=0\0", "a repeated key is refused"),
	    R("arg=x\0uid=-1\0", "a negative uid is refused"),
	    R("arg=x\0uid=4294967296\0", "a uid over 32 bits is refused"),
	    R("arg=x\0gid=99999999999999999999\0", "a huge gid is refused"),
	    R("arg=x\0uid=\0", "an empty uid is refused"),
	    R("arg=x\0cwd=tmp\0", "a relative cwd is refused"),
	    R("arg=x\0tty=2\0", "tty other than 0/1 is refused"),
	    R("arg=x\0init=0\0", "init other than 1 is refused"),
	    R("arg=x\0path=X /proc\0", "a path kind other than M or R is refused"),
	    R("arg=x\0path=M proc\0", "a relative path is refused"),
	    R("arg=x\0path=M /proc/../etc\0", "a path through .. is refused"),
	    R("arg=x\0path=R /a b\0", "a path with a blank is refused"),
	    R("arg=x\0path=M\0", "a path entry without a path is refused"),
	    R("arg=x\0init=1\0init=1\0", "a repeated init is refused"),
	    R("arg=x\0env=NOEQUALS\0", "env without '=' is refused"),
	    R("arg=x\0env==v\0", "env with an empty key is refused"),
	    R("arg=x\0tty=1\0rows=65536\0", "rows over 16 bits is refused"),
	    R("arg=x\0tty=1\0cols=-1\0", "negative cols is refused"),
	    R("arg=x\0tty=1\0rows=1x\0", "rows with junk is refused"),
	    R("arg=x\0tty=1\0rows=1\0rows=2\0", "repeated rows is refused"),
	    R("arg=x\0rows=24\0cols=80\0", "rows/cols without tty=1 are refused"),
	    R("arg=x\0tty=0\0cols=80\0", "cols with tty=0 is refused"),
	};
	struct vmct_config c = {};

	check_refused(bad, ARRAY_SIZE(bad));
	is_int(P("arg=x\0cols=80\0tty=1\0rows=24\0", &c), 0, "rows/cols before tty=1 are fine");
	ok(c.tty && c.rows == 24 && c.cols == 80, "in any order");
	vmct_config_free(&c);
	{
		/* VMCT_PATHS_MAX path entries are taken, one more is not. */
		char buf[6 + (VMCT_PATHS_MAX + 1) * 10];
		size_t n = 6;

		memcpy(buf, "arg=x", 6);
		for (unsigned i = 0; i < VMCT_PATHS_MAX; i++, n += 10)
			memcpy(buf + n, "path=M /a", 10);
		is_int(vmct_config_parse((uint8_t *)buf, n, &c, NULL), 0, "64 paths are taken");
		vmct_config_free(&c);
		memcpy(buf + n, "path=M /a", 10);
		ok(vmct_config_parse((uint8_t *)buf, n + 10, &c, NULL) < 0,
		   "a 65th path is refused");
	}
	is_int(P("arg=\0", &c), 0, "an empty arg is allowed (exec fails in the guest)");
	ok(c.argv && c.argv[0] && !*c.argv[0] && !strcmp(c.cwd, "/"), "cwd defaults to /");
	vmct_config_free(&c);

	/* More entries than VMCT_ARGS_MAX. */
	size_t n = VMCT_ARGS_MAX + 1, len = n * 6;
	char *big = malloc(len);

	for (size_t i = 0; i < n; i++)
		memcpy(big + i * 6, "arg=a", 6);
	ok(parse(big, len, &c) < 0, "more than %u args is refused", VMCT_ARGS_MAX);
	ok(vmct_config_parse((uint8_t *)big, VMCT_FRAME_MAX + 1, &c, NULL) < 0,
	   "a payload over VMCT_FRAME_MAX is refused");
	free(big);
}

static void test_frames(void)
{
	uint8_t buf[64];
	const uint8_t *pl;
	uint32_t type = 0, len = 0;

	vmct_frame_header(buf, VMCT_STDOUT, 3);
	memcpy(buf + 8, "hi\n", 3);
	is_int(vmct_frame_next(buf, 0, &type, &pl, &len), 0, "no bytes: need more");
	is_int(vmct_frame_next(buf, 7, &type, &pl, &len), 0, "a truncated header: need more");
	is_int(vmct_frame_next(buf, 10, &type, &pl, &len), 0, "a truncated payload: need more");
	is_int(vmct_frame_next(buf, 11, &type, &pl, &len), 11, "a whole frame");
	ok(type == VMCT_STDOUT && len == 3 && !memcmp(pl, "hi\n", 3), "its type and payload");
	vmct_frame_header(buf, VMCT_EXIT, 4);
	vmct_put_u32(buf + 8, 7);
	is_int(vmct_frame_next(buf, 14, &type, &pl, &len), 12,
	       "two frames in a row: the first one's size");
	ok(vmct_get_u32(pl) == 7, "the exit status");

	vmct_frame_header(buf, VMCT_STDIN, VMCT_FRAME_MAX + 1);
	is_int(vmct_frame_next(buf, 8, &type, &pl, &len), -EMSGSIZE,
	       "a length over VMCT_FRAME_MAX is refused at the header");
	vmct_frame_header(buf, 0xffffffff, 0xffffffff);
	ok(vmct_frame_next(buf, 8, &type, &pl, &len) < 0, "all-ones header is refused");
	vmct_frame_header(buf, 0, 0);
	is_int(vmct_frame_next(buf, 8, &type, &pl, &len), -EPROTO, "type 0 is refused");
	vmct_frame_header(buf, VMCT_WINCH, 8);
	is_int(vmct_frame_next(buf, 16, &type, &pl, &len), 16, "WINCH is a known type (v2)");
	vmct_frame_header(buf, VMCT_TYPE_MAX + 1, 0);
	is_int(vmct_frame_next(buf, 8, &type, &pl, &len), -EPROTO, "an unknown type is refused");
	vmct_frame_header(buf, VMCT_STDIN, 0);
	is_int(vmct_frame_next(buf, 8, &type, &pl, &len), 8, "an empty frame (stdin EOF)");
}

static void test_winch(void)
{
	uint8_t b[12];
	uint16_t rows = 0, cols = 0;

	vmct_winch_encode(b, 50, 200);
	is_int(vmct_winch_parse(b, 8, &rows, &cols), 0, "a WINCH payload");
	ok(rows == 50 && cols == 200, "its rows and cols");
	ok(vmct_winch_parse(b, 7, &rows, &cols) < 0, "a short WINCH is refused");
	ok(vmct_winch_parse(b, 12, &rows, &cols) < 0, "a long WINCH is refused");
	ok(vmct_winch_parse(b, 0, &rows, &cols) < 0, "an empty WINCH is refused");
	vmct_put_u32(b, 65536);
	ok(vmct_winch_parse(b, 8, &rows, &cols) < 0, "rows over 16 bits is refused");
	vmct_put_u32(b, 1);
	vmct_put_u32(b + 4, 0xffffffff);
	ok(vmct_winch_parse(b, 8, &rows, &cols) < 0, "cols of all ones is refused");
	ok(rows == 50 && cols == 200, "a refused WINCH writes nothing");
}

static void test_connect_reply(void)
{
	uint32_t port = 0;

	is_int(vmct_connect_reply_parse("OK 1073741824", &port), 0, "OK <port>");
	ok(port == 1073741824u, "its port");
	ok(vmct_connect_reply_parse("OK", &port) < 0, "OK without a port is refused");
	ok(vmct_connect_reply_parse("OK ", &port) < 0, "OK with an empty port is refused");
	ok(vmct_connect_reply_parse("OK -1", &port) < 0, "a negative port is refused");
	ok(vmct_connect_reply_parse("OK 4294967296", &port) < 0, "a port over 32 bits is refused");
	ok(vmct_connect_reply_parse("OK 12 ", &port) < 0, "trailing junk is refused");
	ok(vmct_connect_reply_parse("ok 12", &port) < 0, "lower case is refused");
	ok(vmct_connect_reply_parse("", &port) < 0, "an empty line is refused");
	ok(vmct_connect_reply_parse("ERR 12", &port) < 0, "anything else is refused");
	ok(port == 1073741824u, "a refused answer writes nothing");
}

/* The guest's eth0 and /etc files (docs/vm-containers.md "Networking"). */
static void test_net_roundtrip(void)
{
	char *argv[] = {"true", NULL};
	struct vmct_config in = {.argv = argv,
				 .net = {.set = true,
					 .addr = 0x0a5a0005,
					 .gw = 0x0a5a0001,
					 .prefix = 16,
					 .mtu = 1500,
					 .has_mac = true,
					 .mac = {0x0a, 0x58, 0x0a, 0x5a, 0x00, 0xff}},
				 .hostname = "web-1",
				 .etc_hosts = "127.0.0.1 localhost\n10.90.0.5 web-1\n",
				 .etc_resolv = "nameserver 10.90.0.1\n",
				 .etc_hostname = "web-1\n"};
	struct vmct_config out = {};
	uint32_t len = 0;
	uint8_t *buf = vmct_config_encode(&in, &len);

	is_int(vmct_config_parse(buf, len, &out, NULL), 0, "net: parse what encode wrote");
	ok(out.net.set && out.net.addr == 0x0a5a0005 && out.net.gw == 0x0a5a0001 &&
	       out.net.prefix == 16 && out.net.mtu == 1500,
	   "address, gateway, prefix, MTU survive");
	ok(out.net.has_mac && !memcmp(out.net.mac, "\x0a\x58\x0a\x5a\x00\xff", 6) &&
	       memmem(buf, len, "net_mac=0a:58:0a:5a:00:ff", 26),
	   "the MAC survives, as net_mac=0a:58:0a:5a:00:ff");
	ok(out.hostname && !strcmp(out.hostname, "web-1") && out.etc_hosts &&
	       !strcmp(out.etc_hosts, in.etc_hosts) && out.etc_resolv &&
	       !strcmp(out.etc_resolv, in.etc_resolv) && out.etc_hostname &&
	       !strcmp(out.etc_hostname, "web-1\n"),
	   "hostname and the files survive, newlines too");
	vmct_config_free(&out);
	free(buf);

	in.net.gw = 0;
	in.net.mtu = 0;
	in.net.has_mac = false;
	in.hostname = in.etc_hosts = in.etc_resolv = in.etc_hostname = NULL;
	buf = vmct_config_encode(&in, &len);
	is_int(vmct_config_parse(buf, len, &out, NULL), 0, "net without gateway and MTU");
	ok(out.net.set && !out.net.gw && !out.net.mtu && !out.net.has_mac && !out.hostname &&
	       !out.etc_hosts,
	   "no default route, the driver's MTU, the NIC's own MAC, no files");
	vmct_config_free(&out);
	free(buf);

	in.net.set = false;
	buf = vmct_config_encode(&in, &len);
	is_int(vmct_config_parse(buf, len, &out, NULL), 0, "no network");
	ok(!out.net.set, "--network none: no NIC configured");
	ok(!memmem(buf, len, "net_", 4), "and no net_ key sent");
	vmct_config_free(&out);
	free(buf);
}

static void test_net_hostile(void)
{
#define NET(s) "arg=x\0" s
	static const struct refused bad[] = {
	    R(NET("net_addr=10.0.0.2\0net_prefix=33\0"), "prefix 33 is refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=0\0"), "prefix 0 is refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=-8\0"), "a negative prefix is refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=24\0net_gw=0.0.0.0\0"),
	      "a zero gateway is refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=24\0net_gw=10.0.0.2\0"),
	      "the address as its own gateway is refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=24\0net_gw=10.0.1.1\0"),
	      "a gateway off the subnet is refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=32\0net_gw=10.0.0.1\0"),
	      "a gateway with prefix 32 (never on-link) is refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=24\0net_mtu=67\0"), "MTU 67 is refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=24\0net_mtu=65536\0"), "MTU 65536 is refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=24\0net_mtu=4294967295\0"),
	      "an absurd MTU is refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=24\0net_mtu=0\0"), "MTU 0 is refused"),
	    R(NET("net_addr=0.0.0.0\0net_prefix=24\0"), "address 0 is refused"),
	    R(NET("net_addr=127.0.0.2\0net_prefix=8\0"), "a loopback address is refused"),
	    R(NET("net_addr=224.0.0.1\0net_prefix=24\0"), "a multicast address is refused"),
	    R(NET("net_addr=255.255.255.255\0net_prefix=32\0"), "broadcast is refused"),
	    R(NET("net_addr=10.0.0.0\0net_prefix=24\0"), "the network address is refused"),
	    R(NET("net_addr=10.0.0.255\0net_prefix=24\0"),
	      "the subnet's broadcast address is refused"),
	    R(NET("net_addr=10.0.0.256\0net_prefix=24\0"), "a part over 255 is refused"),
	    R(NET("net_addr=10.0.0\0net_prefix=24\0"), "three parts are refused"),
	    R(NET("net_addr=10.0.0.2.1\0net_prefix=24\0"), "five parts are refused"),
	    R(NET("net_addr=10.0.0.0002\0net_prefix=24\0"), "four digits are refused"),
	    R(NET("net_addr= 10.0.0.2\0net_prefix=24\0"), "a leading space is refused"),
	    R(NET("net_addr=10..0.2\0net_prefix=24\0"), "an empty part is refused"),
	    R(NET("net_addr=::1\0net_prefix=24\0"), "IPv6 is refused"),
	    R(NET("net_addr=10.0.0.2\0"), "an address without a prefix is refused"),
	    R(NET("net_prefix=24\0"), "a prefix without an address is refused"),
	    R(NET("net_gw=10.0.0.1\0"), "a gateway alone is refused"),
	    R(NET("net_mtu=1500\0"), "an MTU alone is refused"),
	    R(NET("net_mac=02:00:00:00:00:01\0"), "a MAC alone is refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=24\0net_mac=01:00:5e:00:00:01\0"),
	      "a multicast MAC is refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=24\0net_mac=ff:ff:ff:ff:ff:ff\0"),
	      "the broadcast MAC is refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=24\0net_mac=00:00:00:00:00:00\0"),
	      "the zero MAC is refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=24\0net_mac=02:00:00:00:00\0"),
	      "five octets are refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=24\0net_mac=02:00:00:00:00:01:02\0"),
	      "seven octets are refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=24\0net_mac=02-00-00-00-00-01\0"),
	      "dashes are refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=24\0net_mac=02:00:00:00:00:0g\0"),
	      "a non-hex digit is refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=24\0net_mac=2:00:00:00:00:001\0"),
	      "misplaced colons are refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=24\0net_mac=02:00:00:00:00:01\0"
		  "net_mac=02:00:00:00:00:02\0"),
	      "a repeated MAC is refused"),
	    R(NET("net_addr=10.0.0.2\0net_prefix=24\0net_addr=10.0.0.3\0"),
	      "a repeated address is refused"),
	    R(NET("hostname=\0"), "an empty hostname is refused"),
	    R(NET("hostname=a/b\0"), "a hostname with '/' is refused"),
	    R(NET("hostname=-x\0"), "a hostname with a leading '-' is refused"),
	    R(NET("hostname=a\nb\0"), "a hostname with a newline is refused"),
	    R(NET("hostname=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\0"),
	      "a 65-byte hostname is refused"),
	    R(NET("etc_hosts=a\0etc_hosts=b\0"), "a repeated file is refused"),
	};
	struct vmct_config c = {};

	check_refused(bad, ARRAY_SIZE(bad));
	is_int(P(NET("net_addr=10.0.0.2\0net_prefix=24\0net_mac=0A:58:0a:00:00:02\0"), &c), 0,
	       "a MAC in either case is taken");
	ok(c.net.has_mac && !memcmp(c.net.mac, "\x0a\x58\x0a\x00\x00\x02", 6), "as its bytes");
	vmct_config_free(&c);
	is_int(P(NET("net_addr=10.0.0.1\0net_prefix=31\0net_gw=10.0.0.0\0"), &c), 0,
	       "a /31 (RFC 3021) takes both addresses");
	vmct_config_free(&c);
	is_int(P(NET("net_addr=192.168.7.9\0net_prefix=32\0"), &c), 0, "a /32 without a gateway");
	vmct_config_free(&c);
#undef NET
	{
		size_t n = VMCT_FILE_MAX + 64;
		char *big = malloc(n);
		size_t o;

		o = (size_t)sprintf(big, "arg=x%cetc_resolv=", 0);
		memset(big + o, 'a', VMCT_FILE_MAX + 1);
		big[o + VMCT_FILE_MAX + 1] = '\0';
		ok(parse(big, o + VMCT_FILE_MAX + 2, &c) < 0, "a file over %u bytes is refused",
		   VMCT_FILE_MAX);
		free(big);
	}
}

/* The gratuitous ARP the agent sends (RFC 5227 announcement: sender = target = the address). */
static void test_garp(void)
{
	static const uint8_t mac[6] = {0x0a, 0x58, 0x0a, 0x5a, 0x00, 0x05};
	static const uint8_t want[VMCT_GARP_LEN] = {
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0a, 0x58, 0x0a, 0x5a, 0x00, 0x05, 0x08, 0x06,
	    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x0a, 0x58, 0x0a, 0x5a, 0x00, 0x05,
	    0x0a, 0x5a, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x5a, 0x00, 0x05};
	uint8_t f[VMCT_GARP_LEN];

	memset(f, 0xaa, sizeof(f));
	vmct_garp_frame(f, mac, 0x0a5a0005);
	ok(!memcmp(f, want, sizeof(f)),
	   "a gratuitous ARP: broadcast, ARP request from the MAC, sender and target 10.90.0.5");
}

/* The OCI mode's guest mounts: a round trip, then what a hostile entry may not do. */
static void test_mounts(void)
{
	struct vmct_mount in = {.type = "tmpfs",
				.flags = MS_NOSUID | MS_NODEV,
				.dest = "/run",
				.data = "mode=755,size=65536k"},
			  m;
	char *argv[] = {"sh", NULL}, line[600], *mounts[] = {line, "mqueue 14 /dev/mqueue -", NULL};
	struct vmct_config c = {.argv = argv, .cwd = "/", .mounts = mounts}, out = {};
	const char *bad[] = {
	    "ext4 0 /x -",
	    "tmpfs 0 /x",
	    "tmpfs 0 x -",
	    "tmpfs 0 / -",
	    "tmpfs 0 /a/../b -",
	    "tmpfs 0 /a/./b -",
	    "tmpfs 0 /.. -",
	    "tmpfs 32 /x -",
	    "tmpfs 1 /x - extra",
	    "tmpfs 1 /x - copyup ",
	    "tmpfs 1 /x - copyup copyup",
	    "tmpfs 1 /x -  copyup",
	    "tmpfs 1 /x - Copyup",
	    "mqueue 0 /dev/mqueue - copyup",
	    "virtiofs 0 /data isola-fs0 copyup",
	    "tmpfs  1 /x -",
	    "tmpfs -1 /x -",
	    "tmpfs 99999999999 /x -",
	    "tmpfs 0 /x\ty -",
	    "cgroup 0 /sys/fs/cgroup -",
	    "virtiofs 0 /data -",
	    "virtiofs 0 /data share",
	    "virtiofs 0 /data isola-fs8",
	    "virtiofs 0 /data isola-fs01",
	    "virtiofs 0 /data isola-fs",
	    "virtiofs 0 / isola-fs0",
	    "",
	};
	uint32_t len;
	uint8_t *buf;

	is_int(vmct_mount_format(&in, line, sizeof(line)), 0, "format a tmpfs mount");
	ok(!strcmp(line, "tmpfs 6 /run mode=755,size=65536k"), "its wire form: %s", line);
	is_int(vmct_mount_parse(line, &m), 0, "parse it back");
	ok(!strcmp(m.type, "tmpfs") && m.flags == (MS_NOSUID | MS_NODEV) &&
	       !strcmp(m.dest, "/run") && !strcmp(m.data, "mode=755,size=65536k") && !m.copyup,
	   "type, flags, dest, data survive; no copyup");
	/* tmpcopyup: a fifth word, which an agent without it refuses (4 words exactly). */
	in.copyup = true;
	is_int(vmct_mount_format(&in, line, sizeof(line)), 0, "format a tmpcopyup tmpfs");
	ok(!strcmp(line, "tmpfs 6 /run mode=755,size=65536k copyup"), "its wire form: %s", line);
	is_int(vmct_mount_parse(line, &m), 0, "parse it back");
	ok(m.copyup && !strcmp(m.data, "mode=755,size=65536k") && !strcmp(m.dest, "/run"),
	   "copyup survives, data and dest with it");
	is_int(vmct_mount_parse("tmpfs 0 /tmp - copyup", &m), 0, "copyup without data");
	ok(m.copyup && !m.data[0], "copyup set, data none");
	strcpy(in.type, "mqueue");
	ok(vmct_mount_format(&in, line, sizeof(line)) < 0, "copyup on an mqueue cannot be sent");
	strcpy(in.type, "tmpfs");
	in.copyup = false;
	is_int(vmct_mount_parse("virtiofs 1 /srv/data isola-fs7", &m), 0, "a shared directory");
	ok(!strcmp(m.type, "virtiofs") && m.flags == MS_RDONLY && !strcmp(m.data, "isola-fs7"),
	   "its type, flags and tag survive");
	is_int(vmct_mount_parse("mqueue 14 /dev/mqueue -", &m), 0, "no data is '-'");
	ok(m.data[0] == '\0', "and parses as none");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(vmct_mount_parse(bad[i], &m) < 0, "refused: `%s`", bad[i]);
	strcpy(in.dest, "/a b");
	ok(vmct_mount_format(&in, line, sizeof(line)) < 0, "a dest with a space cannot be sent");
	strcpy(in.dest, "/run");
	vmct_mount_format(&in, line, sizeof(line));
	buf = vmct_config_encode(&c, &len);
	is_int(vmct_config_parse(buf, len, &out, NULL), 0, "a config with mounts");
	ok(out.mounts && !strcmp(out.mounts[0], line) && !strcmp(out.mounts[1], mounts[1]) &&
	       !out.mounts[2],
	   "the mounts survive, in order");
	vmct_config_free(&out);
	free(buf);
	ok(P("arg=x\0mount=tmpfs 0 /../etc -\0", &out) < 0, "a config with a bad mount is refused");
}

/* v3: capabilities, no_new_privs, groups and a seccomp filter reach the agent unchanged. */
static void test_priv_roundtrip(void)
{
	char *argv[] = {"id", NULL};
	uint8_t bpf[3 * VMCT_BPF_INSN];
	struct vmct_config in = {.argv = argv, .cwd = "/"}, out = {};
	uint32_t len = 0;
	uint8_t *buf;

	for (size_t i = 0; i < sizeof(bpf); i++)
		bpf[i] = (uint8_t)(i * 37 + 1); /* every nibble, 0x00 and 0xff bytes too */
	bpf[0] = 0;
	bpf[1] = 0xff;
	in.has_caps = true;
	in.caps = (struct ct_caps){.bounding = UINT64_MAX,
				   .effective = 0xa80425fb,
				   .inheritable = 0,
				   .permitted = 1,
				   .ambient = UINT64_C(1) << 63};
	in.no_new_privs = true;
	in.n_groups = VMCT_GROUPS_MAX;
	for (uint32_t i = 0; i < VMCT_GROUPS_MAX; i++)
		in.groups[i] = i == 0 ? UINT32_MAX : i * 1000;
	in.seccomp = bpf;
	in.seccomp_len = sizeof(bpf);
	in.seccomp_flags = 4; /* SPEC_ALLOW */
	buf = vmct_config_encode(&in, &len);
	ok(buf != NULL, "encode a config with privileges");
	is_int(buf ? vmct_config_parse(buf, len, &out, NULL) : -1, 0, "parse it back");
	ok(out.has_caps && !memcmp(&out.caps, &in.caps, sizeof(in.caps)), "the five sets survive");
	ok(out.no_new_privs, "no_new_privs survives");
	ok(out.n_groups == VMCT_GROUPS_MAX && !memcmp(out.groups, in.groups, sizeof(in.groups)),
	   "256 groups survive, 4294967295 too");
	ok(out.seccomp && out.seccomp_len == sizeof(bpf) &&
	       !memcmp(out.seccomp, bpf, sizeof(bpf)) && out.seccomp_flags == 4,
	   "the filter's bytes and flags survive");
	vmct_config_free(&out);
	free(buf);

	/* Without them: nothing is set (the process keeps what the agent has). */
	in = (struct vmct_config){.argv = argv, .cwd = "/"};
	buf = vmct_config_encode(&in, &len);
	is_int(buf ? vmct_config_parse(buf, len, &out, NULL) : -1, 0, "parse a plain config");
	ok(!out.has_caps && !out.no_new_privs && !out.n_groups && !out.seccomp,
	   "no caps, nnp, groups or filter");
	vmct_config_free(&out);
	free(buf);

	/* The encoder refuses what the parser would. */
	in.seccomp = bpf;
	in.seccomp_len = 7;
	ok(!vmct_config_encode(&in, &len),
	   "a filter that is not whole instructions is not encoded");
	in.seccomp_len = 8;
	in.seccomp_flags = 8; /* NEW_LISTENER: the agent has no one to give the fd to */
	ok(!vmct_config_encode(&in, &len), "an unknown filter flag is not encoded");
	in.seccomp_flags = 0;
	in.n_groups = VMCT_GROUPS_MAX + 1;
	ok(!vmct_config_encode(&in, &len), "257 groups are not encoded");
}

/* rlimits, umask and oom_score_adj: every resource, the extremes of each value. */
static void test_limits(void)
{
	static const struct refused bad[] = {
	    R("arg=x\0rlimit=7 1024\0", "an rlimit without hard is refused"),
	    R("arg=x\0rlimit=7 1024 1024 1\0", "a fourth field is refused"),
	    R("arg=x\0rlimit=16 1 1\0", "resource 16 is refused"),
	    R("arg=x\0rlimit=4294967303 1 1\0", "a resource over 32 bits is refused"),
	    R("arg=x\0rlimit=7 2048 1024\0", "soft over hard is refused"),
	    R("arg=x\0rlimit=7 18446744073709551616 18446744073709551616\0",
	      "a limit over 64 bits is refused"),
	    R("arg=x\0rlimit=7 -1 1\0", "a negative limit is refused"),
	    R("arg=x\0rlimit=7 1 1\0rlimit=7 2 2\0", "a resource given twice is refused"),
	    R("arg=x\0umask=512\0", "a umask over 0777 is refused"),
	    R("arg=x\0umask=-1\0", "a negative umask is refused"),
	    R("arg=x\0oom_score_adj=1001\0", "oom_score_adj 1001 is refused"),
	    R("arg=x\0oom_score_adj=-1001\0", "oom_score_adj -1001 is refused"),
	    R("arg=x\0oom_score_adj=--5\0", "a double sign is refused"),
	    R("arg=x\0oom_score_adj=-0\0", "-0 is refused"),
	    R("arg=x\0oom_score_adj=+5\0", "a plus sign is refused"),
	    R("arg=x\0oom_score_adj=1\0oom_score_adj=2\0", "oom_score_adj twice is refused"),
	    R("arg=x\0user=\0", "an empty user is refused"),
	    R("arg=x\0user=a:\0", "an empty group is refused"),
	    R("arg=x\0user=:g\0", "a group without a user is refused"),
	    R("arg=x\0user=a:b:c\0", "three parts are refused"),
	    R("arg=x\0user=-a\0", "a leading '-' is refused"),
	    R("arg=x\0user=a/b\0", "a '/' is refused"),
	    R("arg=x\0user=a b\0", "a blank is refused"),
	    R("arg=x\0user=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\0", "33 characters are refused"),
	    R("arg=x\0ioprio=0\0", "ioprio class 0 is refused"),
	    R("arg=x\0ioprio=32768\0", "ioprio class 4 is refused"),
	    R("arg=x\0ioprio=16392\0", "ioprio level 8 is refused"),
	};
	char *argv[] = {"x", NULL};
	struct vmct_config in = {.argv = argv, .cwd = "/"}, out = {};
	uint32_t len = 0;
	uint8_t *buf;
	bool same;

	check_refused(bad, sizeof(bad) / sizeof(bad[0]));
	in.n_rlimits = VMCT_RLIMITS_MAX;
	for (uint32_t i = 0; i < VMCT_RLIMITS_MAX; i++)
		in.rlimits[i] = (struct vmct_rlimit){
		    .resource = VMCT_RLIMITS_MAX - 1 - i, .soft = i, .hard = i ? UINT64_MAX : 0};
	in.has_umask = true;
	in.umask = 0777;
	in.has_oom = true;
	in.oom_score_adj = -1000;
	in.ioprio = 3 << 13 | 7;
	in.user = "www-data.1_x:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	buf = vmct_config_encode(&in, &len);
	is_int(buf ? vmct_config_parse(buf, len, &out, NULL) : -1, 0,
	       "16 rlimits, umask, oom parse");
	same = out.n_rlimits == VMCT_RLIMITS_MAX;
	for (uint32_t i = 0; same && i < VMCT_RLIMITS_MAX; i++)
		same = out.rlimits[i].resource == in.rlimits[i].resource &&
		       out.rlimits[i].soft == in.rlimits[i].soft &&
		       out.rlimits[i].hard == in.rlimits[i].hard;
	ok(same, "every rlimit survives, RLIM_INFINITY too");
	ok(out.has_umask && out.umask == 0777 && out.has_oom && out.oom_score_adj == -1000 &&
	       out.ioprio == (3 << 13 | 7),
	   "umask 0777, oom_score_adj -1000 and ioprio IDLE/7 survive");
	ok(out.user && !strcmp(out.user, in.user), "user NAME:GROUP survives (32 characters each)");
	vmct_config_free(&out);
	free(buf);
	in = (struct vmct_config){.argv = argv, .cwd = "/", .has_umask = true};
	buf = vmct_config_encode(&in, &len);
	is_int(buf ? vmct_config_parse(buf, len, &out, NULL) : -1, 0, "umask 0 parses");
	ok(out.has_umask && out.umask == 0 && !out.has_oom && !out.n_rlimits,
	   "umask 0 is not \"no umask\"");
	vmct_config_free(&out);
	free(buf);
	in.user = "a:b:c";
	ok(!vmct_config_encode(&in, &len), "a bad user is not encoded");
	in.user = NULL;
	in.has_oom = true;
	in.oom_score_adj = 1001;
	ok(!vmct_config_encode(&in, &len), "oom_score_adj 1001 is not encoded");
	in.has_oom = false;
	in.n_rlimits = 1;
	in.rlimits[0] = (struct vmct_rlimit){.resource = 7, .soft = 2, .hard = 1};
	ok(!vmct_config_encode(&in, &len), "soft over hard is not encoded");
}

static void test_priv_hostile(void)
{
	static const struct refused bad[] = {
	    R("arg=x\0caps=1 2 3 4\0", "four capability sets are refused"),
	    R("arg=x\0caps=1 2 3 4 5 6\0", "six capability sets are refused"),
	    R("arg=x\0caps=1 2 3 4 10000000000000000\0", "a set over 64 bits is refused"),
	    R("arg=x\0caps=1  2 3 4 5\0", "an empty set is refused"),
	    R("arg=x\0caps=0x1 2 3 4 5\0", "a 0x prefix is refused"),
	    R("arg=x\0caps=-1 2 3 4 5\0", "a sign is refused"),
	    R("arg=x\0caps=1 2 3 4 5 \0", "a trailing space is refused"),
	    R("arg=x\0caps=1 2 3 4 5\0caps=1 2 3 4 5\0", "caps twice is refused"),
	    R("arg=x\0nnp=0\0", "nnp=0 is refused"),
	    R("arg=x\0nnp=yes\0", "nnp other than 1 is refused"),
	    R("arg=x\0groups=\0", "empty groups are refused"),
	    R("arg=x\0groups=1,\0", "a trailing comma is refused"),
	    R("arg=x\0groups=1,,2\0", "an empty group is refused"),
	    R("arg=x\0groups=4294967296\0", "a group over 32 bits is refused"),
	    R("arg=x\0groups=-1\0", "a negative group is refused"),
	    R("arg=x\0seccomp=\0", "an empty filter is refused"),
	    R("arg=x\0seccomp=00112233445566\0", "7 bytes are not an instruction"),
	    R("arg=x\0seccomp=001122334455667\0", "an odd count of digits is refused"),
	    R("arg=x\0seccomp=00112233445566zz\0", "a non-hex digit is refused"),
	    R("arg=x\0seccomp_flags=2\0", "flags without a filter are refused"),
	    R("arg=x\0seccomp=0011223344556677\0seccomp_flags=8\0",
	      "NEW_LISTENER (or any unknown flag) is refused"),
	    R("arg=x\0seccomp=0011223344556677\0seccomp_flags=0\0",
	      "flags 0 spelt out are refused"),
	};
	struct vmct_config c = {};
	_cleanup_free_ char *big = malloc(14 + 4096 * 16 + 1);
	size_t o;
	char *groups;

	check_refused(bad, sizeof(bad) / sizeof(bad[0]));

	/* 4096 instructions pass, 4097 do not. */
	memcpy(big, "arg=x\0seccomp=", 14);
	memset(big + 14, 'a', 4096 * 16);
	big[14 + 4096 * 16] = '\0';
	is_int(parse(big, 14 + 4096 * 16 + 1, &c), 0, "a filter of 4096 instructions is taken");
	ok(c.seccomp_len == 4096 * 8 && ((const uint8_t *)c.seccomp)[4095 * 8] == 0xaa,
	   "and decoded");
	vmct_config_free(&c);
	free(big);
	big = malloc(14 + 4097 * 16 + 1);
	memcpy(big, "arg=x\0seccomp=", 14);
	memset(big + 14, 'a', 4097 * 16);
	big[14 + 4097 * 16] = '\0';
	ok(parse(big, 14 + 4097 * 16 + 1, &c) < 0, "a filter of 4097 instructions is refused");
	vmct_config_free(&c);

	/* 256 groups pass, 257 do not. */
	groups = malloc(8 + 257 * 11 + 16);
	o = (size_t)sprintf(groups, "arg=x%cgroups=", 0);
	for (int i = 0; i < 257; i++)
		o += (size_t)sprintf(groups + o, "%s%d", i ? "," : "", i);
	groups[o] = '\0';
	ok(parse(groups, o + 1, &c) < 0, "257 groups are refused");
	vmct_config_free(&c);
	*strrchr(groups + 6, ',') = '\0';
	o = strlen(groups + 6) + 6;
	is_int(parse(groups, o + 1, &c), 0, "256 groups are taken");
	ok(c.n_groups == 256 && c.groups[255] == 255, "all of them");
	vmct_config_free(&c);
	free(groups);
}

/* linux.sysctl entries: "KEY VALUE" round trip; bad keys and values, a 33rd entry refused. */
static void test_sysctls(void)
{
	static const struct refused bad[] = {
	    R("arg=x\0sysctl=net.ipv4.ping_group_range\0", "a sysctl without a value is refused"),
	    R("arg=x\0sysctl=net.ipv4.ping_group_range \0", "an empty value is refused"),
	    R("arg=x\0sysctl= 0 0\0", "an empty key is refused"),
	    R("arg=x\0sysctl=net/ipv4/ip_forward 1\0", "a '/' in the key is refused"),
	    R("arg=x\0sysctl=net..ipv4 1\0", "an empty key part (..) is refused"),
	    R("arg=x\0sysctl=.net.ipv4 1\0", "a leading dot is refused"),
	    R("arg=x\0sysctl=net.ipv4. 1\0", "a trailing dot is refused"),
	    R("arg=x\0sysctl=Net.ipv4 1\0", "an upper-case key is refused"),
	    R("arg=x\0sysctl=net.ipv4 1\n2\0", "a control byte in the value is refused"),
	};
	char *argv[] = {"true", NULL};
	char *sysctls[] = {"net.ipv4.ping_group_range 0 0", "net.ipv4.ip_forward 1", NULL};
	char *bad_in[] = {"net/ipv4 1", NULL};
	struct vmct_config in = {.argv = argv, .sysctls = sysctls}, out = {};
	uint32_t len = 0;
	uint8_t *buf = vmct_config_encode(&in, &len);
	char big[6 + (VMCT_SYSCTLS_MAX + 1) * 13];
	size_t n = 6;

	is_int(vmct_config_parse(buf, len, &out, NULL), 0, "parse a config with sysctls");
	ok(out.sysctls && !strcmp(out.sysctls[0], "net.ipv4.ping_group_range 0 0") &&
	       !strcmp(out.sysctls[1], "net.ipv4.ip_forward 1") && !out.sysctls[2],
	   "sysctls survive, in order, blanks in the value too");
	vmct_config_free(&out);
	free(buf);
	in.sysctls = bad_in;
	ok(!vmct_config_encode(&in, &len) && errno == E2BIG, "encode refuses a bad sysctl");
	check_refused(bad, ARRAY_SIZE(bad));
	ok(vmct_sysctl_ok("kernel.shm_rmid_forced 1") && vmct_sysctl_ok("net.a-b.c 0\t0"),
	   "'_', '-' in keys and a tab in values are taken");
	/* VMCT_SYSCTLS_MAX entries are taken, one more is not. */
	memcpy(big, "arg=x", 6);
	for (unsigned i = 0; i <= VMCT_SYSCTLS_MAX; i++)
		memcpy(big + 6 + i * 13, "sysctl=a.b 1", 13);
	n = 6 + VMCT_SYSCTLS_MAX * 13;
	is_int(vmct_config_parse((uint8_t *)big, n, &out, NULL), 0, "32 sysctls are taken");
	vmct_config_free(&out);
	ok(vmct_config_parse((uint8_t *)big, n + 13, &out, NULL) < 0, "a 33rd sysctl is refused");
}

int main(void)
{
	test_sysctls();
	test_priv_roundtrip();
	test_priv_hostile();
	test_limits();
	test_mounts();
	test_roundtrip();
	test_hostile_config();
	test_frames();
	test_winch();
	test_connect_reply();
	test_net_roundtrip();
	test_net_hostile();
	test_garp();
	return tap_done();
}
