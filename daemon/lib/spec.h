/* SPDX-License-Identifier: MIT */
/* daemon/lib/spec.h: one sandboxed process, fully described. sandboxctl fills it from its command
 * line, sandboxd from a request; validation lives here so both give the same errors. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "error.h"
#include "landlock.h"
#include "unveil.h"

typedef enum NetMode {
        NET_NONE,  /* a new network namespace with only loopback (up) */
        NET_HOST,  /* the host's network namespace */
        NET_JOIN,  /* join the namespace at netns_path (Nomad's group network) */
        _NET_MODE_MAX,
        _NET_MODE_INVALID = -EINVAL,
} NetMode;

typedef enum Importance {
        IMPORTANCE_LOWEST,
        IMPORTANCE_LOW,
        IMPORTANCE_NORMAL,
        IMPORTANCE_HIGH,
        IMPORTANCE_HIGHEST,
        _IMPORTANCE_MAX,
        _IMPORTANCE_INVALID = -EINVAL,
} Importance;

#define SPEC_MAX_RLIMITS 16
#define SPEC_MAX_ARGS 4096
#define SPEC_MAX_ENV 4096
#define SPEC_MAX_GROUPS 256

typedef struct SpecRlimit {
        int resource;
        struct rlimit limit;
} SpecRlimit;

#define SPEC_MAX_MOUNTS 64

/* A bind mount in the task's own mount namespace (Nomad volume_mount blocks, host volumes).
 * The source is opened by the caller without following symlinks (spec_add_mount) and mounted
 * through that fd, so nothing can swap it between the check and the mount. */
typedef struct SpecMount {
        char *source;
        char *target;
        bool readonly;
        int source_fd; /* a detached mount tree (open_tree), owned by the spec */
} SpecMount;

typedef struct SandboxSpec {
        char **argv;      /* argv[0] is the command as given */
        char *exec_path;  /* resolved absolute path of the program (spec_resolve_command) */
        char **env;       /* the task's environment, complete */
        char *cwd;        /* absolute; NULL = "/" */
        char *hostname;   /* NULL = keep the host's name in the new UTS namespace */

        bool has_promises; /* false: only the baseline filter (exec2 behaviour) */
        uint64_t promises;
        bool baseline;     /* the baseline filter for a task without promises (default on; the
                            * operator's choice: policy baseline_filter, sandboxctl run
                            * --no-baseline-filter). With promises it is part of their filter. */
        unsigned narrow_timeout_ms; /* 0 = SANDBOX_NARROW_TIMEOUT_MS */
        bool explain;      /* a call the promises refuse is explained (which promise would allow
                            * it) to the caller as a note; default on (docs/learn.md) */
        bool learn;        /* sandboxctl learn: calls the promises refuse are recorded and run if
                            * any promise allows them */

        bool landlock;     /* false: no Landlock at all (operator choice) */
        UnveilList unveil; /* user rules + defaults + Nomad's dirs; sandbox_plan adds the rest */
        bool unveil_pinned; /* an exec session: unveil holds the task's rules as resolved at its
                             * start (pinned); sandbox_plan only adds the command's launch rules */
        PortList bind_tcp, connect_tcp;

        char *user;        /* as given, for messages */
        uid_t uid;
        gid_t gid;
        gid_t *groups;
        size_t n_groups;
        char *home;

        NetMode net;
        char *netns_path;

        bool has_importance;
        Importance importance;
        bool has_oom_score_adj;
        int oom_score_adj;
        SpecRlimit rlimits[SPEC_MAX_RLIMITS];
        size_t n_rlimits;

        int stdin_fd, stdout_fd, stderr_fd; /* owned by the caller; -1 = /dev/null */

        bool private_tmp;    /* a fresh tmpfs on /tmp, unveiled rwc, TMPDIR=/tmp */
        bool host_view;      /* keep the host's /dev and /run (and an unmasked /proc): the task view
                              * hides them by default (docs/task-view.md) */
        char **hide_paths;   /* more host paths the task must not reach (sandboxd's socket) */
        bool tty;            /* stdin is a terminal to become the controlling one (exec -t) */
        SpecMount *mounts;
        size_t n_mounts;
        int resolv_conf_fd;  /* owned by the caller; -1 = the host's /etc/resolv.conf */
} SandboxSpec;

/* The largest resolv.conf a task gets (bytes): sandboxctl and sandboxd read at most this, and a
 * start request's resolv_conf may hold no more. */
#define SPEC_RESOLV_CONF_MAX 8192

void sandbox_spec_init(SandboxSpec *s);
void sandbox_spec_done(SandboxSpec *s);

const char *net_mode_to_string(NetMode m);
const char *importance_to_string(Importance i);
Importance importance_from_string(const char *s);
int importance_to_nice(Importance i);

/* "none", "host", or an absolute path to a network namespace file. */
int spec_set_net(SandboxSpec *s, const char *value, SbxError *err);
/* A user name, a numeric uid, or Nomad's dynamic workload user "nomad-<N>" (uid = gid = N).
 * Looks up groups and home for named users. */
int spec_set_user(SandboxSpec *s, const char *value, SbxError *err);
/* "NOFILE=64", "NOFILE=64:128", "AS=unlimited". */
int spec_add_rlimit(SandboxSpec *s, const char *value, SbxError *err);
/* Bind mount SOURCE at TARGET (both absolute, no '..'; TARGET must exist) in the task's mount
 * namespace, read-only unless readonly is false; the target is unveiled r (rwc if writable). */
int spec_add_mount(SandboxSpec *s, const char *source, const char *target, bool readonly, SbxError *err);
/* A detached, nosuid, nodev (and read-only) copy of the mount at fd, for move_mount(2) in the
 * sandbox's mount namespace. Returns the tree fd or -errno. */
int spec_mount_tree(int fd, bool readonly);
/* "SOURCE:TARGET[:ro|rw]" (default ro). */
int spec_add_mount_entry(SandboxSpec *s, const char *entry, SbxError *err);
/* -1000..1000 */
int spec_set_oom_score_adj(SandboxSpec *s, const char *value, SbxError *err);
/* Refuses LD_* (dynamic loader injection) and malformed entries; replaces an existing key. */
int spec_env_set(SandboxSpec *s, const char *entry, SbxError *err);
/* Resolves argv[0] like execvp() with the task's PATH (relative paths against cwd); the error
 * code is ENOENT/EACCES so the caller can exit 127/126. */
int spec_resolve_command(SandboxSpec *s, SbxError *err);
