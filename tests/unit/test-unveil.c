/* SPDX-License-Identifier: MIT */
/* Unit tests: unveil entries, port lists, spec validation, ELF header inspection. No root. */
#include <elf.h>
#include <sys/resource.h>

#include "elfinfo.h"
#include "landlock.h"
#include "spec.h"
#include "tap.h"
#include "unveil.h"

static void test_entries(void) {
        char *path = NULL;
        unsigned perms = 0;
        SbxError err = {};
        char buf[5];

        TAP_EQ_INT(unveil_entry_parse("rwc:/tmp/x", &path, &perms, &err), 0, "rwc:/tmp/x parses");
        TAP_EQ_STR(path, "/tmp/x", "path after the first colon");
        TAP_EQ_STR(unveil_perms_format(perms, buf), "rwc", "letters round-trip");
        free(path);

        TAP_EQ_INT(unveil_entry_parse("r:/a:b", &path, &perms, &err), 0, "path with a colon");
        TAP_EQ_STR(path, "/a:b", "split at the first colon (as pledge.com)");
        free(path);

        TAP_EQ_INT(unveil_entry_parse("/etc/mime.types", &path, &perms, &err), 0, "bare absolute path");
        TAP_EQ_INT(perms, UNVEIL_R, "bare path means r");
        free(path);

        TAP_EQ_INT(unveil_entry_parse("rx:relative", &path, &perms, &err), -EINVAL, "relative path refused");
        tap_ok(strstr(err.msg, "must be absolute") != NULL, "message says why: %s", err.msg);
        TAP_EQ_INT(unveil_entry_parse("rz:/x", &path, &perms, &err), -EINVAL, "unknown letter refused");
        tap_ok(strstr(err.msg, "'z'") != NULL, "message names the letter: %s", err.msg);
        TAP_EQ_INT(unveil_entry_parse("nocolon", &path, &perms, &err), -EINVAL, "no colon, not absolute");
        TAP_EQ_INT(unveil_entry_parse(":/x", &path, &perms, &err), 0, "empty letters allowed");
        TAP_EQ_INT(perms, 0, "empty letters = no rights");
        free(path);

        UnveilList l = {};
        for (int i = 0; i < UNVEIL_MAX_RULES; i++)
                (void) unveil_list_add(&l, "/x", UNVEIL_R, UNVEIL_ORIGIN_USER, NULL);
        TAP_EQ_INT(unveil_list_add_entry(&l, "r:/y", &err), -E2BIG, "rule count is bounded");
        unveil_list_done(&l);
}

static void test_ports(void) {
        PortList p;
        SbxError err = {};

        TAP_EQ_INT(port_list_parse("80,443,8000-8002", &p, &err), 0, "ports and a range");
        TAP_EQ_INT(p.n, 5, "five ports");
        TAP_EQ_INT(p.ports[4], 8002, "range end included");
        TAP_EQ_INT(port_list_parse("none", &p, &err), 0, "none");
        tap_ok(p.set && p.n == 0, "none = handled, nothing allowed");
        TAP_EQ_INT(port_list_parse("70000", &p, &err), -EINVAL, "port > 65535 refused");
        TAP_EQ_INT(port_list_parse("9-3", &p, &err), -EINVAL, "reversed range refused");
        TAP_EQ_INT(port_list_parse("1-1000", &p, &err), -E2BIG, "too many ports refused");
        TAP_EQ_INT(port_list_parse("80,", &p, &err), -EINVAL, "trailing comma refused");
}

static void test_spec(void) {
        SandboxSpec s;
        SbxError err = {};

        sandbox_spec_init(&s);
        TAP_EQ_INT(spec_add_rlimit(&s, "NOFILE=64:128", &err), 0, "NOFILE=64:128");
        TAP_EQ_INT(s.rlimits[0].resource, RLIMIT_NOFILE, "resource");
        TAP_EQ_INT(s.rlimits[0].limit.rlim_max, 128, "hard");
        TAP_EQ_INT(spec_add_rlimit(&s, "rlimit_as=unlimited", &err), 0, "RLIMIT_ prefix, case, unlimited");
        TAP_EQ_INT(spec_add_rlimit(&s, "NOFILE=10:5", &err), -EINVAL, "soft above hard refused");
        TAP_EQ_INT(spec_add_rlimit(&s, "BOGUS=1", &err), -EINVAL, "unknown resource refused");
        tap_ok(strstr(err.msg, "BOGUS") != NULL, "message names it: %s", err.msg);

        TAP_EQ_INT(spec_set_oom_score_adj(&s, "500", &err), 0, "oom 500");
        TAP_EQ_INT(spec_set_oom_score_adj(&s, "1001", &err), -EINVAL, "oom 1001 refused");
        TAP_EQ_INT(spec_set_oom_score_adj(&s, "5x", &err), -EINVAL, "oom garbage refused");

        TAP_EQ_INT(spec_env_set(&s, "A=1", &err), 0, "env A=1");
        TAP_EQ_INT(spec_env_set(&s, "A=2", &err), 0, "env A=2 replaces");
        TAP_EQ_INT(strv_length(s.env), 1, "one entry");
        TAP_EQ_STR(s.env[0], "A=2", "replaced value");
        TAP_EQ_INT(spec_env_set(&s, "LD_PRELOAD=/x.so", &err), -EPERM, "LD_* refused");
        tap_ok(strstr(err.msg, "LD_PRELOAD") != NULL, "message names it: %s", err.msg);
        TAP_EQ_INT(spec_env_set(&s, "=x", &err), -EINVAL, "empty key refused");

        TAP_EQ_INT(spec_set_user(&s, "nomad-80001", &err), 0, "dynamic workload user");
        tap_ok(s.uid == 80001 && s.gid == 80001 && s.n_groups == 0, "uid = gid = 80001, no groups");
        TAP_EQ_INT(spec_set_user(&s, "0", &err), 0, "uid 0");
        TAP_EQ_INT(s.uid, 0, "root");
        TAP_EQ_INT(spec_set_user(&s, "no-such-user-xyz", &err), -ESRCH, "unknown user refused");
        TAP_EQ_INT(spec_set_user(&s, "4000000", &err), 0, "uid without passwd entry");
        TAP_EQ_INT(s.gid, 4000000, "gid = uid");

        TAP_EQ_INT(spec_set_net(&s, "none", &err), 0, "net none");
        TAP_EQ_INT(spec_set_net(&s, "/run/netns/x", &err), 0, "net path");
        TAP_EQ_INT(s.net, NET_JOIN, "join mode");
        TAP_EQ_INT(spec_set_net(&s, "bridge", &err), -EINVAL, "net bridge refused");

        TAP_EQ_INT(importance_from_string("HIGHEST"), IMPORTANCE_HIGHEST, "importance case-insensitive");
        TAP_EQ_INT(importance_from_string("urgent"), _IMPORTANCE_INVALID, "unknown importance");
        TAP_EQ_INT(importance_to_nice(IMPORTANCE_NORMAL), 0, "normal = nice 0");
        TAP_EQ_INT(importance_to_nice(IMPORTANCE_LOWEST), 19, "lowest = nice 19");

        s.argv = strv_copy((char *[]) { "sh", NULL });
        TAP_EQ_INT(spec_resolve_command(&s, &err), 0, "sh found on PATH");
        tap_ok(s.exec_path && s.exec_path[0] == '/', "absolute: %s", s.exec_path);
        strv_free(s.argv);
        s.argv = strv_copy((char *[]) { "no-such-command-xyz", NULL });
        TAP_EQ_INT(spec_resolve_command(&s, &err), -ENOENT, "missing command: ENOENT (exit 127)");
        strv_free(s.argv);
        s.argv = strv_copy((char *[]) { "/etc/passwd", NULL });
        TAP_EQ_INT(spec_resolve_command(&s, &err), -EACCES, "not executable: EACCES (exit 126)");
        sandbox_spec_done(&s);
}

int main(void) {
        test_entries();
        test_ports();
        test_spec();
        return tap_done();
}
