/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PATCH /drives/{id} once running (src/vmm/api/drives.c) without KVM: the
 * body's parser on hostile bodies, and the route's refusals (no such drive,
 * a body id that is not the path's, a file that does not open) through
 * vm_api_handle() on a VM that has its configuration but no devices.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "tap.h"

static int parse(const char *body, const char *id, struct api_drive_patch *p, char **msg)
{
	struct err *err = NULL;
	int r = api_drive_patch_parse(body, strlen(body), id, p, &err);

	free(*msg);
	*msg = err ? strdup(err->msg) : NULL;
	err_free(&err);
	return r;
}

static void test_parse(void)
{
	struct api_drive_patch p = {0};
	char *msg = NULL;

	is_int(parse("{\"drive_id\":\"d\",\"path_on_host\":\"/x.img\"}", "d", &p, &msg), 0,
	       "path_on_host alone");
	ok(p.path && !strcmp(p.path, "/x.img") && !p.has_bw && !p.has_iops, "keeps the limit");
	api_drive_patch_free(&p);
	is_int(parse("{\"drive_id\":\"d\",\"rate_limiter\":{\"ops\":{\"size\":10,\"refill_time\":"
		     "100}}}",
		     "d", &p, &msg),
	       0, "rate_limiter alone");
	ok(!p.path && p.has_iops && !p.has_bw && p.iops.size == 10 && p.iops.refill_ms == 100,
	   "the ops bucket replaced, bandwidth kept");
	is_int(parse("{\"drive_id\":\"d\",\"rate_limiter\":{\"bandwidth\":{\"size\":0,"
		     "\"refill_time\":0}}}",
		     "d", &p, &msg),
	       0, "a zero bucket");
	ok(p.has_bw && p.bw.size == 0, "lifts that limit");

	ok(parse("{\"drive_id\":\"e\",\"path_on_host\":\"/x\"}", "d", &p, &msg) < 0 &&
	       strstr(msg, "body.drive_id") && strstr(msg, "differs"),
	   "id not the path's: %s", msg);
	ok(parse("{\"path_on_host\":\"/x\"}", "d", &p, &msg) < 0 && strstr(msg, "drive_id"),
	   "drive_id required: %s", msg);
	ok(parse("{\"drive_id\":\"d\"}", "d", &p, &msg) < 0 && strstr(msg, "nothing to change"),
	   "nothing to change: %s", msg);
	ok(parse("{\"drive_id\":\"d\",\"is_read_only\":true}", "d", &p, &msg) < 0 &&
	       strstr(msg, "is_read_only"),
	   "a PUT-only key refused: %s", msg);
	ok(parse("{\"drive_id\":\"d\",\"path_on_host\":\"\"}", "d", &p, &msg) < 0 &&
	       strstr(msg, "empty"),
	   "empty path: %s", msg);
	ok(parse("{\"drive_id\":\"d\",\"path_on_host\":7}", "d", &p, &msg) < 0 &&
	       strstr(msg, "path_on_host"),
	   "path not a string: %s", msg);
	ok(parse("{\"drive_id\":\"d\",\"rate_limiter\":{\"bw\":{}}}", "d", &p, &msg) < 0 &&
	       strstr(msg, "rate_limiter"),
	   "unknown rate_limiter key: %s", msg);
	ok(parse("{\"drive_id\":\"d\",\"rate_limiter\":{\"ops\":{\"size\":-1}}}", "d", &p, &msg) <
	       0,
	   "negative size: %s", msg);
	ok(parse("{\"drive_id\":\"d\"", "d", &p, &msg) < 0, "truncated JSON: %s", msg);
	ok(parse("[]", "d", &p, &msg) < 0 && strstr(msg, "object"), "not an object: %s", msg);
	ok(parse("", "d", &p, &msg) < 0, "empty body: %s", msg);
	free(msg);
}

static int parse_iface(const char *body, struct api_iface_patch *p, char **msg)
{
	struct err *err = NULL;
	int r = api_iface_patch_parse(body, strlen(body), "eth0", p, &err);

	free(*msg);
	*msg = err ? strdup(err->msg) : NULL;
	err_free(&err);
	return r;
}

/* PATCH /network-interfaces/{id} (src/vmm/api/ifaces.c): the same buckets, each way. */
static void test_parse_iface(void)
{
	struct api_iface_patch p = {0};
	char *msg = NULL;

	is_int(parse_iface("{\"iface_id\":\"eth0\",\"tx_rate_limiter\":{\"ops\":{\"size\":5,"
			   "\"refill_time\":100}}}",
			   &p, &msg),
	       0, "tx_rate_limiter alone: %s", msg);
	ok(!p.has_bw[0] && !p.has_ops[0] && !p.has_bw[1] && p.has_ops[1] && p.ops[1].size == 5 &&
	       p.ops[1].refill_ms == 100,
	   "only the transmit ops bucket is replaced");
	is_int(parse_iface("{\"iface_id\":\"eth0\",\"rx_rate_limiter\":{\"bandwidth\":{"
			   "\"size\":1000}},\"tx_rate_limiter\":{\"ops\":{\"size\":0}}}",
			   &p, &msg),
	       0, "both ways: %s", msg);
	ok(p.has_bw[0] && p.bw[0].size == 1000 && p.bw[0].refill_ms == 1000 && p.has_ops[1] &&
	       p.ops[1].size == 0,
	   "a default refill of 1000 ms; a zero bucket lifts the limit");
	ok(parse_iface("{\"iface_id\":\"eth0\"}", &p, &msg) < 0 && strstr(msg, "nothing"),
	   "nothing to change: %s", msg);
	ok(parse_iface("{\"iface_id\":\"eth0\",\"rx_rate_limiter\":{}}", &p, &msg) < 0 &&
	       strstr(msg, "nothing"),
	   "an empty limiter changes nothing: %s", msg);
	ok(parse_iface("{\"iface_id\":\"eth1\",\"rx_rate_limiter\":{\"ops\":{\"size\":1}}}", &p,
		       &msg) < 0 &&
	       strstr(msg, "differs"),
	   "id not the path's: %s", msg);
	ok(parse_iface("{\"iface_id\":\"eth0\",\"mtu\":1500}", &p, &msg) < 0 && strstr(msg, "mtu"),
	   "a PUT-only key refused: %s", msg);
	ok(parse_iface("{\"iface_id\":\"eth0\",\"tx_rate_limiter\":{\"ops\":{\"size\":-1}}}", &p,
		       &msg) < 0 &&
	       strstr(msg, "tx_rate_limiter.ops"),
	   "negative size, named: %s", msg);
	ok(parse_iface("{\"iface_id\":\"eth0\",\"tx_rate_limiter\":{\"ops\":{\"size\":"
		       "1099511627777}}}",
		       &p, &msg) < 0 &&
	       strstr(msg, "at most"),
	   "past the cap: %s", msg);
	ok(parse_iface("{\"iface_id\":\"eth0\",\"rx_rate_limiter\":[]}", &p, &msg) < 0,
	   "not an object: %s", msg);
	free(msg);
}

/* One request through the router; the status, and the body in *body (owned). */
static int handle(struct vm *vm, const char *path, const char *body, char **ret)
{
	struct api_resp resp;

	vm_api_handle(vm, "PATCH", path, body, body ? strlen(body) : 0, &resp);
	free(*ret);
	*ret = resp.body;
	return resp.status;
}

static void test_route(void)
{
	char img[] = "/tmp/isola-test-drive.XXXXXX", *body = NULL, req[256];
	int fd = mkstemp(img);
	struct vm_config cfg;
	struct vm *vm = calloc(1, sizeof(*vm));
	struct err *err = NULL;

	vmm_config_init(&cfg);
	ok(fd >= 0 &&
	       vm_config_add_disk(&cfg, &(struct vm_disk_cfg){.id = "root", .path = img}, "disk",
				  &err) == 0 &&
	       vm_config_add_disk(&cfg, &(struct vm_disk_cfg){.path = img, .readonly = true},
				  "disk", &err) == 0,
	   "a VM with drives root and disk1 (no devices)");
	vm->cfg = &cfg;
	pthread_mutex_init(&vm->cfg_lock, NULL);

	is_int(handle(vm, "/drives/nope", "{\"drive_id\":\"nope\",\"path_on_host\":\"/x\"}", &body),
	       400, "unknown drive: 400");
	ok(body && strstr(body, "fault_message") && strstr(body, "no such drive"), "%s", body);
	is_int(
	    handle(vm, "/drives/root", "{\"drive_id\":\"disk1\",\"path_on_host\":\"/x\"}", &body),
	    400, "body id not the path's: 400");
	ok(body && strstr(body, "differs"), "%s", body);
	is_int(handle(vm, "/drives/root",
		      "{\"drive_id\":\"root\",\"path_on_host\":\"/nonexistent/"
		      "b.img\"}",
		      &body),
	       400, "missing file: 400");
	ok(body && strstr(body, "body.path_on_host") && strstr(body, "/nonexistent/b.img"), "%s",
	   body);
	is_int(handle(vm, "/drives/disk1", "{\"drive_id\":\"disk1\",\"path_on_host\":\"/tmp\"}",
		      &body),
	       400, "a directory: 400");
	ok(body && strstr(body, "not a regular file"), "%s", body);
	snprintf(req, sizeof(req), "{\"drive_id\":\"root\",\"path_on_host\":\"/proc/self/fd/%d\"}",
		 fd);
	is_int(handle(vm, "/drives/root", req, &body), 400, "a /proc magic link: 400");
	ok(body && strstr(body, "magic link"), "%s", body);
	is_int(handle(vm, "/drives/root", "{\"drive_id\":", &body), 400, "malformed body: 400");
	is_int(handle(vm, "/drives/root", NULL, &body), 400, "no body: 400");
	ok(!strcmp(cfg.disks[0].path, img) && !strcmp(cfg.disks[1].path, img),
	   "the configuration is unchanged");
	/* No interface by that name; before boot (no devices) the device refuses. */
	is_int(handle(vm, "/network-interfaces/eth0",
		      "{\"iface_id\":\"eth0\",\"tx_rate_limiter\":{\"ops\":{\"size\":1}}}", &body),
	       400, "unknown interface: 400");
	ok(body && strstr(body, "no such interface"), "%s", body);
	pthread_mutex_destroy(&vm->cfg_lock);
	free(vm);
	free(body);
	vmm_config_free(&cfg);
	close(fd);
	unlink(img);
}

int main(void)
{
	test_parse();
	test_parse_iface();
	test_route();
	return tap_done();
}
