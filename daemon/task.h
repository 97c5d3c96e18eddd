/* SPDX-License-Identifier: MIT */
/* daemon/task.h: what sandboxd knows about a task, and how it is persisted (json-c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "unveil.h"

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
        bool has_pins;     /* pins holds the task's rules as resolved at its start */
        UnveilList pins;   /* every rule but the launch rules: path, letters, origin, where it led
                            * (host rules: path, dev, ino; deferred rules: see the "pins" file) */
        int landlock_abi;
        char *alloc_id, *task_name, *job_id, *nomad_namespace, *task_group;
        /* exit */
        int exit_code, exit_signal;
        bool oom_killed;
        char *exit_error;
} TaskRecord;

void task_record_done(TaskRecord *t);

/* Serialises to JSON text (caller frees) / parses it back. Parsing refuses anything that does not
 * have the right types, naming the key. */
char *task_record_to_json(const TaskRecord *t);
int task_record_from_json(const char *text, TaskRecord *ret, SbxError *err);

/* Writes <dir_fd>/state.json atomically (temp file, fsync, rename). */
int task_record_save(int dir_fd, const TaskRecord *t, SbxError *err);
int task_record_load(int dir_fd, TaskRecord *ret, SbxError *err);

/* starttime (field 22) of /proc/<pid>/stat, or -errno. */
int proc_start_ticks(pid_t pid, uint64_t *ret);
