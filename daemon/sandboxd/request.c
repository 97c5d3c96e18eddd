/* SPDX-License-Identifier: MIT */
/* daemon/sandboxd/request.c: StartRequest validation. Every refusal names the field and the reason. */
#include <ctype.h>
#include <linux/oom.h>

#include "macro.h"
#include "promises.h"
#include "request.h"
#include "util.h"

int task_name_valid(const char *name) {
        size_t n = strlen(name);
        if (n == 0 || n > TASK_NAME_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (!isprint((unsigned char) name[i]))
                        return -EINVAL;
        return 0;
}

static int hostname_valid(const char *h) {
        size_t n = strlen(h);
        if (n == 0 || n > 64)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) h[i]) && h[i] != '-' && h[i] != '.')
                        return -EINVAL;
        return 0;
}

#define FAIL(field, r)                                                                             \
        do {                                                                                       \
                *ret_field = (field);                                                              \
                return (r);                                                                        \
        } while (0)

int request_to_spec(const Sandboxd__V1__StartRequest *r, const char *default_user, SandboxSpec *s,
                    const char **ret_field, SbxError *err) {
        int k;

        *ret_field = "";
        if (task_name_valid(r->name) < 0)
                FAIL("name", sbx_error(err, EINVAL, "must be 1 to %d printable characters", TASK_NAME_MAX));

        if (r->n_argv == 0 || !r->argv[0][0])
                FAIL("command", sbx_error(err, EINVAL, "must not be empty"));
        if (r->n_argv > SPEC_MAX_ARGS)
                FAIL("args", sbx_error(err, E2BIG, "at most %d arguments", SPEC_MAX_ARGS));
        s->argv = xcalloc(r->n_argv + 1, sizeof(char *));
        for (size_t i = 0; i < r->n_argv; i++)
                s->argv[i] = xstrdup(r->argv[i]);

        if (r->n_env > SPEC_MAX_ENV)
                FAIL("env", sbx_error(err, E2BIG, "at most %d variables", SPEC_MAX_ENV));
        for (size_t i = 0; i < r->n_env; i++)
                if ((k = spec_env_set(s, r->env[i], err)) < 0)
                        FAIL("env", k);
        if (r->cwd[0]) {
                if (r->cwd[0] != '/')
                        FAIL("cwd", sbx_error(err, EINVAL, "'%s': must be an absolute path", r->cwd));
                s->cwd = xstrdup(r->cwd);
        }

        if ((k = spec_set_user(s, r->user[0] ? r->user : default_user, err)) < 0)
                FAIL("user", k);

        if (r->has_promises) {
                if ((k = promises_parse(r->promises, &s->promises, err)) < 0)
                        FAIL("promises", k);
                s->has_promises = true;
        }

        for (size_t i = 0; i < r->n_unveil; i++)
                if ((k = unveil_list_add_entry(&s->unveil, r->unveil[i], err)) < 0)
                        FAIL("unveil", k);
        if (!r->no_unveil_defaults)
                unveil_list_add_defaults(&s->unveil);
        if (r->tcp_bind[0] && (k = port_list_parse(r->tcp_bind, &s->bind_tcp, err)) < 0)
                FAIL("tcp_bind", k);
        if (r->tcp_connect[0] && (k = port_list_parse(r->tcp_connect, &s->connect_tcp, err)) < 0)
                FAIL("tcp_connect", k);

        if ((k = spec_set_net(s, r->net[0] ? r->net : "none", err)) < 0)
                FAIL("net", k);
        if (r->hostname[0]) {
                if (hostname_valid(r->hostname) < 0)
                        FAIL("hostname", sbx_error(err, EINVAL, "'%s': 1 to 64 letters, digits, '-' or '.'", r->hostname));
                s->hostname = xstrdup(r->hostname);
        }
        if (r->importance[0]) {
                s->importance = importance_from_string(r->importance);
                if ((int) s->importance < 0)
                        FAIL("importance", sbx_error(err, EINVAL, "'%s': expected lowest, low, normal, high or highest",
                                                     r->importance));
                s->has_importance = true;
        }
        if (r->has_oom_score_adj) {
                if (r->oom_score_adj < OOM_SCORE_ADJ_MIN || r->oom_score_adj > OOM_SCORE_ADJ_MAX)
                        FAIL("oom_score_adj", sbx_error(err, EINVAL, "%d: expected %d to %d", r->oom_score_adj,
                                                        OOM_SCORE_ADJ_MIN, OOM_SCORE_ADJ_MAX));
                s->has_oom_score_adj = true;
                s->oom_score_adj = r->oom_score_adj;
        }
        for (size_t i = 0; i < r->n_rlimits; i++)
                if ((k = spec_add_rlimit(s, r->rlimits[i], err)) < 0)
                        FAIL("rlimits", k);

        s->private_tmp = !r->no_private_tmp;
        if (r->n_mounts > SPEC_MAX_MOUNTS)
                FAIL("mounts", sbx_error(err, E2BIG, "at most %d mounts", SPEC_MAX_MOUNTS));
        for (size_t i = 0; i < r->n_mounts; i++) {
                if (!r->mounts[i])
                        FAIL("mounts", sbx_error(err, EINVAL, "empty mount"));
                if ((k = spec_add_mount(s, r->mounts[i]->source, r->mounts[i]->target, r->mounts[i]->readonly, err)) < 0)
                        FAIL("mounts", k);
        }
        if (strlen(r->resolv_conf) > SPEC_RESOLV_CONF_MAX)
                FAIL("resolv_conf", sbx_error(err, E2BIG, "at most %d bytes", SPEC_RESOLV_CONF_MAX));
        for (const char *c = r->resolv_conf; *c; c++)
                if ((unsigned char) *c < 0x20 && *c != '\n' && *c != '\t')
                        FAIL("resolv_conf", sbx_error(err, EINVAL, "control character 0x%02x", (unsigned char) *c));

        if (r->passed_fds != 0 && r->passed_fds != 3)
                FAIL("passed_fds", sbx_error(err, EINVAL, "%u: expected 0 or 3", r->passed_fds));

        if ((k = spec_resolve_command(s, err)) < 0)
                FAIL("command", k);
        return 0;
}
