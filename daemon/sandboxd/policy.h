/* SPDX-License-Identifier: MIT */
/* daemon/sandboxd/policy.h: the operator's policy (sandboxd.conf): which peers may talk to sandboxd, and
 * per Nomad driver name what a task may ask for. The file format and every key are documented in
 * docs/sandboxd.conf.md and sandboxd.conf(5).
 *
 * The job author describes the task; the operator holds the ceiling. sandboxd builds a
 * SandboxSpec from the request and then asks policy_check_task() whether the spec stays beneath
 * the ceiling of the driver the connection named. Every refusal names the rule, e.g.
 *   policy 'sandbox': promise 'exec' not allowed (promises = stdio rpath inet dns)
 *
 * Parsing is pure (policy_parse takes a buffer, never looks anything up) so it can be fuzzed;
 * policy_load reads the file, checks who owns it, parses it and resolves user and group names.
 * A Policy is immutable once built: on reload the daemon builds a new one and swaps it only if
 * that succeeded, so a bad file never replaces the configuration in force. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "error.h"
#include "spec.h"

/* Hard limits: the file is root's, but a runaway generator should get an error, not a daemon
 * that allocates without bound. */
#define POLICY_MAX_FILE_SIZE (1024 * 1024)
#define POLICY_MAX_LINE 8192          /* characters per line, without the newline */
#define POLICY_MAX_DRIVERS 64
#define POLICY_MAX_LIST 512           /* entries in one list key, all its lines together */
#define POLICY_MAX_NAME 64            /* driver names */
#define POLICY_MAX_TASKS_LIMIT 1000000
#define POLICY_LOG_READER_TIMEOUT_DEFAULT_MS 30000
#define POLICY_MAX_CONNECTIONS_PER_UID 64 /* default of max_connections_per_uid */
#define POLICY_MAX_CONNECTIONS_LIMIT 4096
#define POLICY_DEFAULT_PROCESSES 4096     /* default of default_processes */
#define POLICY_MAX_PROCESSES 32768        /* default of max_processes */
#define POLICY_PROCESSES_LIMIT 4194304    /* the kernel's pid_max ceiling */

typedef struct Policy Policy;
typedef struct PolicyDriver PolicyDriver;


/* What sandboxd knows about the task besides the spec. NULL strings count as "". A request
 * without Nomad metadata (sandboxctl) has namespace "" and job "", which only `*` matches. */
typedef struct PolicyTaskMeta {
        const char *driver;          /* the connection's driver name, for messages ("" = admin) */
        const char *nomad_namespace;
        const char *job_id;
} PolicyTaskMeta;

/* Parses a configuration held in memory. filename is only used in messages, which have the form
 * "FILE:LINE: KEY: reason" (or "FILE:LINE: reason" for what is not a key). On success *ret is a
 * new Policy; on failure *ret is untouched and err says what and where. Names of users and
 * groups are kept as written; see policy_resolve(). */
int policy_parse(const char *text, size_t len, const char *filename, Policy **ret, SbxError *err);

/* Turns the user and group names of a parsed policy into ids (getpwnam/getgrnam), so a typo is
 * an error at load time ("FILE:LINE: users: no such user 'nobdy'") rather than a task refused
 * later. A name that resolves to uid 0 needs allow_root = yes like "root" does. */
int policy_resolve(Policy *p, SbxError *err);

/* Reads path and refuses it unless it is a regular file owned by root, not writable by group or
 * others, in directories owned by root that are not writable by group or others (sticky
 * directories such as /tmp excepted), and at most POLICY_MAX_FILE_SIZE bytes; then
 * policy_parse() + policy_resolve(). */
int policy_load(const char *path, Policy **ret, SbxError *err);

/* Accepts NULL; returns NULL. */
Policy *policy_free(Policy *p);
static inline void policy_freep(Policy **p) {
        *p = policy_free(*p);
}

/* The effective configuration, defaults included, in the file format (policy_parse() of the text
 * gives the same policy). For `sandboxd --check-config` and the tests. Caller frees. */
char *policy_format(const Policy *p);

/* [daemon] settings. NULL for socket/state dir = not set, the daemon's built-in default applies. */
size_t policy_max_tasks(const Policy *p);
const char *policy_socket_path(const Policy *p);
const char *policy_state_dir(const Policy *p);
CgroupBackend policy_cgroup_backend(const Policy *p);
const char *policy_cgroup_parent(const Policy *p);     /* NULL = the backend's default */
/* How long a start waits for the reader of its log FIFOs (log_reader_timeout). */
unsigned policy_log_reader_timeout_ms(const Policy *p);
/* Connections each peer uid may hold, hello'd or not (root's own are counted separately). */
size_t policy_max_connections_per_uid(const Policy *p);
/* The socket's mode and group when sandboxd binds it itself (not socket-activated): 0 / NULL =
 * not set, the build's defaults apply (meson options socket_mode, socket_group). */
unsigned policy_socket_mode(const Policy *p);
const char *policy_socket_group(const Policy *p);
/* The driver policy that applies to connections that name no driver (root's sandboxctl):
 * admin_policy, or "sandbox" if that section exists, else NULL (admins cannot start tasks). */
const char *policy_admin_driver(const Policy *p);

/* The policy for a driver name; NULL or "" = the admin policy. NULL = no such policy. */
const PolicyDriver *policy_driver(const Policy *p, const char *driver_name);
size_t policy_n_drivers(const Policy *p);
const PolicyDriver *policy_driver_by_index(const Policy *p, size_t i);

/* [driver NAME] settings the daemon applies itself. */
const char *policy_driver_name(const PolicyDriver *d);
const char *policy_default_user(const PolicyDriver *d);
size_t policy_driver_max_tasks(const PolicyDriver *d);  /* 0 = only the daemon's max_tasks */
bool policy_allow_unenforced_limits(const PolicyDriver *d);
bool policy_landlock_best_effort(const PolicyDriver *d); /* false = Landlock required */
bool policy_unveil_defaults(const PolicyDriver *d);      /* false = the default set is refused */
bool policy_baseline_filter(const PolicyDriver *d);      /* tasks without promises get the baseline */
bool policy_host_view(const PolicyDriver *d);            /* true = tasks keep the host's /dev and /run */
/* The promises a task gets when its request names none (default_promises). false: none, the
 * task runs without promises (only the baseline filter, exec2's behaviour); *ret is untouched then. */
bool policy_default_promises(const PolicyDriver *d, uint64_t *ret);
bool policy_explain_denials(const PolicyDriver *d);      /* say which promise a refused call needed */

/* A connecting peer (SO_PEERCRED). uid 0 is always allowed; otherwise its uid must be in
 * allowed_uids or its gid in allowed_gids of [daemon]. Names in those lists match only once
 * policy_resolve() turned them into ids (policy_load does). */
int policy_check_peer(const Policy *p, uid_t uid, gid_t gid, SbxError *err);

/* Whether a peer may use this driver's policy (call after hello names the driver): allowed_uids
 * and allowed_gids in the [driver] section narrow [daemon]'s; absent, every allowed peer may. */
int policy_check_driver_peer(const PolicyDriver *d, uid_t uid, gid_t gid, SbxError *err);

/* Checks a fully built spec against the driver's policy: Nomad namespace and job, user (uid 0
 * and group 0 only with allow_root, named users, uid ranges, dynamic workload users), promises
 * (or none at all), unveil rules of origin USER (defaults and launch rules are the daemon's own;
 * the presence of DEFAULT rules is checked against unveil_defaults), network mode and namespace
 * path, importance, oom_score_adj, resource limits, Landlock. Returns -EPERM with a message
 * "policy 'NAME': ..." naming the rule. */
int policy_check_task(const PolicyDriver *d, const SandboxSpec *s, const PolicyTaskMeta *meta, SbxError *err);

/* The launch set of a dynamically linked program (sandbox_launch_promises: promises + rpath +
 * prot_exec until the preload helper narrows the filter) against the driver's promises: what
 * the program's loader and libraries can do before main() is within the policy too. */
int policy_check_launch_promises(const PolicyDriver *d, const char *program, uint64_t promises, uint64_t launch,
                                 SbxError *err);

/* One unveil rule against the driver's unveil ceiling (what policy_check_task does for each USER
 * rule). Useful to re-check the path a rule really resolves to (the check is lexical). */
int policy_check_unveil(const PolicyDriver *d, const char *path, unsigned perms, SbxError *err);

/* Every rule a task will get, as sandbox_plan() resolved them, by origin: a user rule must stay
 * within the ceiling where it really leads (a symlink's target; in a volume, the volume's source);
 * a launch rule (program, loader, script interpreter, library directories, preload helper) within
 * the ceiling or, with unveil_defaults = yes, the default set; a volume's source within the
 * ceiling; the default set only with unveil_defaults = yes. Nomad's directories (checked against
 * nomad_data_dir when added) and the task's own tmpfs objects pass. -EPERM naming the rule as
 * written, what it is for, and where it leads. */
int policy_check_rules(const PolicyDriver *d, const UnveilList *l, SbxError *err);

/* Processes and threads of a task (pids.max, TasksMax): 0 asked gets default_processes (which
 * may be 0: none); more than max_processes is refused naming the key. */
int policy_check_processes(const PolicyDriver *d, uint64_t *tasks_max, SbxError *err);

/* Limits the request asked for that the cgroup backend cannot enforce on this host (e.g.
 * "memory_max", "cpu_weight"): refused unless allow_unenforced_limits = yes. n = 0 passes. */
int policy_check_limits(const PolicyDriver *d, const char *const *unenforced, size_t n, SbxError *err);

/* A path Nomad sent (task dir, ...): absolute, no '..', lexically beneath one of nomad_data_dir.
 * Lexical only: open it without following symlinks (openat2 RESOLVE_NO_SYMLINKS). */
int policy_check_path_beneath(const Policy *p, const char *path, SbxError *err);

/* Nomad's directories for a start: the path must be exactly DATA_DIR/alloc/ALLOC_ID/alloc (the
 * shared alloc dir), .../ALLOC_ID/TASK (the task dir) or .../ALLOC_ID/TASK/secrets, for one of
 * nomad_data_dir and the request's own alloc_id and task_name: a peer cannot name another
 * allocation's directories, or the data dir itself, and have them given to its task. */
typedef enum PolicyNomadDir {
        POLICY_NOMAD_TASK_DIR,
        POLICY_NOMAD_SECRETS_DIR,
        POLICY_NOMAD_ALLOC_DIR,
} PolicyNomadDir;
int policy_check_nomad_dir(const Policy *p, PolicyNomadDir which, const char *path, const char *alloc_id,
                           const char *task_name, SbxError *err);

/* A stdout/stderr path Nomad sent: "/dev/null", or a file directly inside a directory matching
 * one of log_dirs (default: NOMAD_DATA_DIR/alloc/<alloc id>/alloc/logs for each data dir). Stricter
 * than policy_check_path_beneath: a root open for append anywhere under the data dir could
 * clobber Nomad's own state (client/state.db). Lexical, like it. */
/* alloc_id (the request's nomad.alloc_id; NULL or "" = none): the directory must match a pattern
 * whose first '*' is that allocation's id, so a peer cannot name another allocation's logs. */
int policy_check_log_path(const Policy *p, const char *path, const char *alloc_id, SbxError *err);

/* The cgroup Nomad created for the task (Resources.cgroup_path, "nomad.slice/share.slice/x.scope"
 * or the same under /sys/fs/cgroup): strictly beneath nomad_cgroup_parent, no '..'. A task placed
 * in, limited in and finally killed with someone else's cgroup would take that service down. */
int policy_check_cgroup_path(const Policy *p, const char *path, SbxError *err);

/* Lexical normalisation of an absolute path: collapses "//" and "/./", drops a trailing '/'.
 * -EINVAL: not absolute; -EXDEV: contains a ".." component; -ENAMETOOLONG: longer than PATH_MAX.
 * Exposed for the tests. */
int policy_path_normalise(const char *path, char **ret);
/* Component-aware: "/opt/nomad" covers "/opt/nomad" and "/opt/nomad/x", not "/opt/nomadx";
 * "/" covers everything. Both paths normalised. */
bool policy_path_beneath(const char *path, const char *prefix);
