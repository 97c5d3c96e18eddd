/* SPDX-License-Identifier: MIT */
/* sandboxctl's verbs that talk to sandboxd (list, inspect, stats, wait, stop, signal, destroy,
 * start, exec): the daemon's socket, the request, the answer printed or as JSON. */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>

#include "client.h"
#include "config.h"
#include "macro.h"
#include "sandboxctl.h"
#include "util.h"

#define EXIT_UNKNOWN 3 /* start: the request went out, no answer came back */

const char *arg_socket = SANDBOXD_SOCKET;
const char *arg_driver = "";
bool arg_json;
static bool arg_quiet;
static bool arg_force;
static const char *arg_timeout;
static const char *arg_signal;

enum {
        ARG_SOCKET = 0x200,
        ARG_DRIVER,
        ARG_JSON,
        ARG_NAME,
        ARG_FORCE,
        ARG_TIMEOUT,
        ARG_SIGNAL,
};

static const struct option common_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "quiet", no_argument, NULL, 'q' },
        { "socket", required_argument, NULL, ARG_SOCKET },
        { "driver", required_argument, NULL, ARG_DRIVER },
        { "json", no_argument, NULL, ARG_JSON },
        { "force", no_argument, NULL, ARG_FORCE },
        { "timeout", required_argument, NULL, ARG_TIMEOUT },
        { "signal", required_argument, NULL, ARG_SIGNAL },
        {}
};

int parse_duration_ms(const char *s, double *ret) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || end == s || v < 0)
                return -EINVAL;
        double mult = 1000;
        if (streq(end, "ms"))
                mult = 1;
        else if (streq(end, "s") || !*end)
                mult = 1000;
        else if (streq(end, "m"))
                mult = 60000;
        else if (streq(end, "h"))
                mult = 3600000;
        else
                return -EINVAL;
        *ret = v * mult;
        return 0;
}

static int connect_daemon(SandboxdClient *c) {
        SbxError err = {};
        int r = sandboxd_connect(arg_socket, arg_driver, "sandboxctl/" PACKAGE_VERSION, c, &err);
        if (r < 0)
                error_line("%s", err.msg);
        return r;
}

static const char *state_name(int st) {
        switch (st) {
        case SANDBOXD__V1__TASK_STATE__TASK_STATE_STARTING:
                return "starting";
        case SANDBOXD__V1__TASK_STATE__TASK_STATE_RUNNING:
                return "running";
        case SANDBOXD__V1__TASK_STATE__TASK_STATE_EXITED:
                return "exited";
        default:
                return "unknown";
        }
}

static json_object *strv_json(char **v, size_t n) {
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < n; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        return a;
}

static json_object *task_json(const Sandboxd__V1__TaskInfo *t) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(t->name));
        json_object_object_add(o, "driver", json_object_new_string(t->driver));
        json_object_object_add(o, "state", json_object_new_string(state_name(t->state)));
        json_object_object_add(o, "pid", json_object_new_int(t->pid));
        json_object_object_add(o, "started_at_ns", json_object_new_int64(t->started_at_ns));
        json_object_object_add(o, "finished_at_ns", json_object_new_int64(t->finished_at_ns));
        json_object_object_add(o, "user", json_object_new_string(t->user));
        json_object_object_add(o, "uid", json_object_new_int64(t->uid));
        json_object_object_add(o, "gid", json_object_new_int64(t->gid));
        json_object_object_add(o, "argv", strv_json(t->argv, t->n_argv));
        json_object_object_add(o, "promises", t->has_promises ? json_object_new_string(t->promises) : NULL);
        json_object_object_add(o, "unveil", strv_json(t->unveil, t->n_unveil));
        json_object_object_add(o, "net", json_object_new_string(t->net));
        json_object_object_add(o, "cgroup", json_object_new_string(t->cgroup));
        json_object_object_add(o, "landlock_abi", json_object_new_int(t->landlock_abi));
        if (t->nomad && t->nomad->alloc_id[0]) {
                json_object *n = json_object_new_object();
                json_object_object_add(n, "alloc_id", json_object_new_string(t->nomad->alloc_id));
                json_object_object_add(n, "task_name", json_object_new_string(t->nomad->task_name));
                json_object_object_add(n, "job_id", json_object_new_string(t->nomad->job_id));
                json_object_object_add(n, "namespace", json_object_new_string(t->nomad->namespace_));
                json_object_object_add(n, "task_group", json_object_new_string(t->nomad->task_group));
                json_object_object_add(o, "nomad", n);
        }
        if (t->exit) {
                json_object *e = json_object_new_object();
                json_object_object_add(e, "exit_code", json_object_new_int(t->exit->exit_code));
                json_object_object_add(e, "signal", json_object_new_int(t->exit->signal));
                json_object_object_add(e, "oom_killed", json_object_new_boolean(t->exit->oom_killed));
                json_object_object_add(e, "error", t->exit->error[0] ? json_object_new_string(t->exit->error) : NULL);
                json_object_object_add(o, "exit", e);
        }
        if (t->n_denials) {
                json_object *d = json_object_new_array();
                for (size_t i = 0; i < t->n_denials; i++) {
                        const Sandboxd__V1__Denial *x = t->denials[i];
                        json_object *j = json_object_new_object();
                        json_object_object_add(j, "time_ns", json_object_new_int64(x->time_ns));
                        json_object_object_add(j, "message", json_object_new_string(x->message));
                        json_object_object_add(j, "syscall", json_object_new_string(x->syscall));
                        json_object_object_add(j, "promises", strv_json(x->promises, x->n_promises));
                        json_object_object_add(j, "pid", json_object_new_int(x->pid));
                        json_object_object_add(j, "comm", json_object_new_string(x->comm));
                        json_object_object_add(j, "exec_session", json_object_new_boolean(x->exec_session));
                        json_object_array_add(d, j);
                }
                json_object_object_add(o, "denials", d);
        }
        return o;
}

static void print_json(json_object *o) {
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
}

static void print_task(const Sandboxd__V1__TaskInfo *t) {
        if (arg_json) {
                print_json(task_json(t));
                return;
        }
        printf("name:      %s\n", t->name);
        printf("driver:    %s\n", t->driver[0] ? t->driver : "-");
        printf("state:     %s\n", state_name(t->state));
        printf("pid:       %d (sandbox init)\n", t->pid);
        printf("user:      %s (uid %u, gid %u)\n", t->user, t->uid, t->gid);
        printf("command:  ");
        for (size_t i = 0; i < t->n_argv; i++)
                printf(" %s", t->argv[i]);
        printf("\n");
        printf("promises:  %s\n", t->has_promises ? t->promises : "(none: no syscall filter)");
        for (size_t i = 0; i < t->n_unveil; i++)
                printf("unveil:    %s\n", t->unveil[i]);
        printf("network:   %s\n", t->net);
        printf("cgroup:    %s\n", t->cgroup[0] ? t->cgroup : "-");
        printf("landlock:  ABI %d\n", t->landlock_abi);
        if (t->nomad && t->nomad->alloc_id[0])
                printf("nomad:     alloc %s task %s job %s namespace %s\n", t->nomad->alloc_id, t->nomad->task_name,
                       t->nomad->job_id, t->nomad->namespace_);
        if (t->exit) {
                printf("exit code: %d%s\n", t->exit->exit_code, t->exit->oom_killed ? " (OOM killed)" : "");
                if (t->exit->signal)
                        printf("signal:    %d (%s)\n", t->exit->signal, sigabbrev_np(t->exit->signal) ?: "?");
                if (t->exit->error[0])
                        printf("error:     %s\n", t->exit->error);
        }
        for (size_t i = 0; i < t->n_denials; i++)
                printf("denied:    %s%s\n", t->denials[i]->message, t->denials[i]->exec_session ? " (exec session)" : "");
}

/* Parses the daemon commands' common options; returns the index of the first operand or -exit. */
static int parse_common(int argc, char **argv, const char *allowed) {
        int c;
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "hq", common_options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help_verb(argv[0]);
                        return -0x100;
                case ARG_SOCKET:
                        arg_socket = optarg;
                        break;
                case ARG_DRIVER:
                        arg_driver = optarg;
                        break;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case 'q':
                case ARG_FORCE:
                case ARG_TIMEOUT:
                case ARG_SIGNAL: {
                        const char *name = c == 'q'           ? "quiet"
                                           : c == ARG_FORCE   ? "force"
                                           : c == ARG_TIMEOUT ? "timeout"
                                                              : "signal";
                        if (!strstr(allowed, name)) {
                                error_line("%s: --%s is not an option of this command", argv[0], name);
                                return -EXIT_USAGE;
                        }
                        if (c == 'q')
                                arg_quiet = true;
                        else if (c == ARG_FORCE)
                                arg_force = true;
                        else if (c == ARG_TIMEOUT)
                                arg_timeout = optarg;
                        else
                                arg_signal = optarg;
                        break;
                }
                default:
                        error_line("%s: %s: unknown option", argv[0], argv[optind - 1]);
                        return -EXIT_USAGE;
                }
        }
        return optind;
}

static int call(SandboxdClient *c, Sandboxd__V1__Request *req, const int *fds, size_t n_fds, Frame **ret) {
        SbxError err = {};
        int r = sandboxd_call(c, req, fds, n_fds, ret, &err);
        if (r < 0)
                error_line("%s", err.msg);
        return r;
}

int verb_simple(int argc, char **argv) {
        const char *verb = argv[0];
        bool needs_name = !streq(verb, "list");
        const char *allowed = streq(verb, "stop")      ? "timeout signal"
                              : streq(verb, "destroy") ? "force"
                              : streq(verb, "list")    ? "quiet"
                                                       : "";
        int i = parse_common(argc, argv, allowed);
        if (i < 0)
                return i == -0x100 ? 0 : -i;
        int want = needs_name ? (streq(verb, "signal") ? 2 : 1) : 0;
        if (argc - i != want) {
                error_line("%s: expected %s", verb,
                           want == 0 ? "no arguments" : want == 1 ? "a task name" : "a task name and a signal");
                return EXIT_USAGE;
        }
        const char *name = want ? argv[i] : NULL;

        Sandboxd__V1__Request req = SANDBOXD__V1__REQUEST__INIT;
        Sandboxd__V1__TaskRef ref = SANDBOXD__V1__TASK_REF__INIT;
        Sandboxd__V1__StopRequest stop = SANDBOXD__V1__STOP_REQUEST__INIT;
        Sandboxd__V1__DestroyRequest destroy = SANDBOXD__V1__DESTROY_REQUEST__INIT;
        Sandboxd__V1__SignalRequest sig = SANDBOXD__V1__SIGNAL_REQUEST__INIT;
        Sandboxd__V1__ListRequest list = SANDBOXD__V1__LIST_REQUEST__INIT;
        ref.name = (char *) (name ? name : "");

        if (streq(verb, "wait")) {
                req.op_case = SANDBOXD__V1__REQUEST__OP_WAIT;
                req.wait = &ref;
        } else if (streq(verb, "inspect")) {
                req.op_case = SANDBOXD__V1__REQUEST__OP_INSPECT;
                req.inspect = &ref;
        } else if (streq(verb, "stats")) {
                req.op_case = SANDBOXD__V1__REQUEST__OP_STATS;
                req.stats = &ref;
        } else if (streq(verb, "list")) {
                req.op_case = SANDBOXD__V1__REQUEST__OP_LIST;
                req.list = &list;
        } else if (streq(verb, "signal")) {
                sig.name = ref.name;
                sig.signal = argv[i + 1];
                req.op_case = SANDBOXD__V1__REQUEST__OP_SIGNAL;
                req.signal = &sig;
        } else if (streq(verb, "stop")) {
                stop.name = ref.name;
                double ms;
                if (arg_timeout && parse_duration_ms(arg_timeout, &ms) < 0) {
                        error_line("stop: --timeout: '%s': expected a duration like 5s, 500ms, 2m", arg_timeout);
                        return EXIT_USAGE;
                }
                if (arg_timeout)
                        stop.timeout_ms = (uint64_t) ms;
                stop.signal = (char *) (arg_signal ? arg_signal : "");
                req.op_case = SANDBOXD__V1__REQUEST__OP_STOP;
                req.stop = &stop;
        } else {
                destroy.name = ref.name;
                destroy.force = arg_force;
                req.op_case = SANDBOXD__V1__REQUEST__OP_DESTROY;
                req.destroy = &destroy;
        }

        SandboxdClient c;
        if (connect_daemon(&c) < 0)
                return 1;
        Frame *f = NULL;
        int r = call(&c, &req, NULL, 0, &f);
        /* list: the daemon answers in pages sorted by name; ask for the rest after the last name */
        Frame **pages = NULL;
        size_t n_pages = 0;
        while (r >= 0 && streq(verb, "list") && f->response->list && f->response->list->more &&
               f->response->list->n_tasks > 0) {
                Sandboxd__V1__TaskList *l = f->response->list;
                pages = xrealloc(pages, (n_pages + 1) * sizeof(*pages));
                pages[n_pages++] = f;
                list.after = l->tasks[l->n_tasks - 1]->name;
                f = NULL;
                r = call(&c, &req, NULL, 0, &f);
        }
        sandboxd_disconnect(&c);
        if (r < 0) {
                for (size_t k = 0; k < n_pages; k++)
                        frame_free(pages[k]);
                free(pages);
                return 1;
        }
        if (streq(verb, "list")) {
                pages = xrealloc(pages, (n_pages + 1) * sizeof(*pages));
                pages[n_pages++] = f;
                f = NULL;
        }

        Sandboxd__V1__Response *resp = f ? f->response : NULL;
        int code = 0;
        if (streq(verb, "list")) {
                if (arg_json) {
                        json_object *a = json_object_new_array();
                        for (size_t p = 0; p < n_pages; p++) {
                                Sandboxd__V1__TaskList *l = pages[p]->response->list;
                                for (size_t k = 0; l && k < l->n_tasks; k++)
                                        json_object_array_add(a, task_json(l->tasks[k]));
                        }
                        print_json(a);
                } else if (arg_quiet) {
                        /* One name per line (names are printable, no newline): for scripts. */
                        for (size_t p = 0; p < n_pages; p++) {
                                Sandboxd__V1__TaskList *l = pages[p]->response->list;
                                for (size_t k = 0; l && k < l->n_tasks; k++)
                                        printf("%s\n", l->tasks[k]->name);
                        }
                } else {
                        printf("%-36s %-9s %8s %5s %-10s %-12s %s\n", "NAME", "STATE", "PID", "EXIT", "DRIVER", "USER",
                               "COMMAND");
                        for (size_t p = 0; p < n_pages; p++) {
                                Sandboxd__V1__TaskList *l = pages[p]->response->list;
                                for (size_t k = 0; l && k < l->n_tasks; k++) {
                                        Sandboxd__V1__TaskInfo *t = l->tasks[k];
                                        char exitbuf[16] = "-";
                                        if (t->exit)
                                                snprintf(exitbuf, sizeof(exitbuf), "%d", t->exit->exit_code);
                                        printf("%-36s %-9s %8d %5s %-10s %-12s %s\n", t->name, state_name(t->state),
                                               t->pid, exitbuf, t->driver[0] ? t->driver : "-", t->user,
                                               t->n_argv ? t->argv[0] : "");
                                }
                        }
                }
        } else if (streq(verb, "stats")) {
                Sandboxd__V1__TaskStats *st = resp->stats;
                if (arg_json) {
                        json_object *o = json_object_new_object();
                        json_object_object_add(o, "name", json_object_new_string(st->name));
                        json_object_object_add(o, "timestamp_ns", json_object_new_int64(st->timestamp_ns));
                        json_object_object_add(o, "cpu_user_us", json_object_new_uint64(st->cpu_user_us));
                        json_object_object_add(o, "cpu_system_us", json_object_new_uint64(st->cpu_system_us));
                        json_object_object_add(o, "cpu_usage_us", json_object_new_uint64(st->cpu_usage_us));
                        json_object_object_add(o, "throttled_periods", json_object_new_uint64(st->throttled_periods));
                        json_object_object_add(o, "throttled_us", json_object_new_uint64(st->throttled_us));
                        json_object_object_add(o, "memory_current", json_object_new_uint64(st->memory_current));
                        json_object_object_add(o, "memory_rss", json_object_new_uint64(st->memory_rss));
                        json_object_object_add(o, "memory_cache", json_object_new_uint64(st->memory_cache));
                        json_object_object_add(o, "memory_swap", json_object_new_uint64(st->memory_swap));
                        json_object_object_add(o, "memory_peak", json_object_new_uint64(st->memory_peak));
                        json_object_object_add(o, "pids_current", json_object_new_uint64(st->pids_current));
                        json_object_object_add(o, "measured", strv_json(st->measured, st->n_measured));
                        print_json(o);
                } else {
                        printf("cpu:     user %.3fs system %.3fs total %.3fs, throttled %" PRIu64 " periods (%.3fs)\n",
                               st->cpu_user_us / 1e6, st->cpu_system_us / 1e6, st->cpu_usage_us / 1e6,
                               st->throttled_periods, st->throttled_us / 1e6);
                        printf("memory:  current %" PRIu64 " rss %" PRIu64 " cache %" PRIu64 " swap %" PRIu64
                               " peak %" PRIu64 " bytes\n",
                               st->memory_current, st->memory_rss, st->memory_cache, st->memory_swap, st->memory_peak);
                        printf("pids:    %" PRIu64 "\n", st->pids_current);
                        printf("measured:");
                        for (size_t k = 0; k < st->n_measured; k++)
                                printf(" %s", st->measured[k]);
                        printf("%s\n", st->n_measured ? "" : " nothing (no cgroup controllers)");
                }
        } else if (streq(verb, "wait")) {
                Sandboxd__V1__TaskInfo *t = resp->task;
                if (arg_json)
                        print_json(task_json(t));
                if (t->exit) {
                        if (t->exit->error[0] && !arg_json)
                                error_line("%s: %s", t->name, t->exit->error);
                        code = t->exit->exit_code < 0 ? 255 : t->exit->exit_code;
                }
        } else if (streq(verb, "inspect") || arg_json)
                print_task(resp->task);
        frame_free(f);
        for (size_t p = 0; p < n_pages; p++)
                frame_free(pages[p]);
        free(pages);
        return code;
}

/* "64M", "1G", "4096": bytes. */
static int parse_size(const char *s, uint64_t *ret) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s || s[0] == '-')
                return -EINVAL;
        uint64_t mul = 1;
        switch (*end) {
        case 0:
                break;
        case 'k': case 'K':
                mul = UINT64_C(1) << 10;
                break;
        case 'm': case 'M':
                mul = UINT64_C(1) << 20;
                break;
        case 'g': case 'G':
                mul = UINT64_C(1) << 30;
                break;
        case 't': case 'T':
                mul = UINT64_C(1) << 40;
                break;
        default:
                return -EINVAL;
        }
        if (*end && end[1] && !(strchr("iI", end[1]) && !end[2]) && !(strchr("bB", end[1]) && !end[2]))
                return -EINVAL;
        if (v == 0 || v > UINT64_MAX / mul)
                return -ERANGE;
        *ret = v * mul;
        return 0;
}

int parse_resource(const char *opt, const char *v, Sandboxd__V1__Resources *res) {
        char *end;
        unsigned long long n;
        if (streq(opt, "--memory-max") || streq(opt, "--memory-low")) {
                uint64_t b;
                if (parse_size(v, &b) < 0) {
                        error_line("%s: '%s': expected a size in bytes, e.g. 268435456, 256M or 1G", opt, v);
                        return -EINVAL;
                }
                if (streq(opt, "--memory-max"))
                        res->memory_max_bytes = b;
                else
                        res->memory_low_bytes = b;
        } else if (streq(opt, "--cpu-weight")) {
                errno = 0;
                n = strtoull(v, &end, 10);
                if (errno || *end || v[0] == '-' || n < 1 || n > 10000) {
                        error_line("%s: '%s': expected 1 to 10000", opt, v);
                        return -EINVAL;
                }
                res->cpu_weight = n;
        } else if (streq(opt, "--cpu-quota")) {
                errno = 0;
                n = strtoull(v, &end, 10);
                if (errno || v[0] == '-' || end == v || (*end && !streq(end, "%")) || n < 1 || n > 100000) {
                        error_line("%s: '%s': expected a percentage of one CPU, e.g. 50%% or 200%%", opt, v);
                        return -EINVAL;
                }
                res->cpu_period_us = 100000;
                res->cpu_quota_us = n * 1000;
        } else if (streq(opt, "--allowed-cpus")) {
                if (!v[0] || strlen(v) > 255 || strspn(v, "0123456789,-") != strlen(v)) {
                        error_line("%s: '%s': expected a CPU list, e.g. 0-1,3", opt, v);
                        return -EINVAL;
                }
                res->allowed_cpus = (char *) v;
        } else if (streq(opt, "--tasks-max")) {
                errno = 0;
                n = strtoull(v, &end, 10);
                if (errno || *end || v[0] == '-' || n < 1) {
                        error_line("%s: '%s': expected a positive number", opt, v);
                        return -EINVAL;
                }
                res->tasks_max = n;
        } else
                return 0;
        return 1;
}

/* The StartRequest's mounts from start's --mount SOURCE:TARGET[:ro|rw] (checked by the parser) */
static Sandboxd__V1__Mount **start_mounts(char **specs, size_t *ret_n) {
        size_t n = strv_length(specs);
        Sandboxd__V1__Mount **mounts = n ? xcalloc(n, sizeof(*mounts)) : NULL;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *copy = xstrdup(specs[i]);
                char *t = strchr(copy, ':'), *m;
                *t++ = 0;
                m = strchr(t, ':');
                if (m)
                        *m++ = 0;
                mounts[i] = xmalloc(sizeof(**mounts));
                sandboxd__v1__mount__init(mounts[i]);
                mounts[i]->source = xstrdup(copy);
                mounts[i]->target = xstrdup(t);
                mounts[i]->readonly = !(m && streq(m, "rw"));
        }
        *ret_n = n;
        return mounts;
}

int verb_start(int argc, char **argv) {
        /* Declared before any goto: their cleanups run on every path. */
        _cleanup_close_ int in_fd = -1, out_fd = -1, err_fd = -1;
        Sandboxd__V1__NomadMeta nomad = SANDBOXD__V1__NOMAD_META__INIT;
        RunArgs a = {};
        SbxError err = {};
        int r, code = 0;

        /* One pass over the options: the run parser checks what it can locally, so usage errors
         * read as for `run`, and keeps the values as written for sandboxd (StartArgs). */
        sandbox_spec_init(&a.spec);
        a.for_daemon = true;
        r = parse_run_args(argc, argv, &a);
        if (r != 0) {
                code = r < 0 ? 0 : r;
                goto finish;
        }
        const StartArgs *st = &a.start;
        const char *name = st->name;
        if (!name) {
                error_line("start: --name NAME is required");
                code = EXIT_USAGE;
                goto finish;
        }

        Sandboxd__V1__StartRequest sr = SANDBOXD__V1__START_REQUEST__INIT;
        char **env = strv_copy(a.env_extra);
        size_t n_mounts = 0;
        Sandboxd__V1__Mount **mounts = start_mounts(st->mounts, &n_mounts);
        static char resolv[SPEC_RESOLV_CONF_MAX + 1];
        resolv[0] = 0;
        if (a.resolv_conf) {
                _cleanup_close_ int rfd = open(a.resolv_conf, O_RDONLY | O_CLOEXEC);
                ssize_t n = rfd < 0 ? -1 : read(rfd, resolv, sizeof(resolv) - 1);
                if (n < 0) {
                        error_line("--resolv-conf: '%s': %s", a.resolv_conf, strerror(errno));
                        code = EXIT_SETUP;
                        goto done;
                }
                resolv[n] = 0;
        }
        /* The task's working directory: --cwd, else "/" (the caller's directory may not even
         * exist in the task's view, e.g. under its private /tmp). */
        if (!env)
                env = xcalloc(1, sizeof(char *));
        strv_push(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        sr.name = (char *) name;
        sr.n_argv = strv_length(a.spec.argv);
        sr.argv = a.spec.argv;
        sr.n_env = strv_length(env);
        sr.env = env;
        sr.cwd = (char *) (st->cwd ?: "/");
        sr.user = (char *) (st->user ?: "");
        sr.has_promises = st->promises != NULL;
        sr.promises = (char *) (st->promises ?: "");
        sr.n_unveil = strv_length(st->unveil);
        sr.unveil = st->unveil;
        sr.no_unveil_defaults = !a.unveil_defaults;
        sr.net = (char *) (st->net ?: "");
        sr.hostname = (char *) (st->hostname ?: "");
        sr.importance = (char *) (st->importance ?: "");
        sr.has_oom_score_adj = st->oom_score_adj != NULL;
        sr.oom_score_adj = st->oom_score_adj ? atoi(st->oom_score_adj) : 0;
        sr.n_rlimits = strv_length(st->rlimits);
        sr.rlimits = st->rlimits;
        sr.tcp_bind = (char *) (st->tcp_bind ?: "");
        sr.tcp_connect = (char *) (st->tcp_connect ?: "");
        sr.stdout_path = (char *) "";
        sr.stderr_path = (char *) "";
        if (st->has_res)
                sr.resources = (Sandboxd__V1__Resources *) &st->res;
        sr.no_private_tmp = a.private_tmp == 0;
        sr.task_dir = (char *) (st->task_dir ?: "");
        sr.secrets_dir = (char *) (st->secrets_dir ?: "");
        sr.alloc_dir = (char *) (st->alloc_dir ?: "");
        if ((st->alloc_id && st->alloc_id[0]) || (st->task_name && st->task_name[0])) {
                nomad.alloc_id = (char *) (st->alloc_id ?: "");
                nomad.task_name = (char *) (st->task_name ?: "");
                sr.nomad = &nomad;
        }
        sr.n_mounts = n_mounts;
        sr.mounts = mounts;
        sr.resolv_conf = resolv;

        /* The task's stdio: /dev/null, or the files named here, opened by us (the caller). */
        in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (a.stdout_path && open_output(a.stdout_path, &out_fd, &err) < 0) {
                error_line("--stdout: %s", err.msg);
                code = EXIT_SETUP;
                goto done;
        }
        if (a.stderr_path && open_output(a.stderr_path, &err_fd, &err) < 0) {
                error_line("--stderr: %s", err.msg);
                code = EXIT_SETUP;
                goto done;
        }
        if (out_fd < 0)
                out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (err_fd < 0)
                err_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        int fds[3] = { in_fd, out_fd, err_fd };
        sr.passed_fds = 3;

        Sandboxd__V1__Request req = SANDBOXD__V1__REQUEST__INIT;
        req.op_case = SANDBOXD__V1__REQUEST__OP_START;
        req.start = &sr;
        SandboxdClient c;
        if (connect_daemon(&c) < 0) {
                code = 1;
                goto done;
        }
        Frame *f = NULL;
        r = call(&c, &req, fds, 3, &f);
        bool unanswered = c.unanswered;
        sandboxd_disconnect(&c);
        if (r < 0 && unanswered) {
                /* Not a refusal: sandboxd may have started the task before it went away. */
                error_line("start: the outcome is unknown: '%s' may be running; 'sandboxctl inspect %s' tells, "
                           "'sandboxctl destroy --force %s' makes sure it is not", name, name, name);
                code = EXIT_UNKNOWN;
                goto done;
        }
        if (r < 0) {
                code = r == -ENOENT ? EXIT_NOT_FOUND : r == -EACCES ? EXIT_CANNOT_EXEC : 1;
                goto done;
        }
        if (arg_json)
                print_task(f->response->task);
        else
                printf("%s\n", f->response->task->name);
        frame_free(f);
done:
        for (size_t i = 0; i < n_mounts; i++) {
                free(mounts[i]->source);
                free(mounts[i]->target);
                free(mounts[i]);
        }
        free(mounts);
        strv_free(env);
finish:
        run_args_free(&a);
        return code;
}

/* exec -t: we hold the pty master and relay between it and our terminal until sandboxd answers
 * (the command exited); our terminal is raw meanwhile, and SIGWINCH resizes the pty. */
static int exec_tty_session(SandboxdClient *c, Sandboxd__V1__Request *req, int master, int slave, Frame **ret) {
        struct termios saved;
        bool raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
        struct winsize ws;
        sigset_t mask;
        int r;

        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                (void) ioctl(master, TIOCSWINSZ, &ws);
        sigemptyset(&mask);
        sigaddset(&mask, SIGWINCH);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        _cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

        req->id = c->next_id++;
        Frame f = SANDBOXD__V1__FRAME__INIT;
        f.kind_case = SANDBOXD__V1__FRAME__KIND_REQUEST;
        f.request = req;
        int fds[3] = { slave, slave, slave };
        r = frame_send(c->fd, &f, fds, 3);
        (void) close(slave);
        if (r < 0) {
                error_line("exec: sending the request: %s", strerror(-r));
                return r;
        }
        if (raw) {
                struct termios t = saved;
                cfmakeraw(&t);
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &t);
        }

        bool in_open = true, out_open = true;
        Frame *answer = NULL;
        char buf[8192];
        while (!answer || out_open) {
                struct pollfd p[4] = {
                        { .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN },
                        { .fd = out_open ? master : -1, .events = POLLIN },
                        { .fd = answer ? -1 : c->fd, .events = POLLIN },
                        { .fd = sfd, .events = POLLIN },
                };
                if (poll(p, 4, answer ? 200 : -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (answer && !(p[1].revents & (POLLIN | POLLHUP)))
                        break; /* the command is done and its output drained */
                if (p[0].revents & (POLLIN | POLLHUP)) {
                        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                        if (n <= 0)
                                in_open = false;
                        else if (write(master, buf, (size_t) n) < 0)
                                in_open = false;
                }
                if (p[1].revents & (POLLIN | POLLHUP)) {
                        ssize_t n = read(master, buf, sizeof(buf));
                        if (n <= 0)
                                out_open = false; /* EIO: no slave left open */
                        else
                                (void) !write(STDOUT_FILENO, buf, (size_t) n);
                }
                if (p[2].revents & (POLLIN | POLLHUP)) {
                        Frame *in = NULL;
                        r = frame_recv(c->fd, &in, NULL, NULL);
                        if (r <= 0) {
                                error_line("exec: sandboxd closed the connection");
                                break;
                        }
                        if (in->kind_case == SANDBOXD__V1__FRAME__KIND_RESPONSE && in->response->id == req->id)
                                answer = in;
                        else
                                frame_free(in);
                }
                if (p[3].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof(si)) == sizeof(si))
                                if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                                        (void) ioctl(master, TIOCSWINSZ, &ws);
                }
        }
        if (raw)
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        if (!answer)
                return -ECONNRESET;
        if (answer->response->error) {
                error_line("%s%s%s", answer->response->error->field, answer->response->error->field[0] ? ": " : "",
                           answer->response->error->message);
                frame_free(answer);
                return -EIO;
        }
        *ret = answer;
        return 0;
}

/* sandboxctl exec NAME [--env KEY=VALUE]... -- COMMAND [ARG]...: the command runs inside the
 * running task's sandbox with our stdin, stdout and stderr (passed, not copied). */
int verb_exec(int argc, char **argv) {
        bool tty = false;
        char **env = NULL;
        const char *name = NULL;
        int k = 1, code = 1;

        for (; k < argc && !streq(argv[k], "--"); k++) {
                if (streq(argv[k], "-h") || streq(argv[k], "--help")) {
                        help_verb("exec");
                        strv_free(env);
                        return 0;
                } else if (streq(argv[k], "-t") || streq(argv[k], "--tty"))
                        tty = true;
                else if (streq(argv[k], "--env") && k + 1 < argc) {
                        const char *e = argv[++k];
                        if (!strchr(e, '=') || e[0] == '=' || startswith(e, "LD_")) {
                                error_line("exec: --env: '%s': expected KEY=VALUE (not LD_*)", e);
                                strv_free(env);
                                return EXIT_USAGE;
                        }
                        strv_push(&env, e);
                } else if (streq(argv[k], "--socket") && k + 1 < argc)
                        arg_socket = argv[++k];
                else if (streq(argv[k], "--driver") && k + 1 < argc)
                        arg_driver = argv[++k];
                else if (argv[k][0] == '-') {
                        error_line("exec: %s: unknown option", argv[k]);
                        strv_free(env);
                        return EXIT_USAGE;
                } else if (!name)
                        name = argv[k];
                else
                        break;
        }
        if (k < argc && streq(argv[k], "--"))
                k++;
        if (!name || k >= argc) {
                error_line("exec: usage: sandboxctl exec NAME [-t] [--env KEY=VALUE]... -- COMMAND [ARG]...");
                strv_free(env);
                return EXIT_USAGE;
        }

        Sandboxd__V1__ExecRequest er = SANDBOXD__V1__EXEC_REQUEST__INIT;
        er.name = (char *) name;
        er.argv = argv + k;
        er.n_argv = (size_t) (argc - k);
        er.env = env;
        er.n_env = strv_length(env);
        er.passed_fds = 3;
        Sandboxd__V1__Request req = SANDBOXD__V1__REQUEST__INIT;
        req.op_case = SANDBOXD__V1__REQUEST__OP_EXEC;
        req.exec = &er;
        int fds[3] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO };

        er.tty = tty;
        SandboxdClient c;
        if (connect_daemon(&c) < 0)
                goto done;
        Frame *f = NULL;
        int r;
        if (tty) {
                /* The pty is ours: the daemon gets its slave as the command's stdio. */
                _cleanup_close_ int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
                int slave = -1;
                if (master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0) {
                        char pts[64];
                        if (ptsname_r(master, pts, sizeof(pts)) == 0)
                                slave = open(pts, O_RDWR | O_NOCTTY | O_CLOEXEC);
                }
                if (slave < 0) {
                        error_line("exec: allocating a terminal: %s", strerror(errno));
                        sandboxd_disconnect(&c);
                        goto done;
                }
                r = exec_tty_session(&c, &req, master, slave, &f);
        } else
                r = call(&c, &req, fds, 3, &f);
        sandboxd_disconnect(&c);
        if (r < 0)
                goto done; /* refused (unknown task, policy, ...): exit 1 */
        const Sandboxd__V1__ExitResult *e = f->response->exec;
        if (!e) {
                error_line("exec: sandboxd answered without a result");
                frame_free(f);
                goto done;
        }
        if (e->error[0])
                error_line("%s", e->error);
        code = e->exit_code < 0 ? 255 : e->exit_code;
        frame_free(f);
done:
        strv_free(env);
        return code;
}
