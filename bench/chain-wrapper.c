/* SPDX-License-Identifier: MIT */
/* bench/chain-wrapper.c: the last link of the pledge/exec2 launch chain in the benchmarks.
 *   chain-wrapper [--no-seccomp] [--deny-list] [--no-landlock] -- PROGRAM [ARG...]
 * exec2 runs `nsenter --net=NS unshare --ipc --pid --mount-proc --fork --kill-child=SIGKILL
 * --setuid N --setgid N <nomad> exec2-shim ...`, whose Go subcommand applies Landlock and execs
 * the task; the pledge driver runs Cosmopolitan's pledge.com, which applies Landlock (unveil) and
 * a seccomp filter compiled in-process, then execs. This program does the same work in C: a
 * Landlock ruleset with a few read-only rules, no_new_privs, a libseccomp filter (the
 * pledge-like allow list of filter.c unless told otherwise) loaded in-process, then execvp.
 * bench/run.sh also uses it with --deny-list --no-landlock as the cheapest filter a task could
 * have, for the syscall-cost rows. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filter.h"
#include "landlock-compat.h"

#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_HANDLED_ABI1                                                                            \
        (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
         LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
         LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |     \
         LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |  \
         LANDLOCK_ACCESS_FS_MAKE_SYM)

static const struct {
        const char *path;
        uint64_t access;
} rules[] = {
        { "/usr", FS_READ | LANDLOCK_ACCESS_FS_EXECUTE },
        { "/etc", FS_READ },
        { "/dev/null", LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE },
        { "/proc/self", FS_READ },
};

static int lockdown(void) {
        int abi = sbx_landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
        if (abi < 0)
                return -errno;
        /* Handle what ABI 3 knows (as go-landlock's V3 does), masked by the running ABI. */
        struct sbx_landlock_ruleset_attr attr = { .handled_access_fs = FS_HANDLED_ABI1 };
        if (abi >= 2)
                attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
        if (abi >= 3)
                attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
        int rfd = sbx_landlock_create_ruleset(&attr, sizeof(attr.handled_access_fs), 0);
        if (rfd < 0)
                return -errno;
        for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
                struct stat st;
                int fd = open(rules[i].path, O_PATH | O_CLOEXEC);
                if (fd < 0)
                        continue;
                struct sbx_landlock_path_beneath_attr pb = { .allowed_access = rules[i].access, .parent_fd = fd };
                if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
                        pb.allowed_access &= ~LANDLOCK_ACCESS_FS_READ_DIR;
                int r = sbx_landlock_add_rule(rfd, SBX_LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
                int e = errno;
                (void) close(fd);
                if (r < 0) {
                        (void) close(rfd);
                        return -e;
                }
        }
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || sbx_landlock_restrict_self(rfd, 0) < 0) {
                int e = errno;
                (void) close(rfd);
                return -e;
        }
        (void) close(rfd);
        return 0;
}

int main(int argc, char **argv) {
        BenchFilterKind kind = BENCH_FILTER_ALLOW_LIST;
        int seccomp = 1, landlock = 1, i = 1;

        for (; i < argc && argv[i][0] == '-'; i++) {
                if (strcmp(argv[i], "--") == 0) {
                        i++;
                        break;
                } else if (strcmp(argv[i], "--no-seccomp") == 0)
                        seccomp = 0;
                else if (strcmp(argv[i], "--deny-list") == 0)
                        kind = BENCH_FILTER_DENY_LIST;
                else if (strcmp(argv[i], "--no-landlock") == 0)
                        landlock = 0;
                else {
                        fprintf(stderr, "chain-wrapper: unknown option '%s'\n", argv[i]);
                        return 125;
                }
        }
        if (i >= argc) {
                fprintf(stderr, "usage: chain-wrapper [--no-seccomp] [--deny-list] [--no-landlock] -- PROGRAM [ARG...]\n");
                return 125;
        }
        int r = landlock ? lockdown() : prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
        if (r < 0) {
                fprintf(stderr, "chain-wrapper: landlock: %s\n", strerror(-r));
                return 125;
        }
        if (seccomp) {
                scmp_filter_ctx ctx;
                r = bench_filter_new(kind, &ctx);
                if (r == 0) {
                        r = seccomp_load(ctx);
                        seccomp_release(ctx);
                }
                if (r < 0) {
                        fprintf(stderr, "chain-wrapper: seccomp: %s\n", strerror(-r));
                        return 125;
                }
        }
        execvp(argv[i], argv + i);
        fprintf(stderr, "chain-wrapper: exec '%s': %s\n", argv[i], strerror(errno));
        return errno == ENOENT ? 127 : 126;
}
