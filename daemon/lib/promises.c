/* SPDX-License-Identifier: MIT */
/* daemon/lib/promises.c: promise names, parsing and formatting (pledge's rules: names separated by
 * space, tab, CR or LF, case-insensitive, at most 256 bytes, an unknown name is an error). */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "promises.h"
#include "util.h"

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

/* Optimal string alignment distance (Levenshtein plus the swap of two neighbours), ASCII case
 * folded, for the "did you mean" of a typo; both strings are short (names, at most 64 bytes
 * of input are looked at). */
static size_t min_size(size_t a, size_t b) {
        return a < b ? a : b;
}

static size_t edit_distance(const char *a, size_t n, const char *b, size_t m) {
        size_t d[65][65];

        n = min_size(n, 64);
        m = min_size(m, 64);
        for (size_t i = 0; i <= n; i++)
                d[i][0] = i;
        for (size_t j = 0; j <= m; j++)
                d[0][j] = j;
        for (size_t i = 1; i <= n; i++)
                for (size_t j = 1; j <= m; j++) {
                        bool same = tolower((unsigned char) a[i - 1]) == tolower((unsigned char) b[j - 1]);
                        size_t v = min_size(min_size(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + !same);
                        if (i > 1 && j > 1 && tolower((unsigned char) a[i - 1]) == tolower((unsigned char) b[j - 2]) &&
                            tolower((unsigned char) a[i - 2]) == tolower((unsigned char) b[j - 1]))
                                v = min_size(v, d[i - 2][j - 2] + 1);
                        d[i][j] = v;
                }
        return d[n][m];
}

const char *promise_closest(const char *s, size_t n) {
        /* One edit for a name of up to 4 letters, two beyond: close enough to be a typo, far
         * enough that 'foo' or 'network' get no guess. */
        size_t best = n <= 4 ? 1 : 2;
        const char *found = NULL;

        if (n == 0 || n > 64)
                return NULL;
        for (Promise p = 0; p < _PROMISE_MAX; p++) {
                size_t k = edit_distance(s, n, promise_names[p], strlen(promise_names[p]));
                if (k <= best && (!found || k < best)) {
                        found = promise_names[p];
                        best = k;
                }
        }
        return found;
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
                        const char *guess = promise_closest(s + i, j - i);
                        if (guess)
                                return sbx_error(err, EINVAL, "unknown promise '%s' (did you mean '%s'?)", name, guess);
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
