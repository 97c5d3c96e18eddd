/* SPDX-License-Identifier: MIT */
/* daemon/sandboxctl/sandboxctl.h: what sandboxctl's verbs share across files. `learn`
 * (sandboxctl-learn.c) runs the sandbox of `run` with hooks of its own. */
#pragma once

#include <stdbool.h>

#include "macro.h"
#include "spawn.h"

#define EXIT_USAGE 2

_printf_(1, 2) void error_line(const char *fmt, ...);

typedef struct LearnRun LearnRun;

/* `sandboxctl run` (learn NULL), or one run of `sandboxctl learn`: parses the run options, builds
 * and runs the sandbox, waits. Returns the exit code run would exit with; *ret_result (may be
 * NULL) says how the command ended when it ran. */
int run_sandbox(int argc, char **argv, LearnRun *learn, SandboxResult *ret_result);

/* sandboxctl learn [OPTIONS] -- COMMAND [ARG]... */
int verb_learn(int argc, char **argv);

/* The hooks run_sandbox calls for learn (sandboxctl-learn.c). */
int learn_check_spec(LearnRun *l, SandboxSpec *s);        /* after parsing: refuse, fill in */
void learn_prepared(LearnRun *l, SandboxSpec *s, const SandboxPrepared *p); /* what the program is */
void learn_note(LearnRun *l, const InitNote *n);          /* every note of the init */
unsigned learn_timeout_ms(const LearnRun *l);             /* 0: until the command exits */
bool learn_relay_output(const LearnRun *l);               /* its output to our stderr, through a pipe */
