/* SPDX-License-Identifier: MIT */
/* daemon/sandboxd/policy.c: the checks of peers and tasks against the operator's policy, what the daemon
 * reads of it, and the policy in force as text (sandboxd.conf and its parser: policy-parse.c). */
#include <ctype.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>

#include "macro.h"
#include "policy-internal.h"
#include "promises.h"
#include "util.h"

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

static const char *yes_no(bool b) {
        return b ? "yes" : "no";
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
int path_error(SbxError *err, int r, const char *what) {
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

/* A cgroup path relative to the cgroup2 root: no empty, "." or ".." component, at most 255
 * characters. strict (values in our own file): letters, digits and "_.@:-" only; otherwise (paths
 * Nomad sends, whose scope names carry task names) any printable character. */
bool cgroup_path_valid(const char *s, bool strict) {
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
