/* SPDX-License-Identifier: MIT */
/* tests/tap.h: a 30-line TAP producer for C unit tests (meson `protocol : 'tap'`). */
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3), unused)) static void tap_ok(int cond, const char *fmt, ...) {
        va_list ap;
        printf("%s %d - ", cond ? "ok" : "not ok", ++tap_n);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        if (!cond)
                tap_failed++;
        fflush(stdout);
}

#define TAP_EQ_INT(a, b, desc)                                                                      \
        do {                                                                                        \
                long long _a = (long long) (a), _b = (long long) (b);                               \
                tap_ok(_a == _b, "%s (%s == %s: %lld vs %lld)", desc, #a, #b, _a, _b);              \
        } while (0)

#define TAP_EQ_STR(a, b, desc)                                                                      \
        do {                                                                                        \
                const char *_a = (a), *_b = (b);                                                    \
                tap_ok(_a && _b && strcmp(_a, _b) == 0, "%s ('%s' == '%s')", desc, _a ? _a : "(null)", \
                       _b ? _b : "(null)");                                                         \
        } while (0)

__attribute__((unused)) static int tap_done(void) {
        printf("1..%d\n", tap_n);
        return tap_failed ? 1 : 0;
}
