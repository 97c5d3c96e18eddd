/* SPDX-License-Identifier: MIT */
/* daemon/sandboxd/policy-internal.h: the policy as policy-parse.c builds it from sandboxd.conf and
 * policy.c checks against it. Only those two include it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include "error.h"
#include "policy.h"
#include "promises.h"

#define ALL_PROMISES ((UINT64_C(1) << _PROMISE_MAX) - 1)

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

/* policy.c: the checks against the policy, its accessors and its text */
int path_error(SbxError *err, int r, const char *what);
bool cgroup_path_valid(const char *s, bool strict);
