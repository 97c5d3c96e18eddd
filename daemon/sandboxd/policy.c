/* SPDX-License-Identifier: MIT */
/* daemon/sandboxd/policy.c: sandboxd.conf, its parser and the checks of peers and tasks against it.
 *
 * The format is line-oriented on purpose (no new dependency, every error has a line):
 *
 *   # comment            (also after a value, when '#' follows whitespace)
 *   [daemon]
 *   key = value ...      (values are separated by whitespace)
 *   [driver NAME]
 *   key = value ...
 *
 * A list key may be repeated; its lines add up. A scalar key may appear once per section. What
 * a missing key means is chosen so that anything that widens a task's reach (root, host network,
 * unveil prefixes, priority, unenforced limits) has to be written down; docs/sandboxd.conf.md
 * gives the reasons per key. */
#include <ctype.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>

#include "macro.h"
#include "path-util.h"
#include "policy.h"
#include "promises.h"
#include "util.h"

#define ALL_PROMISES ((UINT64_C(1) << _PROMISE_MAX) - 1)
#define MAX_USER_NAME 32   /* useradd's limit */
#define MAX_GLOB 256
#define SUN_PATH_MAX 107   /* sizeof(sockaddr_un.sun_path) - 1 */

typedef struct IdRange {
        char *name;      /* as written, for names; NULL for numbers and ranges */
        uint32_t lo, hi; /* inclusive; for a name only meaningful once resolved */
        bool resolved;
        unsigned line;   /* 0 = a built-in default */
} IdRange;

typedef struct IdList {
        IdRange *v;
        size_t n;
        char **text; /* the entries as written, for messages and policy_format() */
} IdList;

typedef struct PathRule {
        char *path; /* normalised */
        unsigned perms;
} PathRule;

typedef struct CeilRlimit {
        int resource;
        rlim_t max;
        char *name; /* "RTPRIO" */
} CeilRlimit;

typedef enum Key {
        KEY_ALLOWED_UIDS,
        KEY_ALLOWED_GIDS,
        KEY_MAX_TASKS,
        /* [daemon] */
        KEY_NOMAD_DATA_DIR,
        KEY_LOG_DIRS,
        KEY_NOMAD_CGROUP_PARENT,
        KEY_SOCKET,
        KEY_STATE_DIR,
        KEY_CGROUP_BACKEND,
        KEY_CGROUP_PARENT,
        KEY_ADMIN_POLICY,
        KEY_LOG_READER_TIMEOUT,
        KEY_MAX_CONNECTIONS_PER_UID,
        KEY_SOCKET_MODE,
        KEY_SOCKET_GROUP,
        /* [driver NAME] */
        KEY_USERS,
        KEY_DYNAMIC_USERS,
        KEY_DEFAULT_USER,
        KEY_ALLOW_ROOT,
        KEY_PROMISES,
        KEY_REQUIRE_PROMISES,
        KEY_DEFAULT_PROMISES,
        KEY_UNVEIL,
        KEY_UNVEIL_DEFAULTS,
        KEY_HOST_VIEW,
        KEY_NETWORKS,
        KEY_NETNS_DIRS,
        KEY_NAMESPACES,
        KEY_JOBS,
        KEY_ALLOW_UNENFORCED_LIMITS,
        KEY_LANDLOCK,
        KEY_MIN_OOM_SCORE_ADJ,
        KEY_MAX_IMPORTANCE,
        KEY_RLIMITS,
        KEY_BASELINE_FILTER,
        KEY_EXPLAIN_DENIALS,
        KEY_DEFAULT_PROCESSES,
        KEY_MAX_PROCESSES,
        _KEY_MAX,
} Key;

struct PolicyDriver {
        char *name;
        unsigned line;
        unsigned seen[_KEY_MAX]; /* line where each key was (first) set, 0 = not set */

        IdList peer_uids, peer_gids; /* narrow [daemon]'s peers when either key is set */
        IdList users;
        bool dynamic;
        uint32_t dynamic_lo, dynamic_hi;
        char *default_user;
        bool allow_root;
        uint64_t promises;
        bool require_promises;
        bool has_default_promises; /* for a task that names none (pledge.com: stdio rpath) */
        uint64_t default_promises;
        PathRule *unveil;
        size_t n_unveil;
        char **unveil_text;
        bool unveil_defaults;
        bool host_view;
        unsigned networks; /* 1 << NetMode */
        char **netns_dirs;
        char **namespaces;
        char **jobs;
        bool allow_unenforced_limits;
        bool landlock_best_effort;
        bool baseline_filter;
        bool explain_denials;
        int min_oom_score_adj;
        Importance max_importance;
        CeilRlimit rlimits[SPEC_MAX_RLIMITS];
        size_t n_rlimits;
        size_t max_tasks;
        uint64_t default_processes, max_processes; /* pids.max / TasksMax; 0 = none */
};

struct Policy {
        char *filename;
        unsigned seen[_KEY_MAX];
        bool daemon_section;

        IdList peer_uids, peer_gids;
        char **data_dirs;
        char **log_dirs; /* explicit patterns; NULL = derived from data_dirs */
        char *nomad_cgroup_parent;
        char *socket_path;
        char *state_dir;
        CgroupBackend cgroup_backend;
        char *cgroup_parent;
        size_t max_tasks;
        char *admin_policy;
        unsigned log_reader_timeout_ms;
        size_t max_connections_per_uid;
        unsigned socket_mode; /* 0 = the build's default */
        char *socket_group;   /* NULL = the build's default */

        PolicyDriver **drivers;
        size_t n_drivers;
};

/* ---------------------------------------------------------------------------------------- */
/* Small helpers                                                                              */


static void id_list_done(IdList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i].name);
        free(l->v);
        strv_free(l->text);
        *l = (IdList) {};
}

static void id_list_add(IdList *l, const IdRange *r, const char *text) {
        l->v = xrealloc(l->v, (l->n + 1) * sizeof(IdRange));
        l->v[l->n++] = *r;
        strv_push(&l->text, text);
}

/* Joins a list into buf for a message, "(none)" when empty, "..." when cut. */
static const char *join(char *const *l, char *buf, size_t size) {
        size_t o = 0;
        buf[0] = 0;
        if (!l || !l[0]) {
                snprintf(buf, size, "(none)");
                return buf;
        }
        for (char *const *i = l; *i; i++) {
                int n = snprintf(buf + o, size - o, "%s%s", o ? " " : "", *i);
                if (n < 0 || (size_t) n >= size - o) {
                        if (size > 4)
                                memcpy(buf + size - 4, "...", 4);
                        break;
                }
                o += n;
        }
        return buf;
}

static int parse_u32(const char *s, uint32_t *ret) {
        char *end;
        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        /* (uid_t) -1 means "no change" to setresuid() and friends: never a real id. */
        if (errno || *end || v >= UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

static int parse_bool(const char *s, bool *ret) {
        if (streq(s, "yes") || streq(s, "true") || streq(s, "on") || streq(s, "1"))
                *ret = true;
        else if (streq(s, "no") || streq(s, "false") || streq(s, "off") || streq(s, "0"))
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

static const char *yes_no(bool b) {
        return b ? "yes" : "no";
}

/* "FIRST-LAST", both decimal ids. */
static int parse_range(const char *s, uint32_t *lo, uint32_t *hi) {
        const char *dash = strchr(s, '-');
        if (!dash || dash == s)
                return -EINVAL;
        _cleanup_free_ char *a = xstrndup(s, dash - s);
        if (parse_u32(a, lo) < 0 || parse_u32(dash + 1, hi) < 0 || *lo > *hi)
                return -EINVAL;
        return 0;
}

static bool user_name_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > MAX_USER_NAME)
                return false;
        if (!isalpha((unsigned char) s[0]) && s[0] != '_')
                return false;
        for (size_t i = 1; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("_.-", s[i]))
                        return false;
        return true;
}

/* Nomad's dynamic workload user spelling, as spec_set_user() reads it. */
static bool parse_nomad_user(const char *s, uint32_t *ret) {
        const char *n = startswith(s, "nomad-");
        return n && parse_u32(n, ret) >= 0;
}

static bool driver_name_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > POLICY_MAX_NAME)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("_.-", s[i]))
                        return false;
        return true;
}

int policy_path_normalise(const char *path, char **ret) {
        if (path[0] != '/')
                return -EINVAL;
        size_t len = strlen(path);
        if (len >= PATH_MAX)
                return -ENAMETOOLONG;
        char *out = xmalloc(len + 2), *o = out;
        const char *p = path;
        for (;;) {
                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                const char *e = strchrnul(p, '/');
                size_t n = e - p;
                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        free(out);
                        return -EXDEV;
                }
                if (!(n == 1 && p[0] == '.')) {
                        *o++ = '/';
                        memcpy(o, p, n);
                        o += n;
                }
                p = e;
        }
        if (o == out)
                *o++ = '/';
        *o = 0;
        *ret = out;
        return 0;
}

bool policy_path_beneath(const char *path, const char *prefix) {
        if (streq(prefix, "/"))
                return path[0] == '/';
        size_t n = strlen(prefix);
        return strncmp(path, prefix, n) == 0 && (path[n] == 0 || path[n] == '/');
}

/* The reason policy_path_normalise() gave, for a message about `what`. */
static int path_error(SbxError *err, int r, const char *what) {
        switch (r) {
        case -EINVAL:
                return sbx_error(err, EINVAL, "'%.256s': relative path (must start with '/')", what);
        case -EXDEV:
                return sbx_error(err, EINVAL, "'%.256s': '..' is not allowed", what);
        case -ENAMETOOLONG:
                return sbx_error(err, ENAMETOOLONG, "'%.64s...': path too long", what);
        default:
                return sbx_error(err, r, "'%.256s': bad path", what);
        }
}

static bool endswith_slice(const char *s) {
        size_t n = strlen(s);
        return n > 6 && streq(s + n - 6, ".slice");
}

static bool has_glob(const char *s) {
        return strpbrk(s, "*?[") != NULL;
}

/* A cgroup path relative to the cgroup2 root: no empty, "." or ".." component, at most 255
 * characters. strict (values in our own file): letters, digits and "_.@:-" only; otherwise (paths
 * Nomad sends, whose scope names carry task names) any printable character. */
static bool cgroup_path_valid(const char *s, bool strict) {
        size_t n = strlen(s);
        if (n == 0 || n > 255 || s[0] == '/' || s[n - 1] == '/')
                return false;
        for (const char *c = s; *c; c++) {
                unsigned char u = (unsigned char) *c;
                if (strict ? !isalnum(u) && !strchr("_.@:-/", u) : u < 0x20 || u == 0x7f)
                        return false;
        }
        for (const char *p = s;;) {
                const char *e = strchrnul(p, '/');
                size_t l = e - p;
                if (l == 0 || (l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                if (!*e)
                        return true;
                p = e + 1;
        }
}

/* ---------------------------------------------------------------------------------------- */
/* Construction and destruction                                                               */

static void driver_free(PolicyDriver *d) {
        if (!d)
                return;
        free(d->name);
        id_list_done(&d->peer_uids);
        id_list_done(&d->peer_gids);
        id_list_done(&d->users);
        free(d->default_user);
        for (size_t i = 0; i < d->n_unveil; i++)
                free(d->unveil[i].path);
        free(d->unveil);
        strv_free(d->unveil_text);
        strv_free(d->netns_dirs);
        strv_free(d->namespaces);
        strv_free(d->jobs);
        for (size_t i = 0; i < d->n_rlimits; i++)
                free(d->rlimits[i].name);
        free(d);
}

Policy *policy_free(Policy *p) {
        if (!p)
                return NULL;
        free(p->filename);
        id_list_done(&p->peer_uids);
        id_list_done(&p->peer_gids);
        strv_free(p->data_dirs);
        strv_free(p->log_dirs);
        free(p->nomad_cgroup_parent);
        free(p->socket_path);
        free(p->state_dir);
        free(p->cgroup_parent);
        free(p->admin_policy);
        free(p->socket_group);
        for (size_t i = 0; i < p->n_drivers; i++)
                driver_free(p->drivers[i]);
        free(p->drivers);
        free(p);
        return NULL;
}

static void rlimit_ceiling_set(PolicyDriver *d, int resource, rlim_t max, const char *name) {
        for (size_t i = 0; i < d->n_rlimits; i++)
                if (d->rlimits[i].resource == resource) {
                        d->rlimits[i].max = max;
                        return;
                }
        if (d->n_rlimits < SPEC_MAX_RLIMITS)
                d->rlimits[d->n_rlimits++] = (CeilRlimit) { .resource = resource, .max = max, .name = xstrdup(name) };
}

/* The defaults of a [driver] section; see docs/sandboxd.conf.md for why each is what it is. */
static PolicyDriver *driver_new(const char *name, unsigned line) {
        PolicyDriver *d = xcalloc(1, sizeof(PolicyDriver));
        d->name = xstrdup(name);
        d->line = line;
        id_list_add(&d->users, &(IdRange) { .name = xstrdup("nobody") }, "nobody");
        /* Nomad's own default range (client.users.dynamic_user_min/max). */
        d->dynamic = true;
        d->dynamic_lo = 80000;
        d->dynamic_hi = 89999;
        d->default_user = xstrdup("nobody");
        d->promises = ALL_PROMISES;
        d->unveil_defaults = true;
        d->baseline_filter = true;
        d->explain_denials = true;
        /* host: a Nomad job without a group network block runs in the host namespace, as it does
         * under the pledge driver and exec2; its promises (inet) and tcp_* rules still apply */
        d->networks = 1u << NET_NONE | 1u << NET_HOST | 1u << NET_JOIN;
        strv_push(&d->netns_dirs, "/run/netns");
        strv_push(&d->netns_dirs, "/var/run/netns");
        strv_push(&d->namespaces, "*");
        strv_push(&d->jobs, "*");
        d->max_importance = IMPORTANCE_NORMAL;
        /* Real-time scheduling and a raised nice ceiling would let a task starve the node
         * without ever asking for `importance`. */
        rlimit_ceiling_set(d, RLIMIT_RTPRIO, 0, "RTPRIO");
        rlimit_ceiling_set(d, RLIMIT_NICE, 0, "NICE");
        /* Nomad sends no process limit: without one a fork bomb is bounded only by the host. */
        d->default_processes = POLICY_DEFAULT_PROCESSES;
        d->max_processes = POLICY_MAX_PROCESSES;
        return d;
}

static Policy *policy_new(const char *filename) {
        Policy *p = xcalloc(1, sizeof(Policy));
        p->filename = xstrdup(filename ? filename : "(config)");
        strv_push(&p->data_dirs, "/opt/nomad/data");
        p->nomad_cgroup_parent = xstrdup("nomad.slice");
        p->cgroup_backend = CGROUP_BACKEND_AUTO;
        p->max_tasks = 4096;
        p->log_reader_timeout_ms = POLICY_LOG_READER_TIMEOUT_DEFAULT_MS;
        p->max_connections_per_uid = POLICY_MAX_CONNECTIONS_PER_UID;
        return p;
}

/* ---------------------------------------------------------------------------------------- */
/* Key parsers                                                                                */

typedef struct Parser {
        Policy *p;
        PolicyDriver *d; /* the current [driver], NULL in [daemon] */
        unsigned line;
        bool first;      /* first line of this key in this section: replaces the default */
} Parser;

typedef int (*KeyParser)(Parser *ps, Key k, char **tok, size_t n, SbxError *err);

static int too_many(SbxError *err) {
        return sbx_error(err, E2BIG, "too many entries (at most %d)", POLICY_MAX_LIST);
}

static IdList *id_list_for(Parser *ps, Key k) {
        if (k == KEY_USERS)
                return &ps->d->users;
        if (k == KEY_ALLOWED_UIDS)
                return ps->d ? &ps->d->peer_uids : &ps->p->peer_uids;
        return ps->d ? &ps->d->peer_gids : &ps->p->peer_gids;
}

static int parse_ids(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        IdList *l = id_list_for(ps, k);
        bool group = k == KEY_ALLOWED_GIDS;

        if (ps->first)
                id_list_done(l);
        if (l->n + n > POLICY_MAX_LIST)
                return too_many(err);
        for (size_t i = 0; i < n; i++) {
                IdRange r = { .line = ps->line, .resolved = true };
                if (parse_u32(tok[i], &r.lo) >= 0)
                        r.hi = r.lo;
                else if (isdigit((unsigned char) tok[i][0])) {
                        if (parse_range(tok[i], &r.lo, &r.hi) < 0)
                                return sbx_error(err, EINVAL, "'%.64s': bad %s range (expected FIRST-LAST, FIRST <= LAST < %" PRIu32 ")",
                                                 tok[i], group ? "gid" : "uid", UINT32_MAX);
                } else if (!group && parse_nomad_user(tok[i], &r.lo))
                        r.hi = r.lo;
                else if (user_name_valid(tok[i])) {
                        r.name = xstrdup(tok[i]);
                        r.resolved = false;
                } else
                        return sbx_error(err, EINVAL, "'%.64s': expected a %s name, a %s or a range FIRST-LAST", tok[i],
                                         group ? "group" : "user", group ? "gid" : "uid");
                id_list_add(l, &r, tok[i]);
        }
        return 0;
}

static int parse_dynamic_users(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        PolicyDriver *d = ps->d;
        if (streq(tok[0], "none")) {
                d->dynamic = false;
                return 0;
        }
        if (parse_range(tok[0], &d->dynamic_lo, &d->dynamic_hi) < 0)
                return sbx_error(err, EINVAL, "'%.64s': expected none or FIRST-LAST (e.g. 80000-89999)", tok[0]);
        if (d->dynamic_lo == 0)
                return sbx_error(err, EINVAL, "'%.64s': must not include uid 0", tok[0]);
        d->dynamic = true;
        return 0;
}

static int parse_default_user(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        uint32_t id;
        if (parse_u32(tok[0], &id) < 0 && !parse_nomad_user(tok[0], &id) && !user_name_valid(tok[0]))
                return sbx_error(err, EINVAL, "'%.64s': expected a user name, a uid or nomad-<N>", tok[0]);
        free(ps->d->default_user);
        ps->d->default_user = xstrdup(tok[0]);
        return 0;
}

static bool *bool_for(Parser *ps, Key k) {
        switch (k) {
        case KEY_ALLOW_ROOT:
                return &ps->d->allow_root;
        case KEY_REQUIRE_PROMISES:
                return &ps->d->require_promises;
        case KEY_UNVEIL_DEFAULTS:
                return &ps->d->unveil_defaults;
        case KEY_HOST_VIEW:
                return &ps->d->host_view;
        case KEY_ALLOW_UNENFORCED_LIMITS:
                return &ps->d->allow_unenforced_limits;
        case KEY_BASELINE_FILTER:
                return &ps->d->baseline_filter;
        case KEY_EXPLAIN_DENIALS:
                return &ps->d->explain_denials;
        default:
                return NULL;
        }
}

static int parse_bool_key(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        if (parse_bool(tok[0], bool_for(ps, k)) < 0)
                return sbx_error(err, EINVAL, "'%.64s': expected yes or no", tok[0]);
        return 0;
}

static int parse_max_tasks(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        uint32_t v;
        uint32_t min = ps->d ? 0 : 1;
        if (parse_u32(tok[0], &v) < 0 || v < min || v > POLICY_MAX_TASKS_LIMIT)
                return sbx_error(err, EINVAL, "'%.64s': expected a number from %" PRIu32 " to %d", tok[0], min,
                                 POLICY_MAX_TASKS_LIMIT);
        if (ps->d)
                ps->d->max_tasks = v;
        else
                ps->p->max_tasks = v;
        return 0;
}

static int parse_number(const char *s, uint64_t min, uint64_t max, uint64_t *ret, SbxError *err) {
        uint32_t v;
        if (parse_u32(s, &v) < 0 || v < min || v > max)
                return sbx_error(err, EINVAL, "'%.64s': expected a number from %" PRIu64 " to %" PRIu64, s, min, max);
        *ret = v;
        return 0;
}

static int parse_max_connections(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        uint64_t v = 0;
        int r = parse_number(tok[0], 1, POLICY_MAX_CONNECTIONS_LIMIT, &v, err);
        if (r >= 0)
                ps->p->max_connections_per_uid = (size_t) v;
        return r;
}

/* default_processes (0 = no default), max_processes (0 = no ceiling) */
static int parse_processes(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        return parse_number(tok[0], 0, POLICY_PROCESSES_LIMIT,
                            k == KEY_DEFAULT_PROCESSES ? &ps->d->default_processes : &ps->d->max_processes, err);
}

/* An octal mode for the socket: read and write for owner, group, others (no x, no special bits). */
static int parse_socket_mode(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(tok[0], &end, 8);
        if (errno || end == tok[0] || *end || tok[0][0] == '-' || (v & ~0666UL) || !(v & 0600))
                return sbx_error(err, EINVAL, "'%.64s': expected an octal mode with only r and w bits, at least 0600 "
                                              "(e.g. 0660)", tok[0]);
        ps->p->socket_mode = (unsigned) v;
        return 0;
}

static int parse_socket_group(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        for (const char *c = tok[0]; *c; c++)
                if (!isalnum((unsigned char) *c) && !strchr("_.-", *c))
                        return sbx_error(err, EINVAL, "'%.64s': not a group name or gid", tok[0]);
        free(ps->p->socket_group);
        ps->p->socket_group = xstrdup(tok[0]);
        return 0;
}

/* nomad_data_dir, log_dirs, netns_dirs: absolute, normalised. */
static int parse_dirs(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        char ***l = k == KEY_NOMAD_DATA_DIR ? &ps->p->data_dirs
                  : k == KEY_LOG_DIRS       ? &ps->p->log_dirs
                                            : &ps->d->netns_dirs;
        if (ps->first) {
                strv_free(*l);
                *l = NULL;
        }
        if (strv_length(*l) + n > POLICY_MAX_LIST)
                return too_many(err);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *norm = NULL;
                int r = policy_path_normalise(tok[i], &norm);
                if (r < 0)
                        return path_error(err, r, tok[i]);
                /* "/" as a data dir or netns dir would cover the whole host (/proc/1/ns/net is
                 * the host's network namespace). */
                if (k != KEY_LOG_DIRS && streq(norm, "/"))
                        return sbx_error(err, EINVAL, "'/': would cover the whole host");
                if (k != KEY_LOG_DIRS && has_glob(norm))
                        return sbx_error(err, EINVAL, "'%.256s': '*', '?' and '[' are not allowed here", tok[i]);
                strv_consume(l, TAKE_PTR(norm));
        }
        return 0;
}

static int parse_abs_path(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        _cleanup_free_ char *norm = NULL;
        int r = policy_path_normalise(tok[0], &norm);
        if (r < 0)
                return path_error(err, r, tok[0]);
        if (streq(norm, "/"))
                return sbx_error(err, EINVAL, "'/': must be a directory of its own");
        if (k == KEY_SOCKET) {
                if (strlen(norm) > SUN_PATH_MAX)
                        return sbx_error(err, ENAMETOOLONG, "'%.64s...': longer than a unix socket path may be (%d)",
                                         tok[0], SUN_PATH_MAX);
                free(ps->p->socket_path);
                ps->p->socket_path = TAKE_PTR(norm);
        } else {
                free(ps->p->state_dir);
                ps->p->state_dir = TAKE_PTR(norm);
        }
        return 0;
}

static int parse_cgroup_backend(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        CgroupBackend b = cgroup_backend_from_string(tok[0]);
        if (b < 0)
                return sbx_error(err, EINVAL, "'%.64s': expected auto, systemd or cgroupfs", tok[0]);
        ps->p->cgroup_backend = b;
        return 0;
}

static int parse_cgroup_path_key(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        const char *v = tok[0];
        /* "/nomad.slice" and "nomad.slice" mean the same: relative to the cgroup2 root. */
        while (*v == '/')
                v++;
        if (!cgroup_path_valid(v, true))
                return sbx_error(err, EINVAL, "'%.64s': expected a cgroup path relative to the cgroup root "
                                              "(letters, digits, '_.@:-', '/' between components, no '.' or '..')", tok[0]);
        char **target = k == KEY_CGROUP_PARENT ? &ps->p->cgroup_parent : &ps->p->nomad_cgroup_parent;
        free(*target);
        *target = xstrdup(v);
        return 0;
}

static int parse_admin_policy(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        if (!driver_name_valid(tok[0]))
                return sbx_error(err, EINVAL, "'%.64s': not a driver name", tok[0]);
        free(ps->p->admin_policy);
        ps->p->admin_policy = xstrdup(tok[0]);
        return 0;
}

static int parse_promises(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        if (ps->first)
                ps->d->promises = 0;
        for (size_t i = 0; i < n; i++) {
                if (streq(tok[i], "all")) {
                        ps->d->promises = ALL_PROMISES;
                        continue;
                }
                Promise pr = promise_from_string(tok[i]);
                if ((int) pr < 0) {
                        const char *guess = promise_closest(tok[i], strlen(tok[i]));
                        return sbx_error(err, EINVAL, "unknown promise '%.64s'%s%s%s", tok[i],
                                         guess ? " (did you mean '" : "", guess ?: "", guess ? "'?)" : "");
                }
                ps->d->promises |= PROMISE_BIT(pr);
        }
        return 0;
}

/* A promise list for tasks without promises, or "none". Checked against the ceiling in validate(). */
static int parse_default_promises(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        if (ps->first) {
                ps->d->has_default_promises = false;
                ps->d->default_promises = 0;
        }
        for (size_t i = 0; i < n; i++) {
                if (streq(tok[i], "none")) {
                        if (n > 1 || !ps->first)
                                return sbx_error(err, EINVAL, "'none' stands alone");
                        continue;
                }
                Promise pr = promise_from_string(tok[i]);
                if ((int) pr < 0)
                        return sbx_error(err, EINVAL, "unknown promise '%.64s'", tok[i]);
                ps->d->default_promises |= PROMISE_BIT(pr);
                ps->d->has_default_promises = true;
        }
        return 0;
}

/* Whole seconds, 1 to 3600. */
static int parse_log_reader_timeout(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        uint32_t v;
        if (parse_u32(tok[0], &v) < 0 || v < 1 || v > 3600)
                return sbx_error(err, EINVAL, "'%.64s': expected seconds from 1 to 3600", tok[0]);
        ps->p->log_reader_timeout_ms = v * 1000;
        return 0;
}

static int parse_unveil(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        PolicyDriver *d = ps->d;
        if (d->n_unveil + n > POLICY_MAX_LIST)
                return too_many(err);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL, *norm = NULL;
                unsigned perms;
                char letters[5];
                int r = unveil_entry_parse(tok[i], &path, &perms, err);
                if (r < 0)
                        return r;
                r = policy_path_normalise(path, &norm);
                if (r < 0)
                        return path_error(err, r, tok[i]);
                strv_consume(&d->unveil_text, xasprintf("%s:%s", unveil_perms_format(perms, letters), norm));
                d->unveil = xrealloc(d->unveil, (d->n_unveil + 1) * sizeof(PathRule));
                d->unveil[d->n_unveil++] = (PathRule) { .path = TAKE_PTR(norm), .perms = perms };
        }
        return 0;
}

static int parse_networks(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        if (ps->first)
                ps->d->networks = 0;
        for (size_t i = 0; i < n; i++) {
                int m = -1;
                for (int j = 0; j < _NET_MODE_MAX; j++)
                        if (streq(tok[i], net_mode_to_string(j)))
                                m = j;
                if (m < 0)
                        return sbx_error(err, EINVAL, "'%.64s': expected none, host or group", tok[i]);
                ps->d->networks |= 1u << m;
        }
        return 0;
}

static int parse_globs(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        char ***l = k == KEY_NAMESPACES ? &ps->d->namespaces : &ps->d->jobs;
        if (ps->first) {
                strv_free(*l);
                *l = NULL;
        }
        if (strv_length(*l) + n > POLICY_MAX_LIST)
                return too_many(err);
        for (size_t i = 0; i < n; i++) {
                if (strlen(tok[i]) > MAX_GLOB)
                        return sbx_error(err, EINVAL, "'%.64s...': longer than %d characters", tok[i], MAX_GLOB);
                strv_push(l, tok[i]);
        }
        return 0;
}

static int parse_landlock(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        if (streq(tok[0], "required"))
                ps->d->landlock_best_effort = false;
        else if (streq(tok[0], "best-effort"))
                ps->d->landlock_best_effort = true;
        else
                return sbx_error(err, EINVAL, "'%.64s': expected required or best-effort", tok[0]);
        return 0;
}

static int parse_min_oom(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        char *end;
        errno = 0;
        long v = strtol(tok[0], &end, 10);
        if (errno || end == tok[0] || *end || v < -1000 || v > 1000)
                return sbx_error(err, EINVAL, "'%.64s': expected an integer from -1000 to 1000", tok[0]);
        ps->d->min_oom_score_adj = (int) v;
        return 0;
}

static int parse_max_importance(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        Importance i = importance_from_string(tok[0]);
        if ((int) i < 0)
                return sbx_error(err, EINVAL, "'%.64s': expected lowest, low, normal, high or highest", tok[0]);
        ps->d->max_importance = i;
        return 0;
}

/* NAME=MAX: a ceiling on the hard limit. Lines add to (and override per resource) the defaults,
 * so raising NOFILE does not silently lift the RTPRIO=0 default. */
static int parse_rlimits(Parser *ps, Key k, char **tok, size_t n, SbxError *err) {
        for (size_t i = 0; i < n; i++) {
                const char *eq = strchr(tok[i], '=');
                if (!eq || strchr(eq, ':'))
                        return sbx_error(err, EINVAL, "'%.64s': expected NAME=MAX (e.g. NOFILE=65536 or RTPRIO=0)", tok[i]);
                _cleanup_(sandbox_spec_done) SandboxSpec scratch;
                sandbox_spec_init(&scratch);
                int r = spec_add_rlimit(&scratch, tok[i], err);
                if (r < 0)
                        return r;
                _cleanup_free_ char *name = xstrndup(tok[i], eq - tok[i]);
                const char *bare = strncasecmp(name, "RLIMIT_", 7) == 0 ? name + 7 : name;
                for (char *c = (char *) bare; *c; c++)
                        *c = (char) toupper((unsigned char) *c);
                rlimit_ceiling_set(ps->d, scratch.rlimits[0].resource, scratch.rlimits[0].limit.rlim_max, bare);
        }
        return 0;
}

enum {
        S_DAEMON = 1 << 0,
        S_DRIVER = 1 << 1,
};

static const struct KeyDef {
        const char *name;
        unsigned sections;
        bool list;
        KeyParser parse;
} key_table[_KEY_MAX] = {
        [KEY_ALLOWED_UIDS] = { "allowed_uids", S_DAEMON | S_DRIVER, true, parse_ids },
        [KEY_ALLOWED_GIDS] = { "allowed_gids", S_DAEMON | S_DRIVER, true, parse_ids },
        [KEY_MAX_TASKS] = { "max_tasks", S_DAEMON | S_DRIVER, false, parse_max_tasks },
        [KEY_NOMAD_DATA_DIR] = { "nomad_data_dir", S_DAEMON, true, parse_dirs },
        [KEY_LOG_DIRS] = { "log_dirs", S_DAEMON, true, parse_dirs },
        [KEY_NOMAD_CGROUP_PARENT] = { "nomad_cgroup_parent", S_DAEMON, false, parse_cgroup_path_key },
        [KEY_SOCKET] = { "socket", S_DAEMON, false, parse_abs_path },
        [KEY_STATE_DIR] = { "state_dir", S_DAEMON, false, parse_abs_path },
        [KEY_CGROUP_BACKEND] = { "cgroup_backend", S_DAEMON, false, parse_cgroup_backend },
        [KEY_CGROUP_PARENT] = { "cgroup_parent", S_DAEMON, false, parse_cgroup_path_key },
        [KEY_ADMIN_POLICY] = { "admin_policy", S_DAEMON, false, parse_admin_policy },
        [KEY_LOG_READER_TIMEOUT] = { "log_reader_timeout", S_DAEMON, false, parse_log_reader_timeout },
        [KEY_MAX_CONNECTIONS_PER_UID] = { "max_connections_per_uid", S_DAEMON, false, parse_max_connections },
        [KEY_SOCKET_MODE] = { "socket_mode", S_DAEMON, false, parse_socket_mode },
        [KEY_SOCKET_GROUP] = { "socket_group", S_DAEMON, false, parse_socket_group },
        [KEY_USERS] = { "users", S_DRIVER, true, parse_ids },
        [KEY_DYNAMIC_USERS] = { "dynamic_users", S_DRIVER, false, parse_dynamic_users },
        [KEY_DEFAULT_USER] = { "default_user", S_DRIVER, false, parse_default_user },
        [KEY_ALLOW_ROOT] = { "allow_root", S_DRIVER, false, parse_bool_key },
        [KEY_PROMISES] = { "promises", S_DRIVER, true, parse_promises },
        [KEY_REQUIRE_PROMISES] = { "require_promises", S_DRIVER, false, parse_bool_key },
        [KEY_DEFAULT_PROMISES] = { "default_promises", S_DRIVER, true, parse_default_promises },
        [KEY_UNVEIL] = { "unveil", S_DRIVER, true, parse_unveil },
        [KEY_UNVEIL_DEFAULTS] = { "unveil_defaults", S_DRIVER, false, parse_bool_key },
        [KEY_HOST_VIEW] = { "host_view", S_DRIVER, false, parse_bool_key },
        [KEY_NETWORKS] = { "networks", S_DRIVER, true, parse_networks },
        [KEY_NETNS_DIRS] = { "netns_dirs", S_DRIVER, true, parse_dirs },
        [KEY_NAMESPACES] = { "namespaces", S_DRIVER, true, parse_globs },
        [KEY_JOBS] = { "jobs", S_DRIVER, true, parse_globs },
        [KEY_ALLOW_UNENFORCED_LIMITS] = { "allow_unenforced_limits", S_DRIVER, false, parse_bool_key },
        [KEY_LANDLOCK] = { "landlock", S_DRIVER, false, parse_landlock },
        [KEY_MIN_OOM_SCORE_ADJ] = { "min_oom_score_adj", S_DRIVER, false, parse_min_oom },
        [KEY_MAX_IMPORTANCE] = { "max_importance", S_DRIVER, false, parse_max_importance },
        [KEY_RLIMITS] = { "rlimits", S_DRIVER, true, parse_rlimits },
        [KEY_BASELINE_FILTER] = { "baseline_filter", S_DRIVER, false, parse_bool_key },
        [KEY_EXPLAIN_DENIALS] = { "explain_denials", S_DRIVER, false, parse_bool_key },
        [KEY_DEFAULT_PROCESSES] = { "default_processes", S_DRIVER, false, parse_processes },
        [KEY_MAX_PROCESSES] = { "max_processes", S_DRIVER, false, parse_processes },
};

/* ---------------------------------------------------------------------------------------- */
/* The parser                                                                                 */

/* Wraps the message a key parser left in err as "FILE:LINE: KEY: message". */
static int at_line(SbxError *err, const Policy *p, unsigned line, const char *key, int r) {
        if (!err)
                return r;
        if (key)
                (void) sbx_error_wrap(err, r, "%s:%u: %s", p->filename, line, key);
        else
                (void) sbx_error_wrap(err, r, "%s:%u", p->filename, line);
        return r;
}

static int parse_section(Parser *ps, char *s, SbxError *err) {
        Policy *p = ps->p;
        size_t len = strlen(s);
        if (len < 2 || s[len - 1] != ']')
                return sbx_error(err, EINVAL, "'%.64s': a section header ends with ']'", s);
        s[len - 1] = 0;
        char *save = NULL;
        char *kind = strtok_r(s + 1, " \t", &save);
        char *name = kind ? strtok_r(NULL, " \t", &save) : NULL;
        char *extra = name ? strtok_r(NULL, " \t", &save) : NULL;

        if (kind && streq(kind, "daemon") && !name) {
                if (p->daemon_section)
                        return sbx_error(err, EINVAL, "duplicate section [daemon]");
                p->daemon_section = true;
                ps->d = NULL;
                return 0;
        }
        if (kind && streq(kind, "driver")) {
                if (!name || extra || !driver_name_valid(name))
                        return sbx_error(err, EINVAL, "expected [driver NAME], NAME of 1 to %d letters, digits, '_', "
                                                      "'.' or '-'", POLICY_MAX_NAME);
                for (size_t i = 0; i < p->n_drivers; i++)
                        if (streq(p->drivers[i]->name, name))
                                return sbx_error(err, EINVAL, "duplicate driver '%s' (first on line %u)", name,
                                                 p->drivers[i]->line);
                if (p->n_drivers >= POLICY_MAX_DRIVERS)
                        return sbx_error(err, E2BIG, "too many [driver] sections (at most %d)", POLICY_MAX_DRIVERS);
                p->drivers = xrealloc(p->drivers, (p->n_drivers + 1) * sizeof(PolicyDriver *));
                ps->d = p->drivers[p->n_drivers++] = driver_new(name, ps->line);
                return 0;
        }
        return sbx_error(err, EINVAL, "unknown section '[%.64s]' (expected [daemon] or [driver NAME])", s + 1);
}

static int parse_assignment(Parser *ps, bool in_section, char *s, SbxError *err) {
        char *eq = strchr(s, '=');
        if (!eq)
                return sbx_error(err, EINVAL, "'%.64s': expected KEY = VALUE or [SECTION]", s);
        char *key = s, *value = eq + 1;
        char *ke = eq;
        while (ke > key && (ke[-1] == ' ' || ke[-1] == '\t'))
                ke--;
        *ke = 0;
        if (!key[0])
                return sbx_error(err, EINVAL, "missing key before '='");
        for (char *c = key; *c; c++)
                if (!islower((unsigned char) *c) && !isdigit((unsigned char) *c) && *c != '_')
                        return sbx_error(err, EINVAL, "'%.64s': not a key (keys are lower case, digits and '_')", key);
        if (!in_section)
                return sbx_error(err, EINVAL, "%s: outside a section (start with [daemon] or [driver NAME])", key);

        unsigned here = ps->d ? S_DRIVER : S_DAEMON;
        int k = -1;
        for (int i = 0; i < _KEY_MAX; i++)
                if (streq(key, key_table[i].name))
                        k = i;
        if (k < 0 || !(key_table[k].sections & here)) {
                if (k >= 0)
                        return sbx_error(err, EINVAL, "%s: belongs in %s, not in %s", key,
                                         here == S_DRIVER ? "[daemon]" : "a [driver NAME] section",
                                         here == S_DRIVER ? "a [driver] section" : "[daemon]");
                return sbx_error(err, EINVAL, "unknown key '%.64s' in %s", key, here == S_DRIVER ? "[driver]" : "[daemon]");
        }
        const struct KeyDef *def = &key_table[k];
        unsigned *seen = ps->d ? ps->d->seen : ps->p->seen;
        if (!def->list && seen[k])
                return sbx_error(err, EINVAL, "%s: duplicate key (first set on line %u)", key, seen[k]);

        char *tok[POLICY_MAX_LIST + 1];
        size_t n = 0;
        char *save = NULL;
        for (char *t = strtok_r(value, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
                if (n >= POLICY_MAX_LIST)
                        return sbx_error(err, E2BIG, "%s: too many entries (at most %d)", key, POLICY_MAX_LIST);
                /* Only "key =#x" gets here (after whitespace '#' is a comment): refused, since
                 * the value would read as a comment wherever it is written after a space. */
                if (t[0] == '#')
                        return sbx_error(err, EINVAL, "%s: '%.64s': a value cannot start with '#' (a comment needs a "
                                                      "space before it)", key, t);
                tok[n++] = t;
        }
        tok[n] = NULL;
        if (!def->list && n != 1)
                return sbx_error(err, EINVAL, "%s: %s", key, n == 0 ? "missing value" : "expected a single value");

        ps->first = !seen[k];
        if (!seen[k])
                seen[k] = ps->line;
        int r = def->parse(ps, k, tok, n, err);
        if (r < 0 && err)
                (void) sbx_error_wrap(err, r, "%s", key);
        return r;
}

/* The first entry that is (or names) uid 0, or -1. */
static ssize_t find_root(const IdList *l) {
        for (size_t i = 0; i < l->n; i++) {
                const IdRange *r = &l->v[i];
                if ((r->resolved && r->lo == 0) || (r->name && streq(r->name, "root")))
                        return (ssize_t) i;
        }
        return -1;
}

/* What no single line shows: contradictions between keys and references to other sections. */
static int validate(Policy *p, SbxError *err) {
        for (size_t i = 0; i < p->n_drivers; i++) {
                PolicyDriver *d = p->drivers[i];
                ssize_t root = find_root(&d->users);
                uint32_t id;
                if (!d->allow_root && root >= 0)
                        return at_line(err, p, d->users.v[root].line, "users",
                                       sbx_error(err, EINVAL, "'%s' is uid 0: needs allow_root = yes", d->users.text[root]));
                if (!d->allow_root && (streq(d->default_user, "root") ||
                                       ((parse_u32(d->default_user, &id) >= 0 || parse_nomad_user(d->default_user, &id)) &&
                                        id == 0)))
                        return at_line(err, p, d->seen[KEY_DEFAULT_USER], "default_user",
                                       sbx_error(err, EINVAL, "'%s' is uid 0: needs allow_root = yes", d->default_user));
                if (d->has_default_promises && (d->default_promises & ~(d->promises | PROMISE_BIT(PROMISE_THREAD)))) {
                        _cleanup_free_ char *extra =
                                promises_format(d->default_promises & ~(d->promises | PROMISE_BIT(PROMISE_THREAD)));
                        return at_line(err, p, d->seen[KEY_DEFAULT_PROMISES], "default_promises",
                                       sbx_error(err, EINVAL, "'%s' not allowed by promises", extra));
                }
        }
        /* Nomad's layout: DATA_DIR/alloc/<alloc id>/alloc/logs/.<task>.std{out,err}.fifo. */
        if (!p->seen[KEY_LOG_DIRS])
                for (char **i = p->data_dirs; i && *i; i++)
                        strv_consume(&p->log_dirs, xasprintf("%s/alloc/*/alloc/logs", *i));
        if (p->admin_policy && !policy_driver(p, p->admin_policy))
                return at_line(err, p, p->seen[KEY_ADMIN_POLICY], "admin_policy",
                               sbx_error(err, EINVAL, "no [driver %s] section", p->admin_policy));
        /* systemd places scopes in a slice, and a slice is a single unit name. */
        if (p->cgroup_parent && p->cgroup_backend == CGROUP_BACKEND_SYSTEMD &&
            (strchr(p->cgroup_parent, '/') || !endswith_slice(p->cgroup_parent)))
                return at_line(err, p, p->seen[KEY_CGROUP_PARENT], "cgroup_parent",
                               sbx_error(err, EINVAL, "'%s': with cgroup_backend = systemd, a slice name (e.g. sandbox.slice)",
                                         p->cgroup_parent));
        return 0;
}

/* A line must be UTF-8 without control characters other than tab (C0, DEL and C1 alike), so
 * that a message quoting a value (logged, or sent to a client in a refusal) cannot carry
 * terminal escapes or a NUL that would cut it. */
static int check_text(const char *l, size_t n, SbxError *err) {
        for (size_t i = 0; i < n;) {
                unsigned char c = (unsigned char) l[i];
                if (c < 0x80) {
                        if ((c < 0x20 && c != '\t') || c == 0x7f)
                                return sbx_error(err, EINVAL, "control character 0x%02x at column %zu", c, i + 1);
                        i++;
                        continue;
                }
                /* the length of the sequence, its smallest code point (no overlong forms) */
                size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
                uint32_t cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
                bool ok = len > 0 && i + len <= n;
                for (size_t k = 1; ok && k < len; k++) {
                        unsigned char cc = (unsigned char) l[i + k];
                        ok = (cc & 0xc0) == 0x80;
                        cp = (cp << 6) | (cc & 0x3f);
                }
                if (ok)
                        ok = !(len == 3 && cp < 0x800) && !(len == 4 && (cp < 0x10000 || cp > 0x10ffff)) &&
                             !(cp >= 0xd800 && cp <= 0xdfff);
                if (!ok)
                        return sbx_error(err, EINVAL, "invalid UTF-8 at column %zu", i + 1);
                if (cp >= 0x80 && cp <= 0x9f)
                        return sbx_error(err, EINVAL, "control character U+%04X at column %zu", (unsigned) cp, i + 1);
                i += len;
        }
        return 0;
}

int policy_parse(const char *text, size_t len, const char *filename, Policy **ret, SbxError *err) {
        _cleanup_(policy_freep) Policy *p = policy_new(filename);
        _cleanup_free_ char *buf = xmalloc(POLICY_MAX_LINE + 1);
        Parser ps = { .p = p };
        bool in_section = false;
        int r;

        if (len > POLICY_MAX_FILE_SIZE)
                return sbx_error(err, E2BIG, "%s: larger than %d bytes", p->filename, POLICY_MAX_FILE_SIZE);

        for (size_t off = 0; off < len;) {
                const char *nl = memchr(text + off, '\n', len - off);
                size_t n = (nl ? (size_t) (nl - text) : len) - off;
                const char *l = text + off;
                off += n + (nl ? 1 : 0);
                ps.line++;

                if (n > POLICY_MAX_LINE)
                        return at_line(err, p, ps.line, NULL,
                                       sbx_error(err, E2BIG, "line longer than %d characters", POLICY_MAX_LINE));
                if (n > 0 && l[n - 1] == '\r')
                        n--;
                if ((r = check_text(l, n, err)) < 0)
                        return at_line(err, p, ps.line, NULL, r);
                memcpy(buf, l, n);
                buf[n] = 0;

                /* A comment starts at '#' at the start of the line or after whitespace, so
                 * "r:/srv/a#b" stays one value. */
                for (char *c = buf; *c; c++)
                        if (*c == '#' && (c == buf || c[-1] == ' ' || c[-1] == '\t')) {
                                *c = 0;
                                break;
                        }
                char *s = buf;
                while (*s == ' ' || *s == '\t')
                        s++;
                char *e = s + strlen(s);
                while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                        *--e = 0;
                if (!*s)
                        continue;

                if (*s == '[') {
                        r = parse_section(&ps, s, err);
                        in_section = true;
                } else
                        r = parse_assignment(&ps, in_section, s, err);
                if (r < 0)
                        return at_line(err, p, ps.line, NULL, r);
        }

        /* An empty file (or one of comments only) is a mistake, not a policy: loaded by a reload,
         * it would drop every driver and refuse every task. */
        if (!p->daemon_section && p->n_drivers == 0)
                return sbx_error(err, EINVAL, "%s: no [daemon] or [driver NAME] section (an empty configuration "
                                              "would refuse every task)", p->filename);
        r = validate(p, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Name resolution and loading                                                                */

static int resolve_list(Policy *p, IdList *l, const char *key, const PolicyDriver *d, SbxError *err) {
        bool group = streq(key, "allowed_gids");
        for (size_t i = 0; i < l->n; i++) {
                IdRange *r = &l->v[i];
                uint32_t id;
                if (r->resolved || !r->name)
                        continue;
                errno = 0;
                if (group) {
                        struct group *gr = getgrnam(r->name);
                        if (!gr)
                                goto missing;
                        id = gr->gr_gid;
                } else {
                        struct passwd *pw = getpwnam(r->name);
                        if (!pw)
                                goto missing;
                        id = pw->pw_uid;
                }
                if (d && streq(key, "users") && id == 0 && !d->allow_root)
                        return at_line(err, p, r->line, key,
                                       sbx_error(err, EINVAL, "'%s' is uid 0: needs allow_root = yes", r->name));
                r->lo = r->hi = id;
                r->resolved = true;
                continue;
        missing:
                /* A built-in default (users = nobody) on a host without that account simply
                 * matches nothing but the name itself; a name the operator wrote must exist. */
                if (r->line == 0)
                        continue;
                return at_line(err, p, r->line, key,
                               sbx_error(err, errno && errno != ENOENT ? errno : ENOENT, "no such %s '%s'",
                                         group ? "group" : "user", r->name));
        }
        return 0;
}

int policy_resolve(Policy *p, SbxError *err) {
        int r;
        if ((r = resolve_list(p, &p->peer_uids, "allowed_uids", NULL, err)) < 0 ||
            (r = resolve_list(p, &p->peer_gids, "allowed_gids", NULL, err)) < 0)
                return r;
        for (size_t i = 0; i < p->n_drivers; i++) {
                PolicyDriver *d = p->drivers[i];
                if ((r = resolve_list(p, &d->peer_uids, "allowed_uids", d, err)) < 0 ||
                    (r = resolve_list(p, &d->peer_gids, "allowed_gids", d, err)) < 0 ||
                    (r = resolve_list(p, &d->users, "users", d, err)) < 0)
                        return r;
        }
        return 0;
}

/* dir and every directory above it: owned by root, and not writable by group or others unless
 * sticky (as /tmp: others may add names there but not replace root's). Whoever can rename
 * entries in one of them can swap the policy. */
static int check_dir_chain(const char *file, const char *dir, SbxError *err) {
        int r = path_check_root_only(dir, err);
        return r < 0 ? sbx_error_wrap(err, r, "'%s'", file) : 0;
}

static int check_dirs(const char *path, SbxError *err) {
        /* Both the directory that names the file (which may hold a symlink) and the one the file
         * really lives in. */
        _cleanup_free_ char *copy = xstrdup(path);
        char *slash = strrchr(copy, '/');
        const char *dir = !slash ? "." : slash == copy ? "/" : (*slash = 0, copy);
        _cleanup_free_ char *named = realpath(dir, NULL);
        if (!named)
                return sbx_error_errno(err, errno, "'%s': resolving '%s'", path, dir);
        int r = check_dir_chain(path, named, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *real = realpath(path, NULL);
        if (!real)
                return sbx_error_errno(err, errno, "'%s'", path);
        slash = strrchr(real, '/');
        if (slash == real)
                slash[1] = 0;
        else
                *slash = 0;
        return streq(real, named) ? 0 : check_dir_chain(path, real, err);
}

int policy_load(const char *path, Policy **ret, SbxError *err) {
        /* O_NONBLOCK: a FIFO put in place of the file must not hang the daemon. */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        struct stat st;
        int r;

        if (fd < 0)
                return sbx_error_errno(err, errno, "'%s'", path);
        if (fstat(fd, &st) < 0)
                return sbx_error_errno(err, errno, "'%s'", path);
        if (!S_ISREG(st.st_mode))
                return sbx_error(err, EINVAL, "'%s': not a regular file", path);
        /* Whoever can write the policy can run tasks as any user it allows: only root. */
        if (st.st_uid != 0)
                return sbx_error(err, EPERM, "'%s': owned by uid %u, not root", path, (unsigned) st.st_uid);
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return sbx_error(err, EPERM, "'%s': writable by group or others (mode %04o)", path,
                                 (unsigned) (st.st_mode & 07777));
        if (st.st_size > POLICY_MAX_FILE_SIZE)
                return sbx_error(err, E2BIG, "'%s': larger than %d bytes", path, POLICY_MAX_FILE_SIZE);
        if ((r = check_dirs(path, err)) < 0)
                return r;

        _cleanup_free_ char *buf = xmalloc(POLICY_MAX_FILE_SIZE + 1);
        size_t n = 0;
        for (;;) {
                ssize_t k = read(fd, buf + n, POLICY_MAX_FILE_SIZE + 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return sbx_error_errno(err, errno, "'%s': reading", path);
                if (k == 0)
                        break;
                n += k;
                if (n > POLICY_MAX_FILE_SIZE)
                        return sbx_error(err, E2BIG, "'%s': larger than %d bytes", path, POLICY_MAX_FILE_SIZE);
        }

        _cleanup_(policy_freep) Policy *p = NULL;
        if ((r = policy_parse(buf, n, path, &p, err)) < 0)
                return r;
        if ((r = policy_resolve(p, err)) < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Accessors                                                                                  */

size_t policy_max_tasks(const Policy *p) {
        return p->max_tasks;
}

const char *policy_socket_path(const Policy *p) {
        return p->socket_path;
}

const char *policy_state_dir(const Policy *p) {
        return p->state_dir;
}

CgroupBackend policy_cgroup_backend(const Policy *p) {
        return p->cgroup_backend;
}

const char *policy_cgroup_parent(const Policy *p) {
        return p->cgroup_parent;
}

static const PolicyDriver *find_driver(const Policy *p, const char *name) {
        for (size_t i = 0; i < p->n_drivers; i++)
                if (streq(p->drivers[i]->name, name))
                        return p->drivers[i];
        return NULL;
}

const char *policy_admin_driver(const Policy *p) {
        if (p->admin_policy)
                return p->admin_policy;
        return find_driver(p, "sandbox") ? "sandbox" : NULL;
}

const PolicyDriver *policy_driver(const Policy *p, const char *driver_name) {
        if (!driver_name || !driver_name[0])
                driver_name = policy_admin_driver(p);
        return driver_name ? find_driver(p, driver_name) : NULL;
}

size_t policy_n_drivers(const Policy *p) {
        return p->n_drivers;
}

const PolicyDriver *policy_driver_by_index(const Policy *p, size_t i) {
        return i < p->n_drivers ? p->drivers[i] : NULL;
}

const char *policy_driver_name(const PolicyDriver *d) {
        return d->name;
}

const char *policy_default_user(const PolicyDriver *d) {
        return d->default_user;
}

size_t policy_driver_max_tasks(const PolicyDriver *d) {
        return d->max_tasks;
}

size_t policy_max_connections_per_uid(const Policy *p) {
        return p->max_connections_per_uid;
}

unsigned policy_socket_mode(const Policy *p) {
        return p->socket_mode;
}

const char *policy_socket_group(const Policy *p) {
        return p->socket_group;
}

bool policy_allow_unenforced_limits(const PolicyDriver *d) {
        return d->allow_unenforced_limits;
}

bool policy_landlock_best_effort(const PolicyDriver *d) {
        return d->landlock_best_effort;
}

bool policy_unveil_defaults(const PolicyDriver *d) {
        return d->unveil_defaults;
}

bool policy_baseline_filter(const PolicyDriver *d) {
        return d->baseline_filter;
}

bool policy_host_view(const PolicyDriver *d) {
        return d->host_view;
}

bool policy_default_promises(const PolicyDriver *d, uint64_t *ret) {
        if (d->has_default_promises)
                *ret = d->default_promises;
        return d->has_default_promises;
}

unsigned policy_log_reader_timeout_ms(const Policy *p) {
        return p->log_reader_timeout_ms;
}

bool policy_explain_denials(const PolicyDriver *d) {
        return d->explain_denials;
}

/* ---------------------------------------------------------------------------------------- */
/* Checks                                                                                     */

static bool id_list_match(const IdList *l, uint32_t id) {
        for (size_t i = 0; i < l->n; i++)
                if (l->v[i].resolved && l->v[i].lo <= id && id <= l->v[i].hi)
                        return true;
        return false;
}

int policy_check_peer(const Policy *p, uid_t uid, gid_t gid, SbxError *err) {
        char a[160], b[160];
        /* Root could rewrite this file anyway; refusing it would only break sandboxctl. */
        if (uid == 0)
                return 0;
        if (id_list_match(&p->peer_uids, uid) || id_list_match(&p->peer_gids, gid))
                return 0;
        return sbx_error(err, EPERM, "peer uid %u gid %u is not allowed (allowed_uids = %s; allowed_gids = %s)",
                         (unsigned) uid, (unsigned) gid, join(p->peer_uids.text, a, sizeof(a)),
                         join(p->peer_gids.text, b, sizeof(b)));
}

_printf_(3, 4) static int refuse(SbxError *err, const PolicyDriver *d, const char *fmt, ...) {
        char msg[SBX_ERROR_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return sbx_error(err, EPERM, "policy '%s': %s", d->name, msg);
}

int policy_check_processes(const PolicyDriver *d, uint64_t *tasks_max, SbxError *err) {
        if (*tasks_max == 0) {
                *tasks_max = d->default_processes;
                return 0;
        }
        if (d->max_processes && *tasks_max > d->max_processes)
                return refuse(err, d, "tasks_max %" PRIu64 " exceeds the ceiling (max_processes = %" PRIu64 ")", *tasks_max,
                              d->max_processes);
        return 0;
}

int policy_check_driver_peer(const PolicyDriver *d, uid_t uid, gid_t gid, SbxError *err) {
        char a[160], b[160];
        if (!d->seen[KEY_ALLOWED_UIDS] && !d->seen[KEY_ALLOWED_GIDS])
                return 0;
        if (uid == 0 || id_list_match(&d->peer_uids, uid) || id_list_match(&d->peer_gids, gid))
                return 0;
        return refuse(err, d, "peer uid %u gid %u may not use this driver (allowed_uids = %s; allowed_gids = %s)",
                      (unsigned) uid, (unsigned) gid, join(d->peer_uids.text, a, sizeof(a)),
                      join(d->peer_gids.text, b, sizeof(b)));
}

static bool glob_match(char *const *globs, const char *s) {
        for (char *const *g = globs; g && *g; g++)
                if (fnmatch(*g, s, 0) == 0)
                        return true;
        return false;
}

static int check_meta(const PolicyDriver *d, const PolicyTaskMeta *meta, SbxError *err) {
        const char *ns = meta && meta->nomad_namespace ? meta->nomad_namespace : "";
        const char *job = meta && meta->job_id ? meta->job_id : "";
        char buf[256];

        if (!glob_match(d->namespaces, ns))
                return ns[0] ? refuse(err, d, "namespace '%.64s' not allowed (namespaces = %s)", ns,
                                      join(d->namespaces, buf, sizeof(buf)))
                             : refuse(err, d, "a task without a Nomad namespace is not allowed (namespaces = %s)",
                                      join(d->namespaces, buf, sizeof(buf)));
        if (!glob_match(d->jobs, job))
                return job[0] ? refuse(err, d, "job '%.64s' not allowed (jobs = %s)", job, join(d->jobs, buf, sizeof(buf)))
                              : refuse(err, d, "a task without a Nomad job is not allowed (jobs = %s)",
                                       join(d->jobs, buf, sizeof(buf)));
        return 0;
}

static int check_user(const PolicyDriver *d, const SandboxSpec *s, SbxError *err) {
        const char *who = s->user ? s->user : "(default)";
        char users[200], dyn[32];
        bool group_root = s->gid == 0;

        for (size_t i = 0; i < s->n_groups; i++)
                if (s->groups[i] == 0)
                        group_root = true;
        if (s->uid == 0) {
                if (d->allow_root)
                        return 0;
                return streq(who, "root") ? refuse(err, d, "user 'root' not allowed (allow_root = no)")
                                          : refuse(err, d, "user '%.64s' is uid 0, not allowed (allow_root = no)", who);
        }
        /* Group root opens what is group-owned by root (/etc/shadow is not, but plenty is). */
        if (group_root && !d->allow_root)
                return refuse(err, d, "user '%.64s' has group root (gid 0), not allowed (allow_root = no)", who);

        /* The gid must be the one the system gives this uid. spec_set_user() reads "nomad-42" as
         * uid 42 and gid 42 without looking at passwd, so a job allowed to run as the account
         * with uid 42 could otherwise pick up group 42 (shadow on Debian) by spelling it so. */
        errno = 0;
        struct passwd *pw = getpwuid(s->uid);
        if (!pw && errno && errno != ENOENT && errno != ESRCH)
                return sbx_error_errno(err, errno, "policy '%s': looking up uid %u", d->name, (unsigned) s->uid);
        gid_t want = pw ? pw->pw_gid : (gid_t) s->uid;
        if (s->gid != want)
                return refuse(err, d, "user '%.64s' (uid %u) would run with gid %u, not the uid's own group %u", who,
                              (unsigned) s->uid, (unsigned) s->gid, (unsigned) want);

        if (d->dynamic && d->dynamic_lo <= s->uid && s->uid <= d->dynamic_hi)
                return 0;
        if (id_list_match(&d->users, s->uid))
                return 0;
        for (size_t i = 0; i < d->users.n; i++)
                if (!d->users.v[i].resolved && d->users.v[i].name && streq_ptr(d->users.v[i].name, s->user))
                        return 0;

        if (d->dynamic)
                snprintf(dyn, sizeof(dyn), "%" PRIu32 "-%" PRIu32, d->dynamic_lo, d->dynamic_hi);
        else
                snprintf(dyn, sizeof(dyn), "none");
        return refuse(err, d, "user '%.64s' (uid %u) not allowed (users = %s; dynamic_users = %s)", who,
                      (unsigned) s->uid, join(d->users.text, users, sizeof(users)), dyn);
}

static char *promises_text(uint64_t mask) {
        if (mask == ALL_PROMISES)
                return xstrdup("all");
        return promises_format(mask);
}

static int check_promises(const PolicyDriver *d, const SandboxSpec *s, SbxError *err) {
        if (!s->has_promises) {
                if (d->require_promises)
                        return refuse(err, d, "a task without promises (only the baseline filter) is not allowed "
                                              "(require_promises = yes)");
                return 0;
        }
        /* `thread` grants nothing (threads come with stdio); refusing it would only break pledge
         * jobs that name it. */
        uint64_t excess = s->promises & ~(d->promises | PROMISE_BIT(PROMISE_THREAD));
        if (!excess)
                return 0;
        _cleanup_free_ char *ex = promises_format(excess & ALL_PROMISES);
        _cleanup_free_ char *ceil = promises_text(d->promises);
        bool one = (excess & (excess - 1)) == 0;
        return refuse(err, d, "%s '%.128s' not allowed (promises = %.256s)", one ? "promise" : "promises", ex,
                      ceil[0] ? ceil : "(none)");
}

int policy_check_launch_promises(const PolicyDriver *d, const char *program, uint64_t promises, uint64_t launch,
                                 SbxError *err) {
        uint64_t excess = launch & ~(d->promises | PROMISE_BIT(PROMISE_THREAD));
        if (!excess || launch == promises)
                return 0; /* nothing beyond the promises: check_promises answers for those */
        _cleanup_free_ char *ex = promises_format(excess & ALL_PROMISES);
        _cleanup_free_ char *win = promises_format(launch & ALL_PROMISES);
        _cleanup_free_ char *ceil = promises_text(d->promises);
        return refuse(err, d,
                      "'%.128s' is dynamically linked: until its filter is narrowed to its promises, its loader "
                      "and libraries run with '%.256s' (the promises plus rpath prot_exec for ld.so), and '%.64s' "
                      "is not allowed (promises = %.256s); allow it, or run a static program",
                      program, win, ex, ceil[0] ? ceil : "(none)");
}

/* The letters the ceiling allows at norm (a normalised path), the union of every prefix above it as
 * Landlock unites rules; *ret_deepest: the longest such prefix, NULL if none. */
static unsigned ceiling_at(const PolicyDriver *d, const char *norm, const char **ret_deepest) {
        unsigned allowed = 0;
        const char *deepest = NULL;
        for (size_t i = 0; i < d->n_unveil; i++)
                if (policy_path_beneath(norm, d->unveil[i].path)) {
                        allowed |= d->unveil[i].perms;
                        if (!deepest || strlen(d->unveil[i].path) > strlen(deepest))
                                deepest = d->unveil[i].path;
                }
        *ret_deepest = deepest;
        return allowed;
}

int policy_check_unveil(const PolicyDriver *d, const char *path, unsigned perms, SbxError *err) {
        char letters[5], allowed_letters[5], buf[256];
        _cleanup_free_ char *norm = NULL;
        unveil_perms_format(perms, letters);

        int r = policy_path_normalise(path, &norm);
        if (r == -EXDEV)
                return refuse(err, d, "unveil '%s:%.200s': '..' is not allowed", letters, path);
        if (r < 0)
                return refuse(err, d, "unveil '%s:%.200s': not an absolute path of at most %d characters", letters, path,
                              PATH_MAX - 1);

        const char *deepest;
        unsigned allowed = ceiling_at(d, norm, &deepest);
        if (!deepest)
                return refuse(err, d, "unveil '%s:%.200s' is not beneath an allowed prefix (unveil = %s)", letters, path,
                              join(d->unveil_text, buf, sizeof(buf)));
        if (perms & ~allowed)
                return refuse(err, d, "unveil '%s:%.200s' exceeds the allowed letters under %.200s (%s)", letters, path,
                              deepest, allowed ? unveil_perms_format(allowed, allowed_letters) : "none");
        return 0;
}

/* Whether what a rule really names (target, an absolute path) stays within the ceiling;
 * with_defaults: the default set counts as allowed (launch rules, when the policy allows the
 * default set). 0, or -EPERM with the reason in why, a predicate: "is not beneath an allowed
 * prefix (unveil = ...)", "exceeds the allowed letters under /opt (rx)". */
static int ceiling_why(const PolicyDriver *d, const char *target, unsigned perms, bool with_defaults, char *why,
                       size_t size) {
        char allowed_letters[5], buf[256];
        _cleanup_free_ char *norm = NULL;
        if (policy_path_normalise(target, &norm) < 0) {
                snprintf(why, size, "is not an absolute path without '..'");
                return -EPERM;
        }
        const char *deepest;
        unsigned allowed = ceiling_at(d, norm, &deepest);
        if (deepest && !(perms & ~allowed))
                return 0;
        if (with_defaults && unveil_defaults_cover(norm, perms))
                return 0;
        if (!deepest)
                snprintf(why, size, "is not beneath an allowed prefix (unveil = %s)%s", join(d->unveil_text, buf, sizeof(buf)),
                         with_defaults ? " nor in the default unveil set" : "");
        else
                snprintf(why, size, "exceeds the allowed letters under %.200s (%s)", deepest,
                         allowed ? unveil_perms_format(allowed, allowed_letters) : "none");
        return -EPERM;
}

int policy_check_rules(const PolicyDriver *d, const UnveilList *l, SbxError *err) {
        char rule[UNVEIL_MAX_PATH + 8], letters[5], why[SBX_ERROR_MAX];

        for (size_t i = 0; i < l->n; i++) {
                const UnveilRule *u = &l->rules[i];
                unveil_perms_format(u->perms, letters);
                unveil_rule_format(u, rule, sizeof(rule));
                if (u->absent)
                        continue;
                switch (u->origin) {
                case UNVEIL_ORIGIN_USER: {
                        /* policy_check_task checked the path as written; here what it names. A
                         * rule in a volume names the volume's source. */
                        const UnveilRule *vol = NULL;
                        for (size_t j = 0; j < l->n; j++)
                                if (l->rules[j].origin == UNVEIL_ORIGIN_VOLUME && l->rules[j].resolved &&
                                    path_beneath(u->path, l->rules[j].path) &&
                                    (!vol || strlen(l->rules[j].path) > strlen(vol->path)))
                                        vol = &l->rules[j];
                        if (vol && u->deferred) {
                                _cleanup_free_ char *in = xasprintf("%s%s", vol->resolved, u->path + strlen(vol->path));
                                if (ceiling_why(d, in, u->perms, false, why, sizeof(why)) < 0)
                                        return refuse(err, d,
                                                      "unveil '%.200s' names %.200s (in the volume from %.200s), which %s",
                                                      rule, in, vol->resolved, why);
                        } else if (!u->deferred && u->resolved && ceiling_why(d, u->resolved, u->perms, false, why,
                                                                              sizeof(why)) < 0)
                                return refuse(err, d, "unveil '%.200s' leads to %.200s, which %s", rule, u->resolved, why);
                        break;
                }
                case UNVEIL_ORIGIN_LAUNCH:
                        /* The sandbox adds these for the command, whatever the job asked: within
                         * the ceiling, or the default set if the policy allows that (which grants
                         * rx on the system's program and library directories anyway). */
                        if (ceiling_why(d, u->resolved ?: u->path, u->perms, d->unveil_defaults, why, sizeof(why)) < 0) {
                                bool moved = u->resolved && !streq(u->resolved, u->path);
                                return refuse(err, d, "%s %.200s (a launch rule, %s) is outside the unveil ceiling: %s%.200s%s%s",
                                              u->what ?: "the launch rule", u->path, letters, moved ? "it leads to " : "it ",
                                              moved ? u->resolved : "", moved ? ", which " : "", why);
                        }
                        break;
                case UNVEIL_ORIGIN_VOLUME:
                        /* The mount point shows the source. */
                        if (ceiling_why(d, u->resolved ?: u->path, u->perms, false, why, sizeof(why)) < 0)
                                return refuse(err, d, "volume %.200s on %.200s (%s): the source %s", u->resolved ?: "?",
                                              u->path, letters, why);
                        break;
                case UNVEIL_ORIGIN_DEFAULT:
                        if (!d->unveil_defaults)
                                return refuse(err, d, "the default unveil set is not allowed (unveil_defaults = no); "
                                                      "the task must switch it off");
                        break;
                case UNVEIL_ORIGIN_NOMAD:   /* beneath nomad_data_dir, opened without symlinks */
                case UNVEIL_ORIGIN_PRIVATE: /* the task's own tmpfs: nothing of the host's */
                        break;
                default:
                        return refuse(err, d, "unveil '%.200s': unknown origin", rule);
                }
        }
        return 0;
}

static int check_unveil(const PolicyDriver *d, const SandboxSpec *s, SbxError *err) {
        bool defaults = false;
        for (size_t i = 0; i < s->unveil.n; i++) {
                const UnveilRule *u = &s->unveil.rules[i];
                if (u->origin == UNVEIL_ORIGIN_DEFAULT)
                        defaults = true;
                else if (u->origin == UNVEIL_ORIGIN_USER) {
                        int r = policy_check_unveil(d, u->path, u->perms, err);
                        if (r < 0)
                                return r;
                }
        }
        if (defaults && !d->unveil_defaults)
                return refuse(err, d, "the default unveil set is not allowed (unveil_defaults = no); the task must "
                                      "switch it off");
        return 0;
}

static const char *networks_text(unsigned mask, char *buf, size_t size) {
        char *l[_NET_MODE_MAX + 1] = {};
        size_t n = 0;
        for (int m = 0; m < _NET_MODE_MAX; m++)
                if (mask & (1u << m))
                        l[n++] = (char *) net_mode_to_string(m);
        return join(l, buf, size);
}

static int check_net(const PolicyDriver *d, const SandboxSpec *s, SbxError *err) {
        char buf[256];
        if (s->net < 0 || s->net >= _NET_MODE_MAX || !(d->networks & (1u << s->net)))
                return refuse(err, d, "network '%s' not allowed (networks = %s)", net_mode_to_string(s->net) ?: "?",
                              networks_text(d->networks, buf, sizeof(buf)));
        if (s->net != NET_JOIN)
                return 0;

        /* Joining any namespace file is not "group" networking: /proc/1/ns/net is the host's. */
        _cleanup_free_ char *norm = NULL;
        const char *ns = s->netns_path ? s->netns_path : "";
        if (policy_path_normalise(ns, &norm) >= 0)
                for (char **dir = d->netns_dirs; dir && *dir; dir++)
                        if (policy_path_beneath(norm, *dir) && !streq(norm, *dir))
                                return 0;
        return refuse(err, d, "network namespace '%.200s' is not beneath an allowed directory (netns_dirs = %s)", ns,
                      join(d->netns_dirs, buf, sizeof(buf)));
}

static void rlim_text(rlim_t v, char *buf, size_t size) {
        if (v == RLIM_INFINITY)
                snprintf(buf, size, "unlimited");
        else
                snprintf(buf, size, "%llu", (unsigned long long) v);
}

static char **rlimits_strv(const PolicyDriver *d) {
        char **l = NULL, v[32];
        for (size_t i = 0; i < d->n_rlimits; i++) {
                rlim_text(d->rlimits[i].max, v, sizeof(v));
                strv_consume(&l, xasprintf("%s=%s", d->rlimits[i].name, v));
        }
        return l;
}

static int check_limits(const PolicyDriver *d, const SandboxSpec *s, SbxError *err) {
        if (s->has_importance && s->importance > d->max_importance)
                return refuse(err, d, "importance '%s' not allowed (max_importance = %s)",
                              importance_to_string(s->importance) ?: "?", importance_to_string(d->max_importance));
        if (s->has_oom_score_adj && s->oom_score_adj < d->min_oom_score_adj)
                return refuse(err, d, "oom_score_adj %d not allowed (min_oom_score_adj = %d)", s->oom_score_adj,
                              d->min_oom_score_adj);
        for (size_t i = 0; i < s->n_rlimits; i++)
                for (size_t j = 0; j < d->n_rlimits; j++) {
                        const CeilRlimit *c = &d->rlimits[j];
                        if (c->resource != s->rlimits[i].resource || s->rlimits[i].limit.rlim_max <= c->max)
                                continue;
                        char want[32], max[32], buf[256];
                        _cleanup_strv_free_ char **l = rlimits_strv(d);
                        rlim_text(s->rlimits[i].limit.rlim_max, want, sizeof(want));
                        rlim_text(c->max, max, sizeof(max));
                        return refuse(err, d, "rlimit %s hard limit %s above the allowed %s (rlimits = %s)", c->name, want,
                                      max, join(l, buf, sizeof(buf)));
                }
        return 0;
}

int policy_check_task(const PolicyDriver *d, const SandboxSpec *s, const PolicyTaskMeta *meta, SbxError *err) {
        int r;
        /* Who may use the policy first: a job that may not use it learns nothing else. */
        if ((r = check_meta(d, meta, err)) < 0 || (r = check_user(d, s, err)) < 0 ||
            (r = check_promises(d, s, err)) < 0 || (r = check_unveil(d, s, err)) < 0 || (r = check_net(d, s, err)) < 0 ||
            (r = check_limits(d, s, err)) < 0)
                return r;
        if (!s->landlock && !d->landlock_best_effort)
                return refuse(err, d, "a task without Landlock is not allowed (landlock = required)");
        return 0;
}

int policy_check_limits(const PolicyDriver *d, const char *const *unenforced, size_t n, SbxError *err) {
        char buf[256];
        if (n == 0 || d->allow_unenforced_limits)
                return 0;
        char **l = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                l[i] = (char *) unenforced[i];
        join(l, buf, sizeof(buf));
        free(l);
        return refuse(err, d, "%s cannot be enforced on this host (allow_unenforced_limits = no)", buf);
}

static int normalise_for_check(const char *path, char **ret, SbxError *err) {
        int r = policy_path_normalise(path, ret);
        if (r == -EINVAL)
                return sbx_error(err, EINVAL, "'%.200s': must be an absolute path", path);
        if (r < 0)
                return path_error(err, r, path);
        return 0;
}

int policy_check_path_beneath(const Policy *p, const char *path, SbxError *err) {
        _cleanup_free_ char *norm = NULL;
        char buf[256];
        int r = normalise_for_check(path, &norm, err);
        if (r < 0)
                return r;
        for (char **d = p->data_dirs; d && *d; d++)
                if (policy_path_beneath(norm, *d))
                        return 0;
        return sbx_error(err, EPERM, "'%.200s': not beneath the Nomad data directory (nomad_data_dir = %s)", path,
                         join(p->data_dirs, buf, sizeof(buf)));
}

static bool nomad_component_valid(const char *s) {
        return s && s[0] && !streq(s, ".") && !streq(s, "..") && !strchr(s, '/') && strlen(s) <= 200;
}

int policy_check_nomad_dir(const Policy *p, PolicyNomadDir which, const char *path, const char *alloc_id,
                           const char *task_name, SbxError *err) {
        static const char *const names[] = { "the task directory", "the secrets directory", "the shared alloc directory" };
        _cleanup_free_ char *norm = NULL;
        char want[PATH_MAX], buf[256];
        int r = normalise_for_check(path, &norm, err);
        if (r < 0)
                return r;
        if (!nomad_component_valid(alloc_id) || (which != POLICY_NOMAD_ALLOC_DIR && !nomad_component_valid(task_name)))
                return sbx_error(err, EPERM,
                                 "'%.200s': Nomad's directories need the request's alloc_id and task_name (one path "
                                 "component each)",
                                 path);
        for (char **d = p->data_dirs; d && *d; d++) {
                const char *base = streq(*d, "/") ? "" : *d;
                int n = which == POLICY_NOMAD_ALLOC_DIR ? snprintf(want, sizeof(want), "%s/alloc/%s/alloc", base, alloc_id)
                        : which == POLICY_NOMAD_TASK_DIR
                                ? snprintf(want, sizeof(want), "%s/alloc/%s/%s", base, alloc_id, task_name)
                                : snprintf(want, sizeof(want), "%s/alloc/%s/%s/secrets", base, alloc_id, task_name);
                if (n > 0 && (size_t) n < sizeof(want) && streq(norm, want))
                        return 0;
        }
        return sbx_error(err, EPERM, "'%.200s': not %s of allocation '%.80s'%s%.80s (DATA_DIR/alloc/%s/%s; nomad_data_dir = %s)",
                         path, names[which], alloc_id, which == POLICY_NOMAD_ALLOC_DIR ? "" : " task ",
                         which == POLICY_NOMAD_ALLOC_DIR ? "" : task_name, "ALLOC_ID",
                         which == POLICY_NOMAD_ALLOC_DIR ? "alloc" : which == POLICY_NOMAD_TASK_DIR ? "TASK" : "TASK/secrets",
                         join(p->data_dirs, buf, sizeof(buf)));
}

/* A pattern of log_dirs for one allocation: its first '*' (the alloc id in the default
 * DATA_DIR/alloc/[*]/alloc/logs) replaced by alloc_id; a pattern without '*' as it is. */
static char *log_pattern_for(const char *pattern, const char *alloc_id) {
        const char *star = strchr(pattern, '*');
        if (!star || !alloc_id)
                return xstrdup(pattern);
        return xasprintf("%.*s%s%s", (int) (star - pattern), pattern, alloc_id, star + 1);
}

static bool alloc_id_plain(const char *s) {
        if (!s[0] || streq(s, ".") || streq(s, "..") || strlen(s) > 200)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && *s != '-' && *s != '_' && *s != '.')
                        return false;
        return true;
}

int policy_check_log_path(const Policy *p, const char *path, const char *alloc_id, SbxError *err) {
        _cleanup_free_ char *norm = NULL;
        char buf[256];
        int r = normalise_for_check(path, &norm, err);
        if (r < 0)
                return r;
        /* Nomad's FIFO path when the task has logs { disabled = true }. */
        if (streq(norm, "/dev/null"))
                return 0;
        if (alloc_id && !alloc_id[0])
                alloc_id = NULL;
        if (alloc_id && !alloc_id_plain(alloc_id))
                return sbx_error(err, EINVAL, "'%.200s': the request's alloc_id '%.80s' is not a plain name", path, alloc_id);
        char *slash = strrchr(norm, '/');
        if (slash[1]) {
                *slash = 0;
                const char *dir = slash == norm ? "/" : norm;
                /* FNM_PATHNAME: a '*' stands for one path component, never several. */
                for (char **g = p->log_dirs; g && *g; g++) {
                        _cleanup_free_ char *pat = log_pattern_for(*g, alloc_id);
                        if (fnmatch(pat, dir, FNM_PATHNAME) == 0)
                                return 0;
                }
        }
        if (alloc_id)
                return sbx_error(err, EPERM, "'%.200s': not in allocation '%.80s''s log directory (log_dirs = %s)", path,
                                 alloc_id, join(p->log_dirs, buf, sizeof(buf)));
        return sbx_error(err, EPERM, "'%.200s': not in a Nomad log directory (log_dirs = %s)", path,
                         join(p->log_dirs, buf, sizeof(buf)));
}

int policy_check_cgroup_path(const Policy *p, const char *path, SbxError *err) {
        const char *rel = path;
        if (path[0] == '/') {
                rel = startswith(path, "/sys/fs/cgroup/");
                if (!rel)
                        return sbx_error(err, EPERM, "'%.200s': not under /sys/fs/cgroup", path);
        }
        if (!cgroup_path_valid(rel, false))
                return sbx_error(err, EINVAL, "'%.200s': not a cgroup path (empty, '.' or '..' component, or a control "
                                              "character)", path);
        size_t n = strlen(p->nomad_cgroup_parent);
        if (strncmp(rel, p->nomad_cgroup_parent, n) == 0 && rel[n] == '/')
                return 0;
        return sbx_error(err, EPERM, "'%.200s': not beneath Nomad's cgroup (nomad_cgroup_parent = %s)", path,
                         p->nomad_cgroup_parent);
}

/* ---------------------------------------------------------------------------------------- */
/* Formatting                                                                                 */

/* A list key on as many lines as it takes to keep each under POLICY_MAX_LINE. */
static void put_list(FILE *f, const char *key, char *const *l) {
        size_t col = fprintf(f, "%s =", key);
        for (char *const *i = l; i && *i; i++) {
                size_t n = strlen(*i);
                if (col > strlen(key) + 2 && col + 1 + n > POLICY_MAX_LINE - 16)
                        col = fprintf(f, "\n%s =", key) - 1;
                col += fprintf(f, " %s", *i);
        }
        fputc('\n', f);
}

char *policy_format(const Policy *p) {
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);
        if (!f)
                oom();

        fprintf(f, "[daemon]\n");
        put_list(f, "allowed_uids", p->peer_uids.text);
        put_list(f, "allowed_gids", p->peer_gids.text);
        put_list(f, "nomad_data_dir", p->data_dirs);
        if (p->seen[KEY_LOG_DIRS])
                put_list(f, "log_dirs", p->log_dirs);
        fprintf(f, "nomad_cgroup_parent = %s\n", p->nomad_cgroup_parent);
        if (p->socket_path)
                fprintf(f, "socket = %s\n", p->socket_path);
        if (p->state_dir)
                fprintf(f, "state_dir = %s\n", p->state_dir);
        fprintf(f, "cgroup_backend = %s\n", cgroup_backend_to_string(p->cgroup_backend));
        if (p->cgroup_parent)
                fprintf(f, "cgroup_parent = %s\n", p->cgroup_parent);
        fprintf(f, "max_tasks = %zu\n", p->max_tasks);
        if (p->admin_policy)
                fprintf(f, "admin_policy = %s\n", p->admin_policy);
        fprintf(f, "log_reader_timeout = %u\n", p->log_reader_timeout_ms / 1000);
        fprintf(f, "max_connections_per_uid = %zu\n", p->max_connections_per_uid);
        if (p->socket_mode)
                fprintf(f, "socket_mode = %04o\n", p->socket_mode);
        if (p->socket_group)
                fprintf(f, "socket_group = %s\n", p->socket_group);

        for (size_t i = 0; i < p->n_drivers; i++) {
                const PolicyDriver *d = p->drivers[i];
                char buf[64];
                fprintf(f, "\n[driver %s]\n", d->name);
                /* Absent and empty differ here: absent = every peer [daemon] allows. */
                if (d->seen[KEY_ALLOWED_UIDS])
                        put_list(f, "allowed_uids", d->peer_uids.text);
                if (d->seen[KEY_ALLOWED_GIDS])
                        put_list(f, "allowed_gids", d->peer_gids.text);
                put_list(f, "users", d->users.text);
                if (d->dynamic)
                        fprintf(f, "dynamic_users = %" PRIu32 "-%" PRIu32 "\n", d->dynamic_lo, d->dynamic_hi);
                else
                        fprintf(f, "dynamic_users = none\n");
                fprintf(f, "default_user = %s\n", d->default_user);
                fprintf(f, "allow_root = %s\n", yes_no(d->allow_root));
                _cleanup_free_ char *pr = promises_text(d->promises);
                fprintf(f, "promises =%s%s\n", pr[0] ? " " : "", pr);
                fprintf(f, "require_promises = %s\n", yes_no(d->require_promises));
                _cleanup_free_ char *dp = promises_format(d->default_promises);
                fprintf(f, "default_promises = %s\n", d->has_default_promises ? dp : "none");
                put_list(f, "unveil", d->unveil_text);
                fprintf(f, "unveil_defaults = %s\n", yes_no(d->unveil_defaults));
                fprintf(f, "host_view = %s\n", yes_no(d->host_view));
                networks_text(d->networks, buf, sizeof(buf));
                fprintf(f, "networks =%s%s\n", d->networks ? " " : "", d->networks ? buf : "");
                put_list(f, "netns_dirs", d->netns_dirs);
                put_list(f, "namespaces", d->namespaces);
                put_list(f, "jobs", d->jobs);
                fprintf(f, "allow_unenforced_limits = %s\n", yes_no(d->allow_unenforced_limits));
                fprintf(f, "landlock = %s\n", d->landlock_best_effort ? "best-effort" : "required");
                fprintf(f, "baseline_filter = %s\n", yes_no(d->baseline_filter));
                fprintf(f, "explain_denials = %s\n", yes_no(d->explain_denials));
                fprintf(f, "min_oom_score_adj = %d\n", d->min_oom_score_adj);
                fprintf(f, "max_importance = %s\n", importance_to_string(d->max_importance));
                _cleanup_strv_free_ char **rl = rlimits_strv(d);
                put_list(f, "rlimits", rl);
                fprintf(f, "max_tasks = %zu\n", d->max_tasks);
                fprintf(f, "default_processes = %" PRIu64 "\n", d->default_processes);
                fprintf(f, "max_processes = %" PRIu64 "\n", d->max_processes);
        }
        if (fclose(f) != 0)
                oom();
        return out;
}
