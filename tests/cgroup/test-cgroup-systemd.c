/* SPDX-License-Identifier: MIT */
/* tests/cgroup/test-cgroup-systemd.c: the systemd backend against a stand-in for systemd on a
 * private system bus (dbus-daemon), for hosts without systemd as PID 1.
 *
 * The stand-in implements the few org.freedesktop.systemd1.Manager calls the backend makes,
 * with systemd's signatures (Subscribe, StartTransientUnit ssa(sv)a(sa(sv)) -> o, GetUnit,
 * KillUnit, StopUnit, the JobRemoved signal uoss, the Scope ControlGroup property): it records
 * every call and every unit property with its D-Bus type, makes the scope's directory in the
 * cgroup v2 tree, moves the PIDs there and reports the job. It proves the messages are well
 * formed and typed as systemd expects, and the asynchronous attach; whether systemd enforces
 * the limits is for the VM tests (tests/vm). Where /sys/fs/cgroup is not cgroup2, the test runs
 * in a mount namespace of its own with the host's cgroup2 mount on /sys/fs/cgroup. Root. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "macro.h"
#include "tap.h"

static char tmpdir[] = "/tmp/test-cgroup-systemd-XXXXXX";
static char record_path[256];
static char slice[64];

/* ---------------------------------------------------------------------------------------- */
/* The stand-in for systemd (a child process)                                                 */

typedef struct Unit {
        char name[128];
        char path[64];
        char cgroup[256]; /* relative to /sys/fs/cgroup, with a leading '/' */
        sd_bus_slot *slot;
} Unit;

static Unit units[16];
static unsigned next_job = 1;
static FILE *rec;

static Unit *unit_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (units[i].name[0] && streq(units[i].name, name))
                        return &units[i];
        return NULL;
}

static int prop_control_group(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Unit *u = userdata;
        return sd_bus_message_append(reply, "s", u->cgroup);
}

static const sd_bus_vtable scope_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("ControlGroup", "s", prop_control_group, 0, 0),
        SD_BUS_VTABLE_END,
};

static int job_removed(sd_bus *bus, const char *unit, const char *result) {
        char job[64];
        unsigned id = next_job++;
        snprintf(job, sizeof(job), "/org/freedesktop/systemd1/job/%u", id);
        return sd_bus_emit_signal(bus, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "JobRemoved",
                                  "uoss", id, job, unit, result);
}

static int m_subscribe(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        fprintf(rec, "Subscribe\n");
        fflush(rec);
        return sd_bus_reply_method_return(m, NULL);
}

/* Reads one (sv) and records "Name type value". */
static int read_property(sd_bus_message *m, uint32_t *pids, size_t *n_pids, uint64_t *memory_max) {
        const char *name, *contents;
        char type;
        int r;

        if ((r = sd_bus_message_enter_container(m, 'r', "sv")) <= 0)
                return r;
        if ((r = sd_bus_message_read(m, "s", &name)) < 0)
                return r;
        if ((r = sd_bus_message_peek_type(m, &type, &contents)) < 0)
                return r;
        if ((r = sd_bus_message_enter_container(m, 'v', contents)) < 0)
                return r;
        fprintf(rec, "%s %s", name, contents);
        if (streq(contents, "s")) {
                const char *s;
                r = sd_bus_message_read(m, "s", &s);
                if (r >= 0)
                        fprintf(rec, " %s", s);
        } else if (streq(contents, "b")) {
                int b;
                r = sd_bus_message_read(m, "b", &b);
                if (r >= 0)
                        fprintf(rec, " %d", b);
        } else if (streq(contents, "t")) {
                uint64_t t;
                r = sd_bus_message_read(m, "t", &t);
                if (r >= 0)
                        fprintf(rec, " %" PRIu64, t);
                if (r >= 0 && streq(name, "MemoryMax"))
                        *memory_max = t;
        } else if (streq(contents, "au")) {
                uint32_t u;
                r = sd_bus_message_enter_container(m, 'a', "u");
                while (r >= 0 && (r = sd_bus_message_read(m, "u", &u)) > 0) {
                        fprintf(rec, " %u", u);
                        if (streq(name, "PIDs") && *n_pids < 8)
                                pids[(*n_pids)++] = u;
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        } else if (streq(contents, "ay")) {
                const uint8_t *p;
                size_t n;
                r = sd_bus_message_read_array(m, 'y', (const void **) &p, &n);
                for (size_t i = 0; r >= 0 && i < n; i++)
                        fprintf(rec, " %02x", p[i]);
        } else {
                fprintf(rec, " (not understood)");
                r = sd_bus_message_skip(m, contents);
        }
        fprintf(rec, "\n");
        if (r < 0)
                return r;
        if ((r = sd_bus_message_exit_container(m)) < 0)
                return r;
        if ((r = sd_bus_message_exit_container(m)) < 0)
                return r;
        return 1;
}

static int m_start(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        sd_bus *bus = sd_bus_message_get_bus(m);
        const char *name, *mode;
        uint32_t pids[8];
        size_t n_pids = 0;
        uint64_t memory_max = 0;
        int r;

        if ((r = sd_bus_message_read(m, "ss", &name, &mode)) < 0)
                return r;
        fprintf(rec, "StartTransientUnit %s %s\n", name, mode);
        if ((r = sd_bus_message_enter_container(m, 'a', "(sv)")) < 0)
                return r;
        while ((r = read_property(m, pids, &n_pids, &memory_max)) > 0)
                ;
        if (r < 0)
                return r;
        if ((r = sd_bus_message_exit_container(m)) < 0)
                return r;
        if ((r = sd_bus_message_skip(m, "a(sa(sv))")) < 0)
                return r;
        fflush(rec);

        char job[64];
        snprintf(job, sizeof(job), "/org/freedesktop/systemd1/job/%u", next_job);
        /* A magic MemoryMax makes the job fail, as a refused property would. */
        bool fail = memory_max == 1234567;
        Unit *u = NULL;
        for (size_t i = 0; i < ELEMENTSOF(units) && !u && !fail; i++)
                if (!units[i].name[0])
                        u = &units[i];
        if (u) {
                snprintf(u->name, sizeof(u->name), "%s", name);
                snprintf(u->path, sizeof(u->path), "/org/freedesktop/systemd1/unit/u%zu", (size_t) (u - units));
                snprintf(u->cgroup, sizeof(u->cgroup), "/%s/%s", slice, name);
                char dir[512];
                snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s", slice);
                (void) mkdir(dir, 0755);
                snprintf(dir, sizeof(dir), "/sys/fs/cgroup%s", u->cgroup);
                (void) mkdir(dir, 0755);
                for (size_t i = 0; i < n_pids; i++) {
                        char path[600];
                        snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
                        FILE *f = fopen(path, "we");
                        if (f) {
                                fprintf(f, "%u\n", pids[i]);
                                fclose(f);
                        }
                }
                (void) sd_bus_add_object_vtable(bus, &u->slot, u->path, "org.freedesktop.systemd1.Scope", scope_vtable, u);
        }
        r = sd_bus_reply_method_return(m, "o", job);
        if (r < 0)
                return r;
        return job_removed(bus, name, fail ? "failed" : "done");
}

static int m_get_unit(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *name;
        int r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        fprintf(rec, "GetUnit %s\n", name);
        fflush(rec);
        Unit *u = unit_find(name);
        if (!u)
                return sd_bus_error_setf(error, "org.freedesktop.systemd1.NoSuchUnit", "Unit %s not loaded.", name);
        return sd_bus_reply_method_return(m, "o", u->path);
}

static int m_kill_unit(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *name, *whom;
        int32_t sig;
        int r = sd_bus_message_read(m, "ssi", &name, &whom, &sig);
        if (r < 0)
                return r;
        fprintf(rec, "KillUnit %s %s %d\n", name, whom, sig);
        fflush(rec);
        return sd_bus_reply_method_return(m, NULL);
}

static int m_stop_unit(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *name, *mode;
        int r = sd_bus_message_read(m, "ss", &name, &mode);
        if (r < 0)
                return r;
        fprintf(rec, "StopUnit %s %s\n", name, mode);
        fflush(rec);
        Unit *u = unit_find(name);
        if (!u)
                return sd_bus_error_setf(error, "org.freedesktop.systemd1.NoSuchUnit", "Unit %s not loaded.", name);
        char dir[512], job[64];
        snprintf(dir, sizeof(dir), "/sys/fs/cgroup%s", u->cgroup);
        (void) rmdir(dir);
        u->slot = sd_bus_slot_unref(u->slot);
        u->name[0] = 0;
        snprintf(job, sizeof(job), "/org/freedesktop/systemd1/job/%u", next_job);
        r = sd_bus_reply_method_return(m, "o", job);
        if (r < 0)
                return r;
        return job_removed(sd_bus_message_get_bus(m), name, "done");
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Subscribe", "", "", m_subscribe, 0),
        SD_BUS_METHOD("StartTransientUnit", "ssa(sv)a(sa(sv))", "o", m_start, 0),
        SD_BUS_METHOD("GetUnit", "s", "o", m_get_unit, 0),
        SD_BUS_METHOD("KillUnit", "ssi", "", m_kill_unit, 0),
        SD_BUS_METHOD("StopUnit", "ss", "o", m_stop_unit, 0),
        SD_BUS_SIGNAL("JobRemoved", "uoss", 0),
        SD_BUS_VTABLE_END,
};

static _noreturn_ void fake_systemd(int ready) {
        sd_bus *bus = NULL;
        rec = fopen(record_path, "we");
        if (!rec || sd_bus_open_system(&bus) < 0 ||
            sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                     manager_vtable, NULL) < 0 ||
            sd_bus_request_name(bus, "org.freedesktop.systemd1", 0) < 0)
                _exit(1);
        (void) !write(ready, "x", 1);
        close(ready);
        for (;;) {
                int r = sd_bus_process(bus, NULL);
                if (r < 0)
                        _exit(2);
                if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
                        _exit(3);
        }
}

/* ---------------------------------------------------------------------------------------- */
/* The test                                                                                   */

static pid_t bus_pid = -1, fake_pid = -1;

static char *record(void) {
        static char buf[8192];
        buf[0] = 0;
        int fd = open(record_path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                ssize_t k = read(fd, buf, sizeof(buf) - 1);
                buf[k > 0 ? k : 0] = 0;
                close(fd);
        }
        return buf;
}

static bool recorded(const char *line) {
        char want[512];
        snprintf(want, sizeof(want), "\n%s\n", line);
        char all[8300];
        snprintf(all, sizeof(all), "\n%s", record());
        return strstr(all, want) != NULL;
}

/* A private system bus: dbus-daemon with a permissive policy on a socket in tmpdir. */
static int start_bus(void) {
        char conf[512], addr[512];
        snprintf(conf, sizeof(conf), "%s/bus.conf", tmpdir);
        FILE *f = fopen(conf, "we");
        if (!f)
                return -errno;
        fprintf(f,
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN\"\n"
                " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                "<busconfig><type>system</type><listen>unix:path=%s/bus</listen><auth>EXTERNAL</auth>\n"
                "<policy context=\"default\"><allow user=\"*\"/><allow own=\"*\"/>\n"
                "<allow send_type=\"method_call\"/><allow send_type=\"signal\"/><allow send_type=\"method_return\"/>"
                "<allow send_type=\"error\"/><allow receive_type=\"method_call\"/><allow receive_type=\"signal\"/>"
                "<allow receive_type=\"method_return\"/><allow receive_type=\"error\"/></policy></busconfig>\n",
                tmpdir);
        fclose(f);
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        bus_pid = fork();
        if (bus_pid == 0) {
                dup2(p[1], 3);
                int null = open("/dev/null", O_RDWR);
                dup2(null, 1);
                dup2(null, 2); /* it warns that it cannot raise its fd limit */
                execlp("dbus-daemon", "dbus-daemon", "--config-file", conf, "--nofork", "--nopidfile", "--print-address=3",
                       (char *) NULL);
                _exit(127);
        }
        close(p[1]);
        ssize_t k = read(p[0], addr, sizeof(addr) - 1);
        close(p[0]);
        if (k <= 0)
                return -EIO;
        addr[k] = 0;
        addr[strcspn(addr, "\n")] = 0;
        setenv("DBUS_SYSTEM_BUS_ADDRESS", addr, 1);
        return 0;
}

static int start_fake(void) {
        int p[2];
        char c;
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        fake_pid = fork();
        if (fake_pid == 0) {
                close(p[0]);
                fake_systemd(p[1]);
        }
        close(p[1]);
        ssize_t k = read(p[0], &c, 1);
        close(p[0]);
        return k == 1 ? 0 : -EIO;
}

/* /sys/fs/cgroup must be cgroup2 for the systemd backend: if it is not, a mount namespace of
 * our own with the host's cgroup2 mount (the hybrid layout's "unified") put there. */
static int ensure_cgroup2(void) {
        struct statfs fs;
        if (statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
                return 0;
        if (statfs("/sys/fs/cgroup/unified", &fs) < 0 || fs.f_type != CGROUP2_SUPER_MAGIC)
                return -ENOENT;
        if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("/sys/fs/cgroup/unified", "/sys/fs/cgroup", "none", MS_BIND, NULL) < 0)
                return -errno;
        return 1;
}

typedef struct Attach {
        int calls, error;
        char msg[512];
} Attach;

static void on_attached(Cgroup *c, int error, const char *msg, void *u) {
        Attach *a = u;
        a->calls++;
        a->error = error;
        snprintf(a->msg, sizeof(a->msg), "%s", msg ? msg : "");
}

/* Runs the loop until *flag or timeout_ms. */
static void run_until(sd_event *e, int *flag, int timeout_ms) {
        for (int i = 0; i < timeout_ms / 10 && (!flag || !*flag); i++)
                (void) sd_event_run(e, 10 * 1000);
}

/* CPU time the held child burns once released: its own, so a busy host only makes it slower. */
#define HELD_SPIN_NS (100 * 1000 * 1000LL)

/* A child that waits for a byte on *release, then burns HELD_SPIN_NS of its own CPU time,
 * writes a byte to *spun and pauses. */
static pid_t fork_held(int *release, int *spun) {
        int p[2], q[2];
        if (pipe2(p, O_CLOEXEC) < 0 || pipe2(q, O_CLOEXEC) < 0)
                return -1;
        pid_t pid = fork();
        if (pid == 0) {
                char c;
                close(p[1]);
                close(q[0]);
                if (read(p[0], &c, 1) != 1)
                        _exit(1);
                struct timespec ts;
                do
                        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
                while (ts.tv_sec * 1000000000LL + ts.tv_nsec < HELD_SPIN_NS);
                (void) !write(q[1], "x", 1);
                for (;;)
                        pause();
        }
        close(p[0]);
        close(q[1]);
        *release = p[1];
        *spun = q[0];
        return pid;
}

static bool pid_in_scope(pid_t pid, const char *unit) {
        char path[64], line[1024], want[256];
        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int) pid);
        snprintf(want, sizeof(want), "0::/%s/%s\n", slice, unit);
        FILE *f = fopen(path, "re");
        bool found = false;
        while (f && fgets(line, sizeof(line), f))
                found = found || streq(line, want);
        if (f)
                fclose(f);
        return found;
}

static void cleanup(void) {
        if (fake_pid > 0) {
                kill(fake_pid, SIGTERM);
                waitpid(fake_pid, NULL, 0);
        }
        if (bus_pid > 0) {
                kill(bus_pid, SIGTERM);
                waitpid(bus_pid, NULL, 0);
        }
        char path[512];
        snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", slice);
        (void) rmdir(path);
        snprintf(path, sizeof(path), "%s/bus.conf", tmpdir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/bus", tmpdir);
        unlink(path);
        unlink(record_path);
        rmdir(tmpdir);
}

int main(void) {
        SbxError err = {};
        int r;

        setvbuf(stdout, NULL, _IOLBF, 0);
        /* Every "cannot run" is a skip, and a failure under SANDBOX_TESTS_MUST_WORK=1. */
        bool must = getenv("SANDBOX_TESTS_MUST_WORK") && streq(getenv("SANDBOX_TESTS_MUST_WORK"), "1");
        if (geteuid() != 0) {
                printf("%s# needs root\n", must ? "not ok 1 - " : "1..0 # SKIP ");
                return must ? 1 : 77;
        }
        r = ensure_cgroup2();
        if (r < 0) {
                printf("%s# no cgroup2 mount to stand in for a systemd host: %s\n", must ? "not ok 1 - " : "1..0 # SKIP ",
                       strerror(-r));
                return must ? 1 : 77;
        }
        if (!mkdtemp(tmpdir)) {
                printf("%s# mkdtemp: %s\n", must ? "not ok 1 - " : "1..0 # SKIP ", strerror(errno));
                return must ? 1 : 77;
        }
        snprintf(record_path, sizeof(record_path), "%s/record", tmpdir);
        snprintf(slice, sizeof(slice), "sandboxd-test-%d.slice", (int) getpid());
        if ((r = start_bus()) < 0 || (r = start_fake()) < 0) {
                printf("%s# cannot start a private dbus-daemon and the stand-in: %s\n",
                       must ? "not ok 1 - " : "1..0 # SKIP ", strerror(-r));
                cleanup();
                return must ? 1 : 77;
        }
        printf("# private bus %s%s\n", getenv("DBUS_SYSTEM_BUS_ADDRESS"),
               r > 0 ? ", cgroup2 bound on /sys/fs/cgroup in a mount namespace" : "");

        sd_event *e = NULL;
        sd_event_new(&e);
        CgroupManager *m = NULL;

        CgroupManagerConfig cc = { .backend = CGROUP_BACKEND_SYSTEMD, .parent = "sandboxd", .event = e };
        r = cgroup_manager_new(&cc, &m, &err);
        tap_ok(r < 0 && !m && strstr(err.msg, "slice"), "a parent that is no slice is refused: %s", err.msg);

        cc.parent = slice;
        err = (SbxError) {};
        r = cgroup_manager_new(&cc, &m, &err);
        tap_ok(r == 0 && m, "cgroup_manager_new, systemd backend (%s)", err.msg);
        if (!m) {
                cleanup();
                return tap_done();
        }
        TAP_EQ_STR(cgroup_manager_backend(m), "systemd", "backend name");
        tap_ok(recorded("Subscribe"), "Subscribe was called (JobRemoved is only sent to subscribers)");

        CgroupLimits l = {
                .memory_max = 64 << 20,
                .memory_low = 16 << 20,
                .cpu_weight = 200,
                .cpu_quota_us = 25000,
                .cpu_period_us = 50000,
                .allowed_cpus = "0-2,9",
                .tasks_max = 10,
        };
        Cgroup *c = NULL;
        r = cgroup_create(m, "abc123", "", &l, &c, &err);
        tap_ok(r == 0 && c, "cgroup_create (%s)", err.msg);
        if (!c) {
                cgroup_manager_free(m);
                cleanup();
                return tap_done();
        }
        TAP_EQ_STR(cgroup_id(c), "systemd:sandbox-abc123.scope", "cgroup_id");
        TAP_EQ_INT(cgroup_clone_fd(c), -1, "no clone fd before the scope exists");

        int release, spun;
        pid_t pid = fork_held(&release, &spun);
        Attach a = {};
        r = cgroup_attach(c, pid, on_attached, &a, &err);
        tap_ok(r == 0 && a.calls == 0, "cgroup_attach returns before the job is done (%s)", err.msg);
        run_until(e, &a.calls, 5000);
        tap_ok(a.calls == 1 && a.error == 0, "done() once JobRemoved says 'done' (calls %d, error %d %s)", a.calls, a.error,
               a.msg);
        tap_ok(cgroup_clone_fd(c) >= 0, "the scope's directory is open now");
        tap_ok(pid_in_scope(pid, "sandbox-abc123.scope"), "the held child is in %s/sandbox-abc123.scope", slice);

        char line[128];
        tap_ok(recorded("StartTransientUnit sandbox-abc123.scope fail"), "StartTransientUnit sandbox-abc123.scope, mode fail");
        snprintf(line, sizeof(line), "PIDs au %d", (int) pid);
        tap_ok(recorded(line), "%s", line);
        static const char *const props[] = {
                "Delegate b 1", "CollectMode s inactive-or-failed", "MemoryMax t 67108864", "MemoryLow t 16777216",
                "CPUWeight t 200",
                "CPUQuotaPerSecUSec t 500000", /* 25 ms per 50 ms = 500 ms per second */
                "CPUQuotaPeriodUSec t 50000",
                "AllowedCPUs ay 07 02", /* CPUs 0-2 in byte 0, CPU 9 = bit 1 of byte 1 */
                "TasksMax t 10",
        };
        for (size_t i = 0; i < ELEMENTSOF(props); i++)
                tap_ok(recorded(props[i]), "property %s", props[i]);
        snprintf(line, sizeof(line), "Slice s %s", slice);
        tap_ok(recorded(line), "%s", line);
        tap_ok(!strstr(record(), "not understood"), "no property of another type");
        tap_ok(recorded("OOMPolicy s continue"), "OOMPolicy s continue (the init must outlive an OOM kill)");

        (void) !write(release, "x", 1);
        close(release);
        struct pollfd pfd = { .fd = spun, .events = POLLIN };
        tap_ok(poll(&pfd, 1, 30000) == 1, "the held child burnt %lld ms of CPU", HELD_SPIN_NS / 1000000);
        close(spun);
        CgroupStats s = {};
        r = cgroup_stats(c, &s);
        /* Not all of it: the child's clock also counts what it ran before it was moved in. */
        tap_ok(r == 0 && s.cpu_usage_us >= HELD_SPIN_NS / 1000 * 9 / 10, "stats from the scope's directory: cpu %" PRIu64 " us",
               s.cpu_usage_us);

        /* A daemon restart. */
        Cgroup *c2 = NULL;
        r = cgroup_open(m, cgroup_id(c), &c2, &err);
        tap_ok(r == 0 && c2 && cgroup_clone_fd(c2) >= 0, "cgroup_open(cgroup_id()) finds the scope's directory (%s)", err.msg);
        tap_ok(recorded("GetUnit sandbox-abc123.scope"), "through GetUnit and ControlGroup");
        cgroup_free(c);

        TAP_EQ_INT(cgroup_kill(c2), 0, "cgroup_kill");
        int st = 0;
        for (int i = 0; i < 500 && waitpid(pid, &st, WNOHANG) == 0; i++)
                usleep(10 * 1000);
        tap_ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the child was SIGKILLed (status 0x%x)", st);

        TAP_EQ_INT(cgroup_destroy(c2), 0, "cgroup_destroy");
        for (int i = 0; i < 100 && !recorded("StopUnit sandbox-abc123.scope replace"); i++)
                (void) sd_event_run(e, 10 * 1000);
        tap_ok(recorded("StopUnit sandbox-abc123.scope replace"), "StopUnit sandbox-abc123.scope replace");
        cgroup_free(c2);

        /* A scope that is gone: re-opening is no error, there is just nothing to read. */
        c2 = NULL;
        r = cgroup_open(m, "systemd:sandbox-gone.scope", &c2, &err);
        tap_ok(r == 0 && c2 && cgroup_stats(c2, &s) < 0, "re-opening a scope that is gone: no directory, no stats");
        cgroup_free(c2);
        c2 = NULL;
        r = cgroup_open(m, "systemd:../x.scope", &c2, &err);
        tap_ok(r < 0 && !c2, "a bad unit in an id is refused: %s", err.msg);

        /* A job that fails. */
        l = (CgroupLimits) { .memory_max = 1234567 };
        r = cgroup_create(m, "bad1", "", &l, &c, &err);
        pid = fork_held(&release, &spun);
        a = (Attach) {};
        r = c ? cgroup_attach(c, pid, on_attached, &a, &err) : -1;
        run_until(e, &a.calls, 5000);
        tap_ok(r == 0 && a.calls == 1 && a.error < 0 && strstr(a.msg, "failed") && strstr(a.msg, "sandbox-bad1.scope"),
               "a failed job: done() with '%s'", a.msg);
        close(release);
        close(spun);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        cgroup_free(c);

        /* A Cgroup freed while its job is pending must not be called back. */
        l = (CgroupLimits) {};
        r = cgroup_create(m, "freed1", "", &l, &c, &err);
        pid = fork_held(&release, &spun);
        a = (Attach) {};
        r = c ? cgroup_attach(c, pid, on_attached, &a, &err) : -1;
        cgroup_free(c);
        run_until(e, NULL, 300);
        tap_ok(r == 0 && a.calls == 0, "no done() for a cgroup freed before its job ended");
        close(release);
        close(spun);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        {
                char dir[512];
                snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s/sandbox-freed1.scope", slice);
                (void) rmdir(dir);
        }

        cgroup_manager_free(m);
        sd_event_unref(e);
        printf("# calls recorded by the stand-in:\n");
        for (char *p = record(), *n; *p; p = n) {
                n = strchr(p, '\n');
                n = n ? n + 1 : p + strlen(p);
                printf("#   %.*s", (int) (n - p), p);
        }
        cleanup();
        return tap_done();
}
