/* SPDX-License-Identifier: MIT */
/* common/util.h: allocation that cannot fail, string vectors, paths (common/util.c). SbxError,
 * also implemented there, is declared in error.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* Allocation failure is not a recoverable condition in any of our processes. */
_noreturn_ void oom(void);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);

size_t strv_length(char *const *l);
/* Appends a copy of s; *l may be NULL. */
void strv_push(char ***l, const char *s);
/* Appends s itself (takes ownership). */
void strv_consume(char ***l, char *s);
char **strv_copy(char *const *l);
/* The value of KEY in a KEY=VALUE list, or NULL. */
const char *strv_env_get(char *const *l, const char *key);
/* Component-aware: "/a/b" is beneath "/a/b" and "/a", not "/a/bc". Both paths absolute and
 * without trailing '/' (except "/" itself). */
bool path_beneath(const char *path, const char *prefix);
