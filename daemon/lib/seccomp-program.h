/* SPDX-License-Identifier: MIT */
/* daemon/lib/seccomp-program.h: compile a promise set into a seccomp BPF program (in the parent, with
 * libseccomp), and load a ready program (in the child, with no allocation and no libseccomp). */
#pragma once

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "promises.h"

struct seccomp_data;

/* kill(2) and tgkill(2) under `stdio` may only target the caller itself (Cosmopolitan checks
 * pid == getpid() at filter time). Our filter is compiled before the task's pid is known, so the
 * compiler emits this marker as the compared constant and seccomp_program_patch_pid() replaces
 * it with the real pid (in the task's own pid namespace) right before loading. */
#define SECCOMP_PID_PLACEHOLDER UINT32_C(0x7e57f11d)

typedef struct SeccompProgram {
        struct sock_filter *insns;
        size_t len;
} SeccompProgram;

/* The confirmation call of the preload helper (daemon/preload/preload.c): prctl(OPTION, MAGIC, code),
 * code 0 = "every thread now carries the narrow filter", else the errno that kept it from
 * narrowing. The supervisor filter sends it to the sandbox's init, which checks the claim from
 * outside (PTRACE_SECCOMP_GET_FILTER) before it answers. The option is no real prctl: if the
 * call ever reached the kernel it would fail with EINVAL and change nothing. */
#define SECCOMP_CONFIRM_OPTION UINT64_C(0x53425843)     /* "SBXC" */
#define SECCOMP_CONFIRM_MAGIC UINT64_C(0x6e6172726f77) /* "narrow" */

enum {
        /* Allow execve/execveat whatever the promises say. Used for the launch filter: the single
         * execve that starts the task must pass, and the supervisor filter stacked under it
         * (seccomp_supervisor_program) turns every later one into EPERM. */
        SECCOMP_COMPILE_ALLOW_EXEC = 1 << 0,
        /* The launch filter of a dynamically linked program: ld.so may map libraries executable
         * (mmap with any prot; mprotect never adds PROT_EXEC unless prot_exec is promised), and
         * the preload helper may stack the narrow filter on every thread (seccomp(2)
         * SECCOMP_SET_MODE_FILTER with exactly SECCOMP_FILTER_FLAG_TSYNC). */
        SECCOMP_COMPILE_LAUNCH = 1 << 1,
        /* Let the confirmation call through (to the supervisor filter underneath). */
        SECCOMP_COMPILE_CONFIRM = 1 << 2,
        /* socket(..., IPPROTO_MPTCP) fails with EPROTONOSUPPORT: TCP port rules are set, and
         * Landlock's port rules see TCP only. The errno of a kernel without MPTCP, so Go's
         * MPTCP-by-default listeners and dialers use plain TCP. */
        SECCOMP_COMPILE_NO_MPTCP = 1 << 3,
        /* The filter holds the task's listener: what no rule allows goes to the sandbox's init
         * (SECCOMP_RET_USER_NOTIF) instead of failing with EPERM, and so does the confirmation
         * call. The init answers EPERM and explains which promise was missing, or, while
         * learning, records the call (docs/learn.md). */
        SECCOMP_COMPILE_NOTIFY = 1 << 4,
        /* With SECCOMP_COMPILE_NOTIFY: execve/execveat go to the init (exec-once, no `exec`). */
        SECCOMP_COMPILE_NOTIFY_EXEC = 1 << 5,
        /* With SECCOMP_COMPILE_NOTIFY: listen(2) goes to the init (TCP bind rules). */
        SECCOMP_COMPILE_NOTIFY_LISTEN = 1 << 6,
};

/* ---- The table as data ------------------------------------------------------------------
 * The promise table is code in seccomp.c that emits rules; the compiler turns them into BPF,
 * and the explanation of a refused call (and `sandboxctl learn`) reads the very same rules
 * backwards. Each rule carries where it comes from: a Promise, or one of these. */
enum {
        SECCOMP_SOURCE_ALWAYS = _PROMISE_MAX, /* exit, arch_prctl; ENOSYS for clone3, openat2, memfd_create */
        SECCOMP_SOURCE_ALLOW_EXEC,            /* SECCOMP_COMPILE_ALLOW_EXEC: the launch execve */
        SECCOMP_SOURCE_LAUNCH,                /* SECCOMP_COMPILE_LAUNCH: ld.so's executable mappings */
        SECCOMP_SOURCE_CONFIRM,               /* SECCOMP_COMPILE_CONFIRM */
        SECCOMP_SOURCE_NO_MPTCP,              /* SECCOMP_COMPILE_NO_MPTCP */
        SECCOMP_SOURCE_SUPERVISE,             /* SECCOMP_COMPILE_NOTIFY_EXEC / _LISTEN */
        _SECCOMP_SOURCE_MAX,
};
#define SECCOMP_SOURCE_BIT(s) (UINT64_C(1) << (s))
#define SECCOMP_SOURCES_PROMISES (PROMISE_BIT(_PROMISE_MAX) - 1)

/* libseccomp's comparisons, on the whole 64-bit argument. */
enum { SECCOMP_CMP_NE, SECCOMP_CMP_LT, SECCOMP_CMP_LE, SECCOMP_CMP_EQ, SECCOMP_CMP_GE, SECCOMP_CMP_GT,
       SECCOMP_CMP_MASKED_EQ };

typedef struct SeccompCmp {
        uint8_t arg, op;
        uint64_t a, b; /* MASKED_EQ: (arg & a) == b; else arg OP a */
} SeccompCmp;

typedef struct SeccompRule {
        int32_t nr;
        uint32_t action; /* libseccomp's SCMP_ACT_* */
        uint8_t source;  /* a Promise or SECCOMP_SOURCE_* */
        uint8_t n_cmp;   /* all must hold */
        SeccompCmp cmp[3];
} SeccompRule;

#define SECCOMP_RULES_MAX 2048

/* Every rule of every promise and every SECCOMP_COMPILE_* flag but the NOTIFY ones. Built on
 * the first call into static storage; call it before cloning a process that will use the
 * functions below (they then neither allocate nor build). */
const SeccompRule *seccomp_rules_all(size_t *ret_n);
/* Whether the call satisfies the rule's comparisons; the pid placeholder stands for pid. */
bool seccomp_rule_matches(const SeccompRule *r, const struct seccomp_data *d, uint32_t pid);
/* The sources (PROMISE_BIT / SECCOMP_SOURCE_BIT) of every allow rule that matches the call:
 * the promises any one of which would let it through. 0: no promise allows it. */
uint64_t seccomp_sources_allowing(const struct seccomp_data *d, uint32_t pid);

/* Builds the filter for a promise set: wrong architecture (and x32) kills the process; ENOSYS for
 * clone3, openat2, memfd_create and every syscall numbered >= memfd_secret (447); each promise's
 * syscalls with their argument checks; EPERM for everything else. Every call the baseline
 * filter refuses is refused here too (nothing a promise allows is on its list). */
int seccomp_compile_promises(uint64_t promises, unsigned flags, SeccompProgram *ret, SbxError *err);

enum {
        SUPERVISE_EXEC = 1 << 0,    /* execve/execveat: the launch passes, later ones EPERM */
        SUPERVISE_CONFIRM = 1 << 1, /* the preload helper's confirmation call */
        SUPERVISE_LISTEN = 1 << 2,  /* listen(2): the init refuses an unbound TCP socket */
};

/* The supervisor filter, loaded by the task with SECCOMP_FILTER_FLAG_NEW_LISTENER before its
 * launch filter; the listener goes to the sandbox's init (there is one listener per filter
 * stack, so every rule that needs an answer from outside lives here). Calls named by `what`
 * -> SECCOMP_RET_USER_NOTIF, everything else allowed, a foreign architecture killed. */
int seccomp_supervisor_program(unsigned what, SeccompProgram *ret);

enum {
        BASELINE_DENY = 1 << 0,    /* the deny list (docs/promises.md, "The baseline filter") */
        BASELINE_NO_MPTCP = 1 << 1, /* as SECCOMP_COMPILE_NO_MPTCP */
};

/* The filter of a task without promises: a foreign architecture killed, the calls of the
 * baseline deny list refused (EPERM; clone3 and numbers the table does not know yet ENOSYS),
 * everything else allowed. Hand-written: its every decision for a syscall that takes no
 * argument check depends on the number alone, so the kernel's seccomp action cache skips the
 * filter for those entirely. */
int seccomp_baseline_program(unsigned what, SeccompProgram *ret);

/* Number of instructions equal to the placeholder that were patched (0 if the program has none). */
size_t seccomp_program_patch_pid(SeccompProgram *p, pid_t pid);

/* Async-signal-safe: prctl(PR_SET_SECCOMP) / seccomp(2). Returns -errno. flags are
 * SECCOMP_FILTER_FLAG_*; with SECCOMP_FILTER_FLAG_NEW_LISTENER returns the listener fd. */
int seccomp_program_load(const SeccompProgram *p, unsigned flags);

/* Copies the program into a sealed memfd (for the preload helper, see daemon/preload/preload.c). */
int seccomp_program_to_memfd(const SeccompProgram *p, int *ret_fd, SbxError *err);

void seccomp_program_done(SeccompProgram *p);
SeccompProgram seccomp_program_copy(const SeccompProgram *p);
