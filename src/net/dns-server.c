/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A network's DNS responder, as podman's aardvark-dns: one process per user-defined
 * network, listening on the bridge's gateway addresses (port 53, UDP and TCP) in the
 * host's network namespace.  It answers A and AAAA for the names of the network's containers
 * (id, hostname, aliases) from net/state, which it watches with inotify, so a name
 * appears when a container is attached and goes when it is detached.  Other names go to
 * the host's resolvers (/etc/resolv.conf, or $ISOLA_DNS_RESOLV_CONF) and their answer is
 * relayed; with no resolver, or none answering, the client gets SERVFAIL.  Only clients
 * with an address in the network's subnets are answered at all.  Queries go upstream
 * over UDP, each from a socket of its own (random port, id and case: RFC 5452); an
 * answer the upstream truncated (TC) for a client that asked over TCP is asked again over
 * TCP from the same upstream (RFC 7766 5), and relayed whole; a UDP client gets the
 * truncated answer and asks again over TCP itself.
 *
 * Files under <store>/net/dns: <network>.lock orders starting and stopping (the starter
 * and the responder's last look at the state hold it), <network>.pid is locked by the
 * responder for as long as it lives (and holds its pid).  Started by dns-spawn.c.  The
 * parts: dns-server-internal.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps-sys.h"
#include "cleanup.h"
#include "dns-internal.h"
#include "dns-server-internal.h"
#include "landlock.h"

/* The uid and gid the responder runs as. */
#define NOBODY 65534

uint64_t dnsd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Upstreams that did not answer in time: the next one, or SERVFAIL. */
static int expire(struct dnsd *d)
{
	uint64_t now = dnsd_now_ms();
	int next = 1000;

	for (size_t i = 0; i < PENDING_MAX; i++) {
		struct dns_pending *p = &d->pend[i];

		if (!p->used)
			continue;
		if (p->deadline <= now) {
			if (++p->attempt >= d->n_up) {
				dnsd_pending_fail(d, p);
				continue;
			}
			dnsd_pending_send(d, p);
		}
		if ((int)(p->deadline - now) < next)
			next = p->deadline - now;
	}
	for (int i = 0; i < UPTCP_MAX; i++) {
		if (d->uptcp[i].fd < 0)
			continue;
		if (d->uptcp[i].deadline <= now) {
			dnsd_uptcp_fail(d, &d->uptcp[i]); /* slow, or an endless stream */
			continue;
		}
		if ((int)(d->uptcp[i].deadline - now) < next)
			next = d->uptcp[i].deadline - now;
	}
	for (int i = 0; i < TCP_MAX; i++) {
		if (d->tcp[i].fd < 0)
			continue;
		if (d->tcp[i].deadline <= now) {
			dnsd_tcp_close(d, i);
			continue;
		}
		if ((int)(d->tcp[i].deadline - now) < next)
			next = d->tcp[i].deadline - now;
	}
	return next;
}

/*
 * No container left: exit, unless one is being attached.  The network's lock orders us
 * with net_dns_ensure: held from this last look until our sockets are closed.
 */
static bool idle(struct dnsd *d)
{
	if (d->members)
		return false;
	if (d->lock >= 0 && flock(d->lock, LOCK_EX) < 0)
		return false;
	dnsd_recs_load(d);
	if (d->members) {
		flock(d->lock, LOCK_UN);
		return false;
	}
	return true; /* the lock, if any, stays held until the exit closes it */
}

static bool drain_inotify(struct dnsd *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool gone = false;
	ssize_t n;

	while ((n = read(d->ino, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const void *)p;

			gone |= e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED);
			p += sizeof(*e) + e->len;
		}
	return gone;
}

static int serve_fds(struct dnsd *d, struct err **err)
{
	for (int fd = FD_SOCK; fd < FD_SOCK + MAX_SOCKS; fd++) {
		int type = 0;
		socklen_t l = sizeof(type);

		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
			continue;
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		if (type == SOCK_DGRAM)
			d->socks[d->n_socks++] = fd;
		else if (type == SOCK_STREAM && fcntl(fd, F_SETFL, O_NONBLOCK) == 0)
			d->listeners[d->n_listeners++] = fd;
	}
	if (!d->n_socks)
		return err_make(err, EBADF, "dns-serve: no listening socket (fd %d)", FD_SOCK);
	return 0;
}

/*
 * Every fd to wait on: [inotify, UDP..., listeners..., forwarded queries (PENDING_MAX),
 * connections..., TCP exchanges with upstreams...].
 */
static size_t poll_set(struct dnsd *d, struct pollfd *pf)
{
	size_t n = 0;

	pf[n++] = (struct pollfd){.fd = d->ino, .events = POLLIN};
	for (size_t i = 0; i < d->n_socks; i++)
		pf[n++] = (struct pollfd){.fd = d->socks[i], .events = POLLIN};
	for (size_t i = 0; i < d->n_listeners; i++)
		pf[n++] = (struct pollfd){.fd = d->listeners[i], .events = POLLIN};
	for (size_t i = 0; i < PENDING_MAX; i++)
		pf[n++] = (struct pollfd){.fd = d->pend[i].fd, .events = POLLIN};
	for (int i = 0; i < TCP_MAX; i++)
		pf[n++] = (struct pollfd){.fd = d->tcp[i].fd, .events = POLLIN};
	for (int i = 0; i < UPTCP_MAX; i++)
		pf[n++] = (struct pollfd){.fd = d->uptcp[i].fd,
					  .events = d->uptcp[i].sent ? POLLIN : POLLOUT};
	return n;
}

static int loop(struct dnsd *d)
{
	for (;;) {
		struct pollfd pf[1 + 2 * MAX_SOCKS + PENDING_MAX + TCP_MAX + UPTCP_MAX];
		int timeout = expire(d);
		size_t n, k = 1;

		if (idle(d))
			return 0;
		n = poll_set(d, pf);
		if (poll(pf, n, timeout) < 0 && errno != EINTR)
			return -errno;
		if (pf[0].revents) {
			if (drain_inotify(d))
				return 0; /* the store went away */
			dnsd_recs_load(d);
		}
		for (size_t i = 0; i < d->n_socks; i++, k++)
			for (int b = 0; b < 64 && (pf[k].revents & POLLIN); b++)
				if (!dnsd_on_query(
					d, d->socks[i])) /* a batch, then the others' turn */
					break;
		for (size_t i = 0; i < d->n_listeners; i++, k++)
			if (pf[k].revents & POLLIN)
				dnsd_on_accept(d, d->listeners[i]);
		/* Answers (or errors: POLLERR) on the sockets as polled, a few each. */
		for (size_t i = 0; i < PENDING_MAX; i++, k++)
			for (int b = 0;
			     b < 8 && pf[k].fd >= 0 && pf[k].fd == d->pend[i].fd && pf[k].revents;
			     b++)
				if (!dnsd_on_upstream(d, &d->pend[i]))
					break;
		/* Connections as polled (a slot accepted above waits for the next round). */
		for (int i = 0; i < TCP_MAX; i++, k++)
			if (pf[k].fd >= 0 && pf[k].fd == d->tcp[i].fd && pf[k].revents)
				dnsd_on_tcp(d, i);
		/* The same for exchanges (one that gave way above is not this fd's any more). */
		for (int i = 0; i < UPTCP_MAX; i++, k++)
			if (pf[k].fd >= 0 && pf[k].fd == d->uptcp[i].fd && pf[k].revents)
				dnsd_on_uptcp(d, &d->uptcp[i]);
	}
}

/* uid/gid may not read (and search, for a directory) st without CAP_DAC_READ_SEARCH. */
static bool need_dac(const struct stat *st, uid_t uid, gid_t gid)
{
	mode_t need = S_ISDIR(st->st_mode) ? S_IRUSR | S_IXUSR : S_IRUSR;

	if (st->st_uid != uid)
		need >>= st->st_gid == gid ? 3 : 6;
	return (st->st_mode & need) != need;
}

/*
 * What the responder may do with files and TCP from here on (Landlock, where the kernel
 * has it): read the records and the networks; read resolv.conf; connect to TCP port 53;
 * nothing else, and no signals or abstract sockets out of its domain.  With
 * CAP_DAC_READ_SEARCH (or as root), resolv.conf is allowed as that file only (its
 * directory would make /etc/shadow readable): one replaced by a rename, as DHCP clients
 * do, is not read until the next responder (dns-upstream.c keeps the resolvers it had).
 * Otherwise its directory is allowed, and a replaced file read again.
 */
static int landlock_rules(struct ll_ruleset *rs, bool file_only, char *id, size_t id_size,
			  struct err **err)
{
	static const char *const dirs[] = {"net/state", "networks"};
	const char *rc = net_dns_resolv_path();
	_cleanup_free_ char *real = NULL;
	struct stat st;
	int r;

	snprintf(id, id_size, "*"); /* it may read what is renamed there */
	r = ll_ruleset_new(rs);
	if (r == -EOPNOTSUPP)
		return 0; /* rs->fd < 0: nothing to enforce */
	if (r < 0)
		return err_make(err, -r, "dns-serve: landlock");
	for (size_t i = 0; i < ARRAY_SIZE(dirs) && r >= 0; i++)
		if ((r = ll_allow_path(rs, dirs[i], LL_FS_READ_FILE | LL_FS_READ_DIR)) == -ENOENT)
			r = 0; /* no networks/ yet: nothing of it to read */
	if (r < 0)
		goto fail;
	/*
	 * A regular file, opened once: a path that is (or is swapped for) a symbolic link to a
	 * directory must not become a rule for all that is under it.  None there (or none it
	 * may open): no rule, and "-" as its ID.
	 */
	if (file_only) {
		r = ll_allow_file(rs, rc, LL_FS_READ_FILE, &st);
		net_dns_stat_id(r == 0 ? &st : NULL, id, id_size);
		if (r == -ENOENT || r == -EISDIR || r == -ENOTDIR || r == -ELOOP || r == -EACCES ||
		    r == -ENAMETOOLONG)
			r = 0;
	} else if ((real = realpath(rc, NULL)) && strrchr(real, '/') != real) {
		*strrchr(real, '/') = '\0';
		r = ll_allow_path(rs, real, LL_FS_READ_FILE);
	} else {
		net_dns_stat_id(NULL, id, id_size);
	}
	if (r >= 0)
		r = ll_allow_port(rs, 53, LL_NET_CONNECT_TCP);
	if (r >= 0)
		return 0;
fail:
	ll_ruleset_free(rs);
	return err_make(err, -r, "dns-serve: landlock rule");
}

/*
 * Root gives way to nobody (65534, no supplementary groups), keeping one capability,
 * CAP_DAC_READ_SEARCH, to read the store's records, with no_new_privs and the Landlock
 * rules above: a flaw in the parser of what containers send can then write none of the
 * host's files and read only what the responder reads anyway.  Where 65534 has no
 * mapping (a user namespace) it stays the uid it is, with no capability unless a
 * directory of the store is not its own to read.
 */
static int confine(struct dnsd *d, struct err **err)
{
	static const char *const paths[] = {".", "net", "net/state", "networks"};
	uint64_t dac = UINT64_C(1) << CAP_DAC_READ_SEARCH;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	struct ll_ruleset rs = {.fd = -1};
	char pid[PATH_MAX + 128], id[64], lock[PATH_MAX];
	struct ct_caps keep = {0};
	const char *what = "capset";
	int cap = -1, r;
	struct stat st;
	bool nobody;

	if (chdir(d->store) < 0)
		return err_make(err, errno, "chdir `%s`", d->store);
	d->store = ".";
	snprintf(d->state_dir, sizeof(d->state_dir), "net/state");
	snprintf(lock, sizeof(lock), "net/dns/%s.lock", d->network);
	/* Opened now: net/dns is 0700. */
	d->lock = open(lock, O_RDONLY | O_CLOEXEC);
	nobody = uid == 0 && setresgid(NOBODY, NOBODY, NOBODY) == 0;
	if (nobody) {
		/* The records are root's, 0600 in a 0700 directory: it reads them by capability. */
		keep.bounding = keep.permitted = keep.effective = dac;
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
			if (stat(paths[i], &st) == 0 && need_dac(&st, uid, gid))
				keep.bounding = keep.permitted = keep.effective = dac;
	}
	/* The rules while the paths can still be opened, the bounding set while CAP_SETPCAP is. */
	/* Root (kept where 65534 has no mapping) reads root's files as their owner, too. */
	r = landlock_rules(&rs, keep.effective != 0 || uid == 0, id, sizeof(id), err);
	if (r < 0)
		return r;
	/* The pid is for people and for a stale check (dns-spawn.c); the lock is what counts. */
	snprintf(pid, sizeof(pid), "%d\n%s\n%s\n", (int)getpid(), id, net_dns_resolv_path());
	if (ftruncate(FD_PID, 0) < 0 || pwrite(FD_PID, pid, strlen(pid), 0) < 0) {
		r = err_make(err, errno, "dns-serve: write the pid file");
		goto out;
	}
	r = ct_caps_sys_drop_bounding(&keep, &cap);
	if (r < 0) {
		r = err_make(err, -r, "dns-serve: drop capability %d from the bounding set", cap);
		goto out;
	}
	if (nobody &&
	    (setgroups(0, NULL) < 0 || prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ||
	     setresuid(NOBODY, NOBODY, NOBODY) < 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)) {
		r = err_make(err, errno, "dns-serve: become uid %d", NOBODY);
		goto out;
	}
	r = ct_caps_sys_apply(&keep, &what, &cap);
	if (r < 0) {
		r = err_make(err, -r, "dns-serve: %s (capability %d)", what, cap);
		goto out;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		r = err_make(err, errno, "dns-serve: no_new_privs");
		goto out;
	}
	if (rs.fd >= 0 && (r = ll_restrict(&rs)) < 0) {
		r = err_make(err, -r, "dns-serve: landlock");
		goto out;
	}
	r = dnsd_seccomp(err);
out:
	ll_ruleset_free(&rs);
	return r;
}

int net_dns_serve(const char *store, const char *network, struct err **err)
{
	struct dnsd *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return err_make(err, ENOMEM, "dns-serve");
	*d = (struct dnsd){.store = store, .network = network, .ino = -1, .lock = -1};
	for (int i = 0; i < PENDING_MAX; i++)
		d->pend[i].fd = -1;
	for (int i = 0; i < TCP_MAX; i++)
		d->tcp[i].fd = -1;
	for (int i = 0; i < UPTCP_MAX; i++)
		d->uptcp[i].fd = -1;
	snprintf(d->state_dir, sizeof(d->state_dir), "%s/net/state", store);
	r = serve_fds(d, err);
	if (r >= 0)
		r = dnsd_subnets_load(d, err);
	if (r < 0)
		goto out;
	/* Before confine(): Landlock does not cover inotify, so the filter refuses it after. */
	d->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->ino < 0 ||
	    inotify_add_watch(d->ino, d->state_dir,
			      IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE |
				  IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR) < 0) {
		r = err_make(err, errno, "inotify `%s`", d->state_dir);
		goto out;
	}
	r = confine(d, err);
	if (r < 0)
		goto out;
	dnsd_recs_load(d);
	dnsd_upstreams_load(d);
	r = loop(d);
	if (r < 0)
		err_make(err, -r, "dns-serve `%s`", network);
out:
	for (int i = 0; i < PENDING_MAX; i++)
		dnsd_pending_close(&d->pend[i]);
	/* Sockets and the pid file's lock first: then a new responder may start. */
	for (size_t i = 0; i < d->n_socks; i++)
		close(d->socks[i]);
	for (size_t i = 0; i < d->n_listeners; i++)
		close(d->listeners[i]);
	for (int i = 0; i < UPTCP_MAX; i++)
		dnsd_uptcp_free(&d->uptcp[i]);
	for (int i = 0; i < TCP_MAX; i++)
		dnsd_tcp_close(d, i);
	close(FD_PID);
	if (d->lock >= 0)
		close(d->lock); /* and with it the lock, if held */
	/*
	 * The inotify instance is left to the process's exit: closing one waits for an SRCU
	 * grace period (13 ms on this host's kernel), and `rm`/`run --rm` wait for the locks
	 * above, not for it.  By the time the exit closes it, the process has no address
	 * space (no command line) and nothing of the network.
	 */
	free(d->recs);
	free(d);
	return r;
}
