/* SPDX-License-Identifier: MIT */
/* daemon/sandboxd/signals.c: signal name parsing. Unknown names are an error (the pledge driver sent
 * SIGSTOP for them, exec2 signal 0; both hide the mistake). */
#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "signals.h"

int signal_from_string(const char *s) {
        char *end;

        if (!s || !s[0])
                return -EINVAL;
        if (isdigit((unsigned char) s[0])) {
                errno = 0;
                long v = strtol(s, &end, 10);
                if (errno || *end || v < 0 || v >= _NSIG)
                        return -EINVAL;
                return (int) v;
        }
        const char *n = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
        if (strncasecmp(n, "RTMIN+", 6) == 0) {
                errno = 0;
                long v = strtol(n + 6, &end, 10);
                if (errno || *end || v < 0 || SIGRTMIN + v > SIGRTMAX)
                        return -EINVAL;
                return SIGRTMIN + (int) v;
        }
        for (int sig = 1; sig < SIGRTMIN; sig++) {
                const char *abbrev = sigabbrev_np(sig);
                if (abbrev && strcasecmp(n, abbrev) == 0)
                        return sig;
        }
        return -EINVAL;
}
