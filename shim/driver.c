/* SPDX-License-Identifier: MIT */
/* shim/driver.c: Nomad's BasePlugin and Driver services, translated to sandboxd requests.
 *
 * The shim keeps no task state of its own: sandboxd owns the tasks, Nomad owns the handles. A
 * task is named in sandboxd by Nomad's task id ("<alloc>/<task>/<random>"), so a fresh shim can
 * answer for any task by asking sandboxd. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "macro.h"
#include "options.h"
#include "pb.h"
#include "shim.h"
#include "start.h"
#include "util.h"

#define API_VERSION "v0.1.0"
#define HANDLE_VERSION 1
#define FINGERPRINT_TICK_MS 5000
#define FINGERPRINT_RESEND_TICKS 6 /* every 30 s even without a change */
#define REQUEST_TIMEOUT_MS 30000
#define EXEC_OUTPUT_MAX (4u << 20)

#define UNPACK(type, fn, var)                                                                      \
        type *var = fn(NULL, len, buf);                                                            \
        if (!var) {                                                                                \
                call_finish(c, GRPC_STATUS_INVALID_ARGUMENT, "the request message does not decode"); \
                return;                                                                            \
        }

/* How long StartTask waits for sandboxd: 30 s for sandboxd to answer, plus the time sandboxd
 * itself may wait for the reader of the task's log FIFOs (its log_reader_timeout, from its
 * hello; 30 s if not connected yet). SANDBOX_SHIM_START_TIMEOUT_MS shortens it for tests. */
#define LOG_READER_TIMEOUT_DEFAULT_MS 30000
static int64_t start_timeout_ms(void) {
        static int64_t env = -1;
        if (env < 0) {
                const char *e = getenv("SANDBOX_SHIM_START_TIMEOUT_MS");
                long long v = e ? strtoll(e, NULL, 10) : 0;
                env = v > 0 && v <= REQUEST_TIMEOUT_MS ? v : 0;
        }
        if (env > 0)
                return env;
        const Sandboxd__V1__DaemonInfo *info = sbx_info();
        return REQUEST_TIMEOUT_MS + (info && info->log_reader_timeout_ms ? info->log_reader_timeout_ms
                                                                         : LOG_READER_TIMEOUT_DEFAULT_MS);
}

static const char *task_id(const char *id, const DRV_T(TaskHandle) *h) {
        if (id && id[0])
                return id;
        if (h && h->config && h->config->id && h->config->id[0])
                return h->config->id;
        return NULL;
}

/* ---- BasePlugin */
static void h_plugin_info(Call *c, const uint8_t *buf, size_t len) {
        BASE_T(PluginInfoResponse) r = BASE_K(PLUGIN_INFO_RESPONSE__INIT);
        char *apis[] = { (char *) API_VERSION };
        r.type = BASE_K(PLUGIN_TYPE__DRIVER);
        r.n_plugin_api_versions = 1;
        r.plugin_api_versions = apis;
        r.plugin_version = (char *) "v" PACKAGE_VERSION;
        r.name = shim.driver_name;
        call_reply(c, &r.base);
}

static void h_config_schema(Call *c, const uint8_t *buf, size_t len) {
        BASE_T(ConfigSchemaResponse) r = BASE_K(CONFIG_SCHEMA_RESPONSE__INIT);
        r.spec = (HCL_T(Spec) *) schema_plugin_config();
        call_reply(c, &r.base);
}

static void h_set_config(Call *c, const uint8_t *buf, size_t len) {
        UNPACK(BASE_T(SetConfigRequest), BASE_F(set_config_request__unpack), req);
        PluginConfig pc;
        SbxError err = { 0 };
        if (plugin_config_decode(req->msgpack_config.data, req->msgpack_config.len, &pc, &err) < 0) {
                hclog_error("rejected the plugin configuration", "error", err.msg);
                call_finish(c, GRPC_STATUS_INVALID_ARGUMENT, err.msg);
                BASE_F(set_config_request__free_unpacked)(req, NULL);
                return;
        }
        if (pc.pledge_executable)
                hclog_warn("pledge_executable is ignored: this driver sandboxes tasks itself", "pledge_executable",
                           pc.pledge_executable);
        bool socket_changed = !shim.config.socket || strcmp(shim.config.socket, pc.socket) != 0;
        plugin_config_free(&shim.config);
        shim.config = pc;
        shim.configured = true;
        if (req->nomad_config && req->nomad_config->driver && req->nomad_config->driver->topology) {
                const BASE_T(ClientTopology) *t = req->nomad_config->driver->topology;
                double total = 0;
                size_t n = 0;
                for (size_t i = 0; i < t->n_cores; i++) {
                        if (t->cores[i]->disable)
                                continue;
                        uint64_t mhz = t->cores[i]->guess_speed ?: t->cores[i]->base_speed ?: t->cores[i]->max_speed;
                        total += (double) mhz;
                        n++;
                }
                if (t->override_total_compute)
                        total = (double) t->override_total_compute;
                shim.cpu_total_mhz = total;
                shim.cpu_cores = n;
        }
        hclog_info("configured", "socket", shim.config.socket, "api_version", req->plugin_api_version,
                   "nomad_config", req->nomad_config ? "present" : "absent");
        if (socket_changed)
                sbx_reset();
        BASE_F(set_config_request__free_unpacked)(req, NULL);
        BASE_T(SetConfigResponse) r = BASE_K(SET_CONFIG_RESPONSE__INIT);
        call_reply(c, &r.base);
}

/* ---- Driver: schema, capabilities */
static void h_task_config_schema(Call *c, const uint8_t *buf, size_t len) {
        DRV_T(TaskConfigSchemaResponse) r = DRV_K(TASK_CONFIG_SCHEMA_RESPONSE__INIT);
        r.spec = (HCL_T(Spec) *) schema_task_config();
        call_reply(c, &r.base);
}

static void h_capabilities(Call *c, const uint8_t *buf, size_t len) {
        DRV_T(DriverCapabilities) caps = DRV_K(DRIVER_CAPABILITIES__INIT);
        DRV_T(NetworkIsolationSpec__NetworkIsolationMode) modes[] = {
                DRV_K(NETWORK_ISOLATION_SPEC__NETWORK_ISOLATION_MODE__NONE),
                DRV_K(NETWORK_ISOLATION_SPEC__NETWORK_ISOLATION_MODE__HOST),
                DRV_K(NETWORK_ISOLATION_SPEC__NETWORK_ISOLATION_MODE__GROUP),
        };
        caps.send_signals = true;
        caps.exec = true;
        caps.fs_isolation = DRV_K(DRIVER_CAPABILITIES__FSISOLATION__NONE);
        caps.n_network_isolation_modes = ELEMENTSOF(modes);
        caps.network_isolation_modes = modes;
        caps.must_create_network = false;
        caps.mount_configs = DRV_K(DRIVER_CAPABILITIES__MOUNT_CONFIGS__ANY_MOUNTS);
        caps.dynamic_workload_users = true;
        DRV_T(CapabilitiesResponse) r = DRV_K(CAPABILITIES_RESPONSE__INIT);
        r.capabilities = &caps;
        call_reply(c, &r.base);
}

/* ---- Fingerprint: one message at once, again on every health change and every 30 s */
typedef struct FpStream FpStream;
struct FpStream {
        Call *call;
        Timer timer;
        int ticks;
        FpStream *next;
};
static FpStream *fp_streams;

typedef struct AttrSet {
        DRV_T(FingerprintResponse__AttributesEntry) e[8];
        DRV_T(FingerprintResponse__AttributesEntry) *p[8];
        STRUCTS_T(Attribute) a[8];
        char keys[8][128];
        size_t n;
} AttrSet;

/* "driver.NAME.SUFFIX". Not "driver.NAME" itself: Nomad sets that ("1") for every detected
 * driver, and a value of ours would fight with it on every fingerprint. */
static STRUCTS_T(Attribute) *attr_add(AttrSet *s, const char *suffix) {
        size_t i = s->n++;
        DRV_F(fingerprint_response__attributes_entry__init)(&s->e[i]);
        hashicorp__nomad__plugins__shared__structs__attribute__init(&s->a[i]);
        snprintf(s->keys[i], sizeof s->keys[i], "driver.%s.%s", shim.driver_name, suffix);
        s->e[i].key = s->keys[i];
        s->e[i].value = &s->a[i];
        s->p[i] = &s->e[i];
        return &s->a[i];
}

static void fp_send(FpStream *s) {
        DRV_T(FingerprintResponse) r = DRV_K(FINGERPRINT_RESPONSE__INIT);
        AttrSet as = { .n = 0 };
        char limits[128] = "";
        STRUCTS_T(Attribute) *a = attr_add(&as, "version");
        a->value_case = STRUCTS_K(ATTRIBUTE__VALUE_STRING_VAL);
        a->string_val = (char *) PACKAGE_VERSION;
        const Sandboxd__V1__DaemonInfo *info = sbx_info();
        if (sbx_connected()) {
                r.health = DRV_K(FINGERPRINT_RESPONSE__HEALTH_STATE__HEALTHY);
                r.health_description = (char *) "Healthy";
                a = attr_add(&as, "daemon_version");
                a->value_case = STRUCTS_K(ATTRIBUTE__VALUE_STRING_VAL);
                a->string_val = (char *) sbx_daemon_version();
                if (info) {
                        a = attr_add(&as, "landlock_abi");
                        a->value_case = STRUCTS_K(ATTRIBUTE__VALUE_INT_VAL);
                        a->int_val = info->landlock_abi;
                        a = attr_add(&as, "seccomp");
                        a->value_case = STRUCTS_K(ATTRIBUTE__VALUE_BOOL_VAL);
                        a->bool_val = info->seccomp;
                        a = attr_add(&as, "cgroup");
                        a->value_case = STRUCTS_K(ATTRIBUTE__VALUE_STRING_VAL);
                        a->string_val = info->cgroup_backend;
                        for (size_t i = 0; i < info->n_enforced_limits; i++)
                                snprintf(limits + strlen(limits), sizeof limits - strlen(limits), "%s%s", i ? "," : "",
                                         info->enforced_limits[i]);
                        a = attr_add(&as, "limits");
                        a->value_case = STRUCTS_K(ATTRIBUTE__VALUE_STRING_VAL);
                        a->string_val = limits;
                }
        } else {
                r.health = DRV_K(FINGERPRINT_RESPONSE__HEALTH_STATE__UNHEALTHY);
                r.health_description = (char *) sbx_last_error();
        }
        r.n_attributes = as.n;
        r.attributes = as.p;
        call_send(s->call, &r.base);
}

static void fp_tick(void *ud) {
        FpStream *s = ud;
        bool was = sbx_connected();
        if (!was)
                sbx_try_connect(); /* a change sends to every stream by itself */
        if (was == sbx_connected() && ++s->ticks >= FINGERPRINT_RESEND_TICKS) {
                s->ticks = 0;
                fp_send(s);
        }
        timer_arm(&s->timer, FINGERPRINT_TICK_MS);
}

static void fp_closed(Call *c) {
        FpStream *s = c->data;
        for (FpStream **p = &fp_streams; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        break;
                }
        timer_cancel(&s->timer);
        c->data = NULL;
        free(s);
        call_unref(c);
}

void driver_health_changed(void) {
        for (FpStream *s = fp_streams; s; s = s->next) {
                s->ticks = 0;
                fp_send(s);
        }
}

static void h_fingerprint(Call *c, const uint8_t *buf, size_t len) {
        FpStream *s = xcalloc(1, sizeof *s);
        s->call = c;
        s->timer = (Timer) { 0, fp_tick, s };
        call_ref(c);
        c->data = s;
        c->on_close = fp_closed;
        s->next = fp_streams;
        fp_streams = s;
        if (!sbx_connected())
                sbx_try_connect();
        fp_send(s);
        timer_arm(&s->timer, FINGERPRINT_TICK_MS);
}

/* ---- TaskEvents: open until Nomad closes it. sandboxd's failures reach Nomad as exit results;
 * what comes here are the calls of a task its promises refused, with the promise that would
 * have allowed them (sandboxd's Denial events), which `nomad alloc status` lists. */
typedef struct EventStream {
        Call *call;
        struct EventStream *next;
} EventStream;
static EventStream *event_streams;

static void events_closed(Call *c) {
        EventStream *s = c->data;
        for (EventStream **p = &event_streams; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        break;
                }
        c->data = NULL;
        free(s);
        call_unref(c);
}

static void h_task_events(Call *c, const uint8_t *buf, size_t len) {
        EventStream *s = xcalloc(1, sizeof *s);
        s->call = c;
        call_ref(c);
        c->data = s;
        c->on_close = events_closed;
        s->next = event_streams;
        event_streams = s;
}

static void timestamp_from_ns(Google__Protobuf__Timestamp *ts, int64_t ns);

void driver_task_denied(const Sandboxd__V1__Denial *d, const Sandboxd__V1__NomadMeta *nomad) {
        DRV_T(DriverTaskEvent) ev = DRV_K(DRIVER_TASK_EVENT__INIT);
        Google__Protobuf__Timestamp ts;
        DRV_T(DriverTaskEvent__AnnotationsEntry) a[3], *ap[3];
        char promises[256] = "";
        size_t off = 0;

        for (size_t i = 0; i < d->n_promises && off < sizeof promises; i++)
                off += (size_t) snprintf(promises + off, sizeof promises - off, "%s%s", i ? " " : "", d->promises[i]);
        timestamp_from_ns(&ts, d->time_ns);
        ev.task_id = d->task;
        ev.alloc_id = nomad && nomad->alloc_id ? nomad->alloc_id : (char *) "";
        ev.task_name = nomad && nomad->task_name ? nomad->task_name : (char *) "";
        ev.timestamp = &ts;
        ev.message = d->message;
        const char *kv[3][2] = { { "syscall", d->syscall }, { "promises", promises }, { "source", "sandbox" } };
        for (size_t i = 0; i < 3; i++) {
                DRV_F(driver_task_event__annotations_entry__init)(&a[i]);
                a[i].key = (char *) kv[i][0];
                a[i].value = (char *) kv[i][1];
                ap[i] = &a[i];
        }
        ev.n_annotations = 3;
        ev.annotations = ap;
        for (EventStream *s = event_streams; s; s = s->next)
                if (call_open(s->call))
                        call_send(s->call, &ev.base);
}

/* ---- the common shape of a forwarded request */
typedef struct Fwd {
        Call *call;
        void *req;                   /* the unpacked gRPC request, freed with free_req */
        void (*free_req)(void *req);
        void *extra;
} Fwd;

static Fwd *fwd_new(Call *c, void *req, void (*free_req)(void *)) {
        Fwd *f = xcalloc(1, sizeof *f);
        f->call = c;
        call_ref(c);
        f->req = req;
        f->free_req = free_req;
        return f;
}

static void fwd_free(Fwd *f) {
        if (f->free_req && f->req)
                f->free_req(f->req);
        call_unref(f->call);
        free(f);
}

#define FREE_FN(name, fn)                                                                          \
        static void name(void *p) {                                                                \
                fn(p, NULL);                                                                       \
        }

FREE_FN(free_start_req, DRV_F(start_task_request__free_unpacked))

static bool transient(int code) {
        return code == ECONNRESET || code == ETIMEDOUT || code == EAGAIN || code == ENOMEM || code == EBUSY ||
               code == ENOTCONN || code == ECONNREFUSED;
}

/* ---- StartTask (the request itself: start.c) */
static char *driver_state_json(const Sandboxd__V1__TaskInfo *ti) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "version", json_object_new_int(HANDLE_VERSION));
        json_object_object_add(o, "name", json_object_new_string(ti->name));
        json_object_object_add(o, "driver", json_object_new_string(shim.driver_name));
        json_object_object_add(o, "pid", json_object_new_int(ti->pid));
        json_object_object_add(o, "started_at_ns", json_object_new_int64(ti->started_at_ns));
        char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return s;
}

static void orphan_destroyed(void *ud, const Sandboxd__V1__Response *resp, const SbxError *err) {
        char *id = ud;
        (void) resp;
        if (!err)
                hclog_warn("destroyed a task whose start was reported as failed", "task_id", id);
        else if (err->code != ENOENT)
                hclog_warn("could not destroy a task whose start was reported as failed", "task_id", id, "error",
                           err->msg);
        free(id);
}

static void start_done(void *ud, const Sandboxd__V1__Response *resp, const SbxError *err) {
        Fwd *f = ud;
        DRV_T(StartTaskRequest) *req = f->req;
        if (err) {
                hclog_warn("task start failed", "task_id", req->task->id, "error", err->msg);
                if (err->code == ECONNRESET || err->code == ETIMEDOUT) {
                        /* The outcome is unknown: sandboxd may have started the task. Nomad retries
                         * under a new task id and would never stop this one, so destroy it once
                         * sandboxd answers again (no such task: nothing was started). */
                        Sandboxd__V1__DestroyRequest d = SANDBOXD__V1__DESTROY_REQUEST__INIT;
                        Sandboxd__V1__Request r = SANDBOXD__V1__REQUEST__INIT;
                        d.name = req->task->id;
                        d.force = true;
                        r.op_case = SANDBOXD__V1__REQUEST__OP_DESTROY;
                        r.destroy = &d;
                        sbx_submit(&r, NULL, 0, SBX_RESEND, 0, orphan_destroyed, xstrdup(req->task->id));
                }
                if (transient(err->code))
                        call_finish_recoverable(f->call, true, err->msg);
                else
                        call_fail_errno(f->call, err->code, err->msg);
                fwd_free(f);
                return;
        }
        const Sandboxd__V1__TaskInfo *ti = resp->task;
        char *state = ti ? driver_state_json(ti) : xstrdup("{}");
        DRV_T(TaskHandle) h = DRV_K(TASK_HANDLE__INIT);
        h.version = HANDLE_VERSION;
        h.config = req->task;
        h.state = DRV_K(TASK_STATE__RUNNING);
        h.driver_state.data = (uint8_t *) state;
        h.driver_state.len = strlen(state);
        DRV_T(StartTaskResponse) r = DRV_K(START_TASK_RESPONSE__INIT);
        r.result = DRV_K(START_TASK_RESPONSE__RESULT__SUCCESS);
        r.handle = &h;
        call_reply(f->call, &r.base);
        char pid[16];
        snprintf(pid, sizeof pid, "%d", ti ? ti->pid : 0);
        hclog_info("task started", "task_id", req->task->id, "pid", pid);
        free(state);
        fwd_free(f);
}

static void h_start_task(Call *c, const uint8_t *buf, size_t len) {
        UNPACK(DRV_T(StartTaskRequest), DRV_F(start_task_request__unpack), req);
        if (!req->task) {
                call_finish(c, GRPC_STATUS_INVALID_ARGUMENT, "task: missing");
                DRV_F(start_task_request__free_unpacked)(req, NULL);
                return;
        }
        StartBuild b = { 0 };
        SbxError err = { 0 };
        if (start_build(req->task, &shim.config, &b, &err) < 0) {
                hclog_warn("task config rejected", "task_id", req->task->id ?: "", "error", err.msg);
                call_finish(c, err.code == EPERM ? GRPC_STATUS_PERMISSION_DENIED : GRPC_STATUS_INVALID_ARGUMENT, err.msg);
                start_build_free(&b);
                DRV_F(start_task_request__free_unpacked)(req, NULL);
                return;
        }
        Sandboxd__V1__Request r = SANDBOXD__V1__REQUEST__INIT;
        r.op_case = SANDBOXD__V1__REQUEST__OP_START;
        r.start = &b.sr;
        sbx_submit(&r, NULL, 0, 0, start_timeout_ms(), start_done, fwd_new(c, req, free_start_req));
        start_build_free(&b);
}

/* ---- WaitTask */
FREE_FN(free_wait_req, DRV_F(wait_task_request__free_unpacked))

static void exit_result_from(const Sandboxd__V1__ExitResult *e, DRV_T(ExitResult) *r) {
        DRV_F(exit_result__init)(r);
        if (!e)
                return;
        r->exit_code = e->exit_code;
        r->signal = e->signal;
        r->oom_killed = e->oom_killed;
}

static void wait_done(void *ud, const Sandboxd__V1__Response *resp, const SbxError *err) {
        Fwd *f = ud;
        DRV_T(ExitResult) er;
        DRV_T(WaitTaskResponse) r = DRV_K(WAIT_TASK_RESPONSE__INIT);
        exit_result_from(NULL, &er);
        r.result = &er; /* always set: Nomad's client dereferences it */
        if (err) {
                er.exit_code = -1;
                r.err = (char *) err->msg;
        } else if (resp->task && resp->task->exit) {
                exit_result_from(resp->task->exit, &er);
                if (resp->task->exit->error && resp->task->exit->error[0])
                        r.err = resp->task->exit->error;
        }
        call_reply(f->call, &r.base);
        fwd_free(f);
}

static void task_ref_request(Sandboxd__V1__Request *r, Sandboxd__V1__TaskRef *ref, int op, const char *name) {
        sandboxd__v1__request__init(r);
        sandboxd__v1__task_ref__init(ref);
        ref->name = (char *) name;
        r->op_case = op;
        switch (op) {
        case SANDBOXD__V1__REQUEST__OP_WAIT:
                r->wait = ref;
                break;
        case SANDBOXD__V1__REQUEST__OP_INSPECT:
                r->inspect = ref;
                break;
        case SANDBOXD__V1__REQUEST__OP_STATS:
                r->stats = ref;
                break;
        default:
                abort();
        }
}

static void h_wait_task(Call *c, const uint8_t *buf, size_t len) {
        UNPACK(DRV_T(WaitTaskRequest), DRV_F(wait_task_request__unpack), req);
        if (!req->task_id[0]) {
                call_finish(c, GRPC_STATUS_INVALID_ARGUMENT, "task_id: empty");
                DRV_F(wait_task_request__free_unpacked)(req, NULL);
                return;
        }
        Sandboxd__V1__Request r;
        Sandboxd__V1__TaskRef ref;
        task_ref_request(&r, &ref, SANDBOXD__V1__REQUEST__OP_WAIT, req->task_id);
        sbx_submit(&r, NULL, 0, SBX_RESEND, 0, wait_done, fwd_new(c, req, free_wait_req));
}

/* ---- StopTask, DestroyTask, SignalTask: an unknown task is not an error for stop/destroy */
static void ok_unless_error(void *ud, const Sandboxd__V1__Response *resp, const SbxError *err, bool unknown_ok,
                            const ProtobufCMessage *reply) {
        Fwd *f = ud;
        if (err && !(unknown_ok && err->code == ENOENT))
                call_fail_errno(f->call, err->code, err->msg);
        else
                call_reply(f->call, reply);
        fwd_free(f);
}

static void stop_done(void *ud, const Sandboxd__V1__Response *resp, const SbxError *err) {
        DRV_T(StopTaskResponse) r = DRV_K(STOP_TASK_RESPONSE__INIT);
        ok_unless_error(ud, resp, err, true, &r.base);
}

static void h_stop_task(Call *c, const uint8_t *buf, size_t len) {
        UNPACK(DRV_T(StopTaskRequest), DRV_F(stop_task_request__unpack), req);
        Sandboxd__V1__StopRequest s = SANDBOXD__V1__STOP_REQUEST__INIT;
        Sandboxd__V1__Request r = SANDBOXD__V1__REQUEST__INIT;
        uint64_t ms = 5000;
        if (req->timeout && (req->timeout->seconds > 0 || req->timeout->nanos > 0))
                ms = (uint64_t) req->timeout->seconds * 1000 + (uint64_t) req->timeout->nanos / 1000000;
        s.name = req->task_id;
        s.timeout_ms = ms ? ms : 1;
        s.signal = req->signal; /* "" = SIGTERM */
        r.op_case = SANDBOXD__V1__REQUEST__OP_STOP;
        r.stop = &s;
        Fwd *f = fwd_new(c, NULL, NULL);
        sbx_submit(&r, NULL, 0, SBX_RESEND, (int64_t) ms + REQUEST_TIMEOUT_MS, stop_done, f);
        DRV_F(stop_task_request__free_unpacked)(req, NULL);
}

static void destroy_done(void *ud, const Sandboxd__V1__Response *resp, const SbxError *err) {
        DRV_T(DestroyTaskResponse) r = DRV_K(DESTROY_TASK_RESPONSE__INIT);
        ok_unless_error(ud, resp, err, true, &r.base);
}

static void h_destroy_task(Call *c, const uint8_t *buf, size_t len) {
        UNPACK(DRV_T(DestroyTaskRequest), DRV_F(destroy_task_request__unpack), req);
        Sandboxd__V1__DestroyRequest d = SANDBOXD__V1__DESTROY_REQUEST__INIT;
        Sandboxd__V1__Request r = SANDBOXD__V1__REQUEST__INIT;
        d.name = req->task_id;
        d.force = req->force;
        r.op_case = SANDBOXD__V1__REQUEST__OP_DESTROY;
        r.destroy = &d;
        sbx_submit(&r, NULL, 0, SBX_RESEND, REQUEST_TIMEOUT_MS, destroy_done, fwd_new(c, NULL, NULL));
        DRV_F(destroy_task_request__free_unpacked)(req, NULL);
}

static void signal_done(void *ud, const Sandboxd__V1__Response *resp, const SbxError *err) {
        DRV_T(SignalTaskResponse) r = DRV_K(SIGNAL_TASK_RESPONSE__INIT);
        ok_unless_error(ud, resp, err, false, &r.base);
}

static void h_signal_task(Call *c, const uint8_t *buf, size_t len) {
        UNPACK(DRV_T(SignalTaskRequest), DRV_F(signal_task_request__unpack), req);
        Sandboxd__V1__SignalRequest s = SANDBOXD__V1__SIGNAL_REQUEST__INIT;
        Sandboxd__V1__Request r = SANDBOXD__V1__REQUEST__INIT;
        s.name = req->task_id;
        s.signal = req->signal;
        r.op_case = SANDBOXD__V1__REQUEST__OP_SIGNAL;
        r.signal = &s;
        sbx_submit(&r, NULL, 0, 0, REQUEST_TIMEOUT_MS, signal_done, fwd_new(c, NULL, NULL));
        DRV_F(signal_task_request__free_unpacked)(req, NULL);
}

/* ---- RecoverTask: the task must still be known to sandboxd */
static void recover_done(void *ud, const Sandboxd__V1__Response *resp, const SbxError *err) {
        Fwd *f = ud;
        const char *id = f->extra;
        if (err) {
                hclog_warn("cannot recover task", "task_id", id, "error", err->msg);
                call_fail_errno(f->call, err->code, err->msg);
        } else {
                hclog_info("recovered task", "task_id", id);
                DRV_T(RecoverTaskResponse) r = DRV_K(RECOVER_TASK_RESPONSE__INIT);
                call_reply(f->call, &r.base);
        }
        free(f->extra);
        fwd_free(f);
}

static void h_recover_task(Call *c, const uint8_t *buf, size_t len) {
        UNPACK(DRV_T(RecoverTaskRequest), DRV_F(recover_task_request__unpack), req);
        const char *id = task_id(req->task_id, req->handle);
        if (!id) {
                call_finish(c, GRPC_STATUS_INVALID_ARGUMENT, "handle.config.id: missing (no task id to recover)");
                DRV_F(recover_task_request__free_unpacked)(req, NULL);
                return;
        }
        Sandboxd__V1__Request r;
        Sandboxd__V1__TaskRef ref;
        task_ref_request(&r, &ref, SANDBOXD__V1__REQUEST__OP_INSPECT, id);
        Fwd *f = fwd_new(c, NULL, NULL);
        f->extra = xstrdup(id);
        sbx_submit(&r, NULL, 0, SBX_RESEND, REQUEST_TIMEOUT_MS, recover_done, f);
        DRV_F(recover_task_request__free_unpacked)(req, NULL);
}

/* ---- InspectTask */
static void timestamp_from_ns(Google__Protobuf__Timestamp *ts, int64_t ns) {
        google__protobuf__timestamp__init(ts);
        ts->seconds = ns / 1000000000;
        ts->nanos = (int32_t) (ns % 1000000000);
}

static void inspect_done(void *ud, const Sandboxd__V1__Response *resp, const SbxError *err) {
        Fwd *f = ud;
        if (err || !resp->task) {
                call_fail_errno(f->call, err ? err->code : EIO, err ? err->msg : "no task in sandboxd's answer");
                fwd_free(f);
                return;
        }
        const Sandboxd__V1__TaskInfo *ti = resp->task;
        Google__Protobuf__Timestamp started, completed;
        DRV_T(ExitResult) er;
        DRV_T(TaskStatus) st = DRV_K(TASK_STATUS__INIT);
        timestamp_from_ns(&started, ti->started_at_ns);
        timestamp_from_ns(&completed, ti->finished_at_ns);
        exit_result_from(ti->exit, &er);
        st.id = ti->name;
        st.name = ti->nomad && ti->nomad->task_name[0] ? ti->nomad->task_name : ti->name;
        st.state = ti->state == SANDBOXD__V1__TASK_STATE__TASK_STATE_EXITED ? DRV_K(TASK_STATE__EXITED)
                   : ti->state == SANDBOXD__V1__TASK_STATE__TASK_STATE_UNKNOWN ? DRV_K(TASK_STATE__UNKNOWN)
                                                                               : DRV_K(TASK_STATE__RUNNING);
        st.started_at = &started;
        st.completed_at = &completed; /* always set: Nomad's converter needs all three */
        st.result = &er;

        char pid[16], uid[16], abi[16];
        snprintf(pid, sizeof pid, "%d", ti->pid);
        snprintf(uid, sizeof uid, "%u", ti->uid);
        snprintf(abi, sizeof abi, "%d", ti->landlock_abi);
        const char *kv[][2] = {
                { "pid", pid }, { "user", ti->user }, { "uid", uid }, { "net", ti->net }, { "cgroup", ti->cgroup },
                { "promises", ti->has_promises ? ti->promises : "(no syscall filter)" }, { "landlock_abi", abi },
        };
        DRV_T(TaskDriverStatus__AttributesEntry) e[ELEMENTSOF(kv)], *ep[ELEMENTSOF(kv)];
        for (size_t i = 0; i < ELEMENTSOF(kv); i++) {
                DRV_F(task_driver_status__attributes_entry__init)(&e[i]);
                e[i].key = (char *) kv[i][0];
                e[i].value = (char *) kv[i][1];
                ep[i] = &e[i];
        }
        DRV_T(TaskDriverStatus) ds = DRV_K(TASK_DRIVER_STATUS__INIT);
        ds.n_attributes = ELEMENTSOF(kv);
        ds.attributes = ep;
        DRV_T(InspectTaskResponse) r = DRV_K(INSPECT_TASK_RESPONSE__INIT);
        r.task = &st;
        r.driver = &ds;
        call_reply(f->call, &r.base);
        fwd_free(f);
}

static void h_inspect_task(Call *c, const uint8_t *buf, size_t len) {
        UNPACK(DRV_T(InspectTaskRequest), DRV_F(inspect_task_request__unpack), req);
        Sandboxd__V1__Request r;
        Sandboxd__V1__TaskRef ref;
        task_ref_request(&r, &ref, SANDBOXD__V1__REQUEST__OP_INSPECT, req->task_id);
        sbx_submit(&r, NULL, 0, SBX_RESEND, REQUEST_TIMEOUT_MS, inspect_done, fwd_new(c, NULL, NULL));
        DRV_F(inspect_task_request__free_unpacked)(req, NULL);
}

/* ---- TaskStats: one sample per collection interval until Nomad closes the stream */
typedef struct StatsStream {
        Call *call;
        char *name;
        Timer timer;
        int64_t interval_ms;
        bool have_prev, inflight;
        uint64_t prev_usage_us, prev_user_us, prev_system_us;
        int64_t prev_ns;
} StatsStream;

static void stats_closed(Call *c) {
        StatsStream *s = c->data;
        timer_cancel(&s->timer);
        if (s->inflight) { /* the answer will find the call closed and free the stream */
                c->on_close = NULL;
                return;
        }
        c->data = NULL;
        free(s->name);
        free(s);
        call_unref(c);
}

static bool measured(const Sandboxd__V1__TaskStats *st, const char *what) {
        for (size_t i = 0; i < st->n_measured; i++)
                if (streq(st->measured[i], what))
                        return true;
        return false;
}

static void stats_tick(void *ud);

static void stats_done(void *ud, const Sandboxd__V1__Response *resp, const SbxError *err) {
        StatsStream *s = ud;
        Call *c = s->call;
        s->inflight = false;
        if (!call_open(c)) {
                c->data = NULL;
                free(s->name);
                free(s);
                call_unref(c);
                return;
        }
        if (err) {
                if (err->code == ECONNRESET || err->code == ETIMEDOUT) { /* sandboxd restarting: skip a sample */
                        timer_arm(&s->timer, s->interval_ms);
                        return;
                }
                call_fail_errno(c, err->code, err->msg);
                return; /* stats_closed frees the stream */
        }
        const Sandboxd__V1__TaskStats *st = resp->stats;
        DRV_T(CPUUsage) cpu = DRV_K(CPUUSAGE__INIT);
        DRV_T(MemoryUsage) mem = DRV_K(MEMORY_USAGE__INIT);
        DRV_T(CPUUsage__Fields) cf[8];
        DRV_T(MemoryUsage__Fields) mf[8];
        size_t ncf = 0, nmf = 0;
        if (st) {
                int64_t ts = st->timestamp_ns ? st->timestamp_ns : now_ns_realtime();
                if (measured(st, "Percent")) {
                        if (s->have_prev && ts > s->prev_ns) {
                                double wall_us = (double) (ts - s->prev_ns) / 1000.0;
                                cpu.percent = 100.0 * (double) (st->cpu_usage_us - s->prev_usage_us) / wall_us;
                                cpu.user_mode = 100.0 * (double) (st->cpu_user_us - s->prev_user_us) / wall_us;
                                cpu.system_mode = 100.0 * (double) (st->cpu_system_us - s->prev_system_us) / wall_us;
                                if (shim.cpu_total_mhz > 0 && shim.cpu_cores > 0) {
                                        /* ticks = share of the node's compute, in MHz, as Nomad counts it */
                                        cpu.total_ticks = cpu.percent / 100.0 * shim.cpu_total_mhz / (double) shim.cpu_cores;
                                        cf[ncf++] = DRV_K(CPUUSAGE__FIELDS__TOTAL_TICKS);
                                }
                        }
                        s->have_prev = true;
                        s->prev_usage_us = st->cpu_usage_us;
                        s->prev_user_us = st->cpu_user_us;
                        s->prev_system_us = st->cpu_system_us;
                        s->prev_ns = ts;
                        cf[ncf++] = DRV_K(CPUUSAGE__FIELDS__PERCENT);
                        cf[ncf++] = DRV_K(CPUUSAGE__FIELDS__USER_MODE);
                        cf[ncf++] = DRV_K(CPUUSAGE__FIELDS__SYSTEM_MODE);
                }
                if (measured(st, "Throttled Periods")) {
                        cpu.throttled_periods = st->throttled_periods;
                        cpu.throttled_time = st->throttled_us * 1000; /* ns */
                        cf[ncf++] = DRV_K(CPUUSAGE__FIELDS__THROTTLED_PERIODS);
                        cf[ncf++] = DRV_K(CPUUSAGE__FIELDS__THROTTLED_TIME);
                }
                if (measured(st, "RSS")) {
                        mem.rss = st->memory_rss;
                        mem.cache = st->memory_cache;
                        mem.usage = st->memory_current;
                        mf[nmf++] = DRV_K(MEMORY_USAGE__FIELDS__RSS);
                        mf[nmf++] = DRV_K(MEMORY_USAGE__FIELDS__CACHE);
                        mf[nmf++] = DRV_K(MEMORY_USAGE__FIELDS__USAGE);
                }
                if (measured(st, "Swap")) {
                        mem.swap = st->memory_swap;
                        mf[nmf++] = DRV_K(MEMORY_USAGE__FIELDS__SWAP);
                }
                if (measured(st, "Max Usage")) {
                        mem.max_usage = st->memory_peak;
                        mf[nmf++] = DRV_K(MEMORY_USAGE__FIELDS__MAX_USAGE);
                }
        }
        cpu.n_measured_fields = ncf;
        cpu.measured_fields = cf;
        mem.n_measured_fields = nmf;
        mem.measured_fields = mf;
        DRV_T(TaskResourceUsage) agg = DRV_K(TASK_RESOURCE_USAGE__INIT);
        agg.cpu = &cpu;
        agg.memory = &mem;
        Google__Protobuf__Timestamp ts;
        timestamp_from_ns(&ts, st && st->timestamp_ns ? st->timestamp_ns : now_ns_realtime());
        DRV_T(TaskStats) ts_msg = DRV_K(TASK_STATS__INIT);
        ts_msg.id = s->name;
        ts_msg.timestamp = &ts;            /* required by Nomad */
        ts_msg.agg_resource_usage = &agg;  /* required by Nomad */
        DRV_T(TaskStatsResponse) r = DRV_K(TASK_STATS_RESPONSE__INIT);
        r.stats = &ts_msg;
        call_send(c, &r.base);
        timer_arm(&s->timer, s->interval_ms);
}

static void stats_tick(void *ud) {
        StatsStream *s = ud;
        if (!call_open(s->call) || s->inflight)
                return;
        Sandboxd__V1__Request r;
        Sandboxd__V1__TaskRef ref;
        task_ref_request(&r, &ref, SANDBOXD__V1__REQUEST__OP_STATS, s->name);
        s->inflight = true;
        sbx_submit(&r, NULL, 0, 0, REQUEST_TIMEOUT_MS, stats_done, s);
}

static void h_task_stats(Call *c, const uint8_t *buf, size_t len) {
        UNPACK(DRV_T(TaskStatsRequest), DRV_F(task_stats_request__unpack), req);
        StatsStream *s = xcalloc(1, sizeof *s);
        s->call = c;
        s->name = xstrdup(req->task_id);
        s->interval_ms = 1000;
        if (req->collection_interval) {
                int64_t ms = req->collection_interval->seconds * 1000 + req->collection_interval->nanos / 1000000;
                if (ms > 0)
                        s->interval_ms = ms < 100 ? 100 : ms;
        }
        s->timer = (Timer) { 0, stats_tick, s };
        call_ref(c);
        c->data = s;
        c->on_close = stats_closed;
        DRV_F(task_stats_request__free_unpacked)(req, NULL);
        stats_tick(s);
}

/* ---- CreateNetwork/DestroyNetwork: Nomad creates group networks for this driver */
static void h_create_network(Call *c, const uint8_t *buf, size_t len) {
        call_finish(c, GRPC_STATUS_FAILED_PRECONDITION,
                    "this driver does not create networks (must_create_network is false): Nomad creates the group network");
}

static void h_destroy_network(Call *c, const uint8_t *buf, size_t len) {
        DRV_T(DestroyNetworkResponse) r = DRV_K(DESTROY_NETWORK_RESPONSE__INIT);
        call_reply(c, &r.base);
}

/* ---- go-plugin and gRPC housekeeping */
static void h_health_check(Call *c, const uint8_t *buf, size_t len) {
        Grpc__Health__V1__HealthCheckRequest *req = grpc__health__v1__health_check_request__unpack(NULL, len, buf);
        if (!req) {
                call_finish(c, GRPC_STATUS_INVALID_ARGUMENT, "the request message does not decode");
                return;
        }
        bool known = !req->service[0] || streq(req->service, "plugin");
        grpc__health__v1__health_check_request__free_unpacked(req, NULL);
        if (!known) {
                call_finish(c, GRPC_STATUS_NOT_FOUND, "unknown service");
                return;
        }
        Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
        r.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        call_reply(c, &r.base);
}

static void h_shutdown(Call *c, const uint8_t *buf, size_t len) {
        Plugin__Empty r = PLUGIN__EMPTY__INIT;
        c->exit_after_status = true; /* tasks live in sandboxd: nothing to stop here */
        call_reply(c, &r.base);
}

static const struct {
        const char *method;
        Handler h;
        bool client_streaming;
} handlers[] = {
        { "/hashicorp.nomad.plugins.base.proto.BasePlugin/PluginInfo", h_plugin_info, false },
        { "/hashicorp.nomad.plugins.base.proto.BasePlugin/ConfigSchema", h_config_schema, false },
        { "/hashicorp.nomad.plugins.base.proto.BasePlugin/SetConfig", h_set_config, false },
        { "/hashicorp.nomad.plugins.drivers.proto.Driver/TaskConfigSchema", h_task_config_schema, false },
        { "/hashicorp.nomad.plugins.drivers.proto.Driver/Capabilities", h_capabilities, false },
        { "/hashicorp.nomad.plugins.drivers.proto.Driver/Fingerprint", h_fingerprint, false },
        { "/hashicorp.nomad.plugins.drivers.proto.Driver/RecoverTask", h_recover_task, false },
        { "/hashicorp.nomad.plugins.drivers.proto.Driver/StartTask", h_start_task, false },
        { "/hashicorp.nomad.plugins.drivers.proto.Driver/WaitTask", h_wait_task, false },
        { "/hashicorp.nomad.plugins.drivers.proto.Driver/StopTask", h_stop_task, false },
        { "/hashicorp.nomad.plugins.drivers.proto.Driver/DestroyTask", h_destroy_task, false },
        { "/hashicorp.nomad.plugins.drivers.proto.Driver/InspectTask", h_inspect_task, false },
        { "/hashicorp.nomad.plugins.drivers.proto.Driver/TaskStats", h_task_stats, false },
        { "/hashicorp.nomad.plugins.drivers.proto.Driver/TaskEvents", h_task_events, false },
        { "/hashicorp.nomad.plugins.drivers.proto.Driver/SignalTask", h_signal_task, false },
        { "/hashicorp.nomad.plugins.drivers.proto.Driver/ExecTask", exec_task, false },
        { "/hashicorp.nomad.plugins.drivers.proto.Driver/ExecTaskStreaming", exec_task_streaming, true },
        { "/hashicorp.nomad.plugins.drivers.proto.Driver/CreateNetwork", h_create_network, false },
        { "/hashicorp.nomad.plugins.drivers.proto.Driver/DestroyNetwork", h_destroy_network, false },
        { "/grpc.health.v1.Health/Check", h_health_check, false },
        { "/plugin.GRPCController/Shutdown", h_shutdown, false },
};

Handler driver_handler(const char *method, bool *client_streaming) {
        for (size_t i = 0; i < ELEMENTSOF(handlers); i++)
                if (streq(handlers[i].method, method)) {
                        *client_streaming = handlers[i].client_streaming;
                        return handlers[i].h;
                }
        *client_streaming = false;
        return NULL;
}
