/* SPDX-License-Identifier: MIT */
/* shim/options.h: the plugin and task configurations Nomad sends as cty msgpack objects.
 * Pure decoding (no I/O), fuzzed by tests/fuzz. Every error names the option and the reason.
 * Needs neither gRPC nor the shim's state (shim.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The plugin block's config (one per agent) */
typedef struct PluginConfig {
        char *socket;           /* sandboxd's socket */
        bool unveil_defaults;   /* the daemon's default unveil set (on) */
        bool unveil_by_task;    /* tasks may add unveil paths (on) */
        char **unveil_paths;    /* added to every task */
        char *pledge_executable; /* accepted for pledge compatibility; unused */
} PluginConfig;

typedef struct TaskOptions {
        char *command;
        char **args; /* NULL-terminated */
        bool has_promises;
        char *promises;
        char **unveil; /* NULL-terminated */
        char *importance;
        bool has_oom_score_adj;
        int oom_score_adj;
        char *tcp_bind;
        char *tcp_connect;
        bool private_tmp;
        char *hostname;
        char *work_dir; /* NULL: the task directory */
} TaskOptions;

/* An empty buffer means "no config": all defaults (the plugin block had no config). */
int plugin_config_decode(const uint8_t *buf, size_t len, PluginConfig *ret, SbxError *err);
void plugin_config_free(PluginConfig *c);

int task_options_decode(const uint8_t *buf, size_t len, TaskOptions *ret, SbxError *err);
void task_options_free(TaskOptions *o);
