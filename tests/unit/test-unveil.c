/* SPDX-License-Identifier: MIT */
/* Unit tests: unveil entries, port lists, spec validation, ELF header inspection. No root. */
#include <elf.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfinfo.h"
#include "landlock.h"
#include "spec.h"
#include "tap.h"
#include "unveil.h"
#include "util.h"

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

        /* Whether a rule lies beneath /tmp or /proc (resolved in the task's view) is decided on
         * the path as written: it is simplified first. */
        static const struct {
                const char *in, *out;
        } simple[] = {
                { "r://tmp//x/", "/tmp/x" }, { "r:/proc/./self", "/proc/self" }, { "r:/", "/" },
                { "r:/./", "/" },            { "r:/a/../b", "/a/../b" },          { "r:/a/.b/", "/a/.b" },
        };
        for (size_t i = 0; i < ELEMENTSOF(simple); i++) {
                int r = unveil_entry_parse(simple[i].in, &path, &perms, &err);
                tap_ok(r == 0 && streq(path, simple[i].out), "%s is simplified to %s (got %s)", simple[i].in,
                       simple[i].out, r == 0 ? path : err.msg);
                if (r == 0)
                        free(path);
        }

        UnveilList l = {};
        for (int i = 0; i < UNVEIL_MAX_RULES; i++)
                (void) unveil_list_add(&l, "/x", UNVEIL_R, UNVEIL_ORIGIN_USER, NULL);
        TAP_EQ_INT(unveil_list_add_entry(&l, "r:/y", &err), -E2BIG, "rule count is bounded");
        /* The sandbox's own rules come on top of the job's maximum. */
        unveil_list_add_defaults(&l);
        tap_ok(l.n > UNVEIL_MAX_RULES && l.rules[l.n - 1].optional && l.rules[l.n - 1].origin == UNVEIL_ORIGIN_DEFAULT,
               "the default set is added after %d user rules, each optional", UNVEIL_MAX_RULES);
        unveil_list_done(&l);

        for (int o = 0; o < _UNVEIL_ORIGIN_MAX; o++)
                tap_ok((int) unveil_origin_from_string(unveil_origin_to_string(o)) == o, "origin %s round-trips",
                       unveil_origin_to_string(o));
        TAP_EQ_INT(unveil_origin_from_string("root"), _UNVEIL_ORIGIN_INVALID, "an unknown origin is refused");
        tap_ok(unveil_defaults_cover("/usr/lib/x86_64-linux-gnu/libc.so.6", UNVEIL_R | UNVEIL_X),
               "the default set covers rx on a library");
        tap_ok(!unveil_defaults_cover("/etc/passwd", UNVEIL_R), "... not r on /etc/passwd");
        tap_ok(!unveil_defaults_cover("/usr/share/zoneinfo", UNVEIL_R | UNVEIL_X), "... not x on zoneinfo");
}

/* Resolution once, as root sees the host: where a rule leads, and pins an exec must find again. */
static void test_resolve(void) {
        char dir[] = "/tmp/test-unveil.XXXXXX", p[256], q[256];
        SbxError err = {};
        if (!mkdtemp(dir)) {
                tap_ok(0, "mkdtemp: %s", strerror(errno));
                return;
        }
        snprintf(p, sizeof(p), "%s/real", dir);
        snprintf(q, sizeof(q), "%s/link", dir);
        tap_ok(mkdir(p, 0755) == 0 && symlink("real", q) == 0, "a directory and a symlink to it");

        UnveilList l = {};
        UnveilRule *r = unveil_list_append(&l, q, UNVEIL_R, UNVEIL_ORIGIN_USER);
        TAP_EQ_INT(unveil_rule_resolve(r, &err), 0, "a rule through a symlink resolves");
        TAP_EQ_STR(r->resolved, p, "... to where the symlink leads");
        tap_ok(r->fd >= 0 && r->dev && r->ino, "... with an fd, a device and an inode");

        /* pinned: the same object is found again, without following symlinks */
        UnveilRule *pin = unveil_list_append_copy(&l, r);
        pin->pinned = true;
        TAP_EQ_INT(unveil_rule_resolve(pin, &err), 0, "a pinned rule finds its object again");
        char moved[300];
        snprintf(moved, sizeof(moved), "%s/moved", dir);
        tap_ok(rename(p, moved) == 0 && mkdir(p, 0755) == 0, "the directory is swapped for another");
        TAP_EQ_INT(unveil_rule_resolve(pin, &err), -ESTALE, "the pinned rule refuses the new one");
        tap_ok(strstr(err.msg, "not the object it was") != NULL, "... saying so: %s", err.msg);
        tap_ok(rmdir(p) == 0 && symlink(moved, p) == 0, "the path becomes a symlink to the old one");
        TAP_EQ_INT(unveil_rule_resolve(pin, &err), -ESTALE, "the pinned rule refuses a path through a symlink");
        tap_ok(strstr(err.msg, "symbolic link") != NULL, "... saying so: %s", err.msg);

        UnveilRule *gone = unveil_list_append(&l, "/nonexistent-test-unveil", UNVEIL_R, UNVEIL_ORIGIN_DEFAULT);
        gone->optional = true;
        TAP_EQ_INT(unveil_rule_resolve(gone, &err), 0, "a missing optional rule is no error");
        tap_ok(gone->absent && gone->fd < 0, "... it is absent");
        UnveilRule *must = unveil_list_append(&l, "/nonexistent-test-unveil", UNVEIL_R, UNVEIL_ORIGIN_USER);
        TAP_EQ_INT(unveil_rule_resolve(must, &err), -ENOENT, "a missing user rule is an error");
        TAP_EQ_STR(err.msg, "landlock: /nonexistent-test-unveil: No such file or directory", "... naming it");
        unveil_list_done(&l);
        (void) unlink(p);
        (void) rmdir(moved);
        (void) unlink(q);
        (void) rmdir(dir);
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
        test_resolve();
        test_ports();
        test_spec();
        return tap_done();
}
