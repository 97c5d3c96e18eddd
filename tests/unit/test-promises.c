/* SPDX-License-Identifier: MIT */
/* tests/unit/test-promises.c: promise names, parsing as pledge(2) does, formatting. */
#include <errno.h>
#include <stdint.h>

#include "promises.h"
#include "tap.h"

static void parses(const char *s, uint64_t want, const char *desc) {
        SbxError err = {};
        uint64_t mask = 0xdead;
        int r = promises_parse(s, &mask, &err);
        tap_ok(r == 0 && mask == want, "%s: parse -> 0x%llx (r=%d, %s)", desc, (unsigned long long) mask, r, err.msg);
}

static void refused(const char *s, int code, const char *msg, const char *desc) {
        SbxError err = {};
        uint64_t mask = 0xdead;
        int r = promises_parse(s, &mask, &err);
        tap_ok(r == -code && strcmp(err.msg, msg) == 0 && mask == 0xdead, "%s: refused with '%s' (got r=%d '%s')", desc,
               msg, r, err.msg);
}

#define B(p) PROMISE_BIT(PROMISE_##p)

int main(void) {
        /* Every name round-trips, in any case. */
        for (Promise p = 0; p < _PROMISE_MAX; p++) {
                const char *name = promise_to_string(p);
                TAP_EQ_INT(promise_from_string(name), p, name);
                char upper[32];
                size_t i;
                for (i = 0; name[i] && i < sizeof(upper) - 1; i++)
                        upper[i] = (char) (name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
                upper[i] = 0;
                TAP_EQ_INT(promise_from_string(upper), p, upper);
        }
        TAP_EQ_INT(_PROMISE_MAX, 24, "24 promises (Cosmopolitan's 23 + anet)");
        tap_ok(promise_to_string(_PROMISE_MAX) == NULL, "promise_to_string(out of range) is NULL");
        tap_ok(promise_to_string(-1) == NULL, "promise_to_string(-1) is NULL");
        TAP_EQ_INT(promise_from_string("stdioo"), _PROMISE_INVALID, "a longer name is not a prefix match");
        TAP_EQ_INT(promise_from_string("std"), _PROMISE_INVALID, "a prefix is not a match");
        TAP_EQ_INT(promise_from_string(""), _PROMISE_INVALID, "the empty name is invalid");
        TAP_EQ_INT(promise_from_string(NULL), _PROMISE_INVALID, "NULL is invalid");

        parses("", 0, "the empty string is the empty set");
        parses("   \t\r\n ", 0, "only separators is the empty set");
        parses("stdio", B(STDIO), "one promise");
        parses("stdio rpath", B(STDIO) | B(RPATH), "two promises");
        parses("  stdio   rpath  ", B(STDIO) | B(RPATH), "leading, trailing and repeated spaces");
        parses("stdio\trpath\nwpath\r\ncpath", B(STDIO) | B(RPATH) | B(WPATH) | B(CPATH), "tab, LF and CRLF separate");
        parses("STDIO Rpath iNeT", B(STDIO) | B(RPATH) | B(INET), "case-insensitive");
        parses("stdio stdio STDIO", B(STDIO), "duplicates are accepted");
        parses("prot_exec", B(PROT_EXEC), "prot_exec with its underscore");
        parses("thread", B(THREAD), "thread (pledge driver jobs use it)");

        refused("stdio foo", EINVAL, "unknown promise 'foo'", "an unknown name is named");
        refused("foo stdio", EINVAL, "unknown promise 'foo'", "an unknown name first");
        refused("stdio,rpath", EINVAL, "unknown promise 'stdio,rpath'", "commas do not separate");
        refused("stdio\vrpath", EINVAL, "unknown promise 'stdio?rpath'", "vertical tab does not separate; shown as ?");
        refused("prot-exec", EINVAL, "unknown promise 'prot-exec' (did you mean 'prot_exec'?)",
                "prot-exec is not prot_exec, and the message says which is");

        /* A near miss names the promise meant: one edit (insert, delete, substitute, swap two
         * neighbours) for a short name, two for a longer one; nothing when nothing is close. */
        refused("stdio rpth", EINVAL, "unknown promise 'rpth' (did you mean 'rpath'?)", "a missing letter");
        refused("stdio exex", EINVAL, "unknown promise 'exex' (did you mean 'exec'?)", "a wrong letter");
        refused("dsn", EINVAL, "unknown promise 'dsn' (did you mean 'dns'?)", "two letters swapped");
        refused("STDOI", EINVAL, "unknown promise 'STDOI' (did you mean 'stdio'?)", "in any case");
        refused("protexec", EINVAL, "unknown promise 'protexec' (did you mean 'prot_exec'?)", "the underscore left out");
        refused("tmppaths", EINVAL, "unknown promise 'tmppaths' (did you mean 'tmppath'?)", "a letter too many");
        refused("inet6", EINVAL, "unknown promise 'inet6' (did you mean 'inet'?)", "inet6 is inet");
        refused("exce", EINVAL, "unknown promise 'exce' (did you mean 'exec'?)", "swapped at the end");
        refused("foo", EINVAL, "unknown promise 'foo'", "nothing close: no guess");
        refused("rp", EINVAL, "unknown promise 'rp'", "a short name two edits away: no guess");
        refused("network", EINVAL, "unknown promise 'network'", "a different word: no guess");
        refused("stdio \x1b[31mred", EINVAL, "unknown promise '?[31mred'", "control characters are not echoed");

        char longname[200];
        memset(longname, 'x', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = 0;
        SbxError err = {};
        uint64_t m;
        int r = promises_parse(longname, &m, &err);
        tap_ok(r == -EINVAL && strlen(err.msg) < 100 && strstr(err.msg, "...'"), "a long unknown name is cut: '%s'", err.msg);

        /* 256 bytes: accepted; 257: refused (as Cosmopolitan). */
        char buf[300];
        memset(buf, ' ', sizeof(buf));
        memcpy(buf, "stdio", 5);
        buf[256] = 0;
        parses(buf, B(STDIO), "exactly 256 bytes is accepted");
        buf[256] = ' ';
        buf[257] = 0;
        refused(buf, E2BIG, "longer than 256 bytes (257)", "257 bytes are refused");

        /* Formatting: canonical order, round trip. */
        char *f = promises_format(0);
        TAP_EQ_STR(f, "", "format of the empty set");
        free(f);
        f = promises_format(B(INET) | B(STDIO) | B(RPATH));
        TAP_EQ_STR(f, "stdio rpath inet", "format is in canonical order");
        free(f);
        uint64_t all = PROMISE_BIT(_PROMISE_MAX) - 1, back = 0;
        f = promises_format(all);
        tap_ok(promises_parse(f, &back, &err) == 0 && back == all, "format of every promise parses back (%zu bytes)",
               strlen(f));
        tap_ok(strlen(f) <= PROMISES_MAX_LEN, "every promise fits in 256 bytes");
        free(f);
        f = promises_format(all | (UINT64_C(1) << 40));
        tap_ok(promises_parse(f, &back, &err) == 0 && back == all, "unknown bits are not formatted");
        free(f);

        return tap_done();
}
