/* SPDX-License-Identifier: MIT */
/* daemon/sandboxd/cgroup-systemd.c: the systemd backend. Each task gets a transient scope
 * "sandbox-<id>.scope" in a slice (default sandbox.slice), created with StartTransientUnit with
 * the held sandbox init as its only PID and the task's limits as unit properties; the task is
 * released once systemd reports the job done (JobRemoved). Stats, OOM and kill then read and
 * write the scope's cgroup v2 directory directly, as the cgroupfs-v2 backend does.
 * OOMPolicy=continue: the kernel kills the task's largest process and the sandbox init reports
 * the task's exit; systemd's default for scopes (stop) would kill the init too and lose it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "macro.h"
#include "util.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"

static void attaching_remove(CgroupManager *m, Cgroup *c) {
        for (Cgroup **i = &m->attaching; *i; i = &(*i)->next_attaching)
                if (*i == c) {
                        *i = c->next_attaching;
                        c->next_attaching = NULL;
                        return;
                }
}

/* The scope's cgroup directory, from its ControlGroup property. */
static int open_scope_dir(Cgroup *c, SbxError *err) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *unit_path;
        _cleanup_free_ char *cg = NULL;

        int r = sd_bus_call_method(c->m->bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &e, &reply, "s", c->unit);
        if (r < 0)
                return sbx_error(err, -r, "systemd: %s: %s", c->unit, e.message ?: strerror(-r));
        r = sd_bus_message_read(reply, "o", &unit_path);
        if (r < 0)
                return sbx_error_errno(err, -r, "systemd: GetUnit reply");
        r = sd_bus_get_property_string(c->m->bus, SD_DEST, unit_path, "org.freedesktop.systemd1.Scope", "ControlGroup",
                                       &e, &cg);
        if (r < 0)
                return sbx_error(err, -r, "systemd: %s ControlGroup: %s", c->unit, e.message ?: strerror(-r));
        if (!cg[0] || strstr(cg, ".."))
                return sbx_error(err, ENOENT, "systemd: %s has no cgroup", c->unit);
        free(c->path);
        c->path = xasprintf("/sys/fs/cgroup%s", cg);
        safe_close(c->dir_fd);
        c->dir_fd = open(c->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (c->dir_fd < 0)
                return sbx_error_errno(err, errno, "systemd: opening %s", c->path);
        return 0;
}

static int on_job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        CgroupManager *m = userdata;
        uint32_t id;
        const char *job, *unit, *result;

        if (sd_bus_message_read(msg, "uoss", &id, &job, &unit, &result) < 0)
                return 0;
        for (Cgroup *c = m->attaching; c; c = c->next_attaching) {
                if (!c->job || !streq(c->job, job))
                        continue;
                attaching_remove(m, c);
                void (*done)(Cgroup *, int, const char *, void *) = c->done;
                void *u = c->done_userdata;
                c->done = NULL;
                if (!streq(result, "done")) {
                        char text[256];
                        snprintf(text, sizeof(text), "systemd: starting %s: job %s", c->unit, result);
                        done(c, -EIO, text, u);
                        return 0;
                }
                SbxError err = {};
                if (open_scope_dir(c, &err) < 0) {
                        done(c, -EIO, err.msg, u);
                        return 0;
                }
                /* No memory.oom.group here: it would kill the sandbox init with the task, and
                 * systemd removes the emptied scope (and its memory.events) before we can read
                 * why. The kernel kills the largest process; the init reports the task's exit. */
                done(c, 0, NULL, u);
                return 0;
        }
        return 0;
}

int cgroup_systemd_init(CgroupManager *m, SbxError *err) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return sbx_error_errno(err, -r, "systemd: connecting to the system bus");
        if (m->event && (r = sd_bus_attach_event(m->bus, m->event, 0)) < 0)
                return sbx_error_errno(err, -r, "systemd: attaching the bus to the event loop");
        r = sd_bus_match_signal(m->bus, &m->job_slot, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved", on_job_removed, m);
        if (r < 0)
                return sbx_error_errno(err, -r, "systemd: watching JobRemoved");
        r = sd_bus_call_method(m->bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", &e, NULL, NULL);
        if (r < 0)
                return sbx_error(err, -r, "systemd: Subscribe: %s", e.message ?: strerror(-r));
        /* What the root cgroup offers is what scopes can be limited with. */
        m->available = cgroup_v2_available("/sys/fs/cgroup");
        return 0;
}

void cgroup_systemd_done(CgroupManager *m) {
        m->job_slot = sd_bus_slot_unref(m->job_slot);
        if (m->bus) {
                (void) sd_bus_detach_event(m->bus);
                m->bus = sd_bus_flush_close_unref(m->bus);
        }
}

int cgroup_systemd_create(Cgroup *c, const char *name, SbxError *err) {
        for (const char *p = name; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '-' ||
                      *p == '_'))
                        return sbx_error(err, EINVAL, "systemd: '%s' cannot be part of a unit name", name);
        c->unit = xasprintf("sandbox-%s.scope", name);
        c->id = xasprintf("systemd:%s", c->unit);
        return 0;
}

/* "0-2,5" -> the bitmask systemd's AllowedCPUs takes (byte i bit j = CPU 8i+j). */
static int cpu_mask(const char *list, uint8_t *mask, size_t size, size_t *ret_len) {
        size_t len = 0;
        const char *p = list;
        memset(mask, 0, size);
        while (*p) {
                char *end;
                unsigned long a = strtoul(p, &end, 10), b;
                if (end == p)
                        return -EINVAL;
                b = a;
                if (*end == '-') {
                        p = end + 1;
                        b = strtoul(p, &end, 10);
                        if (end == p)
                                return -EINVAL;
                }
                if (b < a || b >= size * 8)
                        return -ERANGE;
                for (unsigned long i = a; i <= b; i++)
                        mask[i / 8] |= (uint8_t) (1u << (i % 8));
                if (b / 8 + 1 > len)
                        len = b / 8 + 1;
                if (*end == ',')
                        end++;
                else if (*end)
                        return -EINVAL;
                p = end;
        }
        *ret_len = len;
        return 0;
}

int cgroup_systemd_attach(Cgroup *c, pid_t pid, void (*done)(Cgroup *c, int error, const char *msg, void *u), void *u,
                          SbxError *err) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const CgroupLimits *l = &c->limits;
        const char *job;
        int r;

        r = sd_bus_message_new_method_call(c->m->bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "StartTransientUnit");
        if (r < 0)
                return sbx_error_errno(err, -r, "systemd: StartTransientUnit");
        r = sd_bus_message_append(m, "ss", c->unit, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)", "PIDs", "au", 1, (uint32_t) pid, "Delegate", "b", 1,
                                          "Slice", "s", c->m->parent, "Description", "s", "nomad-driver-sandbox task",
                                          "CollectMode", "s", "inactive-or-failed");
        /* OOMPolicy=continue: systemd's default for scopes (stop) would kill the sandbox init
         * after the kernel's OOM kill, and the task's exit would be lost. systemd 252 (Debian 12)
         * accepts the property for scopes; the VM suite starts scopes with it. */
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "OOMPolicy", "s", "continue");
        if (r >= 0 && l->memory_max)
                r = sd_bus_message_append(m, "(sv)", "MemoryMax", "t", l->memory_max);
        if (r >= 0 && l->memory_low)
                r = sd_bus_message_append(m, "(sv)", "MemoryLow", "t", l->memory_low);
        if (r >= 0 && l->cpu_weight)
                r = sd_bus_message_append(m, "(sv)", "CPUWeight", "t", l->cpu_weight);
        if (r >= 0 && l->cpu_quota_us) {
                uint64_t period = l->cpu_period_us ?: 100000;
                r = sd_bus_message_append(m, "(sv)(sv)", "CPUQuotaPerSecUSec", "t", l->cpu_quota_us * 1000000 / period,
                                          "CPUQuotaPeriodUSec", "t", period);
        }
        if (r >= 0 && l->allowed_cpus[0]) {
                uint8_t mask[128];
                size_t len;
                if (cpu_mask(l->allowed_cpus, mask, sizeof(mask), &len) < 0)
                        return sbx_error(err, EINVAL, "systemd: AllowedCPUs: '%s': bad CPU list", l->allowed_cpus);
                r = sd_bus_message_open_container(m, 'r', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "AllowedCPUs");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "ay");
                if (r >= 0)
                        r = sd_bus_message_append_array(m, 'y', mask, len);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0 && l->tasks_max)
                r = sd_bus_message_append(m, "(sv)", "TasksMax", "t", l->tasks_max);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return sbx_error_errno(err, -r, "systemd: building StartTransientUnit");

        r = sd_bus_call(c->m->bus, m, 0, &e, &reply);
        if (r < 0)
                return sbx_error(err, -r, "systemd: StartTransientUnit %s: %s", c->unit, e.message ?: strerror(-r));
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return sbx_error_errno(err, -r, "systemd: StartTransientUnit reply");

        /* JobRemoved may already sit in the bus's read queue: it is dispatched from the event
         * loop after we return, and finds us in the list. */
        free(c->job);
        c->job = xstrdup(job);
        c->done = done;
        c->done_userdata = u;
        c->next_attaching = c->m->attaching;
        c->m->attaching = c;
        return 0;
}

int cgroup_systemd_kill(Cgroup *c) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        if (c->dir_fd >= 0)
                return cgroup_v2_kill(c->dir_fd);
        int r = sd_bus_call_method(c->m->bus, SD_DEST, SD_PATH, SD_MANAGER, "KillUnit", &e, NULL, "ssi", c->unit, "all",
                                   (int32_t) SIGKILL);
        return r < 0 ? r : 0;
}

int cgroup_systemd_stop(Cgroup *c) {
        if (c->dir_fd >= 0) {
                (void) cgroup_v2_kill(c->dir_fd);
                (void) cg_wait_empty(c->dir_fd);
        }
        /* An empty scope stops by itself; StopUnit makes sure, without waiting for the job. */
        int r = sd_bus_call_method_async(c->m->bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, "StopUnit", NULL, NULL, "ss",
                                         c->unit, "replace");
        return r < 0 ? r : 0;
}

int cgroup_systemd_open(Cgroup *c, const char *spec, SbxError *err) {
        if (!startswith(spec, "sandbox-") || !strstr(spec, ".scope") || strchr(spec, '/'))
                return sbx_error(err, EINVAL, "cgroup: bad systemd unit '%s'", spec);
        c->unit = xstrdup(spec);
        SbxError ignored = {};
        /* A scope whose task exited while we were away is gone: that is not an error. */
        (void) open_scope_dir(c, &ignored);
        return 0;
}

int cgroup_systemd_remove_orphan(CgroupManager *m, const char *name) {
        _cleanup_free_ char *unit = xasprintf("sandbox-%s.scope", name);
        /* No such unit is the usual answer: the held init died with us and systemd collected
         * the empty scope, or it was never made. */
        (void) sd_bus_call_method(m->bus, SD_DEST, SD_PATH, SD_MANAGER, "KillUnit", NULL, NULL, "ssi", unit, "all",
                                  (int32_t) SIGKILL);
        int r = sd_bus_call_method_async(m->bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, "StopUnit", NULL, NULL, "ss", unit,
                                         "replace");
        return r < 0 ? r : 0;
}

void cgroup_systemd_free(Cgroup *c) {
        attaching_remove(c->m, c);
        free(c->job);
        c->job = NULL;
}
