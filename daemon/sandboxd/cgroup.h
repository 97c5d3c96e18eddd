/* SPDX-License-Identifier: MIT */
/* daemon/sandboxd/cgroup.h: one cgroup per task, with its limits, stats, OOM report and kill.
 *
 * Backends (docs/cgroups.md):
 *   systemd      a transient scope "sandbox-<id>.scope" per task through sd-bus
 *                StartTransientUnit (cgroup v2 hosts with systemd as PID 1);
 *   cgroupfs-v2  directories under /sys/fs/cgroup/<parent>, tasks placed with CLONE_INTO_CGROUP;
 *   cgroupfs-v1  one directory per controller hierarchy (memory, cpu, cpuacct, pids, cpuset),
 *                the held sandbox init written to each cgroup.procs.
 * A cgroup Nomad created for the task (Resources.cgroup_path) is used instead of a new one (v1:
 * only Nomad's cpuset cgroup, for the cpuset hierarchy). */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "error.h"

/* 0 / "" = not asked. */
typedef struct CgroupLimits {
        uint64_t memory_max;
        uint64_t memory_low;
        uint64_t cpu_weight;    /* 1..10000 (v2 cpu.weight) */
        uint64_t cpu_quota_us;  /* per cpu_period_us */
        uint64_t cpu_period_us; /* 0 = 100000 */
        char allowed_cpus[256];
        uint64_t tasks_max;
} CgroupLimits;

typedef struct CgroupStats {
        uint64_t cpu_usage_us, cpu_user_us, cpu_system_us, nr_throttled, throttled_us;
        uint64_t memory_current, memory_rss, memory_cache, memory_swap, memory_peak;
        uint64_t pids_current;
        unsigned measured; /* CGROUP_MEASURED_* bits: what this backend really read */
} CgroupStats;

enum {
        CGROUP_MEASURED_CPU = 1 << 0,     /* usage, user, system */
        CGROUP_MEASURED_THROTTLE = 1 << 1,
        CGROUP_MEASURED_MEMORY = 1 << 2,  /* current, rss, cache */
        CGROUP_MEASURED_SWAP = 1 << 3,
        CGROUP_MEASURED_PEAK = 1 << 4,
        CGROUP_MEASURED_PIDS = 1 << 5,
};

/* The backend asked for (the policy's cgroup_backend). */
typedef enum CgroupBackend {
        CGROUP_BACKEND_AUTO,     /* systemd where it is PID 1 on cgroup v2, cgroupfs otherwise */
        CGROUP_BACKEND_SYSTEMD,
        CGROUP_BACKEND_CGROUPFS, /* v2 or v1, as the host has it */
        _CGROUP_BACKEND_MAX,
        _CGROUP_BACKEND_INVALID = -EINVAL,
} CgroupBackend;

/* "auto", "systemd", "cgroupfs"; NULL / _CGROUP_BACKEND_INVALID for anything else. */
const char *cgroup_backend_to_string(CgroupBackend b);
CgroupBackend cgroup_backend_from_string(const char *s);

typedef struct CgroupManagerConfig {
        CgroupBackend backend;
        const char *parent; /* NULL = "sandbox.slice" (systemd) or "sandboxd" (cgroupfs) */
        sd_event *event;
} CgroupManagerConfig;

typedef struct CgroupManager CgroupManager;
typedef struct Cgroup Cgroup;

int cgroup_manager_new(const CgroupManagerConfig *c, CgroupManager **ret, SbxError *err);
CgroupManager *cgroup_manager_free(CgroupManager *m);
const char *cgroup_manager_backend(CgroupManager *m);
/* Names of the limits this host enforces: "memory_max", "memory_low", "cpu_weight",
 * "cpu_quota", "allowed_cpus", "tasks_max". */
size_t cgroup_manager_enforced(CgroupManager *m, const char **out, size_t n);

/* name: the task id (one path component). path: a cgroup Nomad made ("" = our own), relative to
 * /sys/fs/cgroup or absolute. Applies every limit asked for; an error names the limit or file and
 * the reason, and removes what was made. */
int cgroup_create(CgroupManager *m, const char *name, const char *path, const CgroupLimits *l, Cgroup **ret,
                  SbxError *err);
/* A cgroup v2 directory fd for CLONE_INTO_CGROUP (owned by the Cgroup), or -1: then attach. */
int cgroup_clone_fd(Cgroup *c);
/* Moves pid into the cgroup; done() is called exactly once (maybe before this returns). */
int cgroup_attach(Cgroup *c, pid_t pid, void (*done)(Cgroup *c, int error, const char *msg, void *u), void *u,
                  SbxError *err);
int cgroup_kill(Cgroup *c);
int cgroup_stats(Cgroup *c, CgroupStats *ret);
/* Nomad's names of the measured figures ("RSS", "Cache", ...). */
size_t cgroup_stats_measured(const CgroupStats *s, const char **out, size_t n);
bool cgroup_oom_killed(Cgroup *c);
/* Kills what is left and removes the cgroup (not one Nomad made). */
int cgroup_destroy(Cgroup *c);
Cgroup *cgroup_free(Cgroup *c);
/* The cgroup cgroup_create() makes for task `name` when Nomad gave none, found by its name
 * alone: what a start left behind when the daemon died before a record named the cgroup. Kills
 * what is in it and removes it; 0 also when there is none. */
int cgroup_remove_orphan(CgroupManager *m, const char *name);
/* Re-opens a cgroup from cgroup_id() after a daemon restart. Ids: "systemd:<unit>",
 * "cgroupfs-v2:<dir>", "cgroupfs-v2-nomad:<dir>", "cgroupfs-v1:<parent>/<name>[ cpuset=<dir>]". */
int cgroup_open(CgroupManager *m, const char *id, Cgroup **ret, SbxError *err);
const char *cgroup_id(Cgroup *c);

/* Shared by the backends (cgroup.c). */
int cgroup_v2_apply_limits(int dir_fd, const CgroupLimits *l, unsigned available, SbxError *err);
int cgroup_v2_stats(int dir_fd, CgroupStats *ret);
int cgroup_v2_kill(int dir_fd);
bool cgroup_v2_oom_killed(int dir_fd);
unsigned cgroup_v2_available(const char *dir); /* CGROUP_CTRL_* in dir's cgroup.controllers */

enum {
        CGROUP_CTRL_MEMORY = 1 << 0,
        CGROUP_CTRL_CPU = 1 << 1,
        CGROUP_CTRL_CPUACCT = 1 << 2,
        CGROUP_CTRL_PIDS = 1 << 3,
        CGROUP_CTRL_CPUSET = 1 << 4,
};
