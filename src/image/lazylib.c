/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libcurl and libarchive, loaded with dlopen(3) (src/lib/lazylib.c) the first
 * time the image code needs them; libcrypto is src/lib/crypto.c's.  The same
 * binary is the OCI runtime, which engines exec several times per container: linking the two
 * libraries (and the ~40 libraries they pull in) costs every exec ~12 ms of dynamic loading here,
 * against ~1 ms without them.
 *
 * Each function the image code calls is defined below with the library's
 * own prototype (the headers check them) and forwards to the loaded symbol.
 * img_lazylib_load() reports a missing library as an error; a stub reached
 * without it (a bug) exits with a line naming both (lazylib_need).
 */
#define CURL_DISABLE_TYPECHECK 1
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>

#include "cleanup.h"
#include "image.h"
#include "lazylib.h"

/* X(return type, name, (parameters), (arguments)); V(...) for void functions. */
#define CURL_FUNCS(X, V)                                                                          \
	X(CURL *, curl_easy_init, (void), ())                                                     \
	X(CURLcode, curl_easy_perform, (CURL * c), (c))                                           \
	V(curl_easy_cleanup, (CURL * c), (c))                                                     \
	V(curl_easy_reset, (CURL * c), (c))                                                       \
	X(const char *, curl_easy_strerror, (CURLcode e), (e))                                    \
	X(char *, curl_easy_escape, (CURL * c, const char *s, int n), (c, s, n))                  \
	V(curl_free, (void *p), (p))                                                              \
	X(struct curl_slist *, curl_slist_append, (struct curl_slist * l, const char *s), (l, s)) \
	V(curl_slist_free_all, (struct curl_slist * l), (l))                                      \
	X(CURLM *, curl_multi_init, (void), ())                                                   \
	X(CURLMcode, curl_multi_add_handle, (CURLM * m, CURL * c), (m, c))                        \
	X(CURLMcode, curl_multi_remove_handle, (CURLM * m, CURL * c), (m, c))                     \
	X(CURLMcode, curl_multi_perform, (CURLM * m, int *n), (m, n))                             \
	X(CURLMcode, curl_multi_cleanup, (CURLM * m), (m))                                        \
	X(CURLMsg *, curl_multi_info_read, (CURLM * m, int *n), (m, n))                           \
	X(CURLMcode, curl_multi_poll,                                                             \
	  (CURLM * m, struct curl_waitfd * fds, unsigned int nfds, int ms, int *ret),             \
	  (m, fds, nfds, ms, ret))

#define ENTRY_FUNCS(X, V)                                                                     \
	X(struct archive_entry *, archive_entry_new, (void), ())                              \
	V(archive_entry_free, (struct archive_entry * e), (e))                                \
	X(__LA_MODE_T, archive_entry_filetype, (struct archive_entry * e), (e))               \
	X(__LA_MODE_T, archive_entry_mode, (struct archive_entry * e), (e))                   \
	X(la_int64_t, archive_entry_uid, (struct archive_entry * e), (e))                     \
	X(la_int64_t, archive_entry_gid, (struct archive_entry * e), (e))                     \
	X(la_int64_t, archive_entry_size, (struct archive_entry * e), (e))                    \
	X(time_t, archive_entry_mtime, (struct archive_entry * e), (e))                       \
	X(long, archive_entry_mtime_nsec, (struct archive_entry * e), (e))                    \
	X(dev_t, archive_entry_rdev, (struct archive_entry * e), (e))                         \
	X(const char *, archive_entry_pathname, (struct archive_entry * e), (e))              \
	X(const char *, archive_entry_hardlink, (struct archive_entry * e), (e))              \
	X(const char *, archive_entry_symlink, (struct archive_entry * e), (e))               \
	V(archive_entry_set_filetype, (struct archive_entry * e, unsigned int t), (e, t))     \
	V(archive_entry_set_mtime, (struct archive_entry * e, time_t t, long ns), (e, t, ns)) \
	V(archive_entry_set_pathname, (struct archive_entry * e, const char *p), (e, p))      \
	V(archive_entry_set_symlink, (struct archive_entry * e, const char *p), (e, p))       \
	V(archive_entry_set_perm, (struct archive_entry * e, __LA_MODE_T m), (e, m))          \
	V(archive_entry_set_size, (struct archive_entry * e, la_int64_t s), (e, s))           \
	V(archive_entry_set_uid, (struct archive_entry * e, la_int64_t u), (e, u))            \
	V(archive_entry_set_gid, (struct archive_entry * e, la_int64_t g), (e, g))            \
	V(archive_entry_set_rdev, (struct archive_entry * e, dev_t d), (e, d))                \
	V(archive_entry_set_hardlink, (struct archive_entry * e, const char *p), (e, p))      \
	V(archive_entry_xattr_add_entry,                                                      \
	  (struct archive_entry * e, const char *n, const void *v, size_t s), (e, n, v, s))   \
	X(int, archive_entry_xattr_reset, (struct archive_entry * e), (e))                    \
	X(int, archive_entry_xattr_next,                                                      \
	  (struct archive_entry * e, const char **n, const void **v, size_t *s), (e, n, v, s))

#define READ_FUNCS(X, V)                                                                          \
	X(struct archive *, archive_read_new, (void), ())                                         \
	X(int, archive_read_free, (struct archive * a), (a))                                      \
	X(int, archive_read_support_filter_gzip, (struct archive * a), (a))                       \
	X(int, archive_read_support_filter_zstd, (struct archive * a), (a))                       \
	X(int, archive_read_support_filter_none, (struct archive * a), (a))                       \
	X(int, archive_read_support_format_tar, (struct archive * a), (a))                        \
	X(int, archive_read_support_format_gnutar, (struct archive * a), (a))                     \
	X(int, archive_read_support_format_raw, (struct archive * a), (a))                        \
	X(int, archive_read_open_fd, (struct archive * a, int fd, size_t bs), (a, fd, bs))        \
	X(int, archive_read_open,                                                                 \
	  (struct archive * a, void *d, archive_open_callback *o, archive_read_callback *r,       \
	   archive_close_callback *c),                                                            \
	  (a, d, o, r, c))                                                                        \
	X(int, archive_read_next_header, (struct archive * a, struct archive_entry * *e), (a, e)) \
	X(int, archive_read_data_block,                                                           \
	  (struct archive * a, const void **b, size_t *s, la_int64_t *o), (a, b, s, o))           \
	X(const char *, archive_error_string, (struct archive * a), (a))

#define WRITE_FUNCS(X, V)                                                                    \
	X(struct archive *, archive_write_new, (void), ())                                   \
	X(int, archive_write_free, (struct archive * a), (a))                                \
	X(int, archive_write_close, (struct archive * a), (a))                               \
	X(int, archive_write_add_filter_gzip, (struct archive * a), (a))                     \
	X(int, archive_write_set_format_pax_restricted, (struct archive * a), (a))           \
	X(int, archive_write_open_fd, (struct archive * a, int fd), (a, fd))                 \
	X(int, archive_write_open_filename, (struct archive * a, const char *f), (a, f))     \
	X(int, archive_write_header, (struct archive * a, struct archive_entry * e), (a, e)) \
	X(la_ssize_t, archive_write_data, (struct archive * a, const void *b, size_t s), (a, b, s))

#define ARCHIVE_FUNCS(X, V) ENTRY_FUNCS(X, V) READ_FUNCS(X, V) WRITE_FUNCS(X, V)

static struct {
	CURL_FUNCS(LAZYLIB_MEMBER, LAZYLIB_VMEMBER)
	ARCHIVE_FUNCS(LAZYLIB_MEMBER, LAZYLIB_VMEMBER)
	/* The variadic ones, forwarded by hand below. */
	CURLcode (*curl_easy_setopt)(CURL *c, CURLoption o, ...);
	CURLcode (*curl_easy_getinfo)(CURL *c, CURLINFO i, ...);
	void (*archive_set_error)(struct archive *a, int e, const char *fmt, ...);
} fns;

static const struct lazylib_symbol curl_symbols[] = {
    CURL_FUNCS(LAZYLIB_SYMBOL, LAZYLIB_VSYMBOL) LAZYLIB_SYMBOL(, curl_easy_setopt, , )
	LAZYLIB_SYMBOL(, curl_easy_getinfo, , )};
static const struct lazylib_symbol archive_symbols[] = {
    ARCHIVE_FUNCS(LAZYLIB_SYMBOL, LAZYLIB_VSYMBOL) LAZYLIB_SYMBOL(, archive_set_error, , )};

static struct lazylib libs[] = {
    [IMG_LIB_CURL] = LAZYLIB_INIT("libcurl.so.4", curl_symbols),
    [IMG_LIB_ARCHIVE] = LAZYLIB_INIT("libarchive.so.13", archive_symbols),
};

int img_lazylib_load(enum img_lib lib, struct err **err)
{
	return lazylib_load(&libs[lib], err);
}

static void need(enum img_lib lib, const char *fn)
{
	lazylib_need(&libs[lib], fn);
}

#define CURL_STUB(ret, name, params, args) \
	LAZYLIB_STUB(&libs[IMG_LIB_CURL], ret, name, params, args)
#define CURL_VSTUB(name, params, args) LAZYLIB_VSTUB(&libs[IMG_LIB_CURL], name, params, args)
#define ARCHIVE_STUB(ret, name, params, args) \
	LAZYLIB_STUB(&libs[IMG_LIB_ARCHIVE], ret, name, params, args)
#define ARCHIVE_VSTUB(name, params, args) LAZYLIB_VSTUB(&libs[IMG_LIB_ARCHIVE], name, params, args)

CURL_FUNCS(CURL_STUB, CURL_VSTUB)
ARCHIVE_FUNCS(ARCHIVE_STUB, ARCHIVE_VSTUB)

/*
 * Every option and info takes exactly one argument, whose type follows from
 * the number's range (curl.h: CURLOPTTYPE_*, CURLINFO_* masks).
 */
CURLcode curl_easy_setopt(CURL *c, CURLoption o, ...)
{
	va_list ap;
	CURLcode r;

	need(IMG_LIB_CURL, "curl_easy_setopt");
	va_start(ap, o);
	if (o < CURLOPTTYPE_OBJECTPOINT)
		r = fns.curl_easy_setopt(c, o, va_arg(ap, long));
	else if (o < CURLOPTTYPE_OFF_T)
		r = fns.curl_easy_setopt(c, o, va_arg(ap, void *)); /* data and callbacks */
	else if (o < CURLOPTTYPE_BLOB)
		r = fns.curl_easy_setopt(c, o, va_arg(ap, curl_off_t));
	else
		r = fns.curl_easy_setopt(c, o, va_arg(ap, void *));
	va_end(ap);
	return r;
}

CURLcode curl_easy_getinfo(CURL *c, CURLINFO i, ...)
{
	va_list ap;
	CURLcode r;

	need(IMG_LIB_CURL, "curl_easy_getinfo");
	va_start(ap, i);
	r = fns.curl_easy_getinfo(c, i, va_arg(ap, void *)); /* always a pointer to the result */
	va_end(ap);
	return r;
}

void archive_set_error(struct archive *a, int e, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	need(IMG_LIB_ARCHIVE, "archive_set_error");
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fns.archive_set_error(a, e, "%s", msg);
}
