/* SPDX-License-Identifier: MIT */
/* daemon/lib/spawn-internal.h: what spawn.c (the parent) and spawn-init.c (the init and the task)
 * share: the control messages, and the init's entry point. Only those two include it. */
#pragma once

#include <stdbool.h>

#include "macro.h"
#include "spawn.h"

/* What the caller sends the init over the control socket: release a held init, end an exec
 * session (sandbox_process_go, sandbox_process_kill). */
enum { CTL_GO = 1, CTL_KILL = 2 };

/* spawn.c: the parent: prepare, spawn, results */
bool view_replaces(const SandboxSpec *s, bool var_run_dir, const char *path);

/* spawn-init.c: the sandbox side: the init and the task */
void find_heap_start(void);
void find_arg_area(void);
_noreturn_ void init_main(const SandboxSpec *s, const SandboxPrepared *p, unsigned flags, int ctl_fd,
                          int netns_fd, int dir_fd, int join_fd);
