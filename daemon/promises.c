/* SPDX-License-Identifier: MIT */
/* daemon/promises.c: promise names, parsing and formatting (pledge's rules: names separated by
 * space, tab, CR or LF, case-insensitive, at most 256 bytes, an unknown name is an error). */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "promises.h"

static const char *const promise_names[_PROMISE_MAX] = {
        [PROMISE_STDIO] = "stdio",     [PROMISE_RPATH] = "rpath",         [PROMISE_WPATH] = "wpath",
        [PROMISE_CPATH] = "cpath",     [PROMISE_DPATH] = "dpath",         [PROMISE_FLOCK] = "flock",
        [PROMISE_FATTR] = "fattr",     [PROMISE_CHOWN] = "chown",         [PROMISE_TTY] = "tty",
        [PROMISE_INET] = "inet",       [PROMISE_ANET] = "anet",           [PROMISE_UNIX] = "unix",
        [PROMISE_DNS] = "dns",         [PROMISE_RECVFD] = "recvfd",       [PROMISE_SENDFD] = "sendfd",
        [PROMISE_PROC] = "proc",       [PROMISE_THREAD] = "thread",       [PROMISE_ID] = "id",
        [PROMISE_SETTIME] = "settime", [PROMISE_EXEC] = "exec",           [PROMISE_PROT_EXEC] = "prot_exec",
        [PROMISE_UNVEIL] = "unveil",   [PROMISE_VMINFO] = "vminfo",       [PROMISE_TMPPATH] = "tmppath",
};

const char *promise_to_string(Promise p) {
        if (p < 0 || p >= _PROMISE_MAX)
                return NULL;
        return promise_names[p];
}

static Promise promise_from_span(const char *s, size_t n) {
        for (Promise p = 0; p < _PROMISE_MAX; p++)
                if (strlen(promise_names[p]) == n && strncasecmp(promise_names[p], s, n) == 0)
                        return p;
        return _PROMISE_INVALID;
}

Promise promise_from_string(const char *s) {
        if (!s)
                return _PROMISE_INVALID;
        return promise_from_span(s, strlen(s));
}

static bool is_sep(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int promises_parse(const char *s, uint64_t *ret_mask, SbxError *err) {
        uint64_t mask = 0;

        if (!s)
                return sbx_error(err, EINVAL, "no promise string");
        size_t len = strlen(s);
        if (len > PROMISES_MAX_LEN)
                return sbx_error(err, E2BIG, "longer than %d bytes (%zu)", PROMISES_MAX_LEN, len);

        for (size_t i = 0; i < len;) {
                if (is_sep(s[i])) {
                        i++;
                        continue;
                }
                size_t j = i;
                while (j < len && !is_sep(s[j]))
                        j++;
                Promise p = promise_from_span(s + i, j - i);
                if (p < 0) {
                        /* Name it, but keep the message printable whatever the input. */
                        char name[64];
                        size_t n = j - i < sizeof(name) - 4 ? j - i : sizeof(name) - 4, k;
                        for (k = 0; k < n; k++)
                                name[k] = (s[i + k] >= 0x20 && s[i + k] < 0x7f) ? s[i + k] : '?';
                        if (j - i > n)
                                memcpy(name + k, "...", 3), k += 3;
                        name[k] = 0;
                        return sbx_error(err, EINVAL, "unknown promise '%s'", name);
                }
                mask |= PROMISE_BIT(p);
                i = j;
        }

        *ret_mask = mask;
        return 0;
}

char *promises_format(uint64_t mask) {
        size_t n = 1;
        for (Promise p = 0; p < _PROMISE_MAX; p++)
                if (mask & PROMISE_BIT(p))
                        n += strlen(promise_names[p]) + 1;
        char *buf = xmalloc(n), *q = buf;
        *q = 0;
        for (Promise p = 0; p < _PROMISE_MAX; p++)
                if (mask & PROMISE_BIT(p)) {
                        if (q != buf)
                                *q++ = ' ';
                        q = stpcpy(q, promise_names[p]);
                }
        return buf;
}
