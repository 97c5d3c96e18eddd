/* SPDX-License-Identifier: MIT */
/* daemon/sandboxctl/sandboxctl.h: what sandboxctl's verbs share across files. `learn`
 * (sandboxctl-learn.c) runs the sandbox of `run` with hooks of its own; `start`
 * (sandboxctl-daemon.c) checks its options with the parser of `run` (sandboxctl.c). */
#pragma once

#include <stdbool.h>

#include "macro.h"
#include "sandboxd.pb-c.h"
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

/* `start` only: the values as written, for sandboxd, which checks each against its policy */
typedef struct StartArgs {
        const char *name;
        const char *task_dir, *secrets_dir, *alloc_dir, *alloc_id, *task_name;
        const char *promises, *user, *net, *hostname, *importance, *cwd, *tcp_bind, *tcp_connect, *oom_score_adj;
        char **unveil, **rlimits, **mounts;
        Sandboxd__V1__Resources res;
        bool has_res;
} StartArgs;

typedef struct RunArgs {
        SandboxSpec spec;
        bool unveil_defaults;
        char **env_extra;
        const char *stdout_path, *stderr_path;
        int private_tmp; /* -1: the command's default (run: no, start: yes) */
        bool for_daemon; /* start: the daemon opens paths, we only check the syntax */
        const char *resolv_conf;
        StartArgs start; /* filled for_daemon */
} RunArgs;

/* sandboxctl.c: help, run, main */
void help_verb(const char *verb);
int open_output(const char *path, int *ret_fd, SbxError *err);
/* The options of run, learn's runs and start in one getopt pass (start's own only for_daemon);
 * returns 0, -1 (help printed) or an exit code. */
int parse_run_args(int argc, char **argv, RunArgs *a);
void run_args_free(RunArgs *a);

/* sandboxctl-daemon.c: the daemon's commands */
extern const char *arg_socket;
extern const char *arg_driver;
extern bool arg_json;
int verb_simple(int argc, char **argv);
int verb_start(int argc, char **argv);
/* "5s", "500ms", "2m", "1h", or plain seconds, >= 0: the milliseconds (stop --timeout, learn --timeout) */
int parse_duration_ms(const char *s, double *ret);
/* start's --memory-max, --cpu-quota, ...: 1 parsed into res, 0 not a resource option, <0 bad value (said) */
int parse_resource(const char *opt, const char *v, Sandboxd__V1__Resources *res);
int verb_exec(int argc, char **argv);
