/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What `isola ps` and `isola inspect` say about a container made by `run IMAGE`: its
 * bundle (image.json, config.json), the runtime's state and the recorded network state.
 *   isola inspect [--store D] NAME...   containers, else images (as `image inspect`)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "image-cli.h"
#include "jsonutil.h"
#include "net.h"
#include "oci.h"
#include "state.h"

#define INFO_MAX (4u << 20)

static json_t *load(const char *store, const char *id, const char *file)
{
	char p[4096];
	json_t *j = NULL;

	snprintf(p, sizeof(p), "%s/containers/%s/%s", store, id, file);
	json_load_file_capped(AT_FDCWD, p, INFO_MAX, &j, NULL);
	return j;
}

/* "2026-12-03T04:31:00Z" */
static void iso8601(time_t t, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The runtime's `state ID` as JSON, NULL when it has none. */
static json_t *runtime_state(const char *store, const char *id)
{
	const char *args[] = {"state", id, NULL};
	_cleanup_close_ int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	_cleanup_free_ char *out = NULL;
	int p[2], code;
	size_t len;

	if (pipe2(p, O_CLOEXEC) < 0)
		return NULL;
	code = image_cli_runtime(store, args, -1, p[1], null);
	close(p[1]);
	if (code != 0 || read_all_fd(p[0], INFO_MAX, &out, &len) < 0) {
		close(p[0]);
		return NULL;
	}
	close(p[0]);
	return json_loadb(out, len, 0, NULL);
}

/* "127.0.0.1:8080->80/tcp, ..." */
static char *ports_text(json_t *maps)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	json_t *m;
	size_t i;

	if (!f)
		return NULL;
	json_array_foreach (maps, i, m) {
		const char *ip = json_string_value(json_object_get(m, "hostIP"));

		fprintf(f, "%s%s%s%lld->%lld/%s", i ? ", " : "", ip && *ip ? ip : "0.0.0.0", ":",
			(long long)json_integer_value(json_object_get(m, "hostPort")),
			(long long)json_integer_value(json_object_get(m, "containerPort")),
			json_string_value(json_object_get(m, "protocol")) ?: "tcp");
	}
	fclose(f);
	return text;
}

static char *join_args(json_t *args)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	json_t *a;
	size_t i;

	if (!f)
		return NULL;
	json_array_foreach (args, i, a)
		fprintf(f, "%s%s", i ? " " : "", json_string_value(a) ?: "");
	fclose(f);
	return text;
}

/* A run --vm -d container (its state in <store>/run/<id> has vm.json): "vm", "exitCode". */
static json_t *vm_info(json_t *info, const char *store, const char *id)
{
	char root[4096];
	int code;

	snprintf(root, sizeof(root), "%s/run", store);
	if (!info || !vmct_oci_is_vm(root, id)) {
		json_object_set_new(info, "vm", json_false());
		return info;
	}
	json_object_set_new(info, "vm", json_true());
	if (vmct_oci_exit_status(root, id, &code) == 0)
		json_object_set_new(info, "exitCode", json_integer(code));
	return info;
}

int image_cli_vm_fg(const char *store, const char *id, pid_t *ret_pid)
{
	_cleanup_free_ char *p = NULL, *buf = NULL;
	_cleanup_close_ int fd = -1;
	unsigned long long start;
	int pid;

	if (asprintf(&p, "%s/containers/%s/" IMAGE_VM_FG_NOTE, store, id) < 0 ||
	    read_file_at(AT_FDCWD, p, 64, &buf, NULL, NULL) < 0 ||
	    sscanf(buf, "%d %llu", &pid, &start) != 2 || pid <= 0)
		return -1;
	/* The pidfd first, then the start time: a pid reused in between is told apart. */
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0 || ct_proc_start_time(pid) != start)
		return -1;
	if (ret_pid)
		*ret_pid = pid;
	return TAKE_FD(fd);
}

bool image_cli_container_name_plain(const char *id)
{
	return id[0] && id[0] != '.' && !strchr(id, '/');
}

bool image_cli_root_has(const char *root, const char *id)
{
	_cleanup_free_ char *p = NULL;

	return asprintf(&p, "%s/%s", root, id) >= 0 && path_exists(p);
}

bool image_cli_store_has(const char *store, const char *id, char **ret_store)
{
	_cleanup_free_ char *real = realpath(img_store_default_path(store), NULL), *p = NULL;
	bool has = real && image_cli_container_name_plain(id) &&
		   asprintf(&p, "%s/containers/%s/image.json", real, id) >= 0 && path_exists(p);

	if (ret_store)
		*ret_store = TAKE_PTR(real);
	return has;
}

json_t *image_cli_container_meta(const char *store, const char *id)
{
	return load(store, id, "image.json");
}

void image_cli_container_instance(const char *store, const char *id,
				  char ret[static IMG_INSTANCE_LEN + 1])
{
	_cleanup_json_ json_t *meta = load(store, id, "image.json");
	const char *v = json_string_value(json_object_get(meta, "instance"));

	*ret = '\0';
	if (v && strlen(v) == IMG_INSTANCE_LEN)
		memcpy(ret, v, IMG_INSTANCE_LEN + 1);
}

json_t *image_cli_container_info(const char *store, const char *id)
{
	_cleanup_json_ json_t *img = load(store, id, "image.json"), *spec = NULL, *st = NULL,
			      *net = NULL;
	_cleanup_free_ char *ports = NULL, *cmd = NULL;
	char created[32] = "", p[4096];
	const char *status;
	struct stat sb;
	json_t *proc, *info, *labels;

	if (!img)
		return NULL;
	spec = load(store, id, "config.json");
	st = runtime_state(store, id);
	net_state_load(store, id, &net, NULL);
	snprintf(p, sizeof(p), "%s/containers/%s/image.json", store, id);
	if (stat(p, &sb) == 0)
		iso8601(sb.st_mtime, created, sizeof(created));
	proc = json_object_get(spec, "process");
	cmd = join_args(json_object_get(proc, "args"));
	ports = ports_text(json_object_get(json_object_get(net, "runtimeConfig"), "portMappings"));
	status = json_string_value(json_object_get(st, "status"));
	/* A foreground run --vm: no runtime state; its `isola run` process is the container's. */
	if (!status) {
		pid_t fg = 0;
		int fd = image_cli_vm_fg(store, id, &fg);

		if (fd >= 0) {
			close(fd);
			json_decref(st);
			st = json_pack("{s:s, s:i}", "status", "running", "pid", (int)fg);
			status = "running";
		}
	}
	info = json_pack("{s:s, s:s, s:O, s:s, s:s, s:s, s:s, s:I, s:O, s:O, s:O, s:{s:s?, s:s?}}",
			 "id", id, "names", id, "image", json_object_get(img, "image"), "command",
			 cmd ? cmd : "", "created", created, "status", status ? status : "exited",
			 "ports", ports ? ports : "", "pid",
			 (json_int_t)json_integer_value(json_object_get(st, "pid")), "args",
			 json_object_get(proc, "args") ?: json_null(), "env",
			 json_object_get(proc, "env") ?: json_null(), "mounts",
			 json_object_get(spec, "mounts") ?: json_null(), "network", "name",
			 json_string_value(json_object_get(net, "network")), "ip",
			 json_string_value(json_object_get(net, "ip")));
	/* As podman's Config.Labels, StopSignal and StopTimeout (its defaults, 15 and 10). */
	/* run --pid/--ipc/--uts/--network container:NAME: {"pid": NAME, ...} (podman's PidMode...).
	 */
	if (json_is_object(json_object_get(img, "joined")))
		json_object_set(info, "joined", json_object_get(img, "joined"));
	labels = json_object_get(img, "labels");
	json_object_set_new(info, "labels", labels ? json_incref(labels) : json_object());
	json_object_set_new(
	    info, "stopSignal",
	    json_integer(json_integer_value(json_object_get(img, "stopSignal")) ?: 15));
	json_object_set_new(
	    info, "stopTimeout",
	    json_object_get(img, "stopTimeout")
		? json_integer(json_integer_value(json_object_get(img, "stopTimeout")))
		: json_integer(10));
	return vm_info(info, store, id);
}

int cmd_inspect(struct cli_globals *g, int argc, char **argv)
{
	_cleanup_free_ char *store = NULL;
	_cleanup_json_ json_t *out = json_array();
	_cleanup_free_ char *text = NULL;
	const char *opt = NULL;
	int r;

	r = image_cli_store_opt(argc, argv, &opt);
	if (r)
		return r < 0 ? 0 : r;
	if (optind >= argc)
		return cli_usage_error(argv[0], "expected container or image names");
	store = realpath(img_store_default_path(opt), NULL);
	/* One image: `image inspect`'s output, unchanged. */
	for (int i = optind; i < argc; i++) {
		json_t *c = store && image_cli_container_name_plain(argv[i])
				? image_cli_container_info(store, argv[i])
				: NULL;

		if (!c && argc - optind == 1)
			return cmd_image_inspect(g, argc, argv);
		if (!c) {
			cli_usage_error(argv[0], "`%s`: no such container", argv[i]);
			return EXIT_ISOLA; /* podman's */
		}
		json_array_append_new(out, c);
	}
	text = json_dumps(out, JSON_INDENT(2));
	if (!text)
		return 1;
	printf("%s\n", text);
	return 0;
}
