/* SPDX-License-Identifier: MIT */
/* shim/options.c: decoding Nomad's cty msgpack configs with msgpack-c.
 *
 * Nomad encodes the object its HCL spec describes: a map with every attribute of the schema,
 * keys sorted, absent optional attributes nil. Numbers arrive as msgpack ints, floats, or as
 * decimal strings when cty cannot represent them exactly. */
#include <errno.h>
#include <inttypes.h>
#include <linux/oom.h>
#include <math.h>
#include <sys/types.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "options.h"
#include "macro.h"
#include "util.h"

#define MAX_LIST 4096
#define MAX_STRING (64 * 1024)
#define MAX_DEPTH 32 /* nested arrays and maps; Nomad's configs nest a few levels */

static bool key_is(const msgpack_object *k, const char *name) {
        size_t n = strlen(name);
        return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && memcmp(k->via.str.ptr, name, n) == 0;
}

static int get_string(const msgpack_object *v, const char *name, char **ret, SbxError *err) {
        free(*ret);
        *ret = NULL;
        if (v->type == MSGPACK_OBJECT_NIL)
                return 0;
        if (v->type != MSGPACK_OBJECT_STR)
                return sbx_error(err, EINVAL, "%s: expected a string", name);
        if (v->via.str.size > MAX_STRING)
                return sbx_error(err, E2BIG, "%s: longer than %d bytes", name, MAX_STRING);
        if (memchr(v->via.str.ptr, 0, v->via.str.size))
                return sbx_error(err, EINVAL, "%s: contains a NUL byte", name);
        *ret = xstrndup(v->via.str.ptr, v->via.str.size);
        return 0;
}

static int get_bool(const msgpack_object *v, const char *name, bool *ret, SbxError *err) {
        if (v->type == MSGPACK_OBJECT_NIL)
                return 0; /* keep the default */
        if (v->type != MSGPACK_OBJECT_BOOLEAN)
                return sbx_error(err, EINVAL, "%s: expected true or false", name);
        *ret = v->via.boolean;
        return 0;
}

/* An integer-valued number: int, uint, float with no fraction, or a decimal string. */
static int get_int(const msgpack_object *v, const char *name, int64_t min, int64_t max, bool *has, int64_t *ret,
                   SbxError *err) {
        int64_t x;
        switch (v->type) {
        case MSGPACK_OBJECT_NIL:
                return 0;
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
                if (v->via.u64 > (uint64_t) INT64_MAX)
                        return sbx_error(err, ERANGE, "%s: %" PRIu64 " is out of range %" PRId64 "..%" PRId64, name,
                                         v->via.u64, min, max);
                x = (int64_t) v->via.u64;
                break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
                x = v->via.i64;
                break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: {
                double d = v->via.f64;
                if (!isfinite(d) || d != floor(d) || d < -9.2e18 || d > 9.2e18)
                        return sbx_error(err, EINVAL, "%s: %g is not a whole number", name, d);
                x = (int64_t) d;
                break;
        }
        case MSGPACK_OBJECT_STR: {
                char buf[64], *end;
                if (v->via.str.size == 0 || v->via.str.size >= sizeof buf)
                        return sbx_error(err, EINVAL, "%s: expected a number", name);
                memcpy(buf, v->via.str.ptr, v->via.str.size);
                buf[v->via.str.size] = 0;
                errno = 0;
                long long ll = strtoll(buf, &end, 10);
                if (*end || errno)
                        return sbx_error(err, EINVAL, "%s: '%s' is not a whole number in range", name, buf);
                x = ll;
                break;
        }
        default:
                return sbx_error(err, EINVAL, "%s: expected a number", name);
        }
        if (x < min || x > max)
                return sbx_error(err, ERANGE, "%s: %" PRId64 " is out of range %" PRId64 "..%" PRId64, name, x, min, max);
        *has = true;
        *ret = x;
        return 0;
}

static void strv_free_(char **l) {
        if (!l)
                return;
        for (char **p = l; *p; p++)
                free(*p);
        free(l);
}

static int get_strings(const msgpack_object *v, const char *name, char ***ret, SbxError *err) {
        strv_free_(*ret);
        *ret = NULL;
        if (v->type == MSGPACK_OBJECT_NIL)
                return 0;
        if (v->type != MSGPACK_OBJECT_ARRAY)
                return sbx_error(err, EINVAL, "%s: expected a list of strings", name);
        if (v->via.array.size > MAX_LIST)
                return sbx_error(err, E2BIG, "%s: more than %d entries", name, MAX_LIST);
        char **l = xcalloc(v->via.array.size + 1, sizeof(char *));
        for (uint32_t i = 0; i < v->via.array.size; i++) {
                const msgpack_object *e = &v->via.array.ptr[i];
                char ename[96];
                snprintf(ename, sizeof ename, "%s[%u]", name, i);
                if (e->type != MSGPACK_OBJECT_STR) {
                        strv_free_(l);
                        return sbx_error(err, EINVAL, "%s: expected a string", ename);
                }
                char *s = NULL;
                int k = get_string(e, ename, &s, err);
                if (k < 0) {
                        strv_free_(l);
                        return k;
                }
                l[i] = s;
        }
        *ret = l;
        return 0;
}

/* Big-endian unsigned of n bytes. */
static uint64_t be(const uint8_t *p, size_t n) {
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++)
                v = (v << 8) | p[i];
        return v;
}

/* Walks one msgpack object in buf without allocating and checks every count and length against
 * the bytes that are really there (each element takes at least one), and the nesting depth.
 * msgpack-c allocates a container's elements from its header's count before it reads them: the
 * 6 bytes 85 dd 6c 64 69 6c (a map whose first key claims an array of 1.8 billion entries)
 * made it ask for 64 GiB. Returns the object's size, or -EBADMSG. */
static ssize_t msgpack_check(const uint8_t *buf, size_t len) {
        uint64_t todo[MAX_DEPTH + 1]; /* elements still to read at each open level */
        int sp = 0;
        size_t off = 0;

        todo[0] = 1;
        while (sp >= 0) {
                if (todo[sp] == 0) {
                        sp--;
                        continue;
                }
                todo[sp]--;
                if (off >= len)
                        return -EBADMSG;
                uint8_t c = buf[off++];
                size_t hdr = 0;   /* bytes of the length field */
                uint64_t n = 0;   /* payload bytes, or container entries */
                int kind = 0;     /* 0 scalar/payload, 1 array, 2 map */
                if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
                        continue;
                if (c >= 0x80 && c <= 0x8f)
                        n = c & 0x0f, kind = 2;
                else if (c >= 0x90 && c <= 0x9f)
                        n = c & 0x0f, kind = 1;
                else if (c >= 0xa0 && c <= 0xbf)
                        n = c & 0x1f;
                else
                        switch (c) {
                        case 0xc4: case 0xd9: hdr = 1; break;             /* bin8, str8 */
                        case 0xc5: case 0xda: hdr = 2; break;             /* bin16, str16 */
                        case 0xc6: case 0xdb: hdr = 4; break;             /* bin32, str32 */
                        case 0xc7: hdr = 1; n = 1; break;                 /* ext8: + type */
                        case 0xc8: hdr = 2; n = 1; break;
                        case 0xc9: hdr = 4; n = 1; break;
                        case 0xca: n = 4; break;                          /* float32 */
                        case 0xcb: n = 8; break;
                        case 0xcc: case 0xd0: n = 1; break;               /* (u)int8 */
                        case 0xcd: case 0xd1: n = 2; break;
                        case 0xce: case 0xd2: n = 4; break;
                        case 0xcf: case 0xd3: n = 8; break;
                        case 0xd4: n = 2; break;                          /* fixext 1 + type */
                        case 0xd5: n = 3; break;
                        case 0xd6: n = 5; break;
                        case 0xd7: n = 9; break;
                        case 0xd8: n = 17; break;
                        case 0xdc: hdr = 2; kind = 1; break;              /* array16 */
                        case 0xdd: hdr = 4; kind = 1; break;
                        case 0xde: hdr = 2; kind = 2; break;              /* map16 */
                        case 0xdf: hdr = 4; kind = 2; break;
                        default:
                                return -EBADMSG;                         /* 0xc1: never used */
                        }
                if (hdr) {
                        if (len - off < hdr)
                                return -EBADMSG;
                        n += be(buf + off, hdr);
                        off += hdr;
                }
                if (kind == 0) {
                        if (n > len - off)
                                return -EBADMSG;
                        off += n;
                        continue;
                }
                if (kind == 2 && n > (len - off) / 2)
                        return -EBADMSG;
                n *= kind; /* a map's entries are key and value */
                if (n > len - off || sp == MAX_DEPTH)
                        return -EBADMSG;
                todo[++sp] = n;
        }
        return (ssize_t) off;
}

/* Unpacks buf into one top-level map. */
static int unpack_map(const uint8_t *buf, size_t len, msgpack_unpacked *u, const char *what, SbxError *err) {
        size_t off = 0;
        msgpack_unpacked_init(u);
        if (msgpack_check(buf, len) < 0)
                return sbx_error(err, EINVAL, "%s: not valid msgpack (a count or length beyond its %zu bytes, or "
                                              "nesting deeper than %d)", what, len, MAX_DEPTH);
        msgpack_unpack_return r = msgpack_unpack_next(u, (const char *) buf, len, &off);
        if (r != MSGPACK_UNPACK_SUCCESS && r != MSGPACK_UNPACK_EXTRA_BYTES)
                return sbx_error(err, EINVAL, "%s: not valid msgpack", what);
        if (off != len)
                return sbx_error(err, EINVAL, "%s: trailing bytes after the msgpack object", what);
        if (u->data.type != MSGPACK_OBJECT_MAP)
                return sbx_error(err, EINVAL, "%s: expected an object", what);
        for (uint32_t i = 0; i < u->data.via.map.size; i++)
                if (u->data.via.map.ptr[i].key.type != MSGPACK_OBJECT_STR)
                        return sbx_error(err, EINVAL, "%s: an object key is not a string", what);
        return 0;
}

static int unknown_key(const msgpack_object *k, SbxError *err) {
        int n = k->via.str.size > 64 ? 64 : (int) k->via.str.size;
        return sbx_error(err, EINVAL, "%.*s: unknown option", n, k->via.str.ptr);
}

void plugin_config_free(PluginConfig *c) {
        free(c->socket);
        strv_free_(c->unveil_paths);
        free(c->pledge_executable);
        *c = (PluginConfig) { 0 };
}

int plugin_config_decode(const uint8_t *buf, size_t len, PluginConfig *ret, SbxError *err) {
        PluginConfig c = { .unveil_defaults = true, .unveil_by_task = true };
        msgpack_unpacked u;
        int k = 0;

        if (len > 0) {
                if ((k = unpack_map(buf, len, &u, "plugin config", err)) < 0)
                        goto out;
                for (uint32_t i = 0; i < u.data.via.map.size && k >= 0; i++) {
                        const msgpack_object *key = &u.data.via.map.ptr[i].key, *v = &u.data.via.map.ptr[i].val;
                        if (key_is(key, "socket"))
                                k = get_string(v, "socket", &c.socket, err);
                        else if (key_is(key, "unveil_defaults"))
                                k = get_bool(v, "unveil_defaults", &c.unveil_defaults, err);
                        else if (key_is(key, "unveil_by_task"))
                                k = get_bool(v, "unveil_by_task", &c.unveil_by_task, err);
                        else if (key_is(key, "unveil_paths"))
                                k = get_strings(v, "unveil_paths", &c.unveil_paths, err);
                        else if (key_is(key, "pledge_executable"))
                                k = get_string(v, "pledge_executable", &c.pledge_executable, err);
                        else
                                k = unknown_key(key, err);
                }
                if (k < 0)
                        goto out;
        }
        if (!c.socket || !c.socket[0]) {
                free(c.socket);
                c.socket = xstrdup(SANDBOXD_SOCKET);
        }
        if (c.socket[0] != '/') {
                k = sbx_error(err, EINVAL, "socket: '%s' must be an absolute path", c.socket);
                goto out;
        }
        if (strlen(c.socket) >= 108) {
                k = sbx_error(err, ENAMETOOLONG, "socket: longer than a unix socket path may be (107 bytes)");
                goto out;
        }
        /* checked here, at agent start, rather than failing every task later */
        for (char **p = c.unveil_paths; p && *p; p++) {
                const char *colon = strchr(*p, ':'), *path = colon ? colon + 1 : *p;
                size_t n_letters = colon ? (size_t) (colon - *p) : 0;
                bool letters_ok = !colon || (n_letters > 0 && strspn(*p, "rwxc") == n_letters);
                if (!letters_ok || path[0] != '/') {
                        k = sbx_error(err, EINVAL,
                                      "unveil_paths: '%s': expected LETTERS:PATH (letters of rwxc, an absolute path) "
                                      "or an absolute path", *p);
                        goto out;
                }
        }
        *ret = c;
        c = (PluginConfig) { 0 };
out:
        if (len > 0)
                msgpack_unpacked_destroy(&u);
        plugin_config_free(&c);
        return k;
}

void task_options_free(TaskOptions *o) {
        free(o->command);
        strv_free_(o->args);
        free(o->promises);
        strv_free_(o->unveil);
        free(o->importance);
        free(o->tcp_bind);
        free(o->tcp_connect);
        free(o->hostname);
        free(o->work_dir);
        *o = (TaskOptions) { 0 };
}

int task_options_decode(const uint8_t *buf, size_t len, TaskOptions *ret, SbxError *err) {
        TaskOptions o = { .private_tmp = true };
        msgpack_unpacked u;
        int k;

        if (len == 0) {
                task_options_free(&o);
                return sbx_error(err, EINVAL, "command: required, but the task has no driver config");
        }
        if ((k = unpack_map(buf, len, &u, "task config", err)) < 0)
                goto out;
        for (uint32_t i = 0; i < u.data.via.map.size && k >= 0; i++) {
                const msgpack_object *key = &u.data.via.map.ptr[i].key, *v = &u.data.via.map.ptr[i].val;
                bool has = false;
                int64_t x = 0;
                if (key_is(key, "command"))
                        k = get_string(v, "command", &o.command, err);
                else if (key_is(key, "args"))
                        k = get_strings(v, "args", &o.args, err);
                else if (key_is(key, "promises")) {
                        k = get_string(v, "promises", &o.promises, err);
                        /* pledge: promises unset or "" = no syscall filter */
                        o.has_promises = k >= 0 && o.promises && o.promises[0];
                } else if (key_is(key, "unveil"))
                        k = get_strings(v, "unveil", &o.unveil, err);
                else if (key_is(key, "importance"))
                        k = get_string(v, "importance", &o.importance, err);
                else if (key_is(key, "oom_score_adj")) {
                        k = get_int(v, "oom_score_adj", OOM_SCORE_ADJ_MIN, OOM_SCORE_ADJ_MAX, &has, &x, err);
                        if (has) {
                                o.has_oom_score_adj = true;
                                o.oom_score_adj = (int) x;
                        }
                } else if (key_is(key, "tcp_bind"))
                        k = get_string(v, "tcp_bind", &o.tcp_bind, err);
                else if (key_is(key, "tcp_connect"))
                        k = get_string(v, "tcp_connect", &o.tcp_connect, err);
                else if (key_is(key, "private_tmp"))
                        k = get_bool(v, "private_tmp", &o.private_tmp, err);
                else if (key_is(key, "hostname"))
                        k = get_string(v, "hostname", &o.hostname, err);
                else if (key_is(key, "work_dir"))
                        k = get_string(v, "work_dir", &o.work_dir, err);
                else
                        k = unknown_key(key, err);
        }
        if (k < 0)
                goto out;
        if (!o.command || !o.command[0]) {
                k = sbx_error(err, EINVAL, "command: required (the program to run)");
                goto out;
        }
        if (o.work_dir && !o.work_dir[0]) { /* "" = unset, as Nomad's exec driver reads it */
                free(o.work_dir);
                o.work_dir = NULL;
        }
        if (o.work_dir && o.work_dir[0] != '/') {
                k = sbx_error(err, EINVAL, "work_dir: '%s' must be an absolute path", o.work_dir);
                goto out;
        }
        if (o.importance) {
                static const char *const ok[] = { "", "lowest", "low", "normal", "high", "highest" };
                bool found = false;
                for (size_t i = 0; i < ELEMENTSOF(ok); i++)
                        found = found || strcasecmp(o.importance, ok[i]) == 0; /* as pledge and sandboxd */
                if (!found) {
                        k = sbx_error(err, EINVAL, "importance: '%s': expected lowest, low, normal, high or highest",
                                      o.importance);
                        goto out;
                }
        }
        *ret = o;
        o = (TaskOptions) { 0 };
        k = 0;
out:
        msgpack_unpacked_destroy(&u);
        task_options_free(&o);
        return k;
}
