/* SPDX-License-Identifier: MIT */
/* shim/start.c: Nomad's TaskConfig → sandboxd's StartRequest (see start.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "start.h"
#include "util.h"

static char *strdup_join(const char *a, const char *b) {
        return xasprintf("%s/%s", a, b);
}

/* Nomad's MHz shares → cgroup v2 cpu.weight, the conversion runc and Nomad's executor use */
static uint64_t shares_to_weight(int64_t shares) {
        if (shares <= 0)
                return 0;
        if (shares < 2)
                shares = 2;
        if (shares > 262144)
                shares = 262144;
        return 1 + ((uint64_t) (shares - 2) * 9999) / 262142;
}

void start_build_free(StartBuild *b) {
        task_options_free(&b->opts);
        if (b->env)
                for (size_t i = 0; i < b->sr.n_env; i++)
                        free(b->env[i]);
        for (size_t i = 0; b->unveil && i < b->sr.n_unveil; i++)
                free(b->unveil[i]);
        for (size_t i = 0; b->mount_targets && i < b->sr.n_mounts; i++)
                free(b->mount_targets[i]);
        free(b->mount_targets);
        free(b->argv);
        free(b->env);
        free(b->unveil);
        free(b->mounts);
        free(b->mount_ptrs);
        free(b->cwd);
        free(b->task_dir);
        free(b->secrets_dir);
        free(b->alloc_dir);
        free(b->resolv);
}

/* command + args → argv */
static void build_argv(StartBuild *b) {
        const TaskOptions *o = &b->opts;
        size_t na = 0;
        while (o->args && o->args[na])
                na++;
        b->argv = xcalloc(na + 1, sizeof(char *));
        b->argv[0] = o->command;
        for (size_t i = 0; i < na; i++)
                b->argv[1 + i] = o->args[i];
        b->sr.n_argv = na + 1;
        b->sr.argv = b->argv;
}

/* Nomad's env and device env as KEY=VALUE; an empty key cannot be a variable */
static void build_env(const DRV_T(TaskConfig) *t, StartBuild *b) {
        Sandboxd__V1__StartRequest *sr = &b->sr;
        b->env = xcalloc(t->n_env + t->n_device_env + 1, sizeof(char *));
        for (size_t i = 0; i < t->n_env; i++)
                if (t->env[i]->key && t->env[i]->key[0])
                        b->env[sr->n_env++] = xasprintf("%s=%s", t->env[i]->key, t->env[i]->value ?: "");
        for (size_t i = 0; i < t->n_device_env; i++)
                if (t->device_env[i]->key && t->device_env[i]->key[0])
                        b->env[sr->n_env++] = xasprintf("%s=%s", t->device_env[i]->key, t->device_env[i]->value ?: "");
        sr->env = b->env;
}

/* The task, secrets and shared alloc directories, from alloc_dir and the task's name; the task
 * starts in its directory unless work_dir says otherwise (exec sessions start there too:
 * sandboxd keeps the request) */
static void build_dirs(const DRV_T(TaskConfig) *t, StartBuild *b) {
        Sandboxd__V1__StartRequest *sr = &b->sr;
        if (t->alloc_dir && t->alloc_dir[0] && t->name && t->name[0]) {
                b->task_dir = strdup_join(t->alloc_dir, t->name);
                b->secrets_dir = xasprintf("%s/%s/secrets", t->alloc_dir, t->name);
                b->alloc_dir = strdup_join(t->alloc_dir, "alloc");
                sr->task_dir = b->task_dir;
                sr->secrets_dir = b->secrets_dir;
                sr->alloc_dir = b->alloc_dir;
                b->cwd = xstrdup(b->task_dir);
                sr->cwd = b->cwd;
        }
        if (b->opts.work_dir) {
                free(b->cwd);
                b->cwd = xstrdup(b->opts.work_dir);
                sr->cwd = b->cwd;
        }
}

/* The plugin's unveil paths (a bare path means r:), then the task's, if the plugin allows them */
static int build_unveil(const PluginConfig *cfg, StartBuild *b, SbxError *err) {
        const TaskOptions *o = &b->opts;
        size_t nu = 0, nt = 0, np = 0;
        while (o->unveil && o->unveil[nt])
                nt++;
        while (cfg->unveil_paths && cfg->unveil_paths[np])
                np++;
        if (nt > 0 && !cfg->unveil_by_task)
                return sbx_error(err, EPERM, "unveil: this node's plugin config sets unveil_by_task = false");
        b->unveil = xcalloc(nt + np + 1, sizeof(char *));
        for (size_t i = 0; i < np; i++) {
                const char *p = cfg->unveil_paths[i];
                b->unveil[nu++] = p[0] == '/' ? xasprintf("r:%s", p) : xstrdup(p);
        }
        for (size_t i = 0; i < nt; i++)
                b->unveil[nu++] = xstrdup(o->unveil[i]);
        b->sr.n_unveil = nu;
        b->sr.unveil = b->unveil;
        b->sr.no_unveil_defaults = !cfg->unveil_defaults;
        return 0;
}

/* host (no spec, as exec2 and pledge), or the group's namespace by its path */
static int build_network(const DRV_T(TaskConfig) *t, StartBuild *b, SbxError *err) {
        const DRV_T(NetworkIsolationSpec) *ns = t->network_isolation_spec;
        if (!ns || ns->mode == DRV_K(NETWORK_ISOLATION_SPEC__NETWORK_ISOLATION_MODE__HOST)) {
                b->sr.net = (char *) "host";
                return 0;
        }
        if (ns->mode != DRV_K(NETWORK_ISOLATION_SPEC__NETWORK_ISOLATION_MODE__GROUP) &&
            ns->mode != DRV_K(NETWORK_ISOLATION_SPEC__NETWORK_ISOLATION_MODE__NONE))
                return sbx_error(err, EINVAL, "network: mode 'driver' (a network created by the driver) is not supported");
        if (!ns->path || ns->path[0] != '/')
                return sbx_error(err, EINVAL, "network_isolation_spec.path: a group network needs its namespace path");
        b->sr.net = ns->path;
        return 0;
}

/* the task options that pass through as they are, and Nomad's log FIFOs */
static void build_options(const DRV_T(TaskConfig) *t, StartBuild *b) {
        Sandboxd__V1__StartRequest *sr = &b->sr;
        const TaskOptions *o = &b->opts;
        sr->user = t->user ?: (char *) "";
        sr->has_promises = o->has_promises;
        sr->promises = o->promises ?: (char *) "";
        sr->hostname = o->hostname ?: (char *) "";
        sr->importance = o->importance ?: (char *) "";
        sr->has_oom_score_adj = o->has_oom_score_adj;
        sr->oom_score_adj = o->oom_score_adj;
        sr->tcp_bind = o->tcp_bind ?: (char *) "";
        sr->tcp_connect = o->tcp_connect ?: (char *) "";
        sr->stdout_path = t->stdout_path ?: (char *) "";
        sr->stderr_path = t->stderr_path ?: (char *) "";
        sr->no_private_tmp = !o->private_tmp;
}

/* memory (hard, or soft + hard when oversubscribed), cpu weight, cpuset, quota */
static void build_resources(const DRV_T(TaskConfig) *t, StartBuild *b) {
        if (!t->resources)
                return;
        const DRV_T(AllocatedTaskResources) *ar = t->resources->allocated_resources;
        const DRV_T(LinuxResources) *lr = t->resources->linux_resources;
        if (ar && ar->memory) {
                int64_t mb = ar->memory->memory_mb, max = ar->memory->memory_max_mb;
                if (max > 0) { /* oversubscription: soft = memory, hard = memory_max */
                        b->res.memory_max_bytes = (uint64_t) max << 20;
                        if (mb > 0)
                                b->res.memory_low_bytes = (uint64_t) mb << 20;
                } else if (max == 0 && mb > 0)
                        b->res.memory_max_bytes = (uint64_t) mb << 20;
                /* max == -1: no hard limit */
        }
        if (ar && ar->cpu)
                b->res.cpu_weight = shares_to_weight(ar->cpu->cpu_shares);
        if (lr) {
                if (lr->cpuset_cpus && lr->cpuset_cpus[0])
                        b->res.allowed_cpus = lr->cpuset_cpus;
                if (lr->cpuset_cgroup && lr->cpuset_cgroup[0])
                        b->res.cgroup_path = lr->cpuset_cgroup;
                if (lr->cpu_quota > 0 && lr->cpu_period > 0) {
                        b->res.cpu_quota_us = (uint64_t) lr->cpu_quota;
                        b->res.cpu_period_us = (uint64_t) lr->cpu_period;
                }
        }
        b->sr.resources = &b->res;
}

/* Nomad's names, for sandboxctl and the denials sandboxd explains */
static void build_meta(const DRV_T(TaskConfig) *t, StartBuild *b) {
        b->meta.alloc_id = t->alloc_id ?: (char *) "";
        b->meta.task_name = t->name ?: (char *) "";
        b->meta.job_id = t->job_id ?: (char *) "";
        b->meta.namespace_ = t->namespace_ ?: (char *) "";
        b->meta.task_group = t->task_group_name ?: (char *) "";
        b->sr.nomad = &b->meta;
}

/* volume mounts; a relative task path is relative to the task directory, as for exec */
static int build_mounts(const DRV_T(TaskConfig) *t, StartBuild *b, SbxError *err) {
        Sandboxd__V1__StartRequest *sr = &b->sr;
        if (t->n_mounts == 0)
                return 0;
        b->mounts = xcalloc(t->n_mounts, sizeof *b->mounts);
        b->mount_ptrs = xcalloc(t->n_mounts, sizeof *b->mount_ptrs);
        b->mount_targets = xcalloc(t->n_mounts, sizeof(char *));
        for (size_t i = 0; i < t->n_mounts; i++) {
                const DRV_T(Mount) *m = t->mounts[i];
                sandboxd__v1__mount__init(&b->mounts[i]);
                if (!m->host_path || m->host_path[0] != '/')
                        return sbx_error(err, EINVAL, "mounts[%zu].host_path: must be an absolute path", i);
                if (!m->task_path || !m->task_path[0])
                        return sbx_error(err, EINVAL, "mounts[%zu].task_path: empty", i);
                if (m->task_path[0] == '/')
                        b->mount_targets[i] = xstrdup(m->task_path);
                else if (b->task_dir)
                        b->mount_targets[i] = strdup_join(b->task_dir, m->task_path);
                else
                        return sbx_error(err, EINVAL, "mounts[%zu].task_path: '%s' is relative and the task has no directory",
                                         i, m->task_path);
                b->mounts[i].source = m->host_path;
                b->mounts[i].target = b->mount_targets[i];
                b->mounts[i].readonly = m->readonly;
                b->mount_ptrs[i] = &b->mounts[i];
                sr->n_mounts++;
        }
        sr->mounts = b->mount_ptrs;
        return 0;
}

/* the group's dns block → the task's resolv.conf */
static void build_resolv(const DRV_T(TaskConfig) *t, StartBuild *b) {
        const DRV_T(DNSConfig) *dns = t->dns;
        if (!dns || !(dns->n_servers || dns->n_searches || dns->n_options))
                return;
        size_t cap = 64;
        for (size_t i = 0; i < dns->n_servers; i++)
                cap += strlen(dns->servers[i]) + 16;
        for (size_t i = 0; i < dns->n_searches; i++)
                cap += strlen(dns->searches[i]) + 2;
        for (size_t i = 0; i < dns->n_options; i++)
                cap += strlen(dns->options[i]) + 2;
        char *r = b->resolv = xcalloc(1, cap);
        for (size_t i = 0; i < dns->n_servers; i++)
                r += sprintf(r, "nameserver %s\n", dns->servers[i]);
        if (dns->n_searches) {
                r += sprintf(r, "search");
                for (size_t i = 0; i < dns->n_searches; i++)
                        r += sprintf(r, " %s", dns->searches[i]);
                r += sprintf(r, "\n");
        }
        if (dns->n_options) {
                r += sprintf(r, "options");
                for (size_t i = 0; i < dns->n_options; i++)
                        r += sprintf(r, " %s", dns->options[i]);
                r += sprintf(r, "\n");
        }
        b->sr.resolv_conf = b->resolv;
}

int start_build(const DRV_T(TaskConfig) *t, const PluginConfig *cfg, StartBuild *b, SbxError *err) {
        int k;

        sandboxd__v1__start_request__init(&b->sr);
        sandboxd__v1__resources__init(&b->res);
        sandboxd__v1__nomad_meta__init(&b->meta);
        if (!t->id || !t->id[0])
                return sbx_error(err, EINVAL, "id: the task config has no id");
        if ((k = task_options_decode(t->msgpack_driver_config.data, t->msgpack_driver_config.len, &b->opts, err)) < 0)
                return k;
        b->sr.name = t->id;
        build_argv(b);
        build_env(t, b);
        build_dirs(t, b);
        build_options(t, b);
        if ((k = build_unveil(cfg, b, err)) < 0 || (k = build_network(t, b, err)) < 0)
                return k;
        build_resources(t, b);
        build_meta(t, b);
        if ((k = build_mounts(t, b, err)) < 0)
                return k;
        build_resolv(t, b);
        return 0;
}
