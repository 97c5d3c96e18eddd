/* SPDX-License-Identifier: MIT */
/* common/util.c: allocation helpers, string vectors (util.h) and the SbxError functions (error.h). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "macro.h"
#include "util.h"

void oom(void) {
        static const char m[] = "out of memory\n";
        (void) !write(STDERR_FILENO, m, sizeof(m) - 1);
        _exit(134);
}

void *xmalloc(size_t n) {
        void *p = malloc(n ? n : 1);
        if (!p)
                oom();
        return p;
}

void *xcalloc(size_t n, size_t m) {
        void *p = calloc(n ? n : 1, m ? m : 1);
        if (!p)
                oom();
        return p;
}

void *xrealloc(void *p, size_t n) {
        p = realloc(p, n ? n : 1);
        if (!p)
                oom();
        return p;
}

char *xstrdup(const char *s) {
        char *p = strdup(s);
        if (!p)
                oom();
        return p;
}

char *xstrndup(const char *s, size_t n) {
        char *p = strndup(s, n);
        if (!p)
                oom();
        return p;
}

char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *p;
        va_start(ap, fmt);
        if (vasprintf(&p, fmt, ap) < 0)
                oom();
        va_end(ap);
        return p;
}

size_t strv_length(char *const *l) {
        size_t n = 0;
        if (l)
                while (l[n])
                        n++;
        return n;
}

void strv_consume(char ***l, char *s) {
        size_t n = strv_length(*l);
        *l = xrealloc(*l, (n + 2) * sizeof(char *));
        (*l)[n] = s;
        (*l)[n + 1] = NULL;
}

void strv_push(char ***l, const char *s) {
        strv_consume(l, xstrdup(s));
}

char **strv_copy(char *const *l) {
        char **r = xcalloc(strv_length(l) + 1, sizeof(char *));
        size_t i = 0;
        if (l)
                for (; l[i]; i++)
                        r[i] = xstrdup(l[i]);
        r[i] = NULL;
        return r;
}

_printf_(4, 0) static int error_vset(SbxError *err, int code, bool with_errno, const char *fmt, va_list ap) {
        if (code < 0)
                code = -code;
        if (code == 0)
                code = EINVAL;
        if (err) {
                int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
                if (with_errno && n >= 0 && (size_t) n < sizeof(err->msg))
                        snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(code));
                err->code = code;
        }
        return -code;
}

int sbx_error(SbxError *err, int code, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = error_vset(err, code, false, fmt, ap);
        va_end(ap);
        return r;
}

int sbx_error_errno(SbxError *err, int code, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = error_vset(err, code, true, fmt, ap);
        va_end(ap);
        return r;
}

int sbx_error_wrap(SbxError *err, int code, const char *fmt, ...) {
        if (code < 0)
                code = -code;
        if (code == 0)
                code = EINVAL;
        if (!err)
                return -code;
        char prefix[SBX_ERROR_MAX], old[SBX_ERROR_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof(old));
        snprintf(err->msg, sizeof(err->msg), "%.200s: %.300s", prefix, old);
        err->code = code;
        return -code;
}

const char *strv_env_get(char *const *l, const char *key) {
        size_t n = strlen(key);
        for (; l && *l; l++)
                if (strncmp(*l, key, n) == 0 && (*l)[n] == '=')
                        return *l + n + 1;
        return NULL;
}

bool path_beneath(const char *path, const char *prefix) {
        size_t n = strlen(prefix);
        if (n == 1 && prefix[0] == '/')
                return path[0] == '/';
        return strncmp(path, prefix, n) == 0 && (path[n] == 0 || path[n] == '/');
}
