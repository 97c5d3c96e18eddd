/* SPDX-License-Identifier: MIT */
/* daemon/lib/promises.h: OpenBSD/Cosmopolitan-style promise names and the set type.
 * The table of what each promise allows lives in seccomp.c and docs/promises.md. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum Promise {
        PROMISE_STDIO,
        PROMISE_RPATH,
        PROMISE_WPATH,
        PROMISE_CPATH,
        PROMISE_DPATH,
        PROMISE_FLOCK,
        PROMISE_FATTR,
        PROMISE_CHOWN,
        PROMISE_TTY,
        PROMISE_INET,
        PROMISE_ANET,
        PROMISE_UNIX,
        PROMISE_DNS,
        PROMISE_RECVFD,
        PROMISE_SENDFD,
        PROMISE_PROC,
        PROMISE_THREAD, /* accepted for pledge-driver jobs; grants nothing (threads come from stdio) */
        PROMISE_ID,
        PROMISE_SETTIME,
        PROMISE_EXEC,
        PROMISE_PROT_EXEC,
        PROMISE_UNVEIL,
        PROMISE_VMINFO,
        PROMISE_TMPPATH,
        _PROMISE_MAX,
        _PROMISE_INVALID = -EINVAL,
} Promise;

#define PROMISE_BIT(p) (UINT64_C(1) << (p))
#define PROMISES_MAX_LEN 256 /* as Cosmopolitan: longer strings are refused */

const char *promise_to_string(Promise p);
/* Case-insensitive; returns _PROMISE_INVALID for an unknown name. */
Promise promise_from_string(const char *s);

/* The promise name a typo of the n bytes at s most likely meant, or NULL when none is close. */
const char *promise_closest(const char *s, size_t n);

/* Parses a pledge promise string: names separated by space, tab, CR or LF, matched
 * case-insensitively, duplicates allowed. An unknown name is an error naming it, and the
 * promise it most likely meant if one is close: "unknown promise 'foo'", "unknown promise
 * 'rpth' (did you mean 'rpath'?)". The empty string is the empty set (only exit allowed). */
int promises_parse(const char *s, uint64_t *ret_mask, SbxError *err);

/* Canonical text of a set, in enum order, space separated. Caller frees. */
char *promises_format(uint64_t mask);
