/* SPDX-License-Identifier: MIT */
/* daemon/unveil.h: `unveil` entries ("LETTERS:PATH") and the default set. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum {
        UNVEIL_R = 1 << 0, /* read files, list directories */
        UNVEIL_W = 1 << 1, /* write and truncate files */
        UNVEIL_X = 1 << 2, /* execute files */
        UNVEIL_C = 1 << 3, /* create, remove, rename, link entries in a directory */
        _UNVEIL_ALL = UNVEIL_R | UNVEIL_W | UNVEIL_X | UNVEIL_C,
};

#define UNVEIL_MAX_RULES 512
#define UNVEIL_MAX_PATH 4096

typedef enum UnveilOrigin {
        UNVEIL_ORIGIN_USER,     /* from the job / command line: must exist */
        UNVEIL_ORIGIN_DEFAULT,  /* from the default set: skipped when missing */
        UNVEIL_ORIGIN_LAUNCH,   /* what launching the command needs (program, loader): must exist */
} UnveilOrigin;

typedef struct UnveilRule {
        char *path;
        unsigned perms;
        UnveilOrigin origin;
        bool deferred; /* the path is replaced by a mount in the task's namespace: add the rule
                        * in the task, after the mounts (see landlock_rule_deferred) */
} UnveilRule;

typedef struct UnveilList {
        UnveilRule *rules;
        size_t n;
} UnveilList;

/* "r", "rwc", ... (also accepts an empty string = no rights, which still hides nothing extra). */
int unveil_perms_parse(const char *letters, unsigned *ret, SbxError *err);
/* Writes the canonical letters (order r w x c) into buf (at least 5 bytes). */
const char *unveil_perms_format(unsigned perms, char buf[static 5]);

/* One entry as the pledge/exec2 drivers take it: "LETTERS:PATH" split at the first ':'; a bare
 * absolute path means "r" (pledge.com's -v). The path must be absolute. */
int unveil_entry_parse(const char *entry, char **ret_path, unsigned *ret_perms, SbxError *err);

int unveil_list_add(UnveilList *l, const char *path, unsigned perms, UnveilOrigin origin, SbxError *err);
int unveil_list_add_entry(UnveilList *l, const char *entry, SbxError *err);
void unveil_list_add_defaults(UnveilList *l);
void unveil_list_done(UnveilList *l);
