/* SPDX-License-Identifier: MIT */
/* bench/bpf-gen.c: writes a raw seccomp BPF program (seccomp_export_bpf) for `bwrap --seccomp FD`.
 *   bpf-gen [--deny-list] OUTPUT
 * Default: the pledge-like allow list of filter.c (EPERM for everything else); --deny-list: the
 * Docker-like default-allow filter that refuses a few dangerous calls. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "filter.h"

int main(int argc, char **argv) {
        BenchFilterKind kind = BENCH_FILTER_ALLOW_LIST;
        int i = 1;

        if (i < argc && strcmp(argv[i], "--deny-list") == 0) {
                kind = BENCH_FILTER_DENY_LIST;
                i++;
        }
        if (i + 1 != argc) {
                fprintf(stderr, "usage: bpf-gen [--deny-list] OUTPUT\n");
                return 2;
        }
        scmp_filter_ctx ctx;
        int r = bench_filter_new(kind, &ctx);
        if (r < 0) {
                fprintf(stderr, "bpf-gen: building the filter: %s\n", strerror(-r));
                return 1;
        }
        int fd = open(argv[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
                fprintf(stderr, "bpf-gen: '%s': %s\n", argv[i], strerror(errno));
                seccomp_release(ctx);
                return 1;
        }
        r = seccomp_export_bpf(ctx, fd);
        seccomp_release(ctx);
        if (r < 0 || close(fd) < 0) {
                fprintf(stderr, "bpf-gen: writing '%s': %s\n", argv[i], strerror(r < 0 ? -r : errno));
                return 1;
        }
        return 0;
}
