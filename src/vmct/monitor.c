/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The monitor of a VM container in the OCI mode (docs/vm-containers.md): the
 * process create forks, whose pid the container's state reports.  It runs the
 * VM through vmct_run(), with two hooks: once the agent has connected it tells
 * create (over the sync socket) and waits on ctl.sock for `start`, holding the
 * process config back; once the config went out it marks the container
 * started and answers the start request.  It exits with the guest process's
 * status, kept in vm.exit too.  Its cwd is the container's state dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "oci.h"
#include "vmct.h"

#define REQUEST_MAX	64
#define REQUEST_WAIT_MS 5000
#define STATUS_FAILED	125 /* the VM failed: as podman's "the runtime failed" */

struct gate_state {
	struct vmct_monitor *m;
	int sig_status;	 /* 128 + N: a signal stopped the VM before start */
	bool ready_sent; /* create heard "R": the state names this VMM */
};

/* create's "G": the state is written, the container is its engine's now. */
static int wait_go(struct vmct_monitor *m, struct err **err)
{
	struct pollfd p = {.fd = m->sync_fd, .events = POLLIN};
	char c = 0;

	if (poll(&p, 1, (int)m->ready_wait * 1000) <= 0 || read(m->sync_fd, &c, 1) != 1 || c != 'G')
		return err_make(err, 0, "create did not finish");
	return 0;
}

/* One request line from a ctl.sock client, NUL-terminated without its '\n'. */
int vmct_read_request(int fd, char *buf, size_t cap)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	size_t len = 0;

	while (len < cap - 1) {
		ssize_t n;
		char *nl;

		if (poll(&p, 1, REQUEST_WAIT_MS) <= 0)
			return -ETIMEDOUT;
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			return -EIO;
		len += n;
		/* memchr's own hit: a NUL before the '\n' would stop strchr short. */
		nl = memchr(buf, '\n', len);
		if (nl) {
			*nl = '\0';
			return 0;
		}
	}
	return -EMSGSIZE;
}

/* Wait for `start` on ctl.sock; a signal or the VMM's end stops the VM instead. */
static int wait_start(struct gate_state *g, int vmm_pidfd, struct err **err)
{
	_cleanup_close_ int sfd = -1;
	sigset_t set;

	/* A relayed signal before start stops the VM. */
	vmct_relayed_set(&set);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		return err_make(err, errno, "signalfd");
	accept_spare_init();
	for (;;) {
		struct pollfd p[3] = {{.fd = g->m->ctl_fd, .events = POLLIN},
				      {.fd = vmm_pidfd, .events = POLLIN},
				      {.fd = sfd, .events = POLLIN}};
		char req[REQUEST_MAX];
		int c;

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return err_make(err, errno, "poll");
		}
		if (p[2].revents) {
			struct signalfd_siginfo si = {};

			/* A terminal's resize before start: its size is read at start. */
			if (read(sfd, &si, sizeof(si)) != sizeof(si) || si.ssi_signo == SIGWINCH)
				continue;
			g->sig_status = 128 + (int)si.ssi_signo;
			return err_make(err, 0, "signal %u before start", si.ssi_signo);
		}
		if (p[1].revents)
			return err_make(err, 0, "the VM exited before start");
		if (!p[0].revents)
			continue;
		c = accept_or_shed(g->m->ctl_fd, SOCK_CLOEXEC); /* out of fds: no spin */
		if (c < 0)
			continue;
		if (vmct_read_request(c, req, sizeof(req)) == 0 && streq(req, "start")) {
			g->m->client = c;
			return 0;
		}
		dprintf(c, "error: unknown request\n");
		close(c);
	}
}

static int agent_ready(void *arg, pid_t vmm, int vmm_pidfd, const char *dir, struct err **err)
{
	struct gate_state *g = arg;
	struct vmct_monitor *m = g->m;
	int r;

	g->ready_sent = true;
	if (dprintf(m->sync_fd, "R %d %s\n", (int)vmm, dir) < 0)
		return err_make(err, errno, "tell create");
	r = wait_go(m, err);
	if (r < 0)
		return r;
	/* The state is written: from now on we outlive create (an engine reaps us). */
	prctl(PR_SET_PDEATHSIG, 0);
	close(m->sync_fd);
	m->sync_fd = -1;
	r = wait_start(g, vmm_pidfd, err);
	if (r >= 0 && m->proc && m->proc->tty)
		vmct_term_size(STDIN_FILENO, &m->proc->rows, &m->proc->cols);
	return r;
}

static void config_sent(void *arg)
{
	struct gate_state *g = arg;

	write_file_atomic_at(AT_FDCWD, VMCT_OCI_STARTED, "", 0, 0600, NULL);
	if (g->m->client >= 0) {
		write_all(g->m->client, "ok\n", 3);
		close(g->m->client);
		g->m->client = -1;
	}
}

/*
 * The warm path (warm.c), as run --vm's: restore the template of o's kernel,
 * initrd, memory and cpus under m->warm_cache (built on first use).  A failure
 * before create heard "R" (after it, the state names the VMM) is told to
 * create as one "W" line, which create prints, and *ret_cold is set: the
 * caller boots cold.  A signal is not a failure to fall back from.
 */
static int run_warm(struct gate_state *g, struct vmct_run_opts *o, int *status, bool *ret_cold,
		    struct err **err)
{
	struct vmct_monitor *m = g->m;
	struct vmct_warm w = {};
	int r = vmct_warm_get_blocking(m->warm_cache, o, &w, err);

	*ret_cold = false;
	if (r >= 0) {
		o->warm = &w;
		r = vmct_run(o, status, err);
		o->warm = NULL;
	}
	vmct_warm_free(&w);
	if (r < 0 && !g->ready_sent && m->sync_fd >= 0 && err_code(*err) != -ECANCELED) {
		dprintf(m->sync_fd, "W no warm start (%s); booting the VM cold\n",
			strtok((*err)->msg, "\n"));
		err_free(err);
		*ret_cold = true;
		return 0;
	}
	return r;
}

int vmct_monitor_run(struct vmct_monitor *m, struct vmct_run_opts *o)
{
	_cleanup_err_ struct err *err = NULL;
	struct gate_state g = {.m = m};
	char buf[16];
	int status = STATUS_FAILED, r = 0;
	bool cold = true;

	o->agent_ready = agent_ready;
	o->config_sent = config_sent;
	o->hook_arg = &g;
	if (m->warm_cache)
		r = run_warm(&g, o, &status, &cold, &err);
	if (r >= 0 && cold)
		r = vmct_run(o, &status, &err);
	if (r < 0 && m->sync_fd >= 0) {
		/* Before create finished: it reports the error and removes everything. */
		dprintf(m->sync_fd, "E %s", err ? err->msg : "the VM failed");
		return STATUS_FAILED;
	}
	if (r < 0 && m->client >= 0)
		dprintf(m->client, "error: %s\n", err ? err->msg : "the VM failed");
	else if (r < 0 && !g.sig_status)
		dprintf(STDERR_FILENO, "isola-vm: %s\n", err ? err->msg : "the VM failed");
	if (r < 0)
		status = g.sig_status ? g.sig_status : STATUS_FAILED;
	snprintf(buf, sizeof(buf), "%d\n", status);
	write_file_atomic_at(AT_FDCWD, VMCT_OCI_EXIT, buf, strlen(buf), 0600, NULL);
	return status;
}
