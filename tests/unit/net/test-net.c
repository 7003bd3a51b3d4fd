/* SPDX-License-Identifier: GPL-2.0-or-later */
/* src/net: -p and CIDR parsing, CNI results, and the CNI protocol with fake plugins. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "jsonutil.h"
#include "net.h"
#include "tap.h"

static void test_ports(void)
{
	static const char *const bad[] = {
	    "80",	"0:80",	     "65536:80",       "80:80/sctp", "1.2.3:80:80", "a:80",
	    "80:",	":80",	     "1.2.3.4::80",    "80:80/",     "-1:80",	    "+80:80",
	    "8080 :80", "::1:80:80", "999999999999:1", "80:80/tcpx",
	};
	struct net_port p;

	ok(net_port_parse("8080:80", &p, NULL) == 0 && p.host_port == 8080 && p.ctr_port == 80 &&
	       streq(p.proto, "tcp") && p.host_ip[0] == '\0',
	   "HOST:CTR");
	ok(net_port_parse("127.0.0.1:53:5353/udp", &p, NULL) == 0 && p.host_port == 53 &&
	       p.ctr_port == 5353 && streq(p.proto, "udp") && streq(p.host_ip, "127.0.0.1"),
	   "IP:HOST:CTR/udp");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_err_ struct err *err = NULL;

		ok(net_port_parse(bad[i], &p, &err) < 0 && err && strstr(err->msg, bad[i]),
		   "-p `%s` is refused, named in the error", bad[i]);
	}
}

static void test_cidr(void)
{
	/* Whitespace and leading zeros: strtoul takes them, the CNI plugins do not. */
	static const char *const bad[] = {
	    "10.0.0.1/24",  "10.0.0.0",	     "10.0.0.0/7",  "10.0.0.0/31",  "10.0.0.0/+24",
	    "10.0.0.0/24x", "x/24",	     "10.0.0.0/",   "10.0.0.0/ 24", "10.0.0.0/\t24",
	    "10.0.0.0/024", "10.0.0.0/0024", "10.0.0.0/24 "};
	uint32_t a;
	unsigned p;

	ok(net_cidr_parse("10.213.5.0/24", &a, &p) == 0 && a == 0x0ad50500 && p == 24, "a /24");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ok(net_cidr_parse(bad[i], &a, &p) < 0, "subnet `%s` is refused", bad[i]);
}

static void test_cidr6(void)
{
	static const char *const bad[] = {
	    "fd00::1/64",  "fd00::/7", "fd00::/121", "fd00::",	  "fd00::/+64", "fd00::/64x",
	    "10.0.0.0/24", "fd00::/",  "fd00:::/64", "fd00::/-1", "fd00::/ 64", "fd00::/064"};
	uint8_t a[16];
	unsigned p;

	ok(net_cidr6_parse("fd00:213:5::/64", a, &p) == 0 && p == 64 && a[0] == 0xfd &&
	       a[3] == 0x13 && a[5] == 5 && a[15] == 0,
	   "an IPv6 /64");
	ok(net_cidr6_parse("fd00:0:0:0:8000::/80", a, &p) == 0 && p == 80 && a[8] == 0x80, "a /80");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ok(net_cidr6_parse(bad[i], a, &p) < 0, "IPv6 subnet `%s` is refused", bad[i]);
}

static void test_result(void)
{
	_cleanup_json_ json_t *v1 =
	    json_loads("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"fd00::2/64\"},"
		       "{\"address\":\"10.1.2.3/24\",\"gateway\":\"10.1.2.1\"}]}",
		       0, NULL);
	_cleanup_json_ json_t *v04 = json_loads(
	    "{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\",\"address\":\"10.9.9.9/16\"}]}",
	    0, NULL);
	_cleanup_free_ char *a = net_result_ipv4(v1), *b = net_result_ipv4(v04),
			    *c = net_result_ipv4(NULL);

	ok(a && streq(a, "10.1.2.3"), "1.0.0 result: the IPv4 address after an IPv6 one");
	ok(b && streq(b, "10.9.9.9"), "0.4.0 result");
	ok(c == NULL, "no result, no address");
}

/*
 * Fake plugins: "rec" appends "<CNI_COMMAND> <type> <has prevResult> <runtimeConfig>"
 * to $dir/log and answers with a result naming itself; "fail" answers a CNI error.
 */
static void write_plugins(const char *dir)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/rec", dir);
	f = fopen(p, "w");
	fprintf(f,
		"#!/bin/sh\nin=$(cat)\n"
		"prev=no; case \"$in\" in *prevResult*) prev=yes;; esac\n"
		"rc=no; case \"$in\" in *runtimeConfig*) rc=yes;; esac\n"
		"echo \"$CNI_COMMAND $CNI_CONTAINERID $CNI_IFNAME prev=$prev rc=$rc\" >>%s/log\n"
		"echo '{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.7.0.2/24\"}]}'\n",
		dir);
	fclose(f);
	chmod(p, 0755);
	snprintf(p, sizeof(p), "%s/fail", dir);
	f = fopen(p, "w");
	fprintf(f, "#!/bin/sh\ncat >/dev/null\n"
		   "echo '{\"code\":11,\"msg\":\"no room\",\"details\":\"pool full\"}'\nexit 1\n");
	fclose(f);
	chmod(p, 0755);
}

static char *slurp(const char *dir)
{
	char p[512], *buf = calloc(1, 4096);
	FILE *f;

	snprintf(p, sizeof(p), "%s/log", dir);
	f = fopen(p, "r");
	if (f) {
		size_t n = fread(buf, 1, 4095, f);

		buf[n] = '\0';
		fclose(f);
	}
	unlink(p);
	return buf;
}

static void test_cni(void)
{
	char dir[] = "/tmp/isola-test-net.XXXXXX";
	_cleanup_json_ json_t *list = NULL, *rc = NULL, *res = NULL, *bad = NULL, *evil = NULL;
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *log1 = NULL, *log2 = NULL;
	char rm[600];

	if (!mkdtemp(dir))
		return;
	write_plugins(dir);
	setenv("ISOLA_CNI_PATH", dir, 1);
	list = json_loads("{\"cniVersion\":\"1.0.0\",\"name\":\"t\",\"plugins\":["
			  "{\"type\":\"rec\"},{\"type\":\"rec\",\"capabilities\":"
			  "{\"portMappings\":true}}]}",
			  0, NULL);
	rc = json_loads("{\"portMappings\":[{\"hostPort\":1}]}", 0, NULL);
	ok(net_cni_run(list, "ADD", "c1", "/x", "eth0", rc, NULL, &res, &err) == 0 && res,
	   "ADD runs the chain and returns the last result");
	log1 = slurp(dir);
	ok(streq(log1, "ADD c1 eth0 prev=no rc=no\nADD c1 eth0 prev=yes rc=yes\n"),
	   "ADD: in order, prevResult from the second plugin, runtimeConfig only where declared");
	ok(net_cni_run(list, "DEL", "c1", "/x", "eth0", rc, res, NULL, NULL) == 0, "DEL");
	log2 = slurp(dir);
	ok(streq(log2, "DEL c1 eth0 prev=yes rc=yes\nDEL c1 eth0 prev=yes rc=no\n"),
	   "DEL: reverse order, each with the cached result");
	bad = json_loads(
	    "{\"cniVersion\":\"1.0.0\",\"name\":\"t\",\"plugins\":[{\"type\":\"fail\"}]}", 0, NULL);
	ok(net_cni_run(bad, "ADD", "c1", "/x", "eth0", NULL, NULL, NULL, &err) < 0 && err &&
	       strstr(err->msg, "plugin fail: no room: pool full"),
	   "a plugin's error object becomes the message");
	err_free(&err);
	evil = json_loads(
	    "{\"cniVersion\":\"1.0.0\",\"name\":\"t\",\"plugins\":[{\"type\":\"../rec\"}]}", 0,
	    NULL);
	ok(net_cni_run(evil, "ADD", "c1", "/x", "eth0", NULL, NULL, NULL, &err) < 0 && err &&
	       strstr(err->msg, "not a plugin name"),
	   "a plugin type with a path is refused");
	snprintf(rm, sizeof(rm), "rm -rf --one-file-system %s", dir);
	if (system(rm) != 0)
		printf("# could not remove %s\n", dir);
}

int main(void)
{
	test_ports();
	test_cidr();
	test_cidr6();
	test_result();
	test_cni();
	return tap_done();
}
