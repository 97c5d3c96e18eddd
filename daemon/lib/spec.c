/* SPDX-License-Identifier: MIT */
/* daemon/lib/spec.c: building and validating a SandboxSpec. */
#include <ctype.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <strings.h>
#include <linux/oom.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "spec.h"
#include "util.h"

void sandbox_spec_init(SandboxSpec *s) {
        *s = (SandboxSpec) {
                .landlock = true,
                .baseline = true,
                .explain = true,
                .net = NET_NONE,
                .stdin_fd = -1,
                .stdout_fd = -1,
                .stderr_fd = -1,
                .resolv_conf_fd = -1,
        };
}

void sandbox_spec_done(SandboxSpec *s) {
        strv_free(s->argv);
        strv_free(s->env);
        free(s->exec_path);
        free(s->cwd);
        free(s->hostname);
        free(s->user);
        free(s->groups);
        free(s->home);
        free(s->netns_path);
        strv_free(s->hide_paths);
        unveil_list_done(&s->unveil);
        for (size_t i = 0; i < s->n_mounts; i++) {
                free(s->mounts[i].source);
                free(s->mounts[i].target);
                safe_close(s->mounts[i].source_fd);
        }
        free(s->mounts);
        *s = (SandboxSpec) {};
}

static const char *const net_mode_table[_NET_MODE_MAX] = {
        [NET_NONE] = "none",
        [NET_HOST] = "host",
        [NET_JOIN] = "group",
};

const char *net_mode_to_string(NetMode m) {
        return m >= 0 && m < _NET_MODE_MAX ? net_mode_table[m] : NULL;
}

static const char *const importance_table[_IMPORTANCE_MAX] = {
        [IMPORTANCE_LOWEST] = "lowest", [IMPORTANCE_LOW] = "low",         [IMPORTANCE_NORMAL] = "normal",
        [IMPORTANCE_HIGH] = "high",     [IMPORTANCE_HIGHEST] = "highest",
};

DEFINE_STRING_TABLE_LOOKUP(importance, Importance, _IMPORTANCE_MAX, _IMPORTANCE_INVALID, strcaseeq)

/* The pledge driver's scale, except `normal`: pledge maps it to -5, quietly raising every task
 * that does not ask; we leave such tasks at the default nice value 0 (docs/sandboxctl.md). */
int importance_to_nice(Importance i) {
        static const int nice_table[_IMPORTANCE_MAX] = {
                [IMPORTANCE_LOWEST] = 19, [IMPORTANCE_LOW] = 10,       [IMPORTANCE_NORMAL] = 0,
                [IMPORTANCE_HIGH] = -10,  [IMPORTANCE_HIGHEST] = -20,
        };
        return nice_table[i];
}

int spec_set_net(SandboxSpec *s, const char *value, SbxError *err) {
        free(s->netns_path);
        s->netns_path = NULL;
        if (streq(value, "none"))
                s->net = NET_NONE;
        else if (streq(value, "host"))
                s->net = NET_HOST;
        else if (value[0] == '/') {
                s->net = NET_JOIN;
                s->netns_path = xstrdup(value);
        } else
                return sbx_error(err, EINVAL, "'%s': expected none, host or the path of a network namespace", value);
        return 0;
}

static int parse_id(const char *s, uint32_t *ret) {
        char *end;
        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || *end || v >= UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

int spec_set_user(SandboxSpec *s, const char *value, SbxError *err) {
        uint32_t id;
        const char *dyn;
        struct passwd *pw;

        free(s->user);
        free(s->groups);
        free(s->home);
        s->groups = NULL;
        s->home = NULL;
        s->n_groups = 0;
        s->user = xstrdup(value);

        if ((dyn = startswith(value, "nomad-")) && parse_id(dyn, &id) >= 0) {
                /* Nomad's dynamic workload user: no passwd entry, uid = gid = N. */
                s->uid = id;
                s->gid = id;
                s->home = xstrdup("/nonexistent");
                return 0;
        }

        errno = 0;
        if (parse_id(value, &id) >= 0)
                pw = getpwuid(id);
        else {
                pw = getpwnam(value);
                if (!pw)
                        return sbx_error(err, errno ? errno : ESRCH, "'%s': no such user", value);
        }
        if (!pw) {
                /* A bare uid with no passwd entry: gid = uid, no supplementary groups. */
                s->uid = id;
                s->gid = id;
                s->home = xstrdup("/nonexistent");
                return 0;
        }

        s->uid = pw->pw_uid;
        s->gid = pw->pw_gid;
        s->home = xstrdup(pw->pw_dir && pw->pw_dir[0] ? pw->pw_dir : "/nonexistent");

        int n = SPEC_MAX_GROUPS;
        gid_t *groups = xcalloc(n, sizeof(gid_t));
        if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0) {
                free(groups);
                return sbx_error(err, E2BIG, "'%s': more than %d supplementary groups", value, SPEC_MAX_GROUPS);
        }
        s->groups = groups;
        s->n_groups = n;
        return 0;
}

static const struct {
        const char *name;
        int resource;
} rlimit_names[] = {
        { "AS", RLIMIT_AS },           { "CORE", RLIMIT_CORE },     { "CPU", RLIMIT_CPU },
        { "DATA", RLIMIT_DATA },       { "FSIZE", RLIMIT_FSIZE },   { "LOCKS", RLIMIT_LOCKS },
        { "MEMLOCK", RLIMIT_MEMLOCK }, { "MSGQUEUE", RLIMIT_MSGQUEUE }, { "NICE", RLIMIT_NICE },
        { "NOFILE", RLIMIT_NOFILE },   { "NPROC", RLIMIT_NPROC },   { "RSS", RLIMIT_RSS },
        { "RTPRIO", RLIMIT_RTPRIO },   { "RTTIME", RLIMIT_RTTIME }, { "SIGPENDING", RLIMIT_SIGPENDING },
        { "STACK", RLIMIT_STACK },
};

static int parse_rlim(const char *s, rlim_t *ret) {
        if (streq(s, "unlimited") || streq(s, "infinity")) {
                *ret = RLIM_INFINITY;
                return 0;
        }
        char *end;
        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end)
                return -EINVAL;
        *ret = (rlim_t) v;
        return 0;
}

int spec_add_rlimit(SandboxSpec *s, const char *value, SbxError *err) {
        const char *eq = strchr(value, '=');
        int resource = -1;

        if (!eq)
                return sbx_error(err, EINVAL, "'%s': expected NAME=SOFT[:HARD], e.g. NOFILE=1024:4096", value);
        _cleanup_free_ char *name = xstrndup(value, eq - value);
        const char *n = strncasecmp(name, "RLIMIT_", 7) == 0 ? name + 7 : name;
        for (size_t i = 0; i < ELEMENTSOF(rlimit_names); i++)
                if (strcasecmp(n, rlimit_names[i].name) == 0)
                        resource = rlimit_names[i].resource;
        if (resource < 0)
                return sbx_error(err, EINVAL, "'%s': unknown resource limit '%s'", value, name);

        _cleanup_free_ char *soft = xstrdup(eq + 1);
        char *hard = strchr(soft, ':');
        if (hard)
                *hard++ = 0;
        struct rlimit rl;
        if (parse_rlim(soft, &rl.rlim_cur) < 0 || (hard && parse_rlim(hard, &rl.rlim_max) < 0))
                return sbx_error(err, EINVAL, "'%s': limits must be numbers or 'unlimited'", value);
        if (!hard)
                rl.rlim_max = rl.rlim_cur;
        if (rl.rlim_cur > rl.rlim_max)
                return sbx_error(err, EINVAL, "'%s': soft limit above hard limit", value);

        for (size_t i = 0; i < s->n_rlimits; i++)
                if (s->rlimits[i].resource == resource) {
                        s->rlimits[i].limit = rl;
                        return 0;
                }
        if (s->n_rlimits >= SPEC_MAX_RLIMITS)
                return sbx_error(err, E2BIG, "too many resource limits");
        s->rlimits[s->n_rlimits++] = (SpecRlimit) { resource, rl };
        return 0;
}

int spec_set_oom_score_adj(SandboxSpec *s, const char *value, SbxError *err) {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end || v < OOM_SCORE_ADJ_MIN || v > OOM_SCORE_ADJ_MAX)
                return sbx_error(err, EINVAL, "'%s': expected an integer from %d to %d", value, OOM_SCORE_ADJ_MIN,
                                 OOM_SCORE_ADJ_MAX);
        s->has_oom_score_adj = true;
        s->oom_score_adj = (int) v;
        return 0;
}

int spec_env_set(SandboxSpec *s, const char *entry, SbxError *err) {
        const char *eq = strchr(entry, '=');
        if (!eq || eq == entry)
                return sbx_error(err, EINVAL, "'%s': expected KEY=VALUE", entry);
        size_t klen = eq - entry;
        if (startswith(entry, "LD_"))
                return sbx_error(err, EPERM, "'%.*s': LD_* variables are not passed to tasks (they would let the "
                                             "environment inject code into the dynamic loader)", (int) klen, entry);
        size_t n = strv_length(s->env);
        if (n >= SPEC_MAX_ENV)
                return sbx_error(err, E2BIG, "too many environment variables (at most %d)", SPEC_MAX_ENV);
        for (size_t i = 0; i < n; i++)
                if (strncmp(s->env[i], entry, klen + 1) == 0) {
                        free(s->env[i]);
                        s->env[i] = xstrdup(entry);
                        return 0;
                }
        strv_push(&s->env, entry);
        return 0;
}

static const char *env_get(char *const *env, const char *key) {
        size_t l = strlen(key);
        for (char *const *e = env; e && *e; e++)
                if (strncmp(*e, key, l) == 0 && (*e)[l] == '=')
                        return *e + l + 1;
        return NULL;
}

static int check_executable(const char *path) {
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EACCES;
        if (access(path, X_OK) < 0)
                return -errno;
        return 0;
}

int spec_resolve_command(SandboxSpec *s, SbxError *err) {
        const char *cmd = s->argv && s->argv[0] ? s->argv[0] : NULL;
        int r;

        if (!cmd || !cmd[0])
                return sbx_error(err, EINVAL, "command: must not be empty");

        free(s->exec_path);
        s->exec_path = NULL;

        if (strchr(cmd, '/')) {
                char *p = cmd[0] == '/' ? xstrdup(cmd) : xasprintf("%s/%s", s->cwd ? s->cwd : "/", cmd);
                r = check_executable(p);
                if (r < 0) {
                        free(p);
                        return sbx_error_errno(err, r, "exec: %s", cmd);
                }
                s->exec_path = p;
                return 0;
        }

        const char *path = env_get(s->env, "PATH") ?: "/usr/local/bin:/usr/bin:/bin";
        int first_error = -ENOENT;
        _cleanup_free_ char *copy = xstrdup(path);
        char *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                if (dir[0] != '/')
                        continue;
                char *p = xasprintf("%s/%s", dir, cmd);
                r = check_executable(p);
                if (r == 0) {
                        s->exec_path = p;
                        return 0;
                }
                free(p);
                if (r == -EACCES && first_error == -ENOENT)
                        first_error = r;
        }
        return sbx_error_errno(err, first_error, "exec: %s", cmd);
}

/* Absolute, no "." or ".." component, no empty component except a single trailing '/'. */
static int mount_path_valid(const char *p) {
        if (p[0] != '/' || strlen(p) >= PATH_MAX)
                return -EINVAL;
        for (const char *c = p; *c;) {
                while (*c == '/')
                        c++;
                const char *e = strchrnul(c, '/');
                size_t n = (size_t) (e - c);
                if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return -EINVAL;
                c = e;
        }
        return 0;
}

int spec_mount_tree(int fd, bool readonly) {
        int tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
        if (tree < 0)
                return -errno;
        struct mount_attr attr = {
                .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (readonly ? MOUNT_ATTR_RDONLY : 0),
        };
        if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
                int r = -errno;
                safe_close(tree);
                return r;
        }
        return tree;
}

int spec_add_mount(SandboxSpec *s, const char *source, const char *target, bool readonly, SbxError *err) {
        if (s->n_mounts >= SPEC_MAX_MOUNTS)
                return sbx_error(err, E2BIG, "at most %d mounts", SPEC_MAX_MOUNTS);
        if (mount_path_valid(source) < 0)
                return sbx_error(err, EINVAL, "source '%s': must be an absolute path without '.' or '..'", source);
        if (mount_path_valid(target) < 0)
                return sbx_error(err, EINVAL, "target '%s': must be an absolute path without '.' or '..'", target);
        if (streq(target, "/") || streq(target, "/proc") || startswith(target, "/proc/"))
                return sbx_error(err, EINVAL, "target '%s': cannot mount over / or /proc", target);

        if (path_beneath(target, source) || path_beneath(source, target))
                return sbx_error(err, EINVAL, "target '%s': must not be the source or overlap it", target);
        for (size_t i = 0; i < s->n_mounts; i++)
                if (path_beneath(target, s->mounts[i].target) || path_beneath(s->mounts[i].target, target) ||
                    path_beneath(source, s->mounts[i].target) || path_beneath(s->mounts[i].target, source))
                        return sbx_error(err, EINVAL, "'%s' on '%s' overlaps the mount of '%s' on '%s'", source, target,
                                         s->mounts[i].source, s->mounts[i].target);

        /* No symlink anywhere in the source: a task that can write where the source lives must
         * not be able to point it somewhere else. */
        struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
        int fd = (int) syscall(SYS_openat2, AT_FDCWD, source, &how, sizeof(how));
        if (fd < 0)
                return sbx_error_errno(err, errno, "source '%s'", source);

        /* A detached copy of the source mount, made here in the caller's namespace: the sandbox
         * init attaches it in its own (a path opened before the namespace was cloned could not
         * be bind-mounted there). */
        int tree = spec_mount_tree(fd, readonly);
        safe_close(fd);
        if (tree < 0)
                return sbx_error_errno(err, -tree, "source '%s': cannot clone the mount", source);
        fd = tree;

        s->mounts = xrealloc(s->mounts, (s->n_mounts + 1) * sizeof(SpecMount));
        s->mounts[s->n_mounts++] = (SpecMount) {
                .source = xstrdup(source),
                .target = xstrdup(target),
                .readonly = readonly,
                .source_fd = fd,
        };
        return 0;
}

int spec_add_mount_entry(SandboxSpec *s, const char *entry, SbxError *err) {
        _cleanup_free_ char *copy = xstrdup(entry);
        char *target = strchr(copy, ':');
        bool readonly = true;

        if (!target)
                return sbx_error(err, EINVAL, "'%s': expected SOURCE:TARGET[:ro|rw]", entry);
        *target++ = 0;
        char *mode = strchr(target, ':');
        if (mode) {
                *mode++ = 0;
                if (streq(mode, "rw"))
                        readonly = false;
                else if (!streq(mode, "ro"))
                        return sbx_error(err, EINVAL, "'%s': mode must be ro or rw", entry);
        }
        return spec_add_mount(s, copy, target, readonly, err);
}
