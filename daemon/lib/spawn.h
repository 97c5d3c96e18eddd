/* SPDX-License-Identifier: MIT */
/* daemon/lib/spawn.h: prepare (in the parent) and spawn a sandboxed process.
 *
 *   caller ──clone3(NEWPID|NEWNS|NEWIPC|NEWUTS[|NEWNET], PIDFD)──▶ init (PID 1 in the sandbox)
 *                                                                    └─fork─▶ task (PID 2) ─execve─▶ program
 *
 * The init mounts the sandbox's /proc, joins/sets up the network, forks the task, forwards
 * signals to it, reaps orphans, answers the task's supervisor filter (daemon/lib/supervisor.c:
 * exec-once, listen(2) under TCP port rules, the preload helper's narrowing confirmation, which
 * it verifies from outside) and reports over a SOCK_SEQPACKET control socket: RUNNING,
 * SETUP_FAILED {step, errno}, EXITED {wait status}. The init itself carries no seccomp filter:
 * the kernel shows a process's filters (PTRACE_SECCOMP_GET_FILTER) only to an unfiltered one. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "exit-code.h"
#include "landlock.h"
#include "seccomp-program.h"
#include "spec.h"

typedef enum SpawnStep {
        STEP_CLONE,
        STEP_NETNS,
        STEP_MOUNT,
        STEP_PROC,
        STEP_LOOPBACK,
        STEP_TMP,
        STEP_BIND,
        STEP_RESOLV_CONF,
        STEP_HOSTNAME,
        STEP_JOIN,
        STEP_EXEC_ONCE,
        STEP_SIGNALS,
        STEP_FORK,
        STEP_SETSID,
        STEP_RLIMIT,
        STEP_NICE,
        STEP_OOM_SCORE_ADJ,
        STEP_CAPABILITIES,
        STEP_GROUPS,
        STEP_SETGID,
        STEP_SETUID,
        STEP_STDIO,
        STEP_FDS,
        STEP_CHDIR,
        STEP_NO_NEW_PRIVS,
        STEP_LANDLOCK,
        STEP_SECCOMP,
        STEP_EXEC,
        STEP_NARROW, /* after the launch: the dynamic program's filter was not narrowed (killed) */
        /* Appended, not sorted in: exit records name steps by number. */
        STEP_DEV,
        STEP_RUN,
        STEP_KEEP,
        STEP_HIDE,
        STEP_TTY,
        _STEP_MAX,
        _STEP_INVALID = -EINVAL,
} SpawnStep;

const char *spawn_step_to_string(SpawnStep s);

/* What the init does with the calls the task's listener filter sends it beyond exec-once,
 * listen and the confirmation (SECCOMP_COMPILE_NOTIFY, docs/learn.md). */
enum {
        WATCH_EXPLAIN = 1, /* EPERM, and a note saying which promise would have allowed it */
        WATCH_LEARN,       /* record it (a note), and let it run if any promise would allow it */
};

#define SANDBOX_MAX_BINDS 8

/* A directory Nomad gave the task that a tmpfs of the task's view would hide (the dev agent's
 * alloc dirs under /tmp): bound back at the same path. */
typedef struct ViewBind {
        char *path;
        int tree_fd; /* detached recursive clone, made in the caller's namespace */
} ViewBind;

/* Everything compiled in the parent so the child only has to apply it. Filled in two steps:
 * sandbox_plan() (every rule the task will get, resolved: what the policy checks) and then
 * sandbox_prepare() (the Landlock ruleset from those rules, seccomp programs, the view). */
typedef struct SandboxPrepared {
        bool planned;
        UnveilList unveil;       /* the spec's rules, the sandbox's own (private /tmp, volume mount
                                  * points) and what launching the program needs, in that order */
        size_t n_task_rules;     /* rules [0, n_task_rules) are the task's, pinned for exec sessions;
                                  * the launch rules of this command follow */
        int landlock_fd;         /* -1: no Landlock */
        LandlockInfo landlock_info;
        bool dynamic;            /* the program needs the dynamic loader */
        bool preload;            /* the preload helper runs in the task (promises, dynamic program) */
        bool notify;             /* the promise filter sends what it refuses to the init (explain, learn) */
        bool narrow;             /* the preload helper narrows the launch filter (preload, not notify) */
        bool filter;             /* the task loads `launch` right before execve */
        SeccompProgram launch;   /* the promise filter (plus the launch window of a dynamic program),
                                  * or without promises the baseline filter */
        unsigned supervise;      /* SUPERVISE_*: the task loads `supervisor` (before `launch`) and
                                  * hands its listener to the init */
        SeccompProgram supervisor;
        unsigned watch;          /* WATCH_*: `supervisor` is the task's promise filter itself
                                  * (SECCOMP_COMPILE_NOTIFY), the only one it loads */
        bool exec_stack;         /* the program asks for an executable stack (learn: prot_exec) */
        SeccompProgram narrow_prog; /* what the preload stacks; the init verifies it on every thread */
        int narrow_fd;           /* memfd with the exact-promises filter for the preload, or -1 */
        int preload_fd;          /* the preload helper, opened here: LD_PRELOAD=/proc/self/fd/N works
                                  * whatever the task's mount namespace shows at its path */
        bool resolv_mount;       /* /etc/resolv.conf is a file mount in the view (resolv_tree_fd) */
        int resolv_src_fd;       /* what it shows when the caller gave none: the host's file that
                                  * /etc/resolv.conf leads to inside /run (O_PATH), or -1 */
        int resolv_tree_fd;      /* detached mount of the task's resolv.conf, or -1 */
        bool var_run_dir;        /* the host's /var/run is a directory, not a link to /run */
        ViewBind *binds;         /* kept visible under the view's tmpfs mounts, parents first */
        size_t n_binds;
        char **envp;             /* the task's final environment */
} SandboxPrepared;
#define SANDBOX_PREPARED_INIT                                                                      \
        ((SandboxPrepared) { .landlock_fd = -1, .narrow_fd = -1, .preload_fd = -1, .resolv_src_fd = -1,       \
                             .resolv_tree_fd = -1 })

/* Where the preload helper lives: $SANDBOX_PRELOAD (tests, development), the one next to this
 * program when it runs from its build tree and only root can replace that file, or the installed
 * path (daemon/lib/preload-path.c). */
const char *sandbox_preload_path(void);
/* Why a build tree's helper next to this program is not used, or "". */
const char *sandbox_preload_note(void);

/* How long a dynamically linked program with promises may run after its launch execve before
 * the init has verified that its filter is narrowed to the promises; then the sandbox is
 * killed ("narrow: ..."). SandboxSpec.narrow_timeout_ms overrides it (sandboxctl run
 * --narrow-timeout). Generous: ld.so maps a large program's libraries in well under a second
 * even on a slow VM. */
#define SANDBOX_NARROW_TIMEOUT_MS 10000

/* What the task's own code can do before the preload helper has narrowed its filter, for the
 * policy to check: a dynamically linked program with promises runs its loader, its libraries'
 * IFUNC resolvers and constructors under promises + rpath + prot_exec (docs/promises.md, "The
 * launch window"); any other program under its promises from the first instruction. Inspects
 * the program (and its "#!" interpreters); *ret_dynamic (may be NULL) says which case it is. */
int sandbox_launch_promises(const SandboxSpec *s, uint64_t *ret, bool *ret_dynamic, SbxError *err);

/* Every unveil rule the task will get, complete and resolved (host rules opened once, deferred
 * rules marked), in ret->unveil: the caller checks them against its policy
 * (policy_check_rules) before sandbox_prepare() builds anything from them. */
int sandbox_plan(const SandboxSpec *s, SandboxPrepared *ret, SbxError *err);
/* Builds the Landlock ruleset from the planned rules, the seccomp programs, the task's view and
 * environment. */
int sandbox_prepare(const SandboxSpec *s, SandboxPrepared *p, SbxError *err);
void sandbox_prepared_done(SandboxPrepared *p);

/* The files the init writes into the caller's status directory (SpawnOptions.status_dir_fd),
 * each as NAME.tmp and then renamed: its final report, and the deferred rules' pins. */
#define SANDBOX_STATUS_EXIT "exit"
#define SANDBOX_STATUS_PINS "pins"
#define SANDBOX_STATUS_TMP ".tmp"

/* The init's report of what each deferred rule resolved to in the task (pins of an exec session
 * are checked against these): "pins" in the status directory, a line "INDEX DEV INO" or
 * "INDEX absent" per deferred rule. Fills the rules of l (indices < n) it names; -ENOENT if the
 * file does not exist. */
int sandbox_read_pins(int dir_fd, UnveilRule *rules, size_t n);

enum {
        /* Kill the sandbox when the spawning process goes away (sandboxctl run). Without it
         * the sandbox outlives its spawner (sandboxd restarts must not touch tasks). */
        SPAWN_DIE_WITH_PARENT = 1 << 0,
        /* The init waits for sandbox_process_go() before it forks the task, so the caller can
         * move it into a cgroup first (cgroup v1, systemd scopes). */
        SPAWN_HOLD = 1 << 1,
};

typedef struct SpawnOptions {
        unsigned flags;
        int cgroup_fd;      /* >= 0: clone3 CLONE_INTO_CGROUP into this cgroup v2 directory */
        int status_dir_fd;  /* >= 0: the init writes its final report to "exit" in this directory
                             * (atomically) before it exits, so a restarted caller can read it */
        int join_pidfd;     /* >= 0: an exec session: instead of new namespaces, join those of this
                             * (running) sandbox init; no mounts or network setup, the command dies
                             * with its supervisor */
} SpawnOptions;

#define SPAWN_OPTIONS_INIT { .flags = 0, .cgroup_fd = -1, .status_dir_fd = -1, .join_pidfd = -1 }

typedef struct SandboxProcess {
        pid_t pid;   /* the init, as seen by the caller */
        int pidfd;   /* of the init */
        int ctl_fd;  /* control socket to the init */
} SandboxProcess;

int sandbox_spawn(const SandboxSpec *s, const SandboxPrepared *p, const SpawnOptions *o, SandboxProcess *ret,
                  SbxError *err);
void sandbox_process_done(SandboxProcess *p);
/* Releases an init spawned with SPAWN_HOLD. */
int sandbox_process_go(SandboxProcess *p);
/* Ends an exec session (a process spawned with join_pidfd and SPAWN_DIE_WITH_PARENT): its
 * supervisor kills the command's whole process group with SIGKILL and then reports the
 * command's end as usual (EXITED, killed by signal 9); still held, it exits at once. */
int sandbox_process_kill(SandboxProcess *p);

typedef enum InitMsgType {
        INIT_MSG_RUNNING = 1,
        INIT_MSG_SETUP_FAILED,
        INIT_MSG_EXITED,
        INIT_MSG_NOTE, /* sandbox_process_read got an InitNote (a denial explained, or a call learned) */
} InitMsgType;

typedef struct InitMsg {
        uint32_t type;
        int32_t step;    /* SETUP_FAILED */
        int32_t err_no;  /* SETUP_FAILED */
        int32_t index;   /* SETUP_FAILED at STEP_LANDLOCK/STEP_RLIMIT: which rule */
        int32_t status;  /* EXITED: wait status of the task */
        int32_t oom_kills; /* EXITED: the sandbox's cgroup counted OOM kills (read by the init,
                            * which is in the cgroup, before it leaves it) */
} InitMsg;

/* What the init tells its caller about one system call of the task (docs/learn.md):
 *   NOTE_DENIED   the task's promises refused it (EPERM); once per distinct cause, rate-limited
 *   NOTE_LEARNED  while learning: a call the candidate promises do not allow, with the path it
 *                 names (resolved, as the task sees it) and the TCP port it binds or connects to */
enum { NOTE_DENIED = 1, NOTE_LEARNED };
enum {
        NOTE_WINDOW = 1 << 0,  /* made in the launch window of a dynamic program (ld.so, ...) */
        NOTE_EXISTED = 1 << 1, /* the path named an existing file or directory before the call */
        NOTE_DIR = 1 << 2,     /* ... a directory */
        NOTE_BIND = 1 << 3,    /* port: a TCP bind */
        NOTE_CONNECT = 1 << 4, /* port: a TCP connect */
        NOTE_FUTILE = 1 << 5,  /* the call fails whatever the promises: a terminal ioctl on no
                                * terminal (isatty() in every stdio library), a connect to a unix
                                * socket that does not exist (glibc's probe for nscd) */
        NOTE_UNIX = 1 << 6,    /* bind/connect with a unix socket address */
};
#define NOTE_PATH_MAX 4096

typedef struct InitNote {
        uint32_t type;      /* INIT_MSG_NOTE */
        uint32_t kind;      /* NOTE_DENIED, NOTE_LEARNED */
        uint32_t flags;     /* NOTE_* */
        int32_t pid;        /* the caller, as the sandbox's init sees it */
        int32_t nr;         /* x86_64 system call number */
        uint32_t letters;   /* LEARNED: UNVEIL_* the call needs on path */
        uint32_t port;      /* LEARNED: with NOTE_BIND / NOTE_CONNECT */
        uint32_t dropped;   /* DENIED: denials not reported since the last note (rate, bound) */
        uint64_t args[6];
        uint64_t sources;   /* seccomp_sources_allowing(): which promise would allow it */
        char comm[16];
        char path[NOTE_PATH_MAX];
} InitNote;

typedef struct SandboxResult {
        enum { RESULT_EXITED, RESULT_SIGNALED, RESULT_SETUP_FAILED } kind;
        int code;        /* exit code, signal number, or the errno of the failed step */
        SpawnStep step;
        int index;
} SandboxResult;

/* The init's final report as written to status_dir_fd/"exit": "exited <wait status>" or
 * "failed <step> <errno> <index>". Returns 0 and fills *ret, -ENOENT if there is none. */
int sandbox_read_exit_record(int dir_fd, InitMsg *ret);
int sandbox_parse_exit_record(const char *text, InitMsg *ret);

/* Reads one message; returns 1 and fills *ret on a message, 0 on EOF, -errno on error. A note
 * (ret->type INIT_MSG_NOTE) is copied to *ret_note if that is not NULL, else dropped. */
int sandbox_process_read(SandboxProcess *p, InitMsg *ret, InitNote *ret_note);
/* Turns a message (or, at EOF without EXITED, the init's own wait status) into a result. */
void sandbox_result_from_msg(const InitMsg *m, SandboxResult *ret);
void sandbox_result_from_init_status(int wstatus, SandboxResult *ret);
/* Shell-style exit code: code, 128+signal, EXIT_SETUP, EXIT_CANNOT_EXEC, EXIT_NOT_FOUND (exit-code.h). */
int sandbox_result_exit_code(const SandboxResult *r);
/* "landlock: /path: No such file or directory", "exec: /bin/foo: Permission denied", "narrow: the
 * program did not confirm ... (the sandbox was killed)", ... s and p may be NULL. */
void sandbox_result_describe(const SandboxResult *r, const SandboxSpec *s, const SandboxPrepared *p, char *buf,
                             size_t size);
