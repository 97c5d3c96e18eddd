/* SPDX-License-Identifier: MIT */
/* daemon/lib/spawn.c: the ordered sandbox recipe; the parent's part here, the sandbox's (the init
 * and the task) in spawn-init.c.
 *
 * Parent (sandbox_prepare, sandbox_spawn): resolve everything that can fail for reasons the
 * user should see early (paths, the Landlock ruleset, the seccomp programs, the environment),
 * then clone3 the init into new namespaces.
 *
 * Init (init_main), PID 1 of the new pid namespace, still fully privileged:
 *   join the netns → private mount propagation → /proc for the pid ns → loopback up →
 *   hostname → fork the task → supervise (daemon/lib/supervisor.c).
 *
 * Task (task_main), one step per line, seccomp last:
 *   setsid → rlimits → nice → oom_score_adj → drop the capability bounding set →
 *   groups → gid → uid → capabilities cleared → stdio → close fds → chdir → no_new_privs →
 *   Landlock → supervisor filter (its listener to the init) → launch filter → execve.
 *
 * no_new_privs comes before Landlock, not after it: once the task
 * runs as an unprivileged user it has no CAP_SYS_ADMIN, and landlock_restrict_self() then
 * requires no_new_privs. Between fork and execve the task only calls async-signal-safe code
 * and reports a failing step as {step, errno} on a CLOEXEC pipe; EOF on that pipe means the
 * execve succeeded. */
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "elfinfo.h"
#include "macro.h"
#include "promises.h"
#include "spawn-internal.h"
#include "spawn.h"
#include "supervisor.h"
#include "util.h"

static const char *const step_table[_STEP_MAX] = {
        [STEP_CLONE] = "clone",
        [STEP_NETNS] = "netns",
        [STEP_MOUNT] = "mount",
        [STEP_PROC] = "proc",
        [STEP_LOOPBACK] = "loopback",
        [STEP_HOSTNAME] = "hostname",
        [STEP_EXEC_ONCE] = "supervisor",
        [STEP_SIGNALS] = "signals",
        [STEP_JOIN] = "join",
        [STEP_TMP] = "tmp",
        [STEP_BIND] = "mount",
        [STEP_RESOLV_CONF] = "resolv.conf",
        [STEP_FORK] = "fork",
        [STEP_SETSID] = "setsid",
        [STEP_RLIMIT] = "rlimit",
        [STEP_NICE] = "nice",
        [STEP_OOM_SCORE_ADJ] = "oom_score_adj",
        [STEP_CAPABILITIES] = "capabilities",
        [STEP_GROUPS] = "groups",
        [STEP_SETGID] = "setgid",
        [STEP_SETUID] = "setuid",
        [STEP_STDIO] = "stdio",
        [STEP_FDS] = "fds",
        [STEP_CHDIR] = "chdir",
        [STEP_NO_NEW_PRIVS] = "no_new_privs",
        [STEP_LANDLOCK] = "landlock",
        [STEP_SECCOMP] = "seccomp",
        [STEP_EXEC] = "exec",
        [STEP_NARROW] = "narrow",
        [STEP_DEV] = "dev",
        [STEP_RUN] = "run",
        [STEP_KEEP] = "mount",
        [STEP_HIDE] = "hide",
        [STEP_TTY] = "tty",
};

const char *spawn_step_to_string(SpawnStep s) {
        return s >= 0 && s < _STEP_MAX ? step_table[s] : "setup";
}

/* What starting the program needs, whatever the unveil list says (pledge.com does the same):
 * the program itself, its "#!" interpreters, for dynamically linked programs the loader, its
 * cache and the library directories, and the preload helper that narrows the launch filter. An
 * interpreter is unveiled only as the regular file it resolves to (elf_inspect), never as a
 * directory or a symlink. These are rules like any other for the policy: each must lie within the
 * driver's ceiling (policy_check_rules), which names the rule by what it is for. */
static void add_launch_rules(UnveilList *l, const char *exec_path, const ElfInfo *elf, bool preload) {
        unveil_list_append(l, exec_path, UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH)->what = "the program";
        for (size_t i = 0; i < elf->n_scripts; i++)
                unveil_list_append(l, elf->scripts[i], UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH)->what =
                        "the script's interpreter";
        if (elf->interp)
                unveil_list_append(l, elf->interp, UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH)->what =
                        elf->n_scripts ? "the interpreter's loader" : "the program's loader";
        if (elf->dynamic) {
                static const char *const libdirs[] = { "/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib" };
                for (size_t i = 0; i < ELEMENTSOF(libdirs); i++) {
                        UnveilRule *r = unveil_list_append(l, libdirs[i], UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH);
                        r->what = "a library directory";
                        r->optional = true;
                }
                UnveilRule *r = unveil_list_append(l, "/etc/ld.so.cache", UNVEIL_R, UNVEIL_ORIGIN_LAUNCH);
                r->what = "the loader's cache";
                r->optional = true;
        }
        if (preload)
                unveil_list_append(l, sandbox_preload_path(), UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH)->what =
                        "the preload helper";
}

/* Whether the task's mount namespace puts a tmpfs of its own over path (docs/task-view.md). */
bool view_replaces(const SandboxSpec *s, bool var_run_dir, const char *path) {
        if (s->private_tmp && path_beneath(path, "/tmp"))
                return true;
        if (s->host_view)
                return false;
        return path_beneath(path, "/dev") || path_beneath(path, "/run") ||
               (var_run_dir && path_beneath(path, "/var/run"));
}

/* Rules whose path names something the task's mount namespace provides: resolved in the task,
 * after the mounts (landlock_add_deferred). */
static bool rule_deferred(const SandboxSpec *s, const SandboxPrepared *p, const char *path) {
        /* The task's own procfs (other inodes than ours); /dev/fd and /dev/std* lead into it. */
        if (path_beneath(path, "/proc") || path_beneath(path, "/dev/fd") || streq(path, "/dev/stdin") ||
            streq(path, "/dev/stdout") || streq(path, "/dev/stderr"))
                return true;
        if (view_replaces(s, p->var_run_dir, path) || (p->resolv_mount && path_beneath(path, "/etc/resolv.conf")))
                return true;
        for (size_t j = 0; j < s->n_mounts; j++)
                if (path_beneath(path, s->mounts[j].target))
                        return true;
        return false;
}

/* The init checks the narrowing with PTRACE_SECCOMP_GET_FILTER, which the kernel answers only
 * for a tracer that runs without a seccomp filter (and ptrace itself, which Yama's
 * ptrace_scope 3 forbids even to root). The init is a clone of its caller: a caller under a
 * filter (systemd's SystemCallFilter=, SystemCallArchitectures=, LockPersonality=, ... in the
 * sandboxd unit; a container runtime's profile) cannot start a dynamic program with promises. */
static int check_can_verify(SbxError *err) {
        char buf[4096];
        _cleanup_close_ int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
        if (n > 0) {
                buf[n] = 0;
                const char *m = strstr(buf, "\nSeccomp:");
                if (m && strtol(m + 9, NULL, 10) != 0)
                        return sbx_error(err, EPERM,
                                         "seccomp: this process runs under a seccomp filter (/proc/self/status: "
                                         "Seccomp: %ld), so it cannot verify that a dynamically linked program "
                                         "narrows its filter to its promises; run it without one (for sandboxd: no "
                                         "SystemCallFilter=, SystemCallArchitectures=, LockPersonality=, "
                                         "RestrictSUIDSGID=, ProtectKernelModules=, ProtectKernelLogs= in its unit)",
                                         strtol(m + 9, NULL, 10));
        }
        safe_close(fd);
        fd = open("/proc/sys/kernel/yama/ptrace_scope", O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && (n = read(fd, buf, sizeof(buf) - 1)) > 0) {
                buf[n] = 0;
                if (strtol(buf, NULL, 10) >= 3)
                        return sbx_error(err, EPERM,
                                         "seccomp: kernel.yama.ptrace_scope is 3 (no ptrace at all), so the "
                                         "narrowing of a dynamically linked program's filter cannot be verified");
        }
        return 0;
}

int sandbox_launch_promises(const SandboxSpec *s, uint64_t *ret, bool *ret_dynamic, SbxError *err) {
        _cleanup_(elf_info_done) ElfInfo elf = {};
        if (!s->exec_path)
                return sbx_error(err, EINVAL, "exec: command not resolved");
        int r = elf_inspect(s->exec_path, s->cwd ? s->cwd : "/", &elf, err);
        if (r < 0)
                return r;
        uint64_t launch = s->promises;
        if (s->has_promises && elf.dynamic)
                launch |= PROMISE_BIT(PROMISE_RPATH) | PROMISE_BIT(PROMISE_PROT_EXEC);
        *ret = launch;
        if (ret_dynamic)
                *ret_dynamic = elf.dynamic;
        return 0;
}

/* The host's /etc/resolv.conf usually leads into /run (systemd-resolved, resolvconf), which the
 * task's view replaces: the file it leads to is mounted over /etc/resolv.conf itself instead.
 * Returns an O_PATH fd of that file, or -1 when nothing needs doing. */
static int resolv_conf_in_view(const SandboxSpec *s, bool var_run_dir) {
        struct stat st;
        char real[PATH_MAX];
        if (lstat("/etc/resolv.conf", &st) < 0 || !S_ISLNK(st.st_mode))
                return -1;
        int fd = open("/etc/resolv.conf", O_PATH | O_CLOEXEC);
        if (fd < 0)
                return -1;
        char self[64];
        snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(self, real, sizeof(real) - 1);
        if (n > 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
                real[n] = 0;
                if (view_replaces(s, var_run_dir, real))
                        return fd;
        }
        safe_close(fd);
        return -1;
}

/* Compiling a filter costs about 1.5 ms (libseccomp); a daemon starts many tasks with the same
 * few promise sets. Programs are immutable once compiled, so a small per-process cache keyed by
 * (promises, flags) hands out copies; the narrowing memfds are sealed, so one per promise set is
 * shared (dup'ed) by every task. */
#define COMPILE_CACHE_SIZE 16

static struct {
        bool used;
        uint64_t promises;
        unsigned flags;
        SeccompProgram prog;
        int memfd;
        uint64_t last_use;
} compile_cache[COMPILE_CACHE_SIZE];

static uint64_t compile_clock;

static int compile_cached(uint64_t promises, unsigned flags, SeccompProgram *ret, int *ret_memfd, SbxError *err) {
        size_t victim = 0;
        int r;

        for (size_t i = 0; i < COMPILE_CACHE_SIZE; i++) {
                if (compile_cache[i].used && compile_cache[i].promises == promises && compile_cache[i].flags == flags) {
                        compile_cache[i].last_use = ++compile_clock;
                        if (ret)
                                *ret = seccomp_program_copy(&compile_cache[i].prog);
                        if (ret_memfd) {
                                if (compile_cache[i].memfd < 0) {
                                        r = seccomp_program_to_memfd(&compile_cache[i].prog, &compile_cache[i].memfd, err);
                                        if (r < 0)
                                                return r;
                                }
                                *ret_memfd = fcntl(compile_cache[i].memfd, F_DUPFD_CLOEXEC, 3);
                                if (*ret_memfd < 0)
                                        return sbx_error_errno(err, errno, "seccomp: dup");
                        }
                        return 0;
                }
                if (!compile_cache[i].used || compile_cache[i].last_use < compile_cache[victim].last_use)
                        victim = i;
                if (!compile_cache[i].used)
                        break;
        }

        SeccompProgram prog = {};
        r = seccomp_compile_promises(promises, flags, &prog, err);
        if (r < 0)
                return r;
        if (compile_cache[victim].used) {
                seccomp_program_done(&compile_cache[victim].prog);
                safe_close(compile_cache[victim].memfd);
        }
        compile_cache[victim].used = true;
        compile_cache[victim].promises = promises;
        compile_cache[victim].flags = flags;
        compile_cache[victim].prog = prog;
        compile_cache[victim].memfd = -1;
        compile_cache[victim].last_use = 0;
        return compile_cached(promises, flags, ret, ret_memfd, err);
}

int sandbox_plan(const SandboxSpec *s, SandboxPrepared *ret, SbxError *err) {
        _cleanup_(sandbox_prepared_done) SandboxPrepared p = SANDBOX_PREPARED_INIT;
        _cleanup_(elf_info_done) ElfInfo elf = {};
        struct stat st;
        int r;

        if (!s->exec_path)
                return sbx_error(err, EINVAL, "exec: command not resolved");

        r = elf_inspect(s->exec_path, s->cwd ? s->cwd : "/", &elf, err);
        if (r < 0)
                return r;
        p.dynamic = elf.dynamic;
        /* A dynamically linked program with promises runs the preload helper. Explaining or
         * learning, the task's promise filter holds the listener itself and the init keeps the
         * program's launch window (the helper only confirms); otherwise the helper narrows the
         * launch filter and the init verifies it (docs/promises.md, "The launch window"). */
        p.preload = s->has_promises && p.dynamic;
        p.notify = s->has_promises && (s->explain || s->learn);
        p.narrow = p.preload && !p.notify;
        if (p.preload && access(sandbox_preload_path(), R_OK) < 0) {
                const char *note = sandbox_preload_note();
                return sbx_error(err, errno, "seccomp: preload helper %s: %s%s%s%s", sandbox_preload_path(),
                                 strerror(errno), note[0] ? " (" : "", note, note[0] ? ")" : "");
        }

        /* The kernel makes the stack executable for such a program: code on it runs without
         * any mmap or mprotect the filter could refuse. */
        p.exec_stack = elf.exec_stack;
        if (elf.exec_stack && s->has_promises && !s->learn && !(s->promises & PROMISE_BIT(PROMISE_PROT_EXEC)))
                return sbx_error(err, EPERM,
                                 "exec: %s asks for an executable stack (PT_GNU_STACK with PF_X), which needs the "
                                 "prot_exec promise",
                                 elf.program);
        if (p.narrow && (r = check_can_verify(err)) < 0)
                return r;

        /* The view (what init_view mounts), as far as the rules depend on it. */
        p.var_run_dir = !s->host_view && lstat("/var/run", &st) == 0 && S_ISDIR(st.st_mode);
        if (s->resolv_conf_fd >= 0)
                p.resolv_mount = true;
        else if (!s->host_view && !s->unveil_pinned) {
                p.resolv_src_fd = resolv_conf_in_view(s, p.var_run_dir);
                p.resolv_mount = p.resolv_src_fd >= 0;
        }
        p.planned = true;

        if (!s->landlock) {
                *ret = p;
                p = SANDBOX_PREPARED_INIT;
                return 0;
        }

        /* The task's rules; for an exec session, as they were resolved when the task started. */
        for (size_t i = 0; i < s->unveil.n; i++)
                (void) unveil_list_append_copy(&p.unveil, &s->unveil.rules[i]);
        if (!s->unveil_pinned) {
                /* What the init mounts for the task: its own tmpfs objects, the volumes. */
                if (s->private_tmp)
                        (void) unveil_list_append(&p.unveil, "/tmp", UNVEIL_R | UNVEIL_W | UNVEIL_C, UNVEIL_ORIGIN_PRIVATE);
                if (!s->host_view)
                        (void) unveil_list_append(&p.unveil, "/dev/shm", UNVEIL_R | UNVEIL_W | UNVEIL_C,
                                                  UNVEIL_ORIGIN_PRIVATE);
                for (size_t i = 0; i < s->n_mounts; i++)
                        unveil_list_append(&p.unveil, s->mounts[i].target,
                                           s->mounts[i].readonly ? UNVEIL_R : UNVEIL_R | UNVEIL_W | UNVEIL_C,
                                           UNVEIL_ORIGIN_VOLUME)
                                ->resolved = xstrdup(s->mounts[i].source);
        }
        p.n_task_rules = p.unveil.n;
        add_launch_rules(&p.unveil, s->exec_path, &elf, p.preload);

        for (size_t i = 0; i < p.unveil.n; i++) {
                UnveilRule *u = &p.unveil.rules[i];
                if (!u->pinned) /* a pinned rule keeps where it was resolved at start */
                        u->deferred = rule_deferred(s, &p, u->path);
                if (!u->deferred && (r = unveil_rule_resolve(u, err)) < 0)
                        return r;
        }

        *ret = p;
        p = SANDBOX_PREPARED_INIT;
        return 0;
}

static int bind_cmp(const void *a, const void *b) {
        return (int) strlen(((const ViewBind *) a)->path) - (int) strlen(((const ViewBind *) b)->path);
}

/* Nomad's directories (and with them the task's cwd, which Nomad puts in its task dir) must stay
 * visible under the view's tmpfs mounts: the dev agent keeps its alloc dirs in /tmp. Each is
 * cloned here, opened without following symlinks, and bound back at its own path. Only Nomad's:
 * a private /tmp is unveiled rwc, and whatever is bound back beneath it inherits that rule. */
static int plan_binds(const SandboxSpec *s, SandboxPrepared *p, SbxError *err) {
        for (size_t i = 0; i < s->unveil.n; i++) {
                const UnveilRule *u = &s->unveil.rules[i];
                if (u->origin != UNVEIL_ORIGIN_NOMAD || !view_replaces(s, p->var_run_dir, u->path))
                        continue;
                p->binds = xrealloc(p->binds, (p->n_binds + 1) * sizeof(ViewBind));
                p->binds[p->n_binds++] = (ViewBind) { .path = xstrdup(u->path), .tree_fd = -1 };
        }
        if (p->n_binds > SANDBOX_MAX_BINDS)
                return sbx_error(err, E2BIG, "mount: more than %d directories to keep visible", SANDBOX_MAX_BINDS);
        if (p->n_binds > 1)
                qsort(p->binds, p->n_binds, sizeof(ViewBind), bind_cmp);
        size_t k = 0;
        for (size_t i = 0; i < p->n_binds; i++) {
                bool inside = false;
                for (size_t j = 0; j < k && !inside; j++)
                        inside = path_beneath(p->binds[i].path, p->binds[j].path);
                if (inside) {
                        free(p->binds[i].path);
                        continue;
                }
                p->binds[k++] = p->binds[i];
        }
        p->n_binds = k;
        for (size_t i = 0; i < p->n_binds; i++) {
                struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                                        .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
                _cleanup_close_ int fd = (int) syscall(SYS_openat2, AT_FDCWD, p->binds[i].path, &how, sizeof(how));
                if (fd < 0)
                        return sbx_error_errno(err, errno, "mount: keeping %s visible", p->binds[i].path);
                int tree = spec_mount_tree(fd, false);
                if (tree < 0)
                        return sbx_error_errno(err, -tree, "mount: keeping %s visible: cannot clone the mount",
                                               p->binds[i].path);
                p->binds[i].tree_fd = tree;
        }
        return 0;
}

int sandbox_prepare(const SandboxSpec *s, SandboxPrepared *p, SbxError *err) {
        int r;

        if (!p->planned)
                return sbx_error(err, EINVAL, "sandbox_prepare: no plan");

        if (s->landlock) {
                LandlockConfig lc = {
                        .unveil = &p->unveil,
                        .scope = true,
                        .bind_tcp = s->bind_tcp,
                        .connect_tcp = s->connect_tcp,
                };
                r = landlock_build(&lc, &p->landlock_fd, &p->landlock_info, err);
                if (r < 0)
                        return r;
                /* The ruleset holds what it needs; hundreds of O_PATH fds need not wait for the spawn. */
                for (size_t i = 0; i < p->unveil.n; i++)
                        p->unveil.rules[i].fd = safe_close(p->unveil.rules[i].fd);
        } else if (s->bind_tcp.set || s->connect_tcp.set)
                return sbx_error(err, EINVAL, "landlock: TCP port rules need Landlock, which is disabled");

        bool ports = s->bind_tcp.set || s->connect_tcp.set;
        if (p->notify) {
                /* One filter: the promises, with the launch execve (exec-once), listen(2) under
                 * bind rules, the preload's confirmation and every call the promises refuse sent
                 * to the init (docs/learn.md). Allowed calls never reach it. */
                bool exec = s->promises & PROMISE_BIT(PROMISE_EXEC);
                unsigned flags = SECCOMP_COMPILE_NOTIFY | (exec ? 0 : SECCOMP_COMPILE_NOTIFY_EXEC) |
                                 (ports ? SECCOMP_COMPILE_NO_MPTCP : 0) |
                                 (s->bind_tcp.set ? SECCOMP_COMPILE_NOTIFY_LISTEN : 0) |
                                 (p->dynamic ? SECCOMP_COMPILE_CONFIRM : 0);
                r = compile_cached(s->promises, flags, &p->supervisor, NULL, err);
                if (r < 0)
                        return r;
                p->watch = s->learn ? WATCH_LEARN : WATCH_EXPLAIN;
                p->supervise = (exec ? 0 : SUPERVISE_EXEC) | (s->bind_tcp.set ? SUPERVISE_LISTEN : 0) |
                              (p->dynamic ? SUPERVISE_CONFIRM : 0);
                /* The init reads the table backwards; built here, before the clone. */
                (void) seccomp_rules_all(NULL);
        } else if (s->has_promises) {
                bool exec = s->promises & PROMISE_BIT(PROMISE_EXEC);
                unsigned flags = (exec ? 0 : SECCOMP_COMPILE_ALLOW_EXEC) | (ports ? SECCOMP_COMPILE_NO_MPTCP : 0);
                uint64_t launch = s->promises;

                /* A dynamically linked program runs ld.so first, which needs rpath and to map
                 * libraries executable; the preload helper narrows to the exact promises after
                 * that, and confirms it to the init (docs/promises.md, "The launch window"). */
                if (p->narrow) {
                        launch |= PROMISE_BIT(PROMISE_RPATH);
                        flags |= SECCOMP_COMPILE_LAUNCH | SECCOMP_COMPILE_CONFIRM;
                }
                r = compile_cached(launch, flags, &p->launch, NULL, err);
                if (r < 0)
                        return r;
                p->filter = true;
                if (!exec)
                        p->supervise |= SUPERVISE_EXEC;
                if (p->narrow) {
                        r = compile_cached(s->promises, SECCOMP_COMPILE_CONFIRM | (ports ? SECCOMP_COMPILE_NO_MPTCP : 0),
                                           &p->narrow_prog, &p->narrow_fd, err);
                        if (r < 0)
                                return r;
                        p->supervise |= SUPERVISE_CONFIRM;
                }
        } else if (s->baseline || ports) {
                /* No promises: the baseline filter (the operator may turn it off), and what TCP
                 * port rules need whatever the operator chose. */
                r = seccomp_baseline_program((s->baseline ? BASELINE_DENY : 0) | (ports ? BASELINE_NO_MPTCP : 0), &p->launch);
                if (r < 0)
                        return sbx_error_errno(err, -r, "seccomp: the baseline filter");
                p->filter = true;
        }
        /* listen(2) autobinds an unbound TCP socket to an ephemeral port, which Landlock's bind
         * rules never see: the init checks each listen of a task with bind rules. */
        if (s->bind_tcp.set)
                p->supervise |= SUPERVISE_LISTEN;
        if (p->supervise && !p->watch) {
                r = seccomp_supervisor_program(p->supervise, &p->supervisor);
                if (r < 0)
                        return sbx_error_errno(err, -r, "seccomp: the supervisor filter");
        }

        if (s->resolv_conf_fd >= 0 || p->resolv_src_fd >= 0) {
                r = spec_mount_tree(s->resolv_conf_fd >= 0 ? s->resolv_conf_fd : p->resolv_src_fd, true);
                if (r < 0)
                        return sbx_error_errno(err, -r, "resolv.conf: cannot clone the mount");
                p->resolv_tree_fd = r;
        }
        if (!s->unveil_pinned) {
                r = plan_binds(s, p, err);
                if (r < 0)
                        return r;
        }

        p->envp = strv_copy(s->env);
        if (s->private_tmp && !strv_env_get(p->envp, "TMPDIR"))
                strv_push(&p->envp, "TMPDIR=/tmp");
        if (p->preload) {
                /* Through an fd opened here, so a private /tmp or a volume over the helper's
                 * directory cannot hide it from ld.so (Landlock's rule is on its inode). With a
                 * listener filter there is nothing to stack ("none"): it only confirms. */
                p->preload_fd = open(sandbox_preload_path(), O_RDONLY | O_CLOEXEC);
                if (p->preload_fd < 0)
                        return sbx_error_errno(err, errno, "seccomp: preload helper %s", sandbox_preload_path());
                strv_consume(&p->envp, xasprintf("LD_PRELOAD=/proc/self/fd/%d", p->preload_fd));
                if (p->narrow_fd >= 0)
                        strv_consume(&p->envp, xasprintf("SANDBOX_SECCOMP_FD=%d", p->narrow_fd));
                else
                        strv_push(&p->envp, "SANDBOX_SECCOMP_FD=none");
        }
        return 0;
}

void sandbox_prepared_done(SandboxPrepared *p) {
        unveil_list_done(&p->unveil);
        for (size_t i = 0; i < p->n_binds; i++) {
                free(p->binds[i].path);
                safe_close(p->binds[i].tree_fd);
        }
        free(p->binds);
        p->binds = NULL;
        p->n_binds = 0;
        p->resolv_src_fd = safe_close(p->resolv_src_fd);
        p->landlock_fd = safe_close(p->landlock_fd);
        p->narrow_fd = safe_close(p->narrow_fd);
        p->preload_fd = safe_close(p->preload_fd);
        p->resolv_tree_fd = safe_close(p->resolv_tree_fd);
        seccomp_program_done(&p->launch);
        seccomp_program_done(&p->supervisor);
        seccomp_program_done(&p->narrow_prog);
        strv_free(p->envp);
        p->envp = NULL;
}

int sandbox_spawn(const SandboxSpec *s, const SandboxPrepared *p, const SpawnOptions *o, SandboxProcess *ret,
                  SbxError *err) {
        _cleanup_close_ int netns_fd = -1;
        int ctl[2];
        int pidfd = -1;

        if (s->net == NET_JOIN && o->join_pidfd < 0) {
                netns_fd = open(s->netns_path, O_RDONLY | O_CLOEXEC);
                if (netns_fd < 0)
                        return sbx_error_errno(err, errno, "netns: %s", s->netns_path);
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0)
                return sbx_error_errno(err, errno, "clone: control socket");
        find_heap_start();
        find_arg_area();

        bool join = o->join_pidfd >= 0;
        struct clone_args args = {
                .flags = join ? CLONE_PIDFD
                              : CLONE_PIDFD | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS |
                                        (s->net == NET_NONE ? CLONE_NEWNET : 0),
                .pidfd = (uint64_t) (uintptr_t) &pidfd,
                .exit_signal = SIGCHLD,
        };
        if (o->cgroup_fd >= 0) {
                args.flags |= CLONE_INTO_CGROUP;
                args.cgroup = (uint64_t) o->cgroup_fd;
        }
        /* Flush stdio so buffered output is not written twice by the child. */
        (void) fflush(NULL);
        pid_t pid = (pid_t) syscall(SYS_clone3, &args, sizeof(args));
        if (pid < 0) {
                int e = errno;
                (void) close(ctl[0]);
                (void) close(ctl[1]);
                return sbx_error_errno(err, e, "clone");
        }
        if (pid == 0) {
                (void) close(ctl[0]);
                init_main(s, p, o->flags, ctl[1], TAKE_FD(netns_fd), o->status_dir_fd, o->join_pidfd);
        }
        (void) close(ctl[1]);
        *ret = (SandboxProcess) { .pid = pid, .pidfd = pidfd, .ctl_fd = ctl[0] };
        return 0;
}

int sandbox_process_go(SandboxProcess *p) {
        char go = CTL_GO;
        return send(p->ctl_fd, &go, 1, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

int sandbox_process_kill(SandboxProcess *p) {
        char k = CTL_KILL;
        return send(p->ctl_fd, &k, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1 ? 0 : -errno;
}

int sandbox_parse_exit_record(const char *text, InitMsg *ret) {
        int a, b, c;
        if (sscanf(text, "exited %d", &a) == 1) {
                *ret = (InitMsg) { .type = INIT_MSG_EXITED, .status = a };
                if (sscanf(text, "exited %d oom %d", &a, &b) == 2 && b >= 0)
                        ret->oom_kills = b;
                return 0;
        }
        if (sscanf(text, "failed %d %d %d", &a, &b, &c) == 3 && a >= 0 && a < _STEP_MAX && b > 0) {
                *ret = (InitMsg) { .type = INIT_MSG_SETUP_FAILED, .step = a, .err_no = b, .index = c };
                return 0;
        }
        return -EBADMSG;
}

int sandbox_read_pins(int dir_fd, UnveilRule *rules, size_t n) {
        _cleanup_close_ int fd = openat(dir_fd, SANDBOX_STATUS_PINS, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        _cleanup_fclose_ FILE *f = fdopen(TAKE_FD(fd), "re");
        if (!f)
                return -errno;
        char line[128];
        while (fgets(line, sizeof(line), f)) {
                unsigned long long i, dev, ino;
                char word[8];
                if (sscanf(line, "%llu %llu %llu", &i, &dev, &ino) == 3 && i < n) {
                        rules[i].dev = dev;
                        rules[i].ino = ino;
                        rules[i].absent = false;
                        rules[i].pinned = true;
                } else if (sscanf(line, "%llu %7s", &i, word) == 2 && streq(word, "absent") && i < n) {
                        rules[i].absent = true;
                        rules[i].pinned = true;
                } else
                        return -EBADMSG;
        }
        return 0;
}

int sandbox_read_exit_record(int dir_fd, InitMsg *ret) {
        char buf[96];
        _cleanup_close_ int fd = openat(dir_fd, SANDBOX_STATUS_EXIT, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        return sandbox_parse_exit_record(buf, ret);
}

void sandbox_process_done(SandboxProcess *p) {
        p->pidfd = safe_close(p->pidfd);
        p->ctl_fd = safe_close(p->ctl_fd);
}

int sandbox_process_read(SandboxProcess *p, InitMsg *ret, InitNote *ret_note) {
        union {
                InitMsg m;
                InitNote note;
        } u;
        ssize_t n = recv(p->ctl_fd, &u, sizeof(u), 0);
        if (n < 0)
                return errno == ECONNRESET ? 0 : -errno;
        if (n == 0)
                return 0;
        if (n == sizeof(u.note) && u.note.type == INIT_MSG_NOTE) {
                if (ret_note)
                        *ret_note = u.note;
                *ret = (InitMsg) { .type = INIT_MSG_NOTE };
                return 1;
        }
        if (n != sizeof(u.m) || u.m.type == INIT_MSG_NOTE)
                return -EBADMSG;
        *ret = u.m;
        return 1;
}

void sandbox_result_from_msg(const InitMsg *m, SandboxResult *ret) {
        if (m->type == INIT_MSG_SETUP_FAILED) {
                *ret = (SandboxResult) { .kind = RESULT_SETUP_FAILED, .code = m->err_no, .step = m->step,
                                         .index = m->index };
                return;
        }
        sandbox_result_from_init_status(m->status, ret);
}

void sandbox_result_from_init_status(int wstatus, SandboxResult *ret) {
        if (WIFSIGNALED(wstatus))
                *ret = (SandboxResult) { .kind = RESULT_SIGNALED, .code = WTERMSIG(wstatus) };
        else
                *ret = (SandboxResult) { .kind = RESULT_EXITED, .code = WEXITSTATUS(wstatus) };
}

int sandbox_result_exit_code(const SandboxResult *r) {
        switch (r->kind) {
        case RESULT_EXITED:
                return r->code;
        case RESULT_SIGNALED:
                return 128 + r->code;
        case RESULT_SETUP_FAILED:
                if (r->step == STEP_EXEC)
                        return exit_code_from_exec_errno(r->code);
                return EXIT_SETUP;
        }
        return EXIT_SETUP;
}

void sandbox_result_describe(const SandboxResult *r, const SandboxSpec *s, const SandboxPrepared *p, char *buf,
                             size_t size) {
        const char *detail = NULL;
        char tmp[512];

        if (r->kind == RESULT_EXITED) {
                snprintf(buf, size, "exited with code %d", r->code);
                return;
        }
        if (r->kind == RESULT_SIGNALED) {
                snprintf(buf, size, "killed by signal %d (%s)", r->code, sigabbrev_np(r->code) ?: "?");
                return;
        }
        if (r->step == STEP_NARROW) {
                supervisor_describe_failure(r->code, r->index, buf, size);
                return;
        }
        if (!s) {
                /* no spec at hand (a restarted daemon reading an exit record) */
                snprintf(buf, size, "%s: %s", spawn_step_to_string(r->step), strerror(r->code));
                return;
        }
        switch (r->step) {
        case STEP_EXEC:
                detail = s->exec_path;
                break;
        case STEP_CHDIR:
                detail = s->cwd ? s->cwd : "/";
                break;
        case STEP_SECCOMP:
                if (p && p->narrow_fd >= 0 && (r->code == ENOENT || r->code == EACCES))
                        detail = sandbox_preload_path();
                break;
        case STEP_NETNS:
                detail = s->netns_path;
                break;
        case STEP_PROC:
                detail = "/proc";
                break;
        case STEP_DEV:
                detail = "/dev";
                break;
        case STEP_RUN:
                detail = r->index == 1 ? "/var/run" : "/run";
                break;
        case STEP_TMP:
                detail = "/tmp";
                break;
        case STEP_RESOLV_CONF:
                detail = "/etc/resolv.conf";
                break;
        case STEP_BIND:
                if (r->index >= 0 && (size_t) r->index < s->n_mounts) {
                        snprintf(tmp, sizeof(tmp), "%s on %s", s->mounts[r->index].source, s->mounts[r->index].target);
                        detail = tmp;
                }
                break;
        case STEP_KEEP:
                if (p && r->index >= 0 && (size_t) r->index < p->n_binds) {
                        snprintf(tmp, sizeof(tmp), "keeping %s visible", p->binds[r->index].path);
                        detail = tmp;
                }
                break;
        case STEP_HIDE:
                if (r->index >= 0 && (size_t) r->index < strv_length(s->hide_paths))
                        detail = s->hide_paths[r->index];
                break;
        case STEP_HOSTNAME:
                detail = s->hostname;
                break;
        case STEP_LANDLOCK:
                if (p && r->index >= 0 && (size_t) r->index < p->unveil.n) {
                        const UnveilRule *u = &p->unveil.rules[r->index];
                        char rule[UNVEIL_MAX_PATH + 8];
                        unveil_rule_format(u, rule, sizeof(rule));
                        if (r->code == ESTALE) {
                                snprintf(buf, size,
                                         "landlock: unveil '%s': %s is not the object it was when the task started "
                                         "(moved, replaced or reached through a symbolic link now); the task's rules are "
                                         "pinned at start, so the exec is refused",
                                         rule, u->path);
                                return;
                        }
                        if (r->code == ELOOP) {
                                snprintf(buf, size,
                                         "landlock: unveil '%s': %s passes through a symbolic link, which rules in the "
                                         "task's own mounts (/proc, /tmp, /dev, /run, volumes) never follow: name what "
                                         "it points to",
                                         rule, u->path);
                                return;
                        }
                        detail = u->path;
                }
                break;
        case STEP_SETUID:
                snprintf(tmp, sizeof(tmp), "uid %u", (unsigned) s->uid);
                detail = tmp;
                break;
        case STEP_SETGID:
                snprintf(tmp, sizeof(tmp), "gid %u", (unsigned) s->gid);
                detail = tmp;
                break;
        case STEP_OOM_SCORE_ADJ:
                snprintf(tmp, sizeof(tmp), "%d", s->oom_score_adj);
                detail = tmp;
                break;
        default:
                break;
        }
        if (detail)
                snprintf(buf, size, "%s: %s: %s", spawn_step_to_string(r->step), detail, strerror(r->code));
        else
                snprintf(buf, size, "%s: %s", spawn_step_to_string(r->step), strerror(r->code));
}
