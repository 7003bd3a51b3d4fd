/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * icmp-probe: what an unprivileged ping can do, for the integration tests
 * (busybox ping only opens raw sockets).  Built static by the test and put
 * in a busybox image.
 *
 *   icmp-probe raw         open an AF_INET SOCK_RAW ICMP socket (CAP_NET_RAW)
 *   icmp-probe ping ADDR   one echo over an ICMP datagram socket (IPv4 or IPv6;
 *                          both obey net.ipv4.ping_group_range), 5 s for the reply
 *
 * Prints one line, "ok ..." or "fail ...: <strerror>"; exits 0 or 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *what)
{
	printf("fail %s: %s\n", what, strerror(errno));
	return 1;
}

static int ping(const char *addr)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	unsigned char req[64] = {0}, rep[1500];
	struct pollfd p;
	bool v6 = strchr(addr, ':') != NULL;
	ssize_t n;

	if (v6 ? inet_pton(AF_INET6, addr, &in6->sin6_addr) != 1
	       : inet_pton(AF_INET, addr, &in4->sin_addr) != 1) {
		errno = EINVAL;
		return fail("address");
	}
	ss.ss_family = v6 ? AF_INET6 : AF_INET;
	p.fd = socket(ss.ss_family, SOCK_DGRAM, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	if (p.fd < 0)
		return fail("ping socket");
	/* Type echo request, code 0; the kernel sets the id and the checksum. */
	req[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
	req[7] = 1; /* sequence 1 */
	memcpy(req + 8, "isola-icmp-probe", 16);
	if (sendto(p.fd, req, sizeof(req), 0, (struct sockaddr *)&ss,
		   v6 ? sizeof(*in6) : sizeof(*in4)) < 0)
		return fail("send");
	p.events = POLLIN;
	for (;;) {
		int r = poll(&p, 1, 5000);

		if (r == 0)
			errno = ETIMEDOUT;
		if (r <= 0)
			return fail("reply");
		n = recv(p.fd, rep, sizeof(rep), 0);
		if (n < 0)
			return fail("recv");
		if (n >= 8 && rep[0] == (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY)) {
			printf("ok reply from %s\n", addr);
			return 0;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "raw")) {
		if (socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) < 0)
			return fail("raw socket");
		printf("ok raw socket\n");
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "ping"))
		return ping(argv[2]);
	fprintf(stderr, "usage: icmp-probe raw | ping ADDR\n");
	return 2;
}
