/* SPDX-License-Identifier: MIT */
/* tests/unit/test-start.c: the shim's StartRequest builder (shim/start.c), fed TaskConfigs as
 * Nomad's client sends them: the task directory derived from alloc_dir and the task's name,
 * the plugin's and the task's unveil paths, the network mode, the resources, volume mounts, the
 * dns block; every refusal names the option. */
#include <stdlib.h>
#include <string.h>

#include "start.h"
#include "tap.h"

#define CFG(s) { .data = (uint8_t *) (s), .len = sizeof(s) - 1 }

/* cty msgpack of { command = "/bin/echo", args = ["hi"] } */
static const ProtobufCBinaryData echo_hi = CFG("\x82\xa4" "args\x91\xa2hi\xa7" "command\xa9/bin/echo");

static DRV_T(TaskConfig) task(void) {
        DRV_T(TaskConfig) t = DRV_K(TASK_CONFIG__INIT);
        t.id = (char *) "a1b2c3/web/0f00";
        t.name = (char *) "web";
        t.alloc_id = (char *) "a1b2c3";
        t.job_id = (char *) "demo";
        t.task_group_name = (char *) "g";
        t.alloc_dir = (char *) "/var/lib/nomad/alloc/a1b2c3";
        t.stdout_path = (char *) "/var/lib/nomad/alloc/a1b2c3/alloc/logs/.web.stdout.fifo";
        t.stderr_path = (char *) "/var/lib/nomad/alloc/a1b2c3/alloc/logs/.web.stderr.fifo";
        t.msgpack_driver_config = echo_hi;
        return t;
}

static PluginConfig config(void) {
        return (PluginConfig) { .unveil_defaults = true, .unveil_by_task = true };
}

static void refused(const DRV_T(TaskConfig) *t, const PluginConfig *cfg, int code, const char *want_prefix,
                    const char *desc) {
        StartBuild b = { 0 };
        SbxError err = { 0 };
        int k = start_build(t, cfg, &b, &err);
        tap_ok(k < 0 && err.code == code && strncmp(err.msg, want_prefix, strlen(want_prefix)) == 0,
               "%s: refused (%d), '%s'", desc, err.code, err.msg);
        start_build_free(&b);
}

int main(void) {
        PluginConfig cfg = config();
        SbxError err = { 0 };

        /* the plain case: what a job with only command and args becomes */
        {
                DRV_T(TaskConfig) t = task();
                DRV_T(TaskConfig__EnvEntry) e1 = DRV_K(TASK_CONFIG__ENV_ENTRY__INIT), e2 = e1, e3 = e1;
                e1.key = (char *) "NOMAD_TASK_NAME", e1.value = (char *) "web";
                e2.key = (char *) "", e2.value = (char *) "dropped"; /* an empty key cannot be a variable */
                e3.key = (char *) "EMPTY", e3.value = NULL;
                DRV_T(TaskConfig__EnvEntry) *env[] = { &e1, &e2, &e3 };
                t.n_env = 3, t.env = env;
                StartBuild b = { 0 };
                int k = start_build(&t, &cfg, &b, &err);
                TAP_EQ_INT(k, 0, "a pledge-style job builds");
                Sandboxd__V1__StartRequest *sr = &b.sr;
                TAP_EQ_STR(sr->name, "a1b2c3/web/0f00", "name = the task id");
                tap_ok(sr->n_argv == 2 && strcmp(sr->argv[0], "/bin/echo") == 0 && strcmp(sr->argv[1], "hi") == 0,
                       "argv = command + args");
                tap_ok(sr->n_env == 2 && strcmp(sr->env[0], "NOMAD_TASK_NAME=web") == 0 && strcmp(sr->env[1], "EMPTY=") == 0,
                       "env: KEY=VALUE, an empty key dropped, a missing value empty");
                TAP_EQ_STR(sr->task_dir, "/var/lib/nomad/alloc/a1b2c3/web", "task_dir = alloc_dir/name");
                TAP_EQ_STR(sr->secrets_dir, "/var/lib/nomad/alloc/a1b2c3/web/secrets", "secrets_dir");
                TAP_EQ_STR(sr->alloc_dir, "/var/lib/nomad/alloc/a1b2c3/alloc", "alloc_dir = the shared alloc/");
                TAP_EQ_STR(sr->cwd, "/var/lib/nomad/alloc/a1b2c3/web", "the task starts in its directory");
                TAP_EQ_STR(sr->net, "host", "no network isolation spec: host, as exec2 and pledge");
                tap_ok(!sr->has_promises && sr->n_unveil == 0 && !sr->no_unveil_defaults,
                       "no promises, no unveil paths, the daemon's default set");
                TAP_EQ_STR(sr->stdout_path, t.stdout_path, "stdout is Nomad's FIFO");
                tap_ok(!sr->no_private_tmp, "a private /tmp by default");
                tap_ok(!sr->resources, "no resources in the config: none in the request");
                tap_ok(sr->nomad && strcmp(sr->nomad->alloc_id, "a1b2c3") == 0 && strcmp(sr->nomad->task_name, "web") == 0 &&
                               strcmp(sr->nomad->job_id, "demo") == 0 && strcmp(sr->nomad->task_group, "g") == 0,
                       "Nomad's names travel along");
                tap_ok(!sr->resolv_conf || !sr->resolv_conf[0], "no dns block: no resolv.conf of the task's own");
                start_build_free(&b);
        }

        /* unveil: the plugin's paths first (a bare path means r:), then the task's */
        {
                DRV_T(TaskConfig) t = task();
                static const ProtobufCBinaryData c =
                        CFG("\x82\xa7" "command\xa1x\xa6unveil\x92\xa9rw:/data1\xa8r:/data2");
                t.msgpack_driver_config = c;
                char *plugin_paths[] = { (char *) "/opt/shared", (char *) "rx:/opt/bin", NULL };
                PluginConfig pc = config();
                pc.unveil_paths = plugin_paths;
                pc.unveil_defaults = false;
                StartBuild b = { 0 };
                int k = start_build(&t, &pc, &b, &err);
                TAP_EQ_INT(k, 0, "unveil from the plugin and the task");
                tap_ok(b.sr.n_unveil == 4 && strcmp(b.sr.unveil[0], "r:/opt/shared") == 0 &&
                               strcmp(b.sr.unveil[1], "rx:/opt/bin") == 0 && strcmp(b.sr.unveil[2], "rw:/data1") == 0 &&
                               strcmp(b.sr.unveil[3], "r:/data2") == 0,
                       "unveil = plugin paths (bare = r:) then the task's");
                tap_ok(b.sr.no_unveil_defaults, "unveil_defaults = false reaches the request");
                start_build_free(&b);

                pc.unveil_by_task = false;
                refused(&t, &pc, EPERM, "unveil: this node's plugin config sets unveil_by_task = false",
                        "task unveil paths with unveil_by_task = false");
                pc.unveil_by_task = true;
        }

        /* work_dir, promises, the exec2 and pledge options */
        {
                DRV_T(TaskConfig) t = task();
                static const ProtobufCBinaryData c =
                        CFG("\x85\xa7" "command\xa1x\xa8promises\xabstdio rpath\xa8work_dir\xa4/srv"
                            "\xadoom_score_adj\xd1\xff\x38\xaaimportance\xa4high");
                t.msgpack_driver_config = c;
                StartBuild b = { 0 };
                int k = start_build(&t, &cfg, &b, &err);
                tap_ok(k == 0, "promises, work_dir, oom_score_adj, importance (%s)", k < 0 ? err.msg : "built");
                TAP_EQ_STR(b.sr.cwd, "/srv", "work_dir replaces the task directory as the start directory");
                tap_ok(b.sr.has_promises && strcmp(b.sr.promises, "stdio rpath") == 0, "promises");
                tap_ok(b.sr.has_oom_score_adj && b.sr.oom_score_adj == -200, "oom_score_adj -200");
                TAP_EQ_STR(b.sr.importance, "high", "importance");
                start_build_free(&b);
        }

        /* network modes */
        {
                DRV_T(TaskConfig) t = task();
                DRV_T(NetworkIsolationSpec) ns = DRV_K(NETWORK_ISOLATION_SPEC__INIT);
                t.network_isolation_spec = &ns;
                ns.mode = DRV_K(NETWORK_ISOLATION_SPEC__NETWORK_ISOLATION_MODE__GROUP);
                ns.path = (char *) "/var/run/netns/a1b2c3";
                StartBuild b = { 0 };
                int k = start_build(&t, &cfg, &b, &err);
                tap_ok(k == 0 && strcmp(b.sr.net, "/var/run/netns/a1b2c3") == 0, "group network: its namespace path");
                start_build_free(&b);
                ns.path = (char *) "";
                refused(&t, &cfg, EINVAL, "network_isolation_spec.path: a group network needs its namespace path",
                        "group network without a path");
                ns.mode = DRV_K(NETWORK_ISOLATION_SPEC__NETWORK_ISOLATION_MODE__TASK);
                refused(&t, &cfg, EINVAL, "network: mode 'driver'", "a network the driver would create");
        }

        /* resources: memory with and without oversubscription, shares → weight, cpuset, quota */
        {
                DRV_T(TaskConfig) t = task();
                DRV_T(Resources) r = DRV_K(RESOURCES__INIT);
                DRV_T(AllocatedTaskResources) ar = DRV_K(ALLOCATED_TASK_RESOURCES__INIT);
                DRV_T(AllocatedMemoryResources) mem = DRV_K(ALLOCATED_MEMORY_RESOURCES__INIT);
                DRV_T(AllocatedCpuResources) cpu = DRV_K(ALLOCATED_CPU_RESOURCES__INIT);
                DRV_T(LinuxResources) lr = DRV_K(LINUX_RESOURCES__INIT);
                t.resources = &r, r.allocated_resources = &ar, r.linux_resources = &lr;
                ar.memory = &mem, ar.cpu = &cpu;
                mem.memory_mb = 256;
                cpu.cpu_shares = 100;
                lr.cpuset_cpus = (char *) "0-1";
                lr.cpu_quota = 50000, lr.cpu_period = 100000;
                StartBuild b = { 0 };
                int k = start_build(&t, &cfg, &b, &err);
                TAP_EQ_INT(k, 0, "resources");
                tap_ok(b.sr.resources && b.sr.resources->memory_max_bytes == 256ull << 20 &&
                               b.sr.resources->memory_low_bytes == 0,
                       "memory = 256 MiB hard, no soft limit");
                /* runc's and Nomad's conversion: 1 + (shares - 2) * 9999 / 262142 */
                TAP_EQ_INT(b.sr.resources->cpu_weight, 1 + (100 - 2) * 9999 / 262142, "cpu shares 100 → weight 4");
                TAP_EQ_STR(b.sr.resources->allowed_cpus, "0-1", "cpuset");
                tap_ok(b.sr.resources->cpu_quota_us == 50000 && b.sr.resources->cpu_period_us == 100000, "cpu quota/period");
                start_build_free(&b);

                mem.memory_max_mb = 512;
                cpu.cpu_shares = 1 << 20; /* beyond the kernel's range: clamped */
                b = (StartBuild) { 0 };
                k = start_build(&t, &cfg, &b, &err);
                tap_ok(k == 0 && b.sr.resources->memory_max_bytes == 512ull << 20 &&
                               b.sr.resources->memory_low_bytes == 256ull << 20,
                       "memory_max (oversubscription): hard = memory_max, soft = memory");
                TAP_EQ_INT(b.sr.resources->cpu_weight, 10000, "shares above 262144 clamp to weight 10000");
                start_build_free(&b);

                mem.memory_max_mb = -1;
                b = (StartBuild) { 0 };
                k = start_build(&t, &cfg, &b, &err);
                tap_ok(k == 0 && b.sr.resources->memory_max_bytes == 0, "memory_max = -1: no hard limit");
                start_build_free(&b);
        }

        /* volume mounts: absolute or relative to the task directory */
        {
                DRV_T(TaskConfig) t = task();
                DRV_T(Mount) m1 = DRV_K(MOUNT__INIT), m2 = DRV_K(MOUNT__INIT);
                m1.host_path = (char *) "/srv/data", m1.task_path = (char *) "/data", m1.readonly = true;
                m2.host_path = (char *) "/srv/cache", m2.task_path = (char *) "local/cache";
                DRV_T(Mount) *mounts[] = { &m1, &m2 };
                t.n_mounts = 2, t.mounts = mounts;
                StartBuild b = { 0 };
                int k = start_build(&t, &cfg, &b, &err);
                tap_ok(k == 0 && b.sr.n_mounts == 2 && strcmp(b.sr.mounts[0]->target, "/data") == 0 &&
                               b.sr.mounts[0]->readonly && strcmp(b.sr.mounts[1]->source, "/srv/cache") == 0 &&
                               strcmp(b.sr.mounts[1]->target, "/var/lib/nomad/alloc/a1b2c3/web/local/cache") == 0,
                       "mounts: an absolute target kept, a relative one under the task directory");
                start_build_free(&b);

                m2.host_path = (char *) "srv/cache";
                refused(&t, &cfg, EINVAL, "mounts[1].host_path: must be an absolute path", "a relative host path");
                m2.host_path = (char *) "/srv/cache";
                m2.task_path = (char *) "";
                refused(&t, &cfg, EINVAL, "mounts[1].task_path: empty", "an empty task path");
                m2.task_path = (char *) "local/cache";
                t.alloc_dir = (char *) "";
                refused(&t, &cfg, EINVAL, "mounts[1].task_path: 'local/cache' is relative and the task has no directory",
                        "a relative task path without a task directory");
        }

        /* the group's dns block becomes the task's resolv.conf */
        {
                DRV_T(TaskConfig) t = task();
                DRV_T(DNSConfig) dns = DRV_K(DNSCONFIG__INIT);
                char *servers[] = { (char *) "10.0.0.2", (char *) "10.0.0.3" };
                char *searches[] = { (char *) "svc.local" };
                char *options[] = { (char *) "ndots:2", (char *) "timeout:1" };
                dns.n_servers = 2, dns.servers = servers;
                dns.n_searches = 1, dns.searches = searches;
                dns.n_options = 2, dns.options = options;
                t.dns = &dns;
                StartBuild b = { 0 };
                int k = start_build(&t, &cfg, &b, &err);
                tap_ok(k == 0 && b.sr.resolv_conf &&
                               strcmp(b.sr.resolv_conf, "nameserver 10.0.0.2\nnameserver 10.0.0.3\nsearch svc.local\n"
                                                        "options ndots:2 timeout:1\n") == 0,
                       "dns block → resolv.conf");
                start_build_free(&b);
        }

        /* refusals of the task config itself */
        {
                DRV_T(TaskConfig) t = task();
                t.id = (char *) "";
                refused(&t, &cfg, EINVAL, "id: the task config has no id", "no task id");
                t = task();
                static const ProtobufCBinaryData no_command = CFG("\x81\xa4" "args\x90");
                t.msgpack_driver_config = no_command;
                refused(&t, &cfg, EINVAL, "command: required", "a driver config without command");
        }
        return tap_done();
}
