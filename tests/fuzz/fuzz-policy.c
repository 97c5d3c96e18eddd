/* SPDX-License-Identifier: MIT */
/* Fuzz target: sandboxd.conf. The input is parsed as a whole configuration. A refusal must carry
 * a message that starts with the file name and leave the result untouched; an accepted
 * configuration must print (policy_format) to a text that parses to the same configuration,
 * and every check must run on it. Each word of the input is also fed to the path checks as a path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "promises.h"
#include "spec.h"
#include "unveil.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must_explain(int r, const SbxError *err) {
        if (r < 0 && (err->code == 0 || strnlen(err->msg, sizeof(err->msg)) == 0))
                abort();
        if (r > 0)
                abort();
}

static void check_driver(const PolicyDriver *d, char *const *lines) {
        static const struct {
                uid_t uid;
                bool promises;
                NetMode net;
        } shapes[] = {
                { 80001, true, NET_NONE }, /* a dynamic workload user: no passwd entry, gid = uid */
                { 0, false, NET_HOST },
                { 4242, true, NET_JOIN },
        };
        SbxError err = {};
        for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
                SandboxSpec s;
                sandbox_spec_init(&s);
                s.user = xstrdup("fuzz");
                s.uid = s.gid = shapes[i].uid;
                s.has_promises = shapes[i].promises;
                s.promises = PROMISE_BIT(PROMISE_STDIO) | PROMISE_BIT(PROMISE_EXEC);
                s.net = shapes[i].net;
                if (s.net == NET_JOIN)
                        s.netns_path = xstrdup("/run/netns/fuzz");
                s.has_importance = true;
                s.importance = (Importance) (i % _IMPORTANCE_MAX);
                s.has_oom_score_adj = true;
                s.oom_score_adj = -500 + 500 * (int) i;
                (void) spec_add_rlimit(&s, "NOFILE=1024:65536", NULL);
                (void) unveil_list_add(&s.unveil, "/etc/hosts", UNVEIL_R, UNVEIL_ORIGIN_USER, NULL);
                unveil_list_add_defaults(&s.unveil);
                for (char *const *l = lines; l && *l; l++)
                        (void) unveil_list_add(&s.unveil, *l, _UNVEIL_ALL, UNVEIL_ORIGIN_USER, NULL);
                PolicyTaskMeta meta = { .driver = policy_driver_name(d), .nomad_namespace = "default", .job_id = "fuzz" };
                must_explain(policy_check_task(d, &s, &meta, &err), &err);
                must_explain(policy_check_task(d, &s, NULL, &err), &err);
                sandbox_spec_done(&s);
        }
        const char *const limits[] = { "memory_max" };
        must_explain(policy_check_limits(d, limits, 1, &err), &err);
        must_explain(policy_check_driver_peer(d, 1000, 1000, &err), &err);
        for (char *const *l = lines; l && *l; l++)
                must_explain(policy_check_unveil(d, *l, UNVEIL_R, &err), &err);
        if (!policy_default_user(d) || !policy_driver_name(d))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Policy *p = NULL, *q = NULL;
        SbxError err = {};

        int r = policy_parse((const char *) data, size, "fuzz.conf", &p, &err);
        if (r < 0) {
                /* Every refusal says where: "fuzz.conf:LINE: ..." or "fuzz.conf: ..." */
                if (p || err.code == 0 || strncmp(err.msg, "fuzz.conf", 9) != 0)
                        abort();
                return 0;
        }
        if (r != 0 || !p)
                abort();

        char *a = policy_format(p);
        if (policy_parse(a, strlen(a), "fuzz.conf", &q, &err) < 0)
                abort();
        char *b = policy_format(q);
        if (strcmp(a, b) != 0)
                abort();
        free(a);
        free(b);
        policy_free(q);

        /* The input's words (at most 64) as paths: a valid file holds them in values and
         * comments, e.g. "# /opt/nomad/data/alloc/x/alloc/logs/f". */
        char **lines = NULL;
        size_t n = 0;
        for (size_t off = 0; off < size && n < 64;) {
                size_t len = 0;
                while (off + len < size && !memchr(" \t\r\n", data[off + len], 4))
                        len++;
                if (len > 0) {
                        strv_consume(&lines, xstrndup((const char *) data + off, len));
                        n++;
                }
                off += len + 1;
        }

        must_explain(policy_check_peer(p, 1000, 1000, &err), &err);
        for (char **l = lines; l && *l; l++) {
                must_explain(policy_check_path_beneath(p, *l, &err), &err);
                must_explain(policy_check_log_path(p, *l, NULL, &err), &err);
                must_explain(policy_check_log_path(p, *l, *l, &err), &err); /* the line as an alloc id too */
                must_explain(policy_check_nomad_dir(p, POLICY_NOMAD_SECRETS_DIR, *l, *l, *l, &err), &err);
                must_explain(policy_check_cgroup_path(p, *l, &err), &err);
                char *norm = NULL;
                if (policy_path_normalise(*l, &norm) == 0) {
                        /* Normal form is a fixed point, beneath itself, and holds no "//". */
                        char *again = NULL;
                        if (policy_path_normalise(norm, &again) != 0 || strcmp(norm, again) != 0 ||
                            !policy_path_beneath(norm, norm) || strstr(norm, "//"))
                                abort();
                        free(again);
                        free(norm);
                }
        }
        for (size_t i = 0; i < policy_n_drivers(p); i++)
                check_driver(policy_driver_by_index(p, i), lines);
        (void) policy_driver(p, "");
        strv_free(lines);
        policy_free(p);
        return 0;
}
