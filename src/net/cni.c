/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CNI plugin invocation (CNI spec 1.0.0, "Execution Protocol" and "Execution of Network
 * Configurations"): each plugin is an executable found in CNI_PATH and named by the
 * plugin's "type"; it reads its configuration on stdin, its parameters in CNI_*
 * variables, and writes a result or an error ({"code","msg","details"}) on stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "net-internal.h"
#include "net.h"
#include "spawn.h"

/* Plugin types are file names: no path separators, no dot files. */
static bool type_valid(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > 64 || t[0] == '.')
		return false;
	for (; *t; t++)
		if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') ||
		      (*t >= '0' && *t <= '9') || strchr("_.-", *t)))
			return false;
	return true;
}

static const char *cni_path(void)
{
	const char *p = getenv("ISOLA_CNI_PATH");

	return p && *p ? p : NET_CNI_PATH;
}

static int find_plugin(const char *type, char *buf, size_t size, struct err **err)
{
	_cleanup_free_ char *path = strdup(cni_path());
	char *save = NULL;

	if (!type_valid(type))
		return err_make(err, 0, "plugin type `%s`: not a plugin name", type);
	if (!path)
		return err_make(err, ENOMEM, "CNI path");
	for (char *d = strtok_r(path, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(buf, size, "%s/%s", d, type);
		if (access(buf, X_OK) == 0)
			return 0;
	}
	return err_make(err, ENOENT,
			"CNI plugin `%s` not found in %s (install containernetworking-plugins)",
			type, cni_path());
}

static void child(const char *path, char *const *argv, int in, int out, char **env)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || (null >= 0 && dup2(null, 2) < 0))
		_exit(127);
	close_fds_from(3);
	/*
	 * A group of its own: a terminal's ^C (a second one, while a stopped run undoes its
	 * ADD) does not cut a plugin short; its caller decides.  Its stderr is /dev/null.
	 * Not the signals a foreground run holds while it cleans up (image_cli_proxy_wait).
	 */
	setpgid(0, 0);
	spawn_child_signals();
	execve(path, argv, env);
	_exit(127);
}

int net_spawn(const char *path, char *const *argv, char **env, const char *input, char **ret_out,
	      int *ret_status, struct err **err)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, status = 0, r;
	size_t len;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		r = err_make(err, errno, "pipe");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = err_make(err, errno, "fork");
		goto out;
	}
	if (pid == 0)
		child(path, argv, in[0], out[1], env);
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	/* Plugins read their whole input before they write: no deadlock. */
	signal(SIGPIPE, SIG_IGN);
	if (input)
		write_all(in[1], input, strlen(input));
	close(in[1]);
	in[1] = -1;
	r = read_all_fd(out[0], NET_RESULT_MAX, ret_out, &len);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			break;
	if (r < 0) {
		r = err_make(err, -r, "read the output of `%s`", path);
		goto out;
	}
	*ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	return r;
}

/* A failed plugin's message: its error object, else its exit status. */
static int plugin_error(const char *type, const char *out, int status, struct err **err)
{
	_cleanup_json_ json_t *e = json_loads(out, 0, NULL);
	const char *msg = json_string_value(json_object_get(e, "msg"));
	const char *details = json_string_value(json_object_get(e, "details"));

	if (msg)
		return err_make(err, 0, "plugin %s: %s%s%s", type, msg,
				details && *details ? ": " : "", details ? details : "");
	return err_make(err, 0, "plugin %s: exit status %d", type, status);
}

static int exec_plugin(json_t *conf, const char *command, const char *id, const char *netns,
		       const char *ifname, const char *tools, json_t **ret, struct err **err)
{
	const char *type = json_string_value(json_object_get(conf, "type"));
	_cleanup_free_ char *input = NULL, *out = NULL, *e_cmd = NULL, *e_id = NULL, *e_ns = NULL,
			    *e_if = NULL, *e_path = NULL, *e_tools = NULL;
	char plugin[PATH_MAX];
	int status = 0, r;

	if (!type)
		return err_make(err, 0, "a plugin without a \"type\"");
	r = find_plugin(type, plugin, sizeof(plugin), err);
	if (r < 0)
		return r;
	input = json_dumps(conf, JSON_COMPACT);
	if (!input || asprintf(&e_cmd, "CNI_COMMAND=%s", command) < 0 ||
	    asprintf(&e_id, "CNI_CONTAINERID=%s", id) < 0 ||
	    asprintf(&e_ns, "CNI_NETNS=%s", netns) < 0 ||
	    asprintf(&e_if, "CNI_IFNAME=%s", ifname) < 0 ||
	    asprintf(&e_path, "CNI_PATH=%s", cni_path()) < 0 ||
	    asprintf(&e_tools, "PATH=%s", tools ? tools : "/usr/sbin:/usr/bin:/sbin:/bin") < 0)
		return err_make(err, ENOMEM, "plugin %s", type);
	char *env[] = {e_cmd, e_id, e_ns, e_if, e_path, e_tools, NULL};

	r = net_spawn(plugin, (char *[]){plugin, NULL}, env, input, &out, &status, err);
	if (r < 0)
		return r;
	if (status != 0)
		return plugin_error(type, out, status, err);
	if (ret && *out) {
		*ret = json_loads(out, 0, NULL);
		if (!*ret)
			return err_make(err, 0, "plugin %s: the result is not JSON", type);
	}
	return 0;
}

/* The plugin's configuration: its object, plus name, cniVersion, prevResult, runtimeConfig. */
static json_t *plugin_conf(json_t *list, json_t *plugin, json_t *runtime_config, json_t *prev)
{
	json_t *c = json_deep_copy(plugin), *caps = json_object_get(plugin, "capabilities");
	json_t *rc = json_object(), *v;
	const char *k;

	if (!c || !rc) {
		json_decref(c);
		json_decref(rc);
		return NULL;
	}
	json_object_set(c, "name", json_object_get(list, "name"));
	json_object_set(c, "cniVersion", json_object_get(list, "cniVersion"));
	if (prev)
		json_object_set(c, "prevResult", prev);
	json_object_foreach (caps, k, v)
		if (json_is_true(v) && json_object_get(runtime_config, k))
			json_object_set(rc, k, json_object_get(runtime_config, k));
	if (json_object_size(rc))
		json_object_set(c, "runtimeConfig", rc);
	json_decref(rc);
	return c;
}

static int run_one(json_t *list, json_t *plugin, const char *command, const char *id,
		   const char *netns, const char *ifname, const char *tools, json_t *runtime_config,
		   json_t *prev, json_t **ret, struct err **err)
{
	_cleanup_json_ json_t *conf = plugin_conf(list, plugin, runtime_config, prev);

	if (!conf)
		return err_make(err, ENOMEM, "plugin configuration");
	return exec_plugin(conf, command, id, netns, ifname, tools, ret, err);
}

int net_cni_run(json_t *conflist, const char *command, const char *id, const char *netns,
		const char *ifname, json_t *runtime_config, json_t *prev, json_t **ret,
		struct err **err)
{
	return net_cni_run_tools(conflist, command, id, netns, ifname, NULL, runtime_config, prev,
				 ret, err);
}

int net_cni_run_tools(json_t *conflist, const char *command, const char *id, const char *netns,
		      const char *ifname, const char *tools, json_t *runtime_config, json_t *prev,
		      json_t **ret, struct err **err)
{
	json_t *plugins = json_object_get(conflist, "plugins"), *result = NULL;
	const char *name = json_string_value(json_object_get(conflist, "name"));
	size_t n = json_array_size(plugins);
	int r = 0, first = 0;

	if (!name || !json_is_array(plugins) || n == 0)
		return err_make(err, 0, "network configuration: expected \"name\" and \"plugins\"");
	if (streq(command, "DEL")) {
		for (size_t i = n; i-- > 0;) {
			r = run_one(conflist, json_array_get(plugins, i), command, id, netns,
				    ifname, tools, runtime_config, prev, NULL, first ? NULL : err);
			if (r < 0 && !first)
				first = r;
		}
		return first < 0 ? err_wrap(err, "network `%s`: DEL", name) : 0;
	}
	result = prev ? json_incref(prev) : NULL;
	for (size_t i = 0; i < n && r >= 0; i++) {
		json_t *next = NULL;

		r = run_one(conflist, json_array_get(plugins, i), command, id, netns, ifname, tools,
			    runtime_config, result, streq(command, "ADD") ? &next : NULL, err);
		if (next) {
			json_decref(result);
			result = next;
		}
	}
	if (r < 0) {
		json_decref(result);
		return err_wrap(err, "network `%s`: %s", name, command);
	}
	if (ret)
		*ret = result;
	else
		json_decref(result);
	return 0;
}

/* The first address (or gateway: key) of a family in a result, without its prefix. */
static char *result_addr(json_t *result, bool v6, const char *key)
{
	json_t *ip;
	size_t i;

	json_array_foreach (json_object_get(result, "ips"), i, ip) {
		const char *a = json_string_value(json_object_get(ip, "address"));
		const char *v = json_string_value(json_object_get(ip, "version"));

		/* 0.4.0 results say "version"; 1.0.0 results only hold the address. */
		if (!a || (v && !streq(v, v6 ? "6" : "4")) || !strchr(a, ':') != !v6)
			continue;
		a = json_string_value(json_object_get(ip, key));
		return a ? strndup(a, strcspn(a, "/")) : NULL;
	}
	return NULL;
}

char *net_result_ipv4(json_t *result)
{
	return result_addr(result, false, "address");
}

char *net_result_ipv6(json_t *result)
{
	return result_addr(result, true, "address");
}

char *net_result_gateway(json_t *result, bool v6)
{
	return result_addr(result, v6, "gateway");
}
