/* SPDX-License-Identifier: MIT */
/* bench/filter.h: the seccomp filters the peers get in the benchmarks (bpf-gen for bwrap
 * --seccomp, chain-wrapper for the pledge/exec2 chain), built with libseccomp. */
#pragma once

#include <seccomp.h>
#include <stdbool.h>

typedef enum BenchFilterKind {
        /* pledge-like: everything not listed fails with EPERM; the list is roughly what
         * "stdio rpath" plus a dynamically linked program's start-up need, and execve */
        BENCH_FILTER_ALLOW_LIST,
        /* Docker-like: everything allowed except a few dangerous calls (EPERM) */
        BENCH_FILTER_DENY_LIST,
} BenchFilterKind;

/* Returns 0 and a new filter in *ret (release with seccomp_release), or -errno. */
int bench_filter_new(BenchFilterKind kind, scmp_filter_ctx *ret);
