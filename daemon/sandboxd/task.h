/* SPDX-License-Identifier: MIT */
/* daemon/sandboxd/task.h: what sandboxd knows about a task, and how it is persisted (json-c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "unveil.h"

/* A task's directory, <state_dir>/tasks/<id>: what sandboxd writes there (the record and the
 * pinned rules each as NAME.tmp then renamed, the start request, the task's resolv.conf) and
 * what the sandbox init writes (SANDBOX_STATUS_EXIT and _PINS, spawn.h). */
#define TASK_FILE_STATE "state.json"
#define TASK_FILE_RULES "rules.json"
#define TASK_FILE_REQUEST "request.pb"
#define TASK_FILE_RESOLV_CONF "resolv.conf"
#define TASK_FILE_TMP ".tmp"

typedef struct TaskRecord {
        char *id;          /* directory name under <state_dir>/tasks */
        char *name;        /* the client's name (Nomad task id) */
        char *driver;
        int state;         /* Sandboxd__V1__TaskState */
        pid_t pid;         /* the sandbox init */
        uint64_t start_ticks; /* /proc/<pid>/stat starttime: guards against pid reuse */
        int64_t started_at_ns, finished_at_ns;
        char **argv;
        char *user;
        uint32_t uid, gid;
        bool has_promises;
        char *promises;
        char **unveil;     /* the job's entries (defaults not listed) */
        bool unveil_defaults;
        char *net;
        char *cgroup;      /* cgroup identity as the backend saved it; NULL = none */
        bool host_view;    /* the task kept the host's /dev and /run (policy host_view) */
        int landlock_abi;
        char *alloc_id, *task_name, *job_id, *nomad_namespace, *task_group;
        /* exit */
        int exit_code, exit_signal;
        bool oom_killed;
        char *exit_error;
        /* intents a restarted daemon completes (docs/architecture.md, "Task states") */
        int stop_signal;           /* a stop asked for: its signal ... */
        uint64_t stop_deadline_us; /* ... and when to kill (CLOCK_MONOTONIC); 0 = no stop */
        bool destroying;           /* destroy asked for: kill, then remove */
} TaskRecord;

void task_record_done(TaskRecord *t);

/* Serialises to JSON text (caller frees) / parses it back. Parsing refuses anything that does not
 * have the right types, naming the key. */
char *task_record_to_json(const TaskRecord *t);
int task_record_from_json(const char *text, TaskRecord *ret, SbxError *err);

/* Writes <dir_fd>/state.json atomically (temp file, rename; no fsync, see task.c). */
int task_record_save(int dir_fd, const TaskRecord *t, SbxError *err);
int task_record_load(int dir_fd, TaskRecord *ret, SbxError *err);

/* The task's unveil rules as resolved at its start, pinned for exec sessions: every rule but the
 * launch rules of its command (the first n of l), with where each led and, for host rules, its
 * device and inode (rules resolved in the task: the init's "pins" file, sandbox_read_pins).
 * <dir_fd>/rules.json, written once before the sandbox is spawned: not part of state.json,
 * which is saved again after the clone, where every page written costs a copy-on-write fault. */
char *task_rules_to_json(const UnveilList *l, size_t n);
int task_rules_from_json(const char *text, UnveilList *ret, SbxError *err);
int task_rules_save(int dir_fd, const UnveilList *l, size_t n, SbxError *err);
/* -ENOENT: none recorded (a task started by an older sandboxd). */
int task_rules_load(int dir_fd, UnveilList *ret, SbxError *err);

/* starttime (field 22) of /proc/<pid>/stat, or -errno. */
int proc_start_ticks(pid_t pid, uint64_t *ret);

/* Logs a message about task t with its journal fields (SANDBOX_TASK, NOMAD_ALLOC_ID, ...: log.h). */
void log_task(int level, const TaskRecord *t, const char *fmt, ...) _printf_(3, 4);
