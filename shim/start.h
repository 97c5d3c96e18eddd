/* SPDX-License-Identifier: MIT */
/* shim/start.h: Nomad's TaskConfig → sandboxd's StartRequest, a pure function of the task config
 * and the plugin config (no I/O, no globals), unit-tested in tests/unit/test-start.c. */
#pragma once

#include "error.h"
#include "options.h"
#include "pb.h"
#include "sandboxd.pb-c.h"

/* The request and everything it points to that start_build allocated; the strings it borrows
 * from the TaskConfig live as long as the TaskConfig. */
typedef struct StartBuild {
        Sandboxd__V1__StartRequest sr;
        Sandboxd__V1__Resources res;
        Sandboxd__V1__NomadMeta meta;
        TaskOptions opts;
        char **argv, **env, **unveil;
        Sandboxd__V1__Mount *mounts;
        Sandboxd__V1__Mount **mount_ptrs;
        char *cwd, *task_dir, *secrets_dir, *alloc_dir, *resolv;
        char **mount_targets;
} StartBuild;

/* Fills b from t and cfg. Errors name the Nomad option and the reason (EINVAL; EPERM when the
 * plugin config forbids what the task asks). b must be zeroed; start_build_free it either way. */
int start_build(const DRV_T(TaskConfig) *t, const PluginConfig *cfg, StartBuild *b, SbxError *err);
void start_build_free(StartBuild *b);
