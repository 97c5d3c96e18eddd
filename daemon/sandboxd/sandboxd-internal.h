/* SPDX-License-Identifier: MIT */
/* daemon/sandboxd/sandboxd-internal.h: what sandboxd's files share (sandboxd-main.c lists them): the
 * daemon, its connections and its tasks, and the functions one file calls in another. Nothing
 * else includes it; everything not declared here is static to its file. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "cgroup.h"
#include "error.h"
#include "frame.h"
#include "policy.h"
#include "seccomp-program.h"
#include "spawn.h"
#include "spec.h"
#include "task.h"

/* The replies queued for a peer at which its connection is closed (sandboxd-conn.c). */
#define CONN_OUT_MAX_BYTES (32u * 1024u * 1024u)
#define TASK_DENIALS 16 /* explained denials kept per task (inspect) */

typedef struct Daemon Daemon;
typedef struct Conn Conn;
typedef struct Task Task;

/* A start waiting for its log FIFO's reader (sandboxd-start.c). */
typedef struct StartWait StartWait;

typedef struct Pending {
        Conn *conn;
        uint64_t id;
        int kind; /* PENDING_* */
        struct Pending *next;
} Pending;

enum { PENDING_WAIT, PENDING_STOP, PENDING_DESTROY, PENDING_START };

struct Task {
        Daemon *d;
        TaskRecord rec;
        int dir_fd;
        int pidfd;
        sd_event_source *pid_src;
        SandboxProcess proc;       /* ctl_fd valid while we are the spawner and the init lives */
        sd_event_source *ctl_src;
        Cgroup *cg;
        sd_event_source *stop_timer;
        bool killed; /* we sent SIGKILL to the sandbox (stop timeout, destroy --force, signal KILL) */
        bool start_failed; /* its RUNNING record could not be written: killed, the start fails */
        Pending *pending;
        /* Until the task runs: what it was built from, so a failed setup step can be described
         * with its path ("chdir: /x: No such file or directory"). */
        SandboxSpec *start_spec;
        SandboxPrepared *start_prep;
        /* The most recent explained denials (a ring), and pointers to them oldest first. */
        Sandboxd__V1__Denial denials[TASK_DENIALS];
        Sandboxd__V1__Denial *denials_order[TASK_DENIALS];
        size_t n_denials, next_denial;
        Task *next;
};

typedef struct OutFrame {
        struct OutFrame *next;
        size_t len;
        uint8_t data[];
} OutFrame;

struct Conn {
        Daemon *d;
        int fd;
        sd_event_source *src;
        sd_event_source *hello_timer; /* until hello */
        sd_event_source *close_src;   /* a deferred close (set when sending failed for good) */
        OutFrame *out, **out_tail;    /* replies the socket did not take yet, in order */
        size_t out_bytes;
        bool paused;                  /* not reading its requests until out drains */
        uid_t uid;
        gid_t gid;
        pid_t pid;
        bool hello;
        bool subscribed;
        size_t n_pending;
        char *driver;              /* "" for an admin connection (sees every task) */
        Conn *next;
};

struct Daemon {
        sd_event *event;
        char *config_path;
        char *socket_path;
        char *state_dir;
        char **hide_paths;         /* kept from every task: our socket and state, resolved */
        int state_fd;
        int tasks_fd;
        int listen_fd;
        bool socket_activated;
        Policy *policy;
        CgroupManager *cgroups;
        Task *tasks;
        size_t n_tasks;
        Conn *conns;
        size_t n_conns, n_root_conns;
        struct ExecSession *sessions;
        struct StartWait *start_waits;
        SeccompProgram cache_prog[16];
        uint64_t cache_key[16];
};

/* sandboxd-conn.c: connections and frames */
extern size_t conn_out_max;
void conn_send(Conn *c, const Frame *f);
void reply_error(Conn *c, uint64_t id, int code, const char *field, const char *msg);
void task_info_fill(const Task *t, Sandboxd__V1__TaskInfo *i, Sandboxd__V1__ExitResult *e,
                    Sandboxd__V1__NomadMeta *n);
void reply_ok(Conn *c, uint64_t id);
void reply_task(Conn *c, uint64_t id, const Task *t);
bool pending_full(Conn *c, uint64_t id);
void pending_free(Pending *p);
void pending_add(Task *t, Conn *c, uint64_t id, int kind);
bool conn_may_see(const Conn *c, const Task *t);
void conn_close(Conn *c);
int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata);

/* sandboxd-tasks.c: the task table */
int64_t now_ns(void);
uint64_t now_mono_us(void);
Task *task_find(Daemon *d, const char *name);
int task_save(Task *t);
void task_free(Task *t);
void task_dir_remove(Task *t);
void task_remove(Task *t);
void task_denied(Daemon *d, Task *t, const InitNote *note, bool exec_session);
extern InitNote init_note;
int task_watch(Task *t);
int task_signal(Task *t, int sig);
int task_stop(Task *t, int sig, uint64_t timeout_ms);
void save_request(Task *t, const Sandboxd__V1__StartRequest *req);
Sandboxd__V1__StartRequest *load_request(Task *t);
int recover(Daemon *d);

/* sandboxd-start.c: start */
void start_waits_drop_conn(Daemon *d, Conn *c);
int start_wait_cancel(Conn *c, uint64_t id);
extern struct rlimit saved_nofile;
int check_launch(const PolicyDriver *pd, const SandboxSpec *s, const char **field, SbxError *err);
void handle_start(Conn *c, uint64_t id, const Sandboxd__V1__StartRequest *req, int *fds, size_t n_fds,
                  StartWait *w);

/* sandboxd-exec.c: exec sessions */
void exec_sessions_drop_conn(Daemon *d, Conn *c);
int exec_session_cancel(Conn *c, uint64_t id);
void handle_exec(Conn *c, uint64_t id, const Sandboxd__V1__ExecRequest *req, int *fds, size_t n_fds);

/* sandboxd-list.c: list and stats */
Task *lookup(Conn *c, uint64_t id, const char *name);
void handle_list(Conn *c, uint64_t id, const char *after);
void handle_stats(Conn *c, uint64_t id, Task *t);

/* sandboxd-main.c: main */
void handle_request(Conn *c, const Sandboxd__V1__Request *req, int *fds, size_t n_fds);
