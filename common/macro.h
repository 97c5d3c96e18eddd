/* SPDX-License-Identifier: MIT */
/* common/macro.h: cleanup attributes, ownership hand-off and small inline helpers shared by every
 * binary. The functions of common/util.c are declared in util.h. Modelled on systemd's macro.h /
 * crun's utils.h. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>
#include <dirent.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _noreturn_ __attribute__((noreturn))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -1;
}
static inline void closep(int *fd) {
        safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)

static inline void strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Hand ownership to someone else: returns the value and clears the variable. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _p = (p);                                                            \
                (p) = NULL;                                                                        \
                _p;                                                                                \
        })
#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int _fd = (fd);                                                                    \
                (fd) = -1;                                                                         \
                _fd;                                                                               \
        })

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
#define streq(a, b) (strcmp((a), (b)) == 0)
#define strcaseeq(a, b) (strcasecmp((a), (b)) == 0)

/* NAME_to_string(value) and NAME_from_string(s) over `static const char *const NAME_table[MAX]`,
 * a table of names indexed by an enum: NULL and INVALID outside it. eq is streq, or strcaseeq
 * where the names are read whatever their case. The header declares both functions. */
#define DEFINE_STRING_TABLE_LOOKUP(name, type, max, invalid, eq)                                  \
        const char *name##_to_string(type v) {                                                     \
                return v >= 0 && v < (max) ? name##_table[v] : NULL;                               \
        }                                                                                          \
        type name##_from_string(const char *s) {                                                   \
                for (int i = 0; i < (max); i++)                                                    \
                        if (eq(s, name##_table[i]))                                                \
                                return (type) i;                                                   \
                return (invalid);                                                                  \
        }

static inline const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}
