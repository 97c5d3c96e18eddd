/* SPDX-License-Identifier: MIT */
/* daemon/sandboxd/fault.h: crash points for the fault-injection suite (tests/root/test-faults.sh).
 *
 * fault_point("start-intent") marks the place between two persistent steps of start, stop or
 * destroy. Only the test binary sandboxd-faults is compiled with SANDBOXD_FAULT_POINTS (see
 * tests/root/meson.build); there, SANDBOXD_CRASH_AT=NAME[:N] in the environment makes the N-th
 * (default: first) pass through point NAME SIGKILL the daemon, as a crash or an OOM kill would.
 * The installed sandboxd is built without it: fault_point() is an empty inline function, the
 * variable is never read, and the suite checks that the binary does not even contain its name.
 * fault_param() likewise reads a lowered limit from the environment only in the test binary.
 *
 * fault_fail("task-dir-open") marks a call whose failure must leave nothing behind: with
 * SANDBOXD_FAIL_AT=NAME[:N], the N-th (default: first) pass through it returns true and the
 * caller fails as if the call had returned EIO, without making it; every other pass is real. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#ifdef SANDBOXD_FAULT_POINTS
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void fault_point(const char *name) {
        static long hits;
        const char *spec = getenv("SANDBOXD_CRASH_AT");
        if (!spec)
                return;
        size_t n = strcspn(spec, ":");
        if (strlen(name) != n || strncmp(spec, name, n) != 0)
                return;
        long want = spec[n] == ':' ? strtol(spec + n + 1, NULL, 10) : 1;
        if (++hits < want)
                return;
        fprintf(stderr, "sandboxd: crash point '%s' reached: SIGKILL\n", name);
        (void) raise(SIGKILL);
}

static inline bool fault_fail(const char *name) {
        static long hits;
        const char *spec = getenv("SANDBOXD_FAIL_AT");
        if (!spec)
                return false;
        size_t n = strcspn(spec, ":");
        if (strlen(name) != n || strncmp(spec, name, n) != 0)
                return false;
        long want = spec[n] == ':' ? strtol(spec + n + 1, NULL, 10) : 1;
        if (++hits != want)
                return false;
        fprintf(stderr, "sandboxd: fail point '%s' reached: EIO\n", name);
        return true;
}

/* A limit the suite lowers to reach it quickly (SANDBOXD_CONN_OUT_MAX=65536). */
static inline size_t fault_param(const char *var, size_t dflt) {
        const char *v = getenv(var);
        return v && *v ? (size_t) strtoull(v, NULL, 10) : dflt;
}
#else
static inline void fault_point(const char *name) {
        (void) name;
}

static inline bool fault_fail(const char *name) {
        (void) name;
        return false;
}

static inline size_t fault_param(const char *var, size_t dflt) {
        (void) var;
        return dflt;
}
#endif
