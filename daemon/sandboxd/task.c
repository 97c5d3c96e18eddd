/* SPDX-License-Identifier: MIT */
/* daemon/sandboxd/task.c: task records in <state_dir>/tasks/<id>/state.json. */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>

#include "fault.h"
#include "log.h"
#include "macro.h"
#include "task.h"
#include "util.h"

#define STATE_FILE_MAX (1024 * 1024)
#define STATE_VERSION 1

void task_record_done(TaskRecord *t) {
        free(t->id);
        free(t->name);
        free(t->driver);
        strv_free(t->argv);
        free(t->user);
        free(t->promises);
        strv_free(t->unveil);
        free(t->net);
        free(t->cgroup);
        free(t->alloc_id);
        free(t->task_name);
        free(t->job_id);
        free(t->nomad_namespace);
        free(t->task_group);
        free(t->exit_error);
        *t = (TaskRecord) {};
}

static void put_str(json_object *o, const char *k, const char *v) {
        if (v)
                json_object_object_add(o, k, json_object_new_string(v));
}

static void put_strv(json_object *o, const char *k, char *const *v) {
        json_object *a = json_object_new_array();
        for (char *const *i = v; i && *i; i++)
                json_object_array_add(a, json_object_new_string(*i));
        json_object_object_add(o, k, a);
}

char *task_record_to_json(const TaskRecord *t) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "version", json_object_new_int(STATE_VERSION));
        put_str(o, "id", t->id);
        put_str(o, "name", t->name);
        put_str(o, "driver", t->driver);
        json_object_object_add(o, "state", json_object_new_int(t->state));
        json_object_object_add(o, "pid", json_object_new_int(t->pid));
        json_object_object_add(o, "start_ticks", json_object_new_uint64(t->start_ticks));
        json_object_object_add(o, "started_at_ns", json_object_new_int64(t->started_at_ns));
        json_object_object_add(o, "finished_at_ns", json_object_new_int64(t->finished_at_ns));
        put_strv(o, "argv", t->argv);
        put_str(o, "user", t->user);
        json_object_object_add(o, "uid", json_object_new_int64(t->uid));
        json_object_object_add(o, "gid", json_object_new_int64(t->gid));
        json_object_object_add(o, "has_promises", json_object_new_boolean(t->has_promises));
        put_str(o, "promises", t->promises);
        put_strv(o, "unveil", t->unveil);
        json_object_object_add(o, "unveil_defaults", json_object_new_boolean(t->unveil_defaults));
        put_str(o, "net", t->net);
        put_str(o, "cgroup", t->cgroup);
        json_object_object_add(o, "host_view", json_object_new_boolean(t->host_view));
        json_object_object_add(o, "landlock_abi", json_object_new_int(t->landlock_abi));
        json_object *n = json_object_new_object();
        put_str(n, "alloc_id", t->alloc_id);
        put_str(n, "task_name", t->task_name);
        put_str(n, "job_id", t->job_id);
        put_str(n, "namespace", t->nomad_namespace);
        put_str(n, "task_group", t->task_group);
        json_object_object_add(o, "nomad", n);
        json_object *e = json_object_new_object();
        json_object_object_add(e, "code", json_object_new_int(t->exit_code));
        json_object_object_add(e, "signal", json_object_new_int(t->exit_signal));
        json_object_object_add(e, "oom_killed", json_object_new_boolean(t->oom_killed));
        put_str(e, "error", t->exit_error);
        json_object_object_add(o, "exit", e);
        if (t->stop_deadline_us) {
                json_object_object_add(o, "stop_signal", json_object_new_int(t->stop_signal));
                json_object_object_add(o, "stop_deadline_us", json_object_new_uint64(t->stop_deadline_us));
        }
        if (t->destroying)
                json_object_object_add(o, "destroying", json_object_new_boolean(true));

        char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return s;
}

static int get(json_object *o, const char *k, json_type type, bool required, json_object **ret, SbxError *err) {
        json_object *v = NULL;
        if (!json_object_object_get_ex(o, k, &v) || json_object_is_type(v, json_type_null)) {
                *ret = NULL;
                return required ? sbx_error(err, EBADMSG, "state: '%s' missing", k) : 0;
        }
        if (!json_object_is_type(v, type) && !(type == json_type_double && json_object_is_type(v, json_type_int)))
                return sbx_error(err, EBADMSG, "state: '%s' has the wrong type", k);
        *ret = v;
        return 0;
}

static int get_str(json_object *o, const char *k, bool required, char **ret, SbxError *err) {
        json_object *v = NULL;
        int r = get(o, k, json_type_string, required, &v, err);
        if (r < 0)
                return r;
        *ret = v ? xstrdup(json_object_get_string(v)) : NULL;
        return 0;
}

static int get_int(json_object *o, const char *k, int64_t min, int64_t max, int64_t *ret, SbxError *err) {
        json_object *v = NULL;
        int r = get(o, k, json_type_int, true, &v, err);
        if (r < 0)
                return r;
        errno = 0;
        int64_t x = json_object_get_int64(v);
        if (errno || x < min || x > max)
                return sbx_error(err, EBADMSG, "state: '%s' out of range", k);
        *ret = x;
        return 0;
}

/* An optional number: absent is 0. */
static int get_int_opt(json_object *o, const char *k, int64_t min, int64_t max, int64_t *ret, SbxError *err) {
        *ret = 0;
        return json_object_object_get_ex(o, k, NULL) ? get_int(o, k, min, max, ret, err) : 0;
}

static int get_bool(json_object *o, const char *k, bool *ret, SbxError *err) {
        json_object *v = NULL;
        int r = get(o, k, json_type_boolean, false, &v, err);
        if (r < 0)
                return r;
        *ret = v ? json_object_get_boolean(v) : false;
        return 0;
}

static int get_strv(json_object *o, const char *k, char ***ret, SbxError *err) {
        json_object *a;
        int r = get(o, k, json_type_array, false, &a, err);
        if (r < 0)
                return r;
        char **l = xcalloc(1, sizeof(char *));
        size_t n = a ? json_object_array_length(a) : 0;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                if (!json_object_is_type(e, json_type_string)) {
                        strv_free(l);
                        return sbx_error(err, EBADMSG, "state: '%s' must hold strings", k);
                }
                strv_push(&l, json_object_get_string(e));
        }
        *ret = l;
        return 0;
}

int task_record_from_json(const char *text, TaskRecord *ret, SbxError *err) {
        _cleanup_(task_record_done) TaskRecord t = {};
        json_object *o, *n, *e;
        int64_t v;
        int r;

        json_tokener *tok = json_tokener_new_ex(32);
        if (!tok)
                oom();
        o = json_tokener_parse_ex(tok, text, (int) strnlen(text, STATE_FILE_MAX));
        bool complete = json_tokener_get_error(tok) == json_tokener_success;
        json_tokener_free(tok);
        if (!o || !complete || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return sbx_error(err, EBADMSG, "state: not a JSON object");
        }

#define TRY(x)                                                                                     \
        do {                                                                                       \
                if ((r = (x)) < 0)                                                                 \
                        goto fail;                                                                 \
        } while (0)

        TRY(get_int(o, "version", STATE_VERSION, STATE_VERSION, &v, err));
        TRY(get_str(o, "id", true, &t.id, err));
        TRY(get_str(o, "name", true, &t.name, err));
        TRY(get_str(o, "driver", true, &t.driver, err));
        TRY(get_int(o, "state", 0, 3, &v, err));
        t.state = (int) v;
        TRY(get_int(o, "pid", 0, INT32_MAX, &v, err));
        t.pid = (pid_t) v;
        TRY(get_int(o, "start_ticks", 0, INT64_MAX, &v, err));
        t.start_ticks = (uint64_t) v;
        TRY(get_int(o, "started_at_ns", 0, INT64_MAX, &t.started_at_ns, err));
        TRY(get_int(o, "finished_at_ns", 0, INT64_MAX, &t.finished_at_ns, err));
        TRY(get_strv(o, "argv", &t.argv, err));
        TRY(get_str(o, "user", false, &t.user, err));
        TRY(get_int(o, "uid", 0, UINT32_MAX, &v, err));
        t.uid = (uint32_t) v;
        TRY(get_int(o, "gid", 0, UINT32_MAX, &v, err));
        t.gid = (uint32_t) v;
        TRY(get_bool(o, "has_promises", &t.has_promises, err));
        TRY(get_str(o, "promises", false, &t.promises, err));
        TRY(get_strv(o, "unveil", &t.unveil, err));
        TRY(get_bool(o, "unveil_defaults", &t.unveil_defaults, err));
        TRY(get_str(o, "net", false, &t.net, err));
        TRY(get_str(o, "cgroup", false, &t.cgroup, err));
        TRY(get_bool(o, "host_view", &t.host_view, err));
        TRY(get_int(o, "landlock_abi", 0, 1000, &v, err));
        t.landlock_abi = (int) v;
        TRY(get(o, "nomad", json_type_object, false, &n, err));
        if (n) {
                TRY(get_str(n, "alloc_id", false, &t.alloc_id, err));
                TRY(get_str(n, "task_name", false, &t.task_name, err));
                TRY(get_str(n, "job_id", false, &t.job_id, err));
                TRY(get_str(n, "namespace", false, &t.nomad_namespace, err));
                TRY(get_str(n, "task_group", false, &t.task_group, err));
        }
        TRY(get(o, "exit", json_type_object, true, &e, err));
        TRY(get_int(e, "code", INT32_MIN, INT32_MAX, &v, err));
        t.exit_code = (int) v;
        TRY(get_int(e, "signal", 0, 128, &v, err));
        t.exit_signal = (int) v;
        TRY(get_bool(e, "oom_killed", &t.oom_killed, err));
        TRY(get_str(e, "error", false, &t.exit_error, err));
        TRY(get_int_opt(o, "stop_signal", 0, 64, &v, err));
        t.stop_signal = (int) v;
        TRY(get_int_opt(o, "stop_deadline_us", 0, INT64_MAX, &v, err));
        t.stop_deadline_us = (uint64_t) v;
        TRY(get_bool(o, "destroying", &t.destroying, err));
#undef TRY
        json_object_put(o);
        *ret = t;
        t = (TaskRecord) {};
        return 0;
fail:
        json_object_put(o);
        return r;
}

/* write + rename: atomic against a crash of sandboxd. No fsync: the record is worth something
 * only while the kernel that runs the task does (the state dir is /run), and fsync on a
 * disk-backed state dir cost several ms per task start. */
static int write_atomic(int dir_fd, const char *name, const char *text, SbxError *err) {
        size_t len = strlen(text);
        char tmp[64];
        snprintf(tmp, sizeof(tmp), "%s" TASK_FILE_TMP, name);
        _cleanup_close_ int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return sbx_error_errno(err, errno, "state: creating %s", tmp);
        ssize_t w = write(fd, text, len);
        if (w != (ssize_t) len)
                return sbx_error_errno(err, w < 0 ? errno : ENOSPC, "state: writing %s", tmp);
        fault_point(streq(name, TASK_FILE_STATE) ? "state-tmp" : "rules-tmp");
        if (renameat(dir_fd, tmp, dir_fd, name) < 0)
                return sbx_error_errno(err, errno, "state: renaming to %s", name);
        return 0;
}

int task_record_save(int dir_fd, const TaskRecord *t, SbxError *err) {
        _cleanup_free_ char *json = task_record_to_json(t);
        return write_atomic(dir_fd, TASK_FILE_STATE, json, err);
}

static char *read_state_file(int dir_fd, const char *name, SbxError *err) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                sbx_error_errno(err, errno, "state: %s", name);
                return NULL;
        }
        _cleanup_free_ char *buf = xmalloc(STATE_FILE_MAX + 1);
        ssize_t n = read(fd, buf, STATE_FILE_MAX + 1);
        if (n < 0) {
                sbx_error_errno(err, errno, "state: reading %s", name);
                return NULL;
        }
        if (n > STATE_FILE_MAX) {
                sbx_error(err, EFBIG, "state: %s larger than %d bytes", name, STATE_FILE_MAX);
                return NULL;
        }
        buf[n] = 0;
        return TAKE_PTR(buf);
}

char *task_rules_to_json(const UnveilList *l, size_t n) {
        json_object *o = json_object_new_object(), *a = json_object_new_array();
        json_object_object_add(o, "version", json_object_new_int(STATE_VERSION));
        for (size_t i = 0; i < n && i < l->n; i++) {
                const UnveilRule *u = &l->rules[i];
                json_object *p = json_object_new_object();
                char letters[5];
                put_str(p, "path", u->path);
                put_str(p, "perms", unveil_perms_format(u->perms, letters));
                put_str(p, "origin", unveil_origin_to_string(u->origin));
                json_object_object_add(p, "optional", json_object_new_boolean(u->optional));
                json_object_object_add(p, "deferred", json_object_new_boolean(u->deferred));
                put_str(p, "resolved", u->resolved);
                if (!u->deferred) {
                        json_object_object_add(p, "absent", json_object_new_boolean(u->absent));
                        json_object_object_add(p, "dev", json_object_new_uint64(u->dev));
                        json_object_object_add(p, "ino", json_object_new_uint64(u->ino));
                }
                json_object_array_add(a, p);
        }
        json_object_object_add(o, "rules", a);
        char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return s;
}

static int get_u64(json_object *o, const char *k, uint64_t *ret, SbxError *err) {
        json_object *v = NULL;
        int r = get(o, k, json_type_int, true, &v, err);
        if (r < 0)
                return r;
        errno = 0;
        uint64_t x = json_object_get_uint64(v);
        if (errno || (json_object_get_int64(v) < 0 && x == 0))
                return sbx_error(err, EBADMSG, "state: '%s' out of range", k);
        *ret = x;
        return 0;
}

static int rule_from_json(json_object *p, size_t i, UnveilList *l, SbxError *err) {
        _cleanup_free_ char *path = NULL, *perms = NULL, *origin = NULL;
        unsigned letters;
        int r;

        if (!json_object_is_type(p, json_type_object))
                return sbx_error(err, EBADMSG, "state: 'rules' must hold objects");
        if ((r = get_str(p, "path", true, &path, err)) < 0 || (r = get_str(p, "perms", true, &perms, err)) < 0 ||
            (r = get_str(p, "origin", true, &origin, err)) < 0)
                return r;
        if (path[0] != '/' || strlen(path) >= UNVEIL_MAX_PATH || unveil_perms_parse(perms, &letters, NULL) < 0 ||
            unveil_origin_from_string(origin) < 0)
                return sbx_error(err, EBADMSG, "state: rule %zu: bad path, letters or origin", i);
        UnveilRule *u = unveil_list_append(l, path, letters, unveil_origin_from_string(origin));
        if ((r = get_bool(p, "optional", &u->optional, err)) < 0 || (r = get_bool(p, "deferred", &u->deferred, err)) < 0 ||
            (r = get_str(p, "resolved", false, &u->resolved, err)) < 0)
                return r;
        if (u->deferred)
                return 0; /* pinned once the init's "pins" file says what it was */
        if ((r = get_bool(p, "absent", &u->absent, err)) < 0 || (r = get_u64(p, "dev", &u->dev, err)) < 0 ||
            (r = get_u64(p, "ino", &u->ino, err)) < 0)
                return r;
        if (!u->absent && (!u->resolved || u->resolved[0] != '/'))
                return sbx_error(err, EBADMSG, "state: rule %zu: no resolved path", i);
        u->pinned = true;
        return 0;
}

int task_rules_from_json(const char *text, UnveilList *ret, SbxError *err) {
        _cleanup_(unveil_list_done) UnveilList l = {};
        json_object *o, *a;
        int64_t v;
        int r;

        json_tokener *tok = json_tokener_new_ex(32);
        if (!tok)
                oom();
        o = json_tokener_parse_ex(tok, text, (int) strnlen(text, STATE_FILE_MAX));
        bool complete = json_tokener_get_error(tok) == json_tokener_success;
        json_tokener_free(tok);
        if (!o || !complete || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return sbx_error(err, EBADMSG, "state: rules: not a JSON object");
        }
        if ((r = get_int(o, "version", STATE_VERSION, STATE_VERSION, &v, err)) < 0 ||
            (r = get(o, "rules", json_type_array, true, &a, err)) < 0)
                goto done;
        size_t n = json_object_array_length(a);
        if (n > UNVEIL_MAX_TOTAL) {
                r = sbx_error(err, EBADMSG, "state: 'rules' has more than %d entries", UNVEIL_MAX_TOTAL);
                goto done;
        }
        for (size_t i = 0; i < n; i++)
                if ((r = rule_from_json(json_object_array_get_idx(a, i), i, &l, err)) < 0)
                        goto done;
        *ret = l;
        l = (UnveilList) {};
        r = 0;
done:
        json_object_put(o);
        return r;
}

int task_rules_save(int dir_fd, const UnveilList *l, size_t n, SbxError *err) {
        _cleanup_free_ char *json = task_rules_to_json(l, n);
        return write_atomic(dir_fd, TASK_FILE_RULES, json, err);
}

int task_rules_load(int dir_fd, UnveilList *ret, SbxError *err) {
        _cleanup_free_ char *buf = read_state_file(dir_fd, TASK_FILE_RULES, err);
        if (!buf)
                return -err->code;
        return task_rules_from_json(buf, ret, err);
}

int task_record_load(int dir_fd, TaskRecord *ret, SbxError *err) {
        _cleanup_free_ char *buf = read_state_file(dir_fd, TASK_FILE_STATE, err);
        if (!buf)
                return -err->code;
        return task_record_from_json(buf, ret, err);
}

int proc_start_ticks(pid_t pid, uint64_t *ret) {
        char path[64], buf[1024];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return n < 0 ? -errno : -EIO;
        buf[n] = 0;
        /* comm may contain spaces and parentheses: fields start after the last ')'. */
        char *p = strrchr(buf, ')');
        if (!p)
                return -EIO;
        p++;
        /* after ')': field 3 (state) ... field 22 (starttime) = the 20th token */
        char *save = NULL, *tok = strtok_r(p, " ", &save);
        for (int i = 3; tok && i < 22; i++)
                tok = strtok_r(NULL, " ", &save);
        if (!tok)
                return -EIO;
        *ret = strtoull(tok, NULL, 10);
        return 0;
}

void log_task(int level, const TaskRecord *t, const char *fmt, ...) {
        const LogFields f = {
                .task = t->name,
                .task_dir = t->id,
                .driver = t->driver,
                .alloc_id = t->alloc_id,
                .job_id = t->job_id,
                .nomad_namespace = t->nomad_namespace,
                .nomad_task = t->task_name,
        };
        va_list ap;
        va_start(ap, fmt);
        log_fields_va(level, &f, fmt, ap);
        va_end(ap);
}
