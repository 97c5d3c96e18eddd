/* SPDX-License-Identifier: MIT */
/* tests/unit/test-error.c: SbxError, the error a library function hands back: the code a caller
 * gets is the one the failed call gave, with or without a message buffer, through any number of
 * wraps; the message is prefixed, never lost, and stays within its buffer. */
#include <errno.h>
#include <string.h>

#include "error.h"
#include "tap.h"

/* A library call that fails with code and, where it can, says why. */
static int fail_with(SbxError *err, int code) {
        return sbx_error(err, code, "'%s': %s", "/etc/x", "a reason");
}

/* Its caller, adding context the way policy.c does. */
static int caller(SbxError *err, int code) {
        int r = fail_with(err, code);
        return r < 0 ? sbx_error_wrap(err, r, "loading '%s'", "p.conf") : 0;
}

int main(void) {
        SbxError err = {};

        TAP_EQ_INT(fail_with(&err, EPERM), -EPERM, "sbx_error returns -code");
        TAP_EQ_INT(err.code, EPERM, "... and sets err.code");
        TAP_EQ_STR(err.msg, "'/etc/x': a reason", "... and the message");
        TAP_EQ_INT(sbx_error(NULL, -ELOOP, "x"), -ELOOP, "sbx_error takes a negative code too, err NULL");
        TAP_EQ_INT(sbx_error(NULL, 0, "x"), -EINVAL, "code 0 is EINVAL");

        sbx_error_clear(&err);
        TAP_EQ_INT(caller(&err, EACCES), -EACCES, "wrap returns the wrapped call's code");
        TAP_EQ_INT(err.code, EACCES, "... and err.code keeps it");
        TAP_EQ_STR(err.msg, "loading 'p.conf': '/etc/x': a reason", "... the message is prefixed");

        /* The defect: without a buffer the code was lost (wrap answered -EINVAL). */
        TAP_EQ_INT(caller(NULL, EACCES), -EACCES, "err NULL: the wrapped call's code survives (not EINVAL)");
        TAP_EQ_INT(caller(NULL, ELOOP), -ELOOP, "err NULL: ELOOP survives");
        TAP_EQ_INT(sbx_error_wrap(NULL, EPERM, "x"), -EPERM, "wrap takes a positive code");
        TAP_EQ_INT(sbx_error_wrap(NULL, 0, "x"), -EINVAL, "wrap: code 0 is EINVAL");

        /* A code the message did not carry (the buffer was cleared since): the given one wins. */
        sbx_error_clear(&err);
        TAP_EQ_INT(sbx_error_wrap(&err, -ENOENT, "outer"), -ENOENT, "wrap of an empty error returns the code given");
        TAP_EQ_INT(err.code, ENOENT, "... and records it");
        TAP_EQ_STR(err.msg, "outer: ", "... prefixing the empty message");

        /* Twice: "outer: inner: reason"; and a long message is cut, not overrun. */
        sbx_error_clear(&err);
        int r = caller(&err, EIO);
        r = sbx_error_wrap(&err, r, "outer");
        TAP_EQ_INT(r, -EIO, "wrapped twice: the code survives");
        TAP_EQ_STR(err.msg, "outer: loading 'p.conf': '/etc/x': a reason", "wrapped twice: both prefixes");
        char long_prefix[2 * SBX_ERROR_MAX];
        memset(long_prefix, 'a', sizeof(long_prefix) - 1);
        long_prefix[sizeof(long_prefix) - 1] = 0;
        for (int i = 0; i < 5; i++)
                r = sbx_error_wrap(&err, r, "%s", long_prefix);
        TAP_EQ_INT(r, -EIO, "long prefixes: the code survives");
        tap_ok(strlen(err.msg) < SBX_ERROR_MAX, "long prefixes: the message stays within its buffer (%zu bytes)",
               strlen(err.msg));

        return tap_done();
}
