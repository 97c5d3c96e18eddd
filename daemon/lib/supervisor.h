/* SPDX-License-Identifier: MIT */
/* daemon/lib/supervisor.h: the sandbox init's side of the task's supervisor filter.
 *
 * The task loads the supervisor filter (seccomp_supervisor_program) with a listener and hands
 * the listener to its init, which answers every notification here:
 *   execve/execveat  the task's own launch continues; every later one: EPERM (no `exec`)
 *   listen(2)        with TCP bind rules: the init takes the socket (pidfd_getfd) and refuses an
 *                    unbound TCP socket (EACCES, as Landlock refuses a bind), or listens on it
 *                    itself and returns the result (never "continue": the task could swap the fd
 *                    between the check and the call)
 *   confirmation     the preload helper says it narrowed the filter: the init stops every thread
 *                    of the program (ptrace), reads each one's filters from the kernel
 *                    (PTRACE_SECCOMP_GET_FILTER), requires the exact narrow program on every
 *                    one, and requires that no other process exists in the sandbox yet.
 * A failed check kills the sandbox and records why (STEP_NARROW).
 *
 * With a listener filter that is the task's promise filter itself (SECCOMP_COMPILE_NOTIFY), every
 * call the promises refuse comes here too: explaining, the init answers EPERM and sends a note
 * naming the promise that would have allowed it (once per cause, rate-limited); learning, it
 * sends a note for each call (with the path or port it names) and lets it run if any promise
 * would allow it. A dynamic program's launch window is then the init's to keep: rpath and
 * executable mappings continue until the preload helper confirms (or the deadline passes).
 * Runs in the init, between clone and exit: no allocation. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "seccomp-program.h"
#include "spawn.h"

typedef struct Supervisor {
        pid_t self;                   /* the init's (or exec supervisor's) pid as proc_fd shows it */
        pid_t task;                   /* the task's pid as the init sees it */
        pid_t task_ns_pid;            /* as the task sees itself: the pid in its filters */
        int notify_fd;                /* the supervisor filter's listener, or -1 */
        int proc_fd;                  /* a procfs in which `self` and `task` are these pids */
        int sfd;                      /* the init's signalfd (SIGCHLD and the forwarded signals) */
        bool narrow;                  /* the preload must confirm (supervisor_expect_narrow) */
        bool first_exec_done;
        bool verified;                /* the narrowing is confirmed and verified */
        bool reap;                    /* a SIGCHLD was read here: the init must reap */
        bool task_exited;             /* ... and the task was reaped here, with task_status */
        int task_status;
        InitMsg failure;              /* SETUP_FAILED at STEP_NARROW once the sandbox must die */
        /* With a listener filter that holds the promises (WATCH_*, docs/learn.md): */
        unsigned watch;               /* WATCH_EXPLAIN, WATCH_LEARN, or 0 */
        uint64_t promises;            /* what the filter allows on its own */
        bool window;                  /* a dynamic program's launch window is open: rpath and
                                       * executable mappings continue, until the preload confirms
                                       * or the deadline passes */
        bool window_at_launch;        /* the window opens when the listener arrives */
        int note_fd;                  /* notes (InitNote) go there: the control socket */
} Supervisor;

/* For STEP_NARROW failures, InitMsg.index tells who found the problem. */
#define NARROW_INDEX_PRELOAD (-2) /* the preload helper reported err_no; else the init did */

/* The program the preload helper must stack, copied now: the init gives its inherited heap
 * back once the task runs (drop_inherited_heap), and the caller's copy lives there. */
int supervisor_expect_narrow(Supervisor *sv, const SeccompProgram *narrow);

/* Records one call for `sandboxctl learn` (notes with the paths and ports it names). */
struct seccomp_notif;
void supervisor_learn(Supervisor *sv, const struct seccomp_notif *req, uint64_t sources);

/* Closes the launch window (its deadline passed): from now on the task has its promises only. */
void supervisor_close_window(Supervisor *sv);

/* Answers one notification (or none, if the notifying thread died meanwhile). */
void supervisor_handle(Supervisor *sv);

/* Records why the sandbox must die (the first reason wins) and kills the task and every
 * process beneath the init. */
void supervisor_fail(Supervisor *sv, int err_no, int index);

/* A signal read from sfd: forwarded to the task (a session and group leader). */
void supervisor_forward_signal(const Supervisor *sv, int signo);

/* "narrow: ..." for a STEP_NARROW failure. */
void supervisor_describe_failure(int err_no, int index, char *buf, size_t size);
