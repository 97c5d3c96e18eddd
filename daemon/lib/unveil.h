/* SPDX-License-Identifier: MIT */
/* daemon/lib/unveil.h: `unveil` entries ("LETTERS:PATH"), the default set, and the TCP port lists
 * beside them. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum {
        UNVEIL_R = 1 << 0, /* read files, list directories */
        UNVEIL_W = 1 << 1, /* write and truncate files */
        UNVEIL_X = 1 << 2, /* execute files */
        UNVEIL_C = 1 << 3, /* create, remove, rename, link entries in a directory */
        _UNVEIL_ALL = UNVEIL_R | UNVEIL_W | UNVEIL_X | UNVEIL_C,
};

#define UNVEIL_MAX_RULES 512  /* the task's own entries (job, command line) */
#define UNVEIL_MAX_TOTAL 1024 /* with the default set, Nomad's directories and launch rules */
#define UNVEIL_MAX_PATH 4096
#define UNVEIL_MAX_PORTS 64

/* The TCP ports a task may bind or connect to (--tcp-bind, --tcp-connect), which Landlock
 * enforces beside the paths. */
typedef struct PortList {
        bool set; /* the option was given: the right is handled, only listed ports allowed */
        uint16_t ports[UNVEIL_MAX_PORTS];
        size_t n;
} PortList;

/* "80,443", "8000-8010", "none". */
int port_list_parse(const char *s, PortList *ret, SbxError *err);

/* Where a rule comes from decides how the policy checks it (policy_check_rules). */
typedef enum UnveilOrigin {
        UNVEIL_ORIGIN_USER,     /* the job's / the command line's entries: must exist */
        UNVEIL_ORIGIN_DEFAULT,  /* the default set: skipped when missing */
        UNVEIL_ORIGIN_LAUNCH,   /* what starting the command needs: the program, its loader, a script's
                                 * interpreter, the library directories, the preload helper */
        UNVEIL_ORIGIN_NOMAD,    /* a directory Nomad gave the task (task, alloc, secrets dir) */
        UNVEIL_ORIGIN_PRIVATE,  /* an object the sandbox made for the task: its /tmp, its /dev/shm */
        UNVEIL_ORIGIN_VOLUME,   /* a volume's mount point (the policy checks its source) */
        _UNVEIL_ORIGIN_MAX,
        _UNVEIL_ORIGIN_INVALID = -EINVAL,
} UnveilOrigin;

const char *unveil_origin_to_string(UnveilOrigin o);
UnveilOrigin unveil_origin_from_string(const char *s);

typedef struct UnveilRule {
        char *path;           /* as written (normalised: no "//", "/./" or trailing '/') */
        unsigned perms;
        UnveilOrigin origin;
        const char *what;     /* launch rules: "the program", "the program's loader", ... (static) */
        bool optional;        /* skipped when the path does not exist (default set, library dirs) */
        bool deferred;        /* the path lies in what the task's mount namespace replaces (/proc,
                               * /tmp, /dev, /run, volumes): resolved in the task, after the mounts,
                               * never through a symlink (landlock_add_deferred) */
        /* Resolution. Host rules are resolved once by unveil_rule_resolve (sandbox_plan): the
         * Landlock rule is built from that same fd, the policy checks where it leads. */
        char *resolved;       /* host rules: the real path (VOLUME: the volume's source) */
        int fd;               /* host rules: O_PATH, -1 once closed */
        bool absent;          /* an optional rule whose path does not exist */
        bool pinned;          /* dev/ino are what the task got at start: an exec must find the same */
        uint64_t dev, ino;
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

/* A user entry (counted against UNVEIL_MAX_RULES). */
int unveil_list_add(UnveilList *l, const char *path, unsigned perms, UnveilOrigin origin, SbxError *err);
int unveil_list_add_entry(UnveilList *l, const char *entry, SbxError *err);
/* A rule of the sandbox's own (at most UNVEIL_MAX_TOTAL in all; the callers stay well below).
 * Returns the new rule, for the caller to set what/optional. */
UnveilRule *unveil_list_append(UnveilList *l, const char *path, unsigned perms, UnveilOrigin origin);
/* A copy of a rule, resolution and pin included (not its fd). */
UnveilRule *unveil_list_append_copy(UnveilList *l, const UnveilRule *r);
void unveil_list_add_defaults(UnveilList *l);
/* Whether path lies at or beneath one of the default set's entries that grant perms (lexical). */
bool unveil_defaults_cover(const char *path, unsigned perms);
void unveil_list_done(UnveilList *l);

/* "r:/etc/hosts" into buf, for messages. */
const char *unveil_rule_format(const UnveilRule *r, char *buf, size_t size);

/* Resolves a host rule once (not deferred): opens it O_PATH following symlinks, as the caller
 * (root) sees the host, and records where it really leads (readlink of /proc/self/fd/N), its
 * device and inode. A pinned rule (an exec into a running task) is instead reopened at the path
 * it led to at start without following any symlink, and must be the same inode: otherwise
 * -ESTALE ("moved"). A missing optional rule is marked absent. Errors name the rule. */
int unveil_rule_resolve(UnveilRule *r, SbxError *err);
