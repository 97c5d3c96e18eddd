/* SPDX-License-Identifier: MIT */
/* common/error.h: the error a fallible library function hands back to its caller.
 *
 * Library code (everything under daemon/ that is not a main()) does not log: it returns a negative
 * errno and, where the caller passed one, fills an SbxError with a one-line message that names the
 * field or path and the reason. The top level prints or forwards that message once. The buffer is
 * fixed-size so it can be filled between fork and exec without allocating. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>

#include "macro.h"

#define SBX_ERROR_MAX 512

typedef struct SbxError {
        int code; /* positive errno, 0 for none */
        char msg[SBX_ERROR_MAX];
} SbxError;

/* Sets err (if non-NULL) to "<formatted>" and returns -code (-EINVAL if code is 0).
 * code may be given negative (as libseccomp/sd-bus return it); its sign is ignored. */
int sbx_error(SbxError *err, int code, const char *fmt, ...) _printf_(3, 4);
/* Like sbx_error, but appends ": <strerror(code)>". */
int sbx_error_errno(SbxError *err, int code, const char *fmt, ...) _printf_(3, 4);
/* Prefixes the message a failed call left in err: "<prefix>: <old message>". code is that call's
 * result (negative or positive errno; 0 = EINVAL), returned as -code also when err is NULL, so
 * the caller's error survives without a message to carry it; err->code is set to it. */
int sbx_error_wrap(SbxError *err, int code, const char *fmt, ...) _printf_(3, 4);

static inline void sbx_error_clear(SbxError *err) {
        if (err) {
                err->code = 0;
                err->msg[0] = 0;
        }
}
