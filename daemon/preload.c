/* SPDX-License-Identifier: MIT */
/* daemon/preload.c: libsandbox-preload.so, loaded into dynamically linked tasks via LD_PRELOAD.
 *
 * A dynamically linked program needs `rpath` and `prot_exec` while ld.so opens and maps its
 * libraries, so its launch filter grants those on top of its promises. By the time any ELF
 * constructor runs, ld.so has mapped every DT_NEEDED library; this constructor then stacks the
 * filter for the exact promises (read from the sealed memfd named by SANDBOX_SECCOMP_FD), so
 * main() runs with nothing more than the job asked for. Seccomp filters only ever narrow, so
 * this can take rights away, never add any.
 *
 * If the filter cannot be installed the process exits (125): running with the wider launch
 * filter would silently break the promise. Libraries that run constructors before ours (their
 * own code, not the job's input) still run under the launch filter; see docs/promises.md. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp-program.h"

#define MAX_INSNS BPF_MAXINSNS

static struct sock_filter insns[MAX_INSNS];

static void die(const char *what, int e) {
        const char *m = strerror(e);
        static const char prefix[] = "sandbox: cannot narrow the seccomp filter to the task's promises: ";
        (void) !write(STDERR_FILENO, prefix, sizeof(prefix) - 1);
        (void) !write(STDERR_FILENO, what, strlen(what));
        (void) !write(STDERR_FILENO, ": ", 2);
        (void) !write(STDERR_FILENO, m, strlen(m));
        (void) !write(STDERR_FILENO, "\n", 1);
        _exit(125);
}

__attribute__((constructor)) static void sandbox_preload_narrow(void) {
        const char *v = getenv("SANDBOX_SECCOMP_FD");
        size_t got = 0;
        char *end;

        if (!v)
                return; /* not launched by the sandbox (e.g. a child that re-set LD_PRELOAD) */

        errno = 0;
        long fd = strtol(v, &end, 10);
        if (errno || *end || fd < 3 || fd > 65535)
                die("SANDBOX_SECCOMP_FD", EBADF);

        for (;;) {
                ssize_t n = pread((int) fd, (char *) insns + got, sizeof(insns) - got, (off_t) got);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        die("read", errno);
                }
                if (n == 0)
                        break;
                got += (size_t) n;
                if (got == sizeof(insns))
                        break;
        }
        if (got == 0 || got % sizeof(struct sock_filter) != 0)
                die("filter", EBADMSG);

        unsigned short len = (unsigned short) (got / sizeof(struct sock_filter));
        uint32_t pid = (uint32_t) syscall(SYS_getpid);
        for (unsigned i = 0; i < len; i++)
                if (BPF_CLASS(insns[i].code) == BPF_JMP && insns[i].k == SECCOMP_PID_PLACEHOLDER)
                        insns[i].k = pid;

        struct sock_fprog prog = { .len = len, .filter = insns };
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
                die("prctl(PR_SET_SECCOMP)", errno);

        (void) close((int) fd);
        /* The helper itself came in as /proc/self/fd/N: ld.so is done with that fd. */
        const char *pre = getenv("LD_PRELOAD");
        if (pre && strncmp(pre, "/proc/self/fd/", 14) == 0) {
                long pfd = strtol(pre + 14, &end, 10);
                if (!*end && pfd >= 3 && pfd <= 65535)
                        (void) close((int) pfd);
        }
        (void) unsetenv("SANDBOX_SECCOMP_FD");
        (void) unsetenv("LD_PRELOAD");
}
