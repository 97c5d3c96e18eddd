/* SPDX-License-Identifier: MIT */
/* daemon/sandboxd/cgroup.c: the cgroupfs backends (v2 and v1) and what all backends share. The systemd
 * backend is in cgroup-systemd.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "macro.h"
#include "util.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

/* ---------------------------------------------------------------------------------------- */
/* Small file helpers, relative to a directory fd.                                            */

int cg_write(int dir_fd, const char *file, const char *value) {
        _cleanup_close_ int fd = openat(dir_fd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        size_t n = strlen(value);
        ssize_t w = write(fd, value, n);
        if (w < 0)
                return -errno;
        return (size_t) w == n ? 0 : -EIO;
}

int cg_read(int dir_fd, const char *file, char *buf, size_t size) {
        _cleanup_close_ int fd = openat(dir_fd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        size_t got = 0;
        for (;;) {
                ssize_t n = read(fd, buf + got, size - 1 - got);
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                got += (size_t) n;
                if (got == size - 1)
                        break;
        }
        buf[got] = 0;
        return (int) got;
}

int cg_read_u64(int dir_fd, const char *file, uint64_t *ret) {
        char buf[64];
        int r = cg_read(dir_fd, file, buf, sizeof(buf));
        if (r < 0)
                return r;
        if (strncmp(buf, "max", 3) == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(buf, &end, 10);
        if (errno || end == buf)
                return -EBADMSG;
        *ret = v;
        return 0;
}

/* "key value" lines (cpu.stat, memory.stat, memory.events). */
int cg_read_key(int dir_fd, const char *file, const char *key, uint64_t *ret) {
        char buf[8192];
        int r = cg_read(dir_fd, file, buf, sizeof(buf));
        if (r < 0)
                return r;
        size_t kl = strlen(key);
        for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (strncmp(l, key, kl) == 0 && l[kl] == ' ') {
                        *ret = strtoull(l + kl + 1, NULL, 10);
                        return 0;
                }
        return -ENOENT;
}

static int write_limit(int dir_fd, const char *file, const char *value, SbxError *err) {
        int r = cg_write(dir_fd, file, value);
        if (r < 0)
                return sbx_error_errno(err, -r, "cgroup: writing '%s' to %s", value, file);
        return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* cgroup v2 (cgroupfs-v2 and systemd)                                                        */

unsigned cgroup_v2_available(const char *dir) {
        char path[PATH_MAX], buf[512];
        snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return 0;
        buf[n] = 0;
        unsigned m = 0;
        for (char *save = NULL, *w = strtok_r(buf, " \n", &save); w; w = strtok_r(NULL, " \n", &save)) {
                if (streq(w, "memory"))
                        m |= CGROUP_CTRL_MEMORY;
                else if (streq(w, "cpu"))
                        m |= CGROUP_CTRL_CPU | CGROUP_CTRL_CPUACCT;
                else if (streq(w, "pids"))
                        m |= CGROUP_CTRL_PIDS;
                else if (streq(w, "cpuset"))
                        m |= CGROUP_CTRL_CPUSET;
        }
        return m;
}

int cgroup_v2_apply_limits(int dir_fd, const CgroupLimits *l, unsigned available, SbxError *err) {
        char v[64];
        int r;

        if ((l->memory_max || l->memory_low) && !(available & CGROUP_CTRL_MEMORY))
                return sbx_error(err, EOPNOTSUPP, "cgroup: the memory controller is not available");
        if (l->memory_max) {
                snprintf(v, sizeof(v), "%" PRIu64, l->memory_max);
                if ((r = write_limit(dir_fd, "memory.max", v, err)) < 0)
                        return r;
                /* On OOM the whole task goes, not one random process of it. */
                (void) cg_write(dir_fd, "memory.oom.group", "1");
        }
        if (l->memory_low) {
                snprintf(v, sizeof(v), "%" PRIu64, l->memory_low);
                if ((r = write_limit(dir_fd, "memory.low", v, err)) < 0)
                        return r;
        }
        if ((l->cpu_weight || l->cpu_quota_us) && !(available & CGROUP_CTRL_CPU))
                return sbx_error(err, EOPNOTSUPP, "cgroup: the cpu controller is not available");
        if (l->cpu_weight) {
                snprintf(v, sizeof(v), "%" PRIu64, l->cpu_weight);
                if ((r = write_limit(dir_fd, "cpu.weight", v, err)) < 0)
                        return r;
        }
        if (l->cpu_quota_us) {
                snprintf(v, sizeof(v), "%" PRIu64 " %" PRIu64, l->cpu_quota_us, l->cpu_period_us ?: 100000);
                if ((r = write_limit(dir_fd, "cpu.max", v, err)) < 0)
                        return r;
        }
        if (l->allowed_cpus[0]) {
                if (!(available & CGROUP_CTRL_CPUSET))
                        return sbx_error(err, EOPNOTSUPP, "cgroup: the cpuset controller is not available");
                if ((r = write_limit(dir_fd, "cpuset.cpus", l->allowed_cpus, err)) < 0)
                        return r;
        }
        if (l->tasks_max) {
                if (!(available & CGROUP_CTRL_PIDS))
                        return sbx_error(err, EOPNOTSUPP, "cgroup: the pids controller is not available");
                snprintf(v, sizeof(v), "%" PRIu64, l->tasks_max);
                if ((r = write_limit(dir_fd, "pids.max", v, err)) < 0)
                        return r;
        }
        return 0;
}

int cgroup_v2_stats(int dir_fd, CgroupStats *s) {
        uint64_t v;
        *s = (CgroupStats) {};
        if (cg_read_key(dir_fd, "cpu.stat", "usage_usec", &s->cpu_usage_us) == 0) {
                (void) cg_read_key(dir_fd, "cpu.stat", "user_usec", &s->cpu_user_us);
                (void) cg_read_key(dir_fd, "cpu.stat", "system_usec", &s->cpu_system_us);
                s->measured |= CGROUP_MEASURED_CPU;
                if (cg_read_key(dir_fd, "cpu.stat", "nr_throttled", &s->nr_throttled) == 0 &&
                    cg_read_key(dir_fd, "cpu.stat", "throttled_usec", &s->throttled_us) == 0)
                        s->measured |= CGROUP_MEASURED_THROTTLE;
        }
        if (cg_read_u64(dir_fd, "memory.current", &s->memory_current) == 0) {
                s->measured |= CGROUP_MEASURED_MEMORY;
                if (cg_read_key(dir_fd, "memory.stat", "anon", &v) == 0)
                        s->memory_rss = v;
                if (cg_read_key(dir_fd, "memory.stat", "file", &v) == 0)
                        s->memory_cache = v;
                if (cg_read_u64(dir_fd, "memory.swap.current", &s->memory_swap) == 0)
                        s->measured |= CGROUP_MEASURED_SWAP;
                if (cg_read_u64(dir_fd, "memory.peak", &s->memory_peak) == 0)
                        s->measured |= CGROUP_MEASURED_PEAK;
        }
        if (cg_read_u64(dir_fd, "pids.current", &s->pids_current) == 0)
                s->measured |= CGROUP_MEASURED_PIDS;
        return s->measured ? 0 : -ENODATA;
}

/* Kills every process in the cgroup (procs_file: "cgroup.procs"). Without cgroup.kill, a loop:
 * a process may fork between our read and our kill, so read again until the file is empty. */
static int kill_procs(int dir_fd) {
        for (int round = 0; round < 50; round++) {
                char buf[65536];
                int r = cg_read(dir_fd, "cgroup.procs", buf, sizeof(buf));
                if (r < 0)
                        return r;
                if (r == 0)
                        return 0;
                for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                        pid_t pid = (pid_t) strtol(l, NULL, 10);
                        if (pid > 1)
                                (void) kill(pid, SIGKILL);
                }
                struct timespec ts = { 0, 2 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        return -EBUSY;
}

int cgroup_v2_kill(int dir_fd) {
        if (cg_write(dir_fd, "cgroup.kill", "1") == 0)
                return 0;
        return kill_procs(dir_fd);
}

bool cgroup_v2_oom_killed(int dir_fd) {
        uint64_t v = 0;
        return cg_read_key(dir_fd, "memory.events", "oom_kill", &v) == 0 && v > 0;
}

/* Waits (briefly) until no process is left, so rmdir works. */
int cg_wait_empty(int dir_fd) {
        for (int i = 0; i < 200; i++) {
                char buf[64];
                int r = cg_read(dir_fd, "cgroup.procs", buf, sizeof(buf));
                if (r <= 0)
                        return r;
                struct timespec ts = { 0, 5 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        return -EBUSY;
}

/* ---------------------------------------------------------------------------------------- */
/* The manager                                                                                */

static const char *const v1_names[V1_MAX] = {
        [V1_MEMORY] = "memory", [V1_CPU] = "cpu", [V1_CPUACCT] = "cpuacct", [V1_PIDS] = "pids", [V1_CPUSET] = "cpuset",
};

/* Finds each v1 controller's mount (a hierarchy may carry several: "cpu,cpuacct"). */
static void find_v1_mounts(CgroupManager *m) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096];
        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                char *sep = strstr(line, " - ");
                if (!sep || strncmp(sep, " - cgroup ", 10) != 0)
                        continue;
                /* fields: id parent maj:min root mountpoint ... */
                char root[PATH_MAX], mnt[PATH_MAX];
                if (sscanf(line, "%*d %*d %*s %4095s %4095s", root, mnt) != 2 || !streq(root, "/"))
                        continue;
                char *opts = strrchr(sep, ' ');
                if (!opts)
                        continue;
                opts++;
                opts[strcspn(opts, "\n")] = 0;
                for (int i = 0; i < V1_MAX; i++) {
                        char *o = opts, *tok, *save = NULL;
                        _cleanup_free_ char *copy = xstrdup(o);
                        for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
                                if (streq(tok, v1_names[i]) && !m->v1_mnt[i])
                                        m->v1_mnt[i] = xstrdup(mnt);
                }
        }
}

static int mkdir_parents(const char *path, mode_t mode) {
        _cleanup_free_ char *p = xstrdup(path);
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = 0;
                        if (mkdir(p, mode) < 0 && errno != EEXIST)
                                return -errno;
                        *s = '/';
                }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* v2: enables the controllers we use in every ancestor of dir (below the root) and in dir. */
static void v2_enable_controllers(const char *dir) {
        _cleanup_free_ char *p = xstrdup(dir);
        size_t root_len = strlen(CGROUP_ROOT);
        for (char *s = p + root_len;; s++) {
                if (*s == '/' || *s == 0) {
                        char c = *s;
                        *s = 0;
                        _cleanup_close_ int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (fd >= 0) {
                                unsigned av = cgroup_v2_available(p);
                                static const struct { unsigned bit; const char *name; } ctl[] = {
                                        { CGROUP_CTRL_MEMORY, "+memory" }, { CGROUP_CTRL_CPU, "+cpu" },
                                        { CGROUP_CTRL_PIDS, "+pids" },     { CGROUP_CTRL_CPUSET, "+cpuset" },
                                };
                                for (size_t i = 0; i < ELEMENTSOF(ctl); i++)
                                        if (av & ctl[i].bit)
                                                (void) cg_write(fd, "cgroup.subtree_control", ctl[i].name);
                        }
                        *s = c;
                        if (c == 0)
                                break;
                }
        }
}

/* A parent below the hierarchy's root: no empty, "." or ".." component, nothing but printable
 * characters other than space (a space separates the parts of a v1 cgroup id). */
static int check_parent(const char *parent, SbxError *err) {
        size_t n = strlen(parent);
        if (n == 0 || n > 200 || parent[0] == '/' || parent[n - 1] == '/')
                return sbx_error(err, EINVAL, "cgroup: parent '%.200s': empty, too long, or begins or ends with '/'",
                                 parent);
        for (const char *p = parent; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f)
                        return sbx_error(err, EINVAL, "cgroup: parent '%.200s': a space or control character", parent);
        for (const char *p = parent;;) {
                const char *e = strchrnul(p, '/');
                size_t l = (size_t) (e - p);
                if (l == 0 || (l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
                        return sbx_error(err, EINVAL, "cgroup: parent '%.200s': an empty, '.' or '..' component",
                                         parent);
                if (!*e)
                        return 0;
                p = e + 1;
        }
}

static bool file_in(const char *dir, const char *file) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, file);
        return access(path, F_OK) == 0;
}

/* The limits whose files exist in dir (a cgroup v2 directory whose parent enabled the
 * controllers: files of a disabled controller are absent). */
static unsigned v2_enforced(const char *dir) {
        unsigned e = 0;
        if (file_in(dir, "memory.max"))
                e |= CGROUP_LIMIT_MEMORY_MAX;
        if (file_in(dir, "memory.low"))
                e |= CGROUP_LIMIT_MEMORY_LOW;
        if (file_in(dir, "cpu.weight"))
                e |= CGROUP_LIMIT_CPU_WEIGHT;
        if (file_in(dir, "cpu.max"))
                e |= CGROUP_LIMIT_CPU_QUOTA;
        if (file_in(dir, "cpuset.cpus"))
                e |= CGROUP_LIMIT_ALLOWED_CPUS;
        if (file_in(dir, "pids.max"))
                e |= CGROUP_LIMIT_TASKS_MAX;
        return e;
}

/* From the controllers the root offers (systemd backend: scopes get what systemd enables). */
static unsigned v2_enforced_from_available(unsigned a) {
        unsigned e = 0;
        if (a & CGROUP_CTRL_MEMORY)
                e |= CGROUP_LIMIT_MEMORY_MAX | CGROUP_LIMIT_MEMORY_LOW;
        if (a & CGROUP_CTRL_CPU)
                e |= CGROUP_LIMIT_CPU_WEIGHT | CGROUP_LIMIT_CPU_QUOTA;
        if (a & CGROUP_CTRL_CPUSET)
                e |= CGROUP_LIMIT_ALLOWED_CPUS;
        if (a & CGROUP_CTRL_PIDS)
                e |= CGROUP_LIMIT_TASKS_MAX;
        return e;
}

/* v1: the limit files in our parent directory of each hierarchy (cpu.cfs_quota_us exists only
 * with CONFIG_CFS_BANDWIDTH). */
static unsigned v1_enforced(CgroupManager *m) {
        static const struct {
                int h;
                const char *file;
                unsigned bit;
        } f[] = {
                { V1_MEMORY, "memory.limit_in_bytes", CGROUP_LIMIT_MEMORY_MAX },
                { V1_MEMORY, "memory.soft_limit_in_bytes", CGROUP_LIMIT_MEMORY_LOW },
                { V1_CPU, "cpu.shares", CGROUP_LIMIT_CPU_WEIGHT },
                { V1_CPU, "cpu.cfs_quota_us", CGROUP_LIMIT_CPU_QUOTA },
                { V1_CPUSET, "cpuset.cpus", CGROUP_LIMIT_ALLOWED_CPUS },
                { V1_PIDS, "pids.max", CGROUP_LIMIT_TASKS_MAX },
        };
        unsigned e = 0;
        for (size_t i = 0; i < ELEMENTSOF(f); i++) {
                if (!m->v1_mnt[f[i].h])
                        continue;
                _cleanup_free_ char *dir = xasprintf("%s/%s", m->v1_mnt[f[i].h], m->parent);
                if (file_in(dir, f[i].file))
                        e |= f[i].bit;
        }
        return e;
}

static const char *const cgroup_backend_table[_CGROUP_BACKEND_MAX] = {
        [CGROUP_BACKEND_AUTO] = "auto",
        [CGROUP_BACKEND_SYSTEMD] = "systemd",
        [CGROUP_BACKEND_CGROUPFS] = "cgroupfs",
};

DEFINE_STRING_TABLE_LOOKUP(cgroup_backend, CgroupBackend, _CGROUP_BACKEND_MAX, _CGROUP_BACKEND_INVALID, streq)

int cgroup_manager_new(const CgroupManagerConfig *c, CgroupManager **ret, SbxError *err) {
        _cleanup_(cgroup_manager_freep) CgroupManager *m = xcalloc(1, sizeof(CgroupManager));
        struct statfs fs;
        int r;

        m->event = c->event ? sd_event_ref(c->event) : NULL;
        bool v2 = statfs(CGROUP_ROOT, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
        bool systemd = access("/run/systemd/system", F_OK) == 0;

        CgroupBackend backend = c->backend;
        if (backend == CGROUP_BACKEND_AUTO)
                backend = v2 && systemd ? CGROUP_BACKEND_SYSTEMD : CGROUP_BACKEND_CGROUPFS;
        if (backend == CGROUP_BACKEND_SYSTEMD) {
                if (!v2)
                        return sbx_error(err, EOPNOTSUPP,
                                         "cgroup: the systemd backend needs a cgroup v2 host (/sys/fs/cgroup is not cgroup2)");
                m->kind = CG_SYSTEMD;
                m->parent = xstrdup(c->parent ? c->parent : "sandbox.slice");
                size_t pl = strlen(m->parent);
                if (pl <= 6 || !streq(m->parent + pl - 6, ".slice") || strchr(m->parent, '/'))
                        return sbx_error(err, EINVAL, "cgroup: parent '%.200s': the systemd backend needs a slice name (x.slice)",
                                         m->parent);
                r = cgroup_systemd_init(m, err);
                if (r < 0)
                        return r;
                m->enforced = v2_enforced_from_available(m->available);
        } else if (v2) {
                m->kind = CG_V2;
                const char *parent = c->parent ? c->parent : "sandboxd";
                if ((r = check_parent(parent, err)) < 0)
                        return r;
                m->parent = xasprintf("%s/%s", CGROUP_ROOT, parent);
                r = mkdir_parents(m->parent, 0755);
                if (r < 0)
                        return sbx_error_errno(err, -r, "cgroup: creating %s", m->parent);
                v2_enable_controllers(m->parent);
                m->available = cgroup_v2_available(m->parent);
                m->enforced = v2_enforced(m->parent);
        } else {
                m->kind = CG_V1;
                const char *parent = c->parent ? c->parent : "sandboxd";
                if ((r = check_parent(parent, err)) < 0)
                        return r;
                m->parent = xstrdup(parent);
                find_v1_mounts(m);
                for (int i = 0; i < V1_MAX; i++) {
                        if (!m->v1_mnt[i])
                                continue;
                        _cleanup_free_ char *dir = xasprintf("%s/%s", m->v1_mnt[i], m->parent);
                        r = mkdir_parents(dir, 0755);
                        if (r < 0)
                                return sbx_error_errno(err, -r, "cgroup: creating %s", dir);
                        if (i == V1_CPUSET) {
                                /* A v1 cpuset cgroup takes no task until cpus and mems are set. */
                                _cleanup_close_ int pfd = open(m->v1_mnt[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                                _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                                char buf[256];
                                if (pfd >= 0 && dfd >= 0) {
                                        if (cg_read(pfd, "cpuset.cpus", buf, sizeof(buf)) > 0)
                                                (void) cg_write(dfd, "cpuset.cpus", buf);
                                        if (cg_read(pfd, "cpuset.mems", buf, sizeof(buf)) > 0)
                                                (void) cg_write(dfd, "cpuset.mems", buf);
                                }
                        }
                        m->available |= 1u << i;
                }
                if (!m->available)
                        return sbx_error(err, ENODEV, "cgroup: no cgroup v1 hierarchy of memory, cpu, pids or cpuset is mounted");
                m->enforced = v1_enforced(m);
        }
        *ret = TAKE_PTR(m);
        return 0;
}

CgroupManager *cgroup_manager_free(CgroupManager *m) {
        if (!m)
                return NULL;
        if (m->kind == CG_SYSTEMD)
                cgroup_systemd_done(m);
        for (int i = 0; i < V1_MAX; i++)
                free(m->v1_mnt[i]);
        free(m->parent);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

const char *cgroup_manager_backend(CgroupManager *m) {
        if (!m)
                return "none";
        return m->kind == CG_SYSTEMD ? "systemd" : m->kind == CG_V2 ? "cgroupfs-v2" : "cgroupfs-v1";
}

size_t cgroup_manager_enforced(CgroupManager *m, const char **out, size_t n) {
        size_t k = 0;
        unsigned e = m ? m->enforced : 0;
#define ADD(bit, name)                                                                             \
        if ((e & (bit)) && k < n)                                                                  \
                out[k++] = (name);
        ADD(CGROUP_LIMIT_MEMORY_MAX, "memory_max");
        ADD(CGROUP_LIMIT_MEMORY_LOW, "memory_low");
        ADD(CGROUP_LIMIT_CPU_WEIGHT, "cpu_weight");
        ADD(CGROUP_LIMIT_CPU_QUOTA, "cpu_quota");
        ADD(CGROUP_LIMIT_ALLOWED_CPUS, "allowed_cpus");
        ADD(CGROUP_LIMIT_TASKS_MAX, "tasks_max");
#undef ADD
        return k;
}

/* ---------------------------------------------------------------------------------------- */
/* cgroupfs v1                                                                                */

/* The directory fd of hierarchy h, or an error naming the limit when it is not mounted. */
static int v1_fd(Cgroup *c, int h, const char *limit, SbxError *err) {
        if (c->v1_fd[h] < 0)
                return sbx_error(err, EOPNOTSUPP, "cgroup: %s: no cgroup v1 %s hierarchy is mounted", limit, v1_names[h]);
        return c->v1_fd[h];
}

static int v1_apply_limits(Cgroup *c, const CgroupLimits *l, SbxError *err) {
        char v[64];
        int fd, r;

        if (l->memory_max) {
                if ((fd = v1_fd(c, V1_MEMORY, "memory_max", err)) < 0)
                        return fd;
                snprintf(v, sizeof(v), "%" PRIu64, l->memory_max);
                if ((r = write_limit(fd, "memory.limit_in_bytes", v, err)) < 0)
                        return r;
                /* Memory plus swap, so the task cannot swap its way past the limit. The file
                 * exists only with swap accounting; memsw must not be below the memory limit,
                 * which it is not here: both start unlimited and the memory limit went first. */
                r = cg_write(fd, "memory.memsw.limit_in_bytes", v);
                if (r < 0 && r != -ENOENT)
                        return sbx_error_errno(err, -r, "cgroup: writing '%s' to memory.memsw.limit_in_bytes", v);
        }
        if (l->memory_low) {
                if ((fd = v1_fd(c, V1_MEMORY, "memory_low", err)) < 0)
                        return fd;
                snprintf(v, sizeof(v), "%" PRIu64, l->memory_low);
                if ((r = write_limit(fd, "memory.soft_limit_in_bytes", v, err)) < 0)
                        return r;
        }
        if (l->cpu_weight) {
                if ((fd = v1_fd(c, V1_CPU, "cpu_weight", err)) < 0)
                        return fd;
                /* v2 weight 100 (the default) = v1 shares 1024; shares are at least 2 */
                uint64_t shares = l->cpu_weight * 1024 / 100;
                snprintf(v, sizeof(v), "%" PRIu64, shares < 2 ? 2 : shares);
                if ((r = write_limit(fd, "cpu.shares", v, err)) < 0)
                        return r;
        }
        if (l->cpu_quota_us) {
                if ((fd = v1_fd(c, V1_CPU, "cpu_quota", err)) < 0)
                        return fd;
                snprintf(v, sizeof(v), "%" PRIu64, l->cpu_period_us ?: 100000);
                if ((r = write_limit(fd, "cpu.cfs_period_us", v, err)) < 0)
                        return r;
                snprintf(v, sizeof(v), "%" PRIu64, l->cpu_quota_us);
                if ((r = write_limit(fd, "cpu.cfs_quota_us", v, err)) < 0)
                        return r;
        }
        /* In Nomad's cpuset cgroup (shared by its tasks), Nomad sets the cpus. */
        if (l->allowed_cpus[0] && !c->v1_cpuset) {
                if ((fd = v1_fd(c, V1_CPUSET, "allowed_cpus", err)) < 0)
                        return fd;
                if ((r = write_limit(fd, "cpuset.cpus", l->allowed_cpus, err)) < 0)
                        return r;
        }
        if (l->tasks_max) {
                if ((fd = v1_fd(c, V1_PIDS, "tasks_max", err)) < 0)
                        return fd;
                snprintf(v, sizeof(v), "%" PRIu64, l->tasks_max);
                if ((r = write_limit(fd, "pids.max", v, err)) < 0)
                        return r;
        }
        return 0;
}

/* The directory of hierarchy h for this cgroup (Nomad's cpuset cgroup, or ours). */
static char *v1_dir(Cgroup *c, int h) {
        if (h == V1_CPUSET && c->v1_cpuset)
                return xstrdup(c->v1_cpuset);
        return xasprintf("%s/%s", c->m->v1_mnt[h], c->rel);
}

static int v1_open(CgroupManager *m, Cgroup *c, bool create, SbxError *err) {
        for (int i = 0; i < V1_MAX; i++) {
                c->v1_fd[i] = -1;
                if (!m->v1_mnt[i])
                        continue;
                bool ours = !(i == V1_CPUSET && c->v1_cpuset);
                /* Co-mounted controllers ("cpu,cpuacct") share one directory. */
                int same = -1;
                for (int j = 0; j < i && ours; j++)
                        if (c->v1_fd[j] >= 0 && streq(m->v1_mnt[j], m->v1_mnt[i]) && !(j == V1_CPUSET && c->v1_cpuset))
                                same = j;
                if (same >= 0) {
                        c->v1_fd[i] = fcntl(c->v1_fd[same], F_DUPFD_CLOEXEC, 3);
                        if (c->v1_fd[i] < 0)
                                return sbx_error_errno(err, errno, "cgroup: dup");
                        continue;
                }
                _cleanup_free_ char *dir = v1_dir(c, i);
                if (create && ours && mkdir(dir, 0755) < 0)
                        return sbx_error_errno(err, errno, "cgroup: creating %s", dir);
                c->v1_fd[i] = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (c->v1_fd[i] < 0)
                        return sbx_error_errno(err, errno, "cgroup: opening %s", dir);
                if (create && ours && i == V1_CPUSET) {
                        /* A new v1 cpuset cgroup is empty and takes no task until it has cpus
                         * and mems: the parent's. */
                        _cleanup_free_ char *pdir = xasprintf("%s/%s", m->v1_mnt[i], m->parent);
                        _cleanup_close_ int pfd = open(pdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        char buf[256];
                        int r;
                        if (pfd < 0)
                                return sbx_error_errno(err, errno, "cgroup: opening %s", pdir);
                        if ((r = cg_read(pfd, "cpuset.cpus", buf, sizeof(buf))) > 0 &&
                            (r = cg_write(c->v1_fd[i], "cpuset.cpus", buf)) < 0)
                                return sbx_error_errno(err, -r, "cgroup: copying cpuset.cpus of %s", pdir);
                        if ((r = cg_read(pfd, "cpuset.mems", buf, sizeof(buf))) > 0 &&
                            (r = cg_write(c->v1_fd[i], "cpuset.mems", buf)) < 0)
                                return sbx_error_errno(err, -r, "cgroup: copying cpuset.mems of %s", pdir);
                }
        }
        return 0;
}

static int v1_stats(Cgroup *c, CgroupStats *s) {
        uint64_t v;
        *s = (CgroupStats) {};
        int cpuacct = c->v1_fd[V1_CPUACCT] >= 0 ? c->v1_fd[V1_CPUACCT] : c->v1_fd[V1_CPU];
        if (cpuacct >= 0 && cg_read_u64(cpuacct, "cpuacct.usage", &v) == 0) {
                s->cpu_usage_us = v / 1000;
                long hz = sysconf(_SC_CLK_TCK);
                if (hz <= 0)
                        hz = 100;
                if (cg_read_key(cpuacct, "cpuacct.stat", "user", &v) == 0)
                        s->cpu_user_us = v * 1000000 / (uint64_t) hz;
                if (cg_read_key(cpuacct, "cpuacct.stat", "system", &v) == 0)
                        s->cpu_system_us = v * 1000000 / (uint64_t) hz;
                s->measured |= CGROUP_MEASURED_CPU;
        }
        if (c->v1_fd[V1_CPU] >= 0 && cg_read_key(c->v1_fd[V1_CPU], "cpu.stat", "nr_throttled", &s->nr_throttled) == 0 &&
            cg_read_key(c->v1_fd[V1_CPU], "cpu.stat", "throttled_time", &v) == 0) {
                s->throttled_us = v / 1000;
                s->measured |= CGROUP_MEASURED_THROTTLE;
        }
        int mem = c->v1_fd[V1_MEMORY];
        if (mem >= 0 && cg_read_u64(mem, "memory.usage_in_bytes", &s->memory_current) == 0) {
                s->measured |= CGROUP_MEASURED_MEMORY;
                if (cg_read_key(mem, "memory.stat", "total_rss", &v) == 0 || cg_read_key(mem, "memory.stat", "rss", &v) == 0)
                        s->memory_rss = v;
                if (cg_read_key(mem, "memory.stat", "total_cache", &v) == 0 ||
                    cg_read_key(mem, "memory.stat", "cache", &v) == 0)
                        s->memory_cache = v;
                if (cg_read_key(mem, "memory.stat", "total_swap", &v) == 0 || cg_read_key(mem, "memory.stat", "swap", &v) == 0) {
                        s->memory_swap = v;
                        s->measured |= CGROUP_MEASURED_SWAP;
                }
                if (cg_read_u64(mem, "memory.max_usage_in_bytes", &s->memory_peak) == 0)
                        s->measured |= CGROUP_MEASURED_PEAK;
        }
        if (c->v1_fd[V1_PIDS] >= 0 && cg_read_u64(c->v1_fd[V1_PIDS], "pids.current", &s->pids_current) == 0)
                s->measured |= CGROUP_MEASURED_PIDS;
        return s->measured ? 0 : -ENODATA;
}

/* The hierarchy whose cgroup.procs lists every process of the task. */
static int v1_procs_fd(Cgroup *c) {
        static const int order[] = { V1_PIDS, V1_MEMORY, V1_CPU, V1_CPUACCT, V1_CPUSET };
        for (size_t i = 0; i < ELEMENTSOF(order); i++)
                if (c->v1_fd[order[i]] >= 0)
                        return c->v1_fd[order[i]];
        return -1;
}

/* ---------------------------------------------------------------------------------------- */
/* Cgroups                                                                                    */

static Cgroup *cgroup_new(CgroupManager *m) {
        Cgroup *c = xcalloc(1, sizeof(Cgroup));
        c->m = m;
        c->dir_fd = -1;
        for (int i = 0; i < V1_MAX; i++)
                c->v1_fd[i] = -1;
        return c;
}

static bool endswith_dotdot(const char *s) {
        size_t n = strlen(s);
        return n >= 3 && streq(s + n - 3, "/..");
}

/* "nomad.slice/x.scope" or "/sys/fs/cgroup/nomad.slice/x.scope" -> the absolute v2 path. */
static char *nomad_path(const char *path) {
        if (startswith(path, CGROUP_ROOT "/"))
                return xstrdup(path);
        while (*path == '/')
                path++;
        return xasprintf("%s/%s", CGROUP_ROOT, path);
}

int cgroup_create(CgroupManager *m, const char *name, const char *path, const CgroupLimits *l, Cgroup **ret,
                  SbxError *err) {
        _cleanup_(cgroup_freep) Cgroup *c = NULL;
        int r;

        if (!m) {
                *ret = NULL;
                return 0;
        }
        /* The task id: one path component, nothing a v1 id's space or a unit name would trip on. */
        bool bad = !name || !name[0] || strlen(name) > 128 || streq(name, ".") || streq(name, "..");
        for (const char *p = name; !bad && *p; p++)
                bad = (unsigned char) *p <= ' ' || *p == '/' || *p == 0x7f;
        if (bad)
                return sbx_error(err, EINVAL, "cgroup: '%.100s' cannot name a cgroup", name ?: "(null)");
        path = path ?: "";
        if (path[0] && (strstr(path, "/../") || startswith(path, "../") || endswith_dotdot(path) || streq(path, "..")))
                return sbx_error(err, EINVAL, "cgroup: '%.200s': a '..' component", path);
        c = cgroup_new(m);
        c->limits = *l;

        switch (m->kind) {
        case CG_SYSTEMD:
                if (path[0]) {
                        /* Nomad made the cgroup (under its own slice): use it as cgroupfs would. */
                        c->path = nomad_path(path);
                        c->foreign = true;
                        break;
                }
                r = cgroup_systemd_create(c, name, err);
                if (r < 0)
                        return r;
                *ret = TAKE_PTR(c);
                return 0;
        case CG_V2:
                if (path[0]) {
                        c->path = nomad_path(path);
                        c->foreign = true;
                } else {
                        c->path = xasprintf("%s/%s", m->parent, name);
                        if (mkdir(c->path, 0755) < 0)
                                return sbx_error_errno(err, errno, "cgroup: creating %s", c->path);
                }
                break;
        case CG_V1:
                if (path[0]) {
                        /* On v1, Nomad makes only a cpuset cgroup (LinuxResources.CpusetCgroupPath):
                         * the task goes there in the cpuset hierarchy, in ours in the others. */
                        _cleanup_free_ char *abs = nomad_path(path);
                        const char *below = m->v1_mnt[V1_CPUSET] ? startswith(abs, m->v1_mnt[V1_CPUSET]) : NULL;
                        if (!below || below[0] != '/' || !below[1] || strstr(abs, "/../") || endswith_dotdot(abs))
                                return sbx_error(err, EINVAL,
                                                 "cgroup: '%.200s': on a cgroup v1 host only Nomad's cpuset cgroup "
                                                 "(under %s) can be used",
                                                 path, m->v1_mnt[V1_CPUSET] ? m->v1_mnt[V1_CPUSET] : "a cpuset hierarchy");
                        c->v1_cpuset = TAKE_PTR(abs);
                }
                c->rel = xasprintf("%s/%s", m->parent, name);
                c->id = c->v1_cpuset ? xasprintf("cgroupfs-v1:%s cpuset=%s", c->rel, c->v1_cpuset)
                                     : xasprintf("cgroupfs-v1:%s", c->rel);
                r = v1_open(m, c, true, err);
                if (r >= 0)
                        r = v1_apply_limits(c, l, err);
                if (r < 0) {
                        (void) cgroup_destroy(c);
                        return r;
                }
                *ret = TAKE_PTR(c);
                return 0;
        }

        /* v2 directory (ours or Nomad's) */
        c->dir_fd = open(c->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (c->dir_fd < 0) {
                r = sbx_error_errno(err, errno, "cgroup: opening %s", c->path);
                if (!c->foreign)
                        (void) rmdir(c->path);
                return r;
        }
        c->id = xasprintf("%s:%s%s", c->foreign ? "cgroupfs-v2-nomad" : "cgroupfs-v2", c->path, "");
        r = cgroup_v2_apply_limits(c->dir_fd, l, cgroup_v2_available(c->path), err);
        if (r < 0) {
                if (!c->foreign) /* Nomad's: neither killed nor removed */
                        (void) cgroup_destroy(c);
                return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

int cgroup_clone_fd(Cgroup *c) {
        if (!c || c->m->kind == CG_V1)
                return -1;
        return c->dir_fd; /* systemd: -1 until the scope exists */
}

int cgroup_attach(Cgroup *c, pid_t pid, void (*done)(Cgroup *c, int error, const char *msg, void *u), void *u,
                  SbxError *err) {
        char v[32];
        int r;

        if (c->m->kind == CG_SYSTEMD && !c->path)
                return cgroup_systemd_attach(c, pid, done, u, err);

        snprintf(v, sizeof(v), "%d", (int) pid);
        if (c->m->kind == CG_V1) {
                for (int i = 0; i < V1_MAX; i++)
                        if (c->v1_fd[i] >= 0 && (r = cg_write(c->v1_fd[i], "cgroup.procs", v)) < 0) {
                                char msg[256];
                                snprintf(msg, sizeof(msg), "cgroup: adding pid %d to %s/%s: %s", (int) pid,
                                         c->m->v1_mnt[i], c->rel, strerror(-r));
                                done(c, r, msg, u);
                                return 0;
                        }
        } else if ((r = cg_write(c->dir_fd, "cgroup.procs", v)) < 0) {
                char msg[256];
                snprintf(msg, sizeof(msg), "cgroup: adding pid %d to %s: %s", (int) pid, c->path, strerror(-r));
                done(c, r, msg, u);
                return 0;
        }
        done(c, 0, NULL, u);
        return 0;
}

int cgroup_kill(Cgroup *c) {
        if (!c)
                return 0;
        if (c->m->kind == CG_V1) {
                int fd = v1_procs_fd(c);
                return fd >= 0 ? kill_procs(fd) : -ENODEV;
        }
        if (c->dir_fd < 0)
                return c->m->kind == CG_SYSTEMD ? cgroup_systemd_kill(c) : -ENODEV;
        return cgroup_v2_kill(c->dir_fd);
}

int cgroup_stats(Cgroup *c, CgroupStats *ret) {
        if (!c)
                return -ENODEV;
        if (c->m->kind == CG_V1)
                return v1_stats(c, ret);
        if (c->dir_fd < 0)
                return -ENODEV;
        return cgroup_v2_stats(c->dir_fd, ret);
}

size_t cgroup_stats_measured(const CgroupStats *s, const char **out, size_t n) {
        size_t k = 0;
#define ADD(bit, name)                                                                             \
        if ((s->measured & (bit)) && k < n)                                                        \
                out[k++] = (name);
        ADD(CGROUP_MEASURED_MEMORY, "RSS");
        ADD(CGROUP_MEASURED_MEMORY, "Cache");
        ADD(CGROUP_MEASURED_MEMORY, "Usage");
        ADD(CGROUP_MEASURED_SWAP, "Swap");
        ADD(CGROUP_MEASURED_PEAK, "Max Usage");
        ADD(CGROUP_MEASURED_CPU, "System Mode");
        ADD(CGROUP_MEASURED_CPU, "User Mode");
        ADD(CGROUP_MEASURED_CPU, "Percent");
        ADD(CGROUP_MEASURED_THROTTLE, "Throttled Periods");
        ADD(CGROUP_MEASURED_THROTTLE, "Throttled Time");
#undef ADD
        return k;
}

bool cgroup_oom_killed(Cgroup *c) {
        if (!c)
                return false;
        if (c->m->kind == CG_V1) {
                uint64_t v = 0;
                return c->v1_fd[V1_MEMORY] >= 0 && cg_read_key(c->v1_fd[V1_MEMORY], "memory.oom_control", "oom_kill", &v) == 0 &&
                       v > 0;
        }
        return c->dir_fd >= 0 && cgroup_v2_oom_killed(c->dir_fd);
}

int cgroup_destroy(Cgroup *c) {
        if (!c)
                return 0;
        (void) cgroup_kill(c);
        if (c->m->kind == CG_V1) {
                int ret = 0;
                for (int i = 0; i < V1_MAX; i++) {
                        /* Only what we opened: not a directory we failed to create. */
                        if (c->v1_fd[i] < 0 || (i == V1_CPUSET && c->v1_cpuset))
                                continue;
                        (void) cg_wait_empty(c->v1_fd[i]);
                        _cleanup_free_ char *dir = v1_dir(c, i);
                        if (rmdir(dir) < 0 && errno != ENOENT && ret == 0)
                                ret = -errno;
                }
                return ret;
        }
        if (c->m->kind == CG_SYSTEMD && !c->foreign)
                return cgroup_systemd_stop(c);
        if (c->foreign || !c->path)
                return 0;
        if (c->dir_fd >= 0)
                (void) cg_wait_empty(c->dir_fd);
        if (rmdir(c->path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

Cgroup *cgroup_free(Cgroup *c) {
        if (!c)
                return NULL;
        if (c->m && c->m->kind == CG_SYSTEMD)
                cgroup_systemd_free(c);
        safe_close(c->dir_fd);
        for (int i = 0; i < V1_MAX; i++)
                safe_close(c->v1_fd[i]);
        free(c->id);
        free(c->path);
        free(c->rel);
        free(c->v1_cpuset);
        free(c->unit);
        free(c);
        return NULL;
}

/* Kills and removes the directory <dir>, if it exists. */
static int remove_orphan_dir(const char *dir) {
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        (void) kill_procs(fd);
        (void) cg_wait_empty(fd);
        if (rmdir(dir) < 0 && errno != ENOENT)
                return -errno;
        return 1;
}

int cgroup_remove_orphan(CgroupManager *m, const char *name) {
        int r, ret = 0;
        if (!m || !name[0] || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
                return 0;
        switch (m->kind) {
        case CG_SYSTEMD:
                return cgroup_systemd_remove_orphan(m, name);
        case CG_V2: {
                _cleanup_free_ char *dir = xasprintf("%s/%s", m->parent, name);
                return remove_orphan_dir(dir);
        }
        case CG_V1:
                /* Each hierarchy separately: the start may have died between two mkdirs. */
                for (int i = 0; i < V1_MAX; i++) {
                        if (!m->v1_mnt[i])
                                continue;
                        _cleanup_free_ char *dir = xasprintf("%s/%s/%s", m->v1_mnt[i], m->parent, name);
                        if ((r = remove_orphan_dir(dir)) < 0 && ret >= 0)
                                ret = r;
                        else if (r > 0 && ret == 0)
                                ret = 1;
                }
                return ret;
        }
        return 0;
}

int cgroup_open(CgroupManager *m, const char *id, Cgroup **ret, SbxError *err) {
        _cleanup_(cgroup_freep) Cgroup *c = NULL;
        const char *v;

        if (!m || !id || !id[0]) {
                *ret = NULL;
                return 0;
        }
        c = cgroup_new(m);
        c->id = xstrdup(id);
        if ((v = startswith(id, "cgroupfs-v1:"))) {
                if (m->kind != CG_V1)
                        return sbx_error(err, EINVAL, "cgroup: '%s' belongs to another backend (%s now)", id,
                                         cgroup_manager_backend(m));
                const char *cpuset = strstr(v, " cpuset=");
                c->rel = cpuset ? strndup(v, (size_t) (cpuset - v)) : xstrdup(v);
                if (!c->rel)
                        return -ENOMEM;
                if (cpuset) {
                        c->v1_cpuset = xstrdup(cpuset + 8);
                        const char *below = m->v1_mnt[V1_CPUSET] ? startswith(c->v1_cpuset, m->v1_mnt[V1_CPUSET]) : NULL;
                        if (!below || below[0] != '/' || strstr(c->v1_cpuset, "/../") || endswith_dotdot(c->v1_cpuset))
                                return sbx_error(err, EINVAL, "cgroup: bad id '%.200s'", id);
                }
                if (strstr(c->rel, "..") || c->rel[0] == '/' || !startswith(c->rel, m->parent) ||
                    c->rel[strlen(m->parent)] != '/')
                        return sbx_error(err, EINVAL, "cgroup: bad id '%.200s' (not under %s)", id, m->parent);
                int r = v1_open(m, c, false, err);
                if (r < 0)
                        return r;
        } else if ((v = startswith(id, "cgroupfs-v2:")) || (v = startswith(id, "cgroupfs-v2-nomad:"))) {
                if (m->kind == CG_V1)
                        return sbx_error(err, EINVAL, "cgroup: '%.200s' is a cgroup v2 id, this host is cgroup v1", id);
                if (!startswith(v, CGROUP_ROOT "/") || strstr(v, ".."))
                        return sbx_error(err, EINVAL, "cgroup: bad id '%s'", id);
                c->path = xstrdup(v);
                c->foreign = startswith(id, "cgroupfs-v2-nomad:");
                c->dir_fd = open(c->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (c->dir_fd < 0)
                        return sbx_error_errno(err, errno, "cgroup: opening %s", c->path);
        } else if ((v = startswith(id, "systemd:"))) {
                if (m->kind != CG_SYSTEMD)
                        return sbx_error(err, EINVAL, "cgroup: '%s' belongs to the systemd backend (%s now)", id,
                                         cgroup_manager_backend(m));
                int r = cgroup_systemd_open(c, v, err);
                if (r < 0)
                        return r;
        } else
                return sbx_error(err, EINVAL, "cgroup: unknown id '%s'", id);
        *ret = TAKE_PTR(c);
        return 0;
}

const char *cgroup_id(Cgroup *c) {
        return c && c->id ? c->id : "";
}
