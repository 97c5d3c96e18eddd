/* SPDX-License-Identifier: MIT */
/* daemon/sandboxd/cgroup-internal.h: what cgroup.c and cgroup-systemd.c share. */
#pragma once

#include <systemd/sd-bus.h>

#include "cgroup.h"

typedef enum CgroupKind { CG_SYSTEMD, CG_V2, CG_V1 } CgroupKind;

enum { V1_MEMORY, V1_CPU, V1_CPUACCT, V1_PIDS, V1_CPUSET, V1_MAX };

enum {
        CGROUP_LIMIT_MEMORY_MAX = 1 << 0,
        CGROUP_LIMIT_MEMORY_LOW = 1 << 1,
        CGROUP_LIMIT_CPU_WEIGHT = 1 << 2,
        CGROUP_LIMIT_CPU_QUOTA = 1 << 3,
        CGROUP_LIMIT_ALLOWED_CPUS = 1 << 4,
        CGROUP_LIMIT_TASKS_MAX = 1 << 5,
};

struct CgroupManager {
        CgroupKind kind;
        char *parent;            /* systemd: the slice; v2: absolute directory; v1: relative path */
        unsigned available;      /* CGROUP_CTRL_* (v1: bit i = hierarchy i mounted, same values) */
        unsigned enforced;       /* CGROUP_LIMIT_*: the limits whose files exist here */
        char *v1_mnt[V1_MAX];
        sd_event *event;
        sd_bus *bus;             /* systemd */
        sd_bus_slot *job_slot;
        Cgroup *attaching;       /* systemd: cgroups waiting for their job */
};

struct Cgroup {
        CgroupManager *m;
        char *id;
        char *path;     /* v2 directory (absolute) */
        char *rel;      /* v1: path below each hierarchy's mount */
        bool foreign;   /* Nomad made it: never removed by us */
        char *v1_cpuset; /* v1: Nomad's cpuset cgroup (absolute), used instead of ours; NULL = ours */
        int dir_fd;     /* v2 */
        int v1_fd[V1_MAX];
        CgroupLimits limits;
        /* systemd */
        char *unit;
        char *job;
        void (*done)(Cgroup *c, int error, const char *msg, void *u);
        void *done_userdata;
        Cgroup *next_attaching;
};

static inline void cgroup_freep(Cgroup **c) {
        *c = cgroup_free(*c);
}
static inline void cgroup_manager_freep(CgroupManager **m) {
        *m = cgroup_manager_free(*m);
}

int cg_write(int dir_fd, const char *file, const char *value);
int cg_read(int dir_fd, const char *file, char *buf, size_t size);
int cg_read_u64(int dir_fd, const char *file, uint64_t *ret);
int cg_read_key(int dir_fd, const char *file, const char *key, uint64_t *ret);
int cg_wait_empty(int dir_fd);

/* cgroup-systemd.c */
int cgroup_systemd_init(CgroupManager *m, SbxError *err);
void cgroup_systemd_done(CgroupManager *m);
int cgroup_systemd_create(Cgroup *c, const char *name, SbxError *err);
int cgroup_systemd_attach(Cgroup *c, pid_t pid, void (*done)(Cgroup *c, int error, const char *msg, void *u), void *u,
                          SbxError *err);
int cgroup_systemd_kill(Cgroup *c);
int cgroup_systemd_stop(Cgroup *c);
int cgroup_systemd_open(Cgroup *c, const char *spec, SbxError *err);
int cgroup_systemd_remove_orphan(CgroupManager *m, const char *name);
void cgroup_systemd_free(Cgroup *c);
