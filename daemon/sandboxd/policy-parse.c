/* SPDX-License-Identifier: MIT */
/* daemon/sandboxd/policy-parse.c: sandboxd.conf and its parser (the checks against it: policy.c).
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
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>

#include "macro.h"
#include "path-util.h"
#include "policy-internal.h"
#include "promises.h"
#include "util.h"

#define MAX_USER_NAME 32   /* useradd's limit */
#define MAX_GLOB 256
#define SUN_PATH_MAX 107   /* sizeof(sockaddr_un.sun_path) - 1 */

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

static bool endswith_slice(const char *s) {
        size_t n = strlen(s);
        return n > 6 && streq(s + n - 6, ".slice");
}

static bool has_glob(const char *s) {
        return strpbrk(s, "*?[") != NULL;
}

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
