/* SPDX-License-Identifier: MIT */
/* daemon/seccomp-program.h: compile a promise set into a seccomp BPF program (in the parent, with
 * libseccomp), and load a ready program (in the child, with no allocation and no libseccomp). */
#pragma once

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* kill(2) and tgkill(2) under `stdio` may only target the caller itself (Cosmopolitan checks
 * pid == getpid() at filter time). Our filter is compiled before the task's pid is known, so the
 * compiler emits this marker as the compared constant and seccomp_program_patch_pid() replaces
 * it with the real pid (in the task's own pid namespace) right before loading. */
#define SECCOMP_PID_PLACEHOLDER UINT32_C(0x7e57f11d)

typedef struct SeccompProgram {
        struct sock_filter *insns;
        size_t len;
} SeccompProgram;

enum {
        /* Allow execve/execveat whatever the promises say. Used for the launch filter: the single
         * execve that starts the task must pass, and the exec-once notifier filter stacked under it
         * (see seccomp_exec_once_program) turns every later one into EPERM. */
        SECCOMP_COMPILE_ALLOW_EXEC = 1 << 0,
};

/* Builds the filter for a promise set: wrong architecture (and x32) kills the process; ENOSYS for
 * clone3, openat2, memfd_create and every syscall numbered >= memfd_secret (447); each promise's
 * syscalls with their argument checks; EPERM for everything else. */
int seccomp_compile_promises(uint64_t promises, unsigned flags, SeccompProgram *ret, SbxError *err);

/* The small filter the sandbox init installs on itself before forking the task:
 * execve/execveat -> SECCOMP_RET_USER_NOTIF, everything else allowed, wrong arch killed. */
int seccomp_exec_once_program(SeccompProgram *ret, SbxError *err);

/* Number of instructions equal to the placeholder that were patched (0 if the program has none). */
size_t seccomp_program_patch_pid(SeccompProgram *p, pid_t pid);

/* Async-signal-safe: prctl(PR_SET_SECCOMP) / seccomp(2). Returns -errno. flags are
 * SECCOMP_FILTER_FLAG_*; with SECCOMP_FILTER_FLAG_NEW_LISTENER returns the listener fd. */
int seccomp_program_load(const SeccompProgram *p, unsigned flags);

/* Copies the program into a sealed memfd (for the preload helper, see daemon/preload.c). */
int seccomp_program_to_memfd(const SeccompProgram *p, int *ret_fd, SbxError *err);

void seccomp_program_done(SeccompProgram *p);
SeccompProgram seccomp_program_copy(const SeccompProgram *p);
