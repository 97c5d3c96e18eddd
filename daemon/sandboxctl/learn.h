/* SPDX-License-Identifier: MIT */
/* daemon/sandboxctl/learn.h: what `sandboxctl learn` makes of the init's notes (docs/learn.md): the
 * smallest promise set that allows every recorded call, unveil rules with letters from what
 * was done to each path (folded into a directory when many entries of it were used), the TCP
 * ports bound and connected to, and the calls no promise allows. Pure: fed notes, it computes;
 * the caller runs the sandbox and prints. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "landlock.h"
#include "spawn.h"
#include "unveil.h"

typedef struct LearnedPath {
        char *path;
        unsigned letters;
        bool dir;
} LearnedPath;

typedef struct LearnedCall {
        int nr;
        uint64_t sources;  /* promises that allow it (0: none) */
        unsigned count;
        uint64_t args[6];  /* of the first one */
} LearnedCall;

typedef struct Learned {
        LearnedCall *calls; /* one per distinct (nr, sources) */
        size_t n_calls;
        LearnedPath *paths; /* one per distinct path, letters ORed */
        size_t n_paths;
        LearnedCall *futile_calls; /* calls that fail whatever the promises (NOTE_FUTILE) */
        size_t n_futile;
        LearnedCall *unix_sockets; /* socket(AF_UNIX): a constraint only if unix_used */
        size_t n_unix_sockets;
        bool unix_used;           /* a bind or connect on a unix socket that was not futile */
        uint16_t *bind, *connect; /* distinct TCP ports */
        size_t n_bind, n_connect;
        size_t notes;
        size_t odd_paths;  /* paths with control characters, left out */
} Learned;

/* One note from the init (NOTE_LEARNED); others are ignored. */
/* Whether a call refused under the suggestion failed while learning too (no promise allows it,
 * or it could only fail: NOTE_FUTILE, a unix socket never used): no difference a verify counts. */
bool learned_futile(const Learned *l, int nr, uint64_t sources);
void learned_add(Learned *l, const InitNote *n);
void learned_done(Learned *l);

typedef struct LearnOptions {
        /* Rules the task gets anyway (defaults, launch rules, Nomad's directories): a path they
         * already allow with its letters needs no rule of its own. */
        const UnveilList *granted;
        /* Nomad's directories, written as ${NOMAD_TASK_DIR} and so on in the suggestion. */
        const char *task_dir, *alloc_dir, *secrets_dir;
        unsigned fold_min; /* a directory with this many entries used becomes one rule; 0: never */
        uint64_t forced;   /* promises needed whatever was recorded (an executable stack: prot_exec) */
} LearnOptions;

typedef struct LearnResult {
        uint64_t promises;
        UnveilList unveil;       /* the suggestion, sorted by path */
        PortList bind, connect;  /* .set where any was seen */
        const LearnedCall **refused; /* calls no promise allows (pointers into the Learned) */
        size_t n_refused;
} LearnResult;

int learn_result(const Learned *l, const LearnOptions *o, LearnResult *ret);
void learn_result_done(LearnResult *r);

/* "8080", "80,443,8000-8002" */
void port_list_format(const PortList *p, char *buf, size_t size);

/* A path with the Nomad directory it lies in written as ${NOMAD_TASK_DIR} etc. Caller frees. */
char *learn_nomad_path(const LearnOptions *o, const char *path);
