/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the bridge plugin's DEL leaves when it does not know the addresses.  With ipMasq,
 * bridge's ADD makes a nat chain for the container (`CNI-` and the first 24 hex digits of
 * sha512(network name + container id)) and a POSTROUTING rule that jumps to it, commented
 * `name: "NET" id: "ID"`.  Its DEL (plugins 1.1) takes the addresses to undo from the
 * container's interface as it deletes it: when the interface is already gone (a DEL that
 * was killed after deleting it and is now run again, a container that deleted its eth0),
 * the chain and the jump stay, for good.
 *
 * So after such a DEL isola removes them itself: every POSTROUTING rule whose target is
 * that chain and whose comment is the container's, as `iptables -S` lists it, then the
 * chain.  The chain's name is the plugin's; a rule is only deleted when its target is
 * exactly that chain.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "crypto.h"
#include "jsonutil.h"
#include "log.h"
#include "net-internal.h"
#include "net.h"
#include "strv.h"

#define CHAIN_LEN 28 /* iptables' longest chain name; the plugin cuts its names there */

static char *env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};

static int chain_name(const char *network, const char *id, char ret[CHAIN_LEN + 1],
		      struct err **err)
{
	const void *bufs[] = {network, id};
	const size_t lens[] = {strlen(network), strlen(id)};
	unsigned char md[SHA512_LEN];
	int n;

	if (crypto_sha512(bufs, lens, 2, md, err) < 0)
		return -1;
	n = snprintf(ret, CHAIN_LEN + 1, "CNI-");
	for (unsigned int i = 0; n < CHAIN_LEN; i++)
		n += snprintf(ret + n, CHAIN_LEN + 1 - n, "%02x", md[i]);
	return 0;
}

/*
 * One line of `iptables -S` split into words: blanks separate them, "..." quotes, and a
 * backslash inside quotes takes the next character as it is (how iptables prints a
 * comment).  NULL on ENOMEM or an unterminated quote.
 */
static char **split_rule(const char *l)
{
	_cleanup_strv_ char **v = NULL;
	_cleanup_free_ char *w = malloc(strlen(l) + 1);

	if (!w)
		return NULL;
	while (*l) {
		size_t n = 0;

		if (*l == ' ') {
			l++;
			continue;
		}
		while (*l && *l != ' ') {
			if (*l != '"') {
				w[n++] = *l++;
				continue;
			}
			for (l++; *l && *l != '"'; l++) {
				if (*l == '\\' && l[1])
					l++;
				w[n++] = *l;
			}
			if (!*l)
				return NULL;
			l++;
		}
		w[n] = '\0';
		if (strv_push(&v, w) < 0)
			return NULL;
	}
	return TAKE_PTR(v);
}

/* Does rule (split) jump to chain?  The "-j CHAIN" pair, not a word inside a comment. */
static bool jumps_to(char **rule, const char *chain)
{
	for (size_t i = 0; rule[i] && rule[i + 1]; i++)
		if (streq(rule[i], "-j") && streq(rule[i + 1], chain))
			return true;
	return false;
}

/* Is rule's comment the one bridge gives this container's rules? */
static bool commented(char **rule, const char *comment)
{
	for (size_t i = 0; rule[i] && rule[i + 1]; i++)
		if (streq(rule[i], "--comment"))
			return streq(rule[i + 1], comment);
	return false;
}

static int run_tool(const char *path, char **argv)
{
	_cleanup_free_ char *out = NULL;
	struct err *e = NULL;
	int status = -1;

	if (net_spawn(path, argv, env, NULL, &out, &status, &e) < 0) {
		err_free(&e);
		return -1;
	}
	return status;
}

/* tool -w -t nat -D followed by the words of an -A line after the -A. */
static int rule_delete(const char *path, const char *tool, char **rule)
{
	_cleanup_strv_ char **argv = NULL;
	static const char *const head[] = {"-w", "-t", "nat", "-D"};

	if (strv_push(&argv, tool) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(head); i++)
		if (strv_push(&argv, head[i]) < 0)
			return -1;
	for (size_t i = 1; rule[i]; i++)
		if (strv_push(&argv, rule[i]) < 0)
			return -1;
	return run_tool(path, argv);
}

/*
 * The name hashes network and id run together, as the plugin's does, so two containers
 * (network "ab" with id "c", "a" with "bc") can share a chain: only the jumps commented
 * with this container's network and id go, and the chain only when no other jumps to it.
 */
static void sweep_tool(const char *tool, const char *chain, const char *comment, const char *id)
{
	char path[PATH_MAX];
	_cleanup_free_ char *out = NULL;
	struct err *e = NULL;
	int status = -1, left = 0, others = 0;
	char *save = NULL;

	if (!net_find_tool(tool, path, sizeof(path)))
		return;
	/* No such chain: nothing to do (the common case, one execution). */
	if (run_tool(path,
		     (char *[]){(char *)tool, "-w", "-t", "nat", "-S", (char *)chain, NULL}) != 0)
		return;
	if (net_spawn(path, (char *[]){(char *)tool, "-w", "-t", "nat", "-S", "POSTROUTING", NULL},
		      env, NULL, &out, &status, &e) < 0 ||
	    status != 0) {
		err_free(&e);
		log_warn("container `%s`: %s: cannot list nat POSTROUTING; chain %s is left", id,
			 tool, chain);
		return;
	}
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		_cleanup_strv_ char **rule = NULL;
		_cleanup_strv_ char **argv = NULL;

		if (strncmp(l, "-A POSTROUTING ", 15) != 0)
			continue;
		rule = split_rule(l);
		if (!rule || !jumps_to(rule, chain))
			continue;
		if (!commented(rule, comment))
			others++;
		else if (rule_delete(path, tool, rule) != 0)
			left++;
	}
	if (others)
		return; /* the chain is another container's too */
	if (run_tool(path,
		     (char *[]){(char *)tool, "-w", "-t", "nat", "-F", (char *)chain, NULL}) != 0 ||
	    run_tool(path,
		     (char *[]){(char *)tool, "-w", "-t", "nat", "-X", (char *)chain, NULL}) != 0 ||
	    left)
		log_warn("container `%s`: %s: the masquerade chain %s or a jump to it is left "
			 "(remove it with `%s -t nat`)",
			 id, tool, chain, tool);
}

bool net_masq_orphaned(json_t *result)
{
	json_t *i;
	size_t k;

	if (!json_is_object(result))
		return true;
	json_array_foreach (json_object_get(result, "interfaces"), k, i) {
		const char *name = json_string_value(json_object_get(i, "name"));

		if (name && !json_object_get(i, "sandbox") && strlen(name) < IF_NAMESIZE &&
		    if_nametoindex(name) == 0 && errno == ENODEV)
			return true;
	}
	return false;
}

void net_masq_sweep(json_t *conflist, const char *id)
{
	const char *network = json_string_value(json_object_get(conflist, "name"));
	_cleanup_free_ char *comment = NULL;
	char chain[CHAIN_LEN + 1];
	struct err *e = NULL;
	json_t *p;
	size_t i;

	/* The plugin's comment: Go's %q of names that need no escape (both are checked). */
	if (!network || asprintf(&comment, "name: \"%s\" id: \"%s\"", network, id) < 0)
		return;
	json_array_foreach (json_object_get(conflist, "plugins"), i, p) {
		const char *t = json_string_value(json_object_get(p, "type"));

		if (!t || !streq(t, "bridge") || !json_is_true(json_object_get(p, "ipMasq")))
			continue;
		if (chain_name(network, id, chain, &e) < 0) {
			log_warn("container `%s`: %s", id, e && e->msg ? e->msg : "sha512");
			err_free(&e);
			return;
		}
		sweep_tool("iptables", chain, comment, id);
		sweep_tool("ip6tables", chain, comment, id);
		return;
	}
}
