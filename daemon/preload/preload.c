/* SPDX-License-Identifier: MIT */
/* daemon/preload/preload.c: libsandbox-preload.so, loaded into dynamically linked tasks via LD_PRELOAD.
 *
 * A dynamically linked program needs to open and map its libraries before main(), so its
 * launch filter grants rpath and executable mappings on top of its promises. This constructor
 * then stacks the filter for the exact promises (read from the sealed memfd named by
 * SANDBOX_SECCOMP_FD) on every thread (SECCOMP_FILTER_FLAG_TSYNC), and confirms it to the
 * sandbox's init with a call the supervisor filter routes there. Seccomp filters only ever
 * narrow, so this can take rights away, never add any.
 *
 * This is not the boundary. Code that runs before this constructor (the program's and its
 * libraries' IFUNC resolvers, DT_PREINIT_ARRAY, constructors of DT_NEEDED libraries) has the
 * launch filter's rights, and could keep us from running at all; that is why the policy must
 * allow the whole launch set (docs/promises.md, "The launch window"). What holds is outside:
 * the init checks the claim with the kernel's own copy of every thread's filters, kills the
 * sandbox on a false one, and kills it when no confirmation comes before its deadline.
 *
 * Fail closed: this never returns without narrowing. Whatever goes wrong is reported to the
 * init (which records it and kills the sandbox) and the process exits 125.
 *
 * SANDBOX_SECCOMP_FD=none: the task's one filter already holds its promises and sends what they
 * refuse to the init, which keeps the launch window open itself (explaining denials or learning,
 * docs/learn.md). There is nothing to stack; the confirmation is what closes the window. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "exit-code.h"
#include "seccomp-program.h"

#define MAX_INSNS BPF_MAXINSNS

static struct sock_filter insns[MAX_INSNS];

static long confirm(long code) {
        return syscall(SYS_prctl, (long) SECCOMP_CONFIRM_OPTION, (long) SECCOMP_CONFIRM_MAGIC, code, 0L, 0L);
}

__attribute__((noreturn)) static void die(const char *what, int e) {
        const char *m = strerror(e);
        static const char prefix[] = "sandbox: cannot narrow the seccomp filter to the task's promises: ";
        (void) !write(STDERR_FILENO, prefix, sizeof(prefix) - 1);
        (void) !write(STDERR_FILENO, what, strlen(what));
        (void) !write(STDERR_FILENO, ": ", 2);
        (void) !write(STDERR_FILENO, m, strlen(m));
        (void) !write(STDERR_FILENO, "\n", 1);
        (void) confirm(e > 0 ? e : EIO); /* the init records the reason and kills the sandbox */
        _exit(EXIT_SETUP);
}

/* The helper itself came in as /proc/self/fd/N: ld.so is done with that fd. */
static void close_preload_fd(void) {
        const char *pre = getenv("LD_PRELOAD");
        char *end;
        if (pre && strncmp(pre, "/proc/self/fd/", 14) == 0) {
                long pfd = strtol(pre + 14, &end, 10);
                if (!*end && pfd >= 3 && pfd <= 65535)
                        (void) close((int) pfd);
        }
}

__attribute__((constructor)) static void sandbox_preload_narrow(void) {
        const char *v = getenv("SANDBOX_SECCOMP_FD");
        size_t got = 0;
        char *end;

        /* Loaded, yet not told what to load: someone took the variable away. Never run on under
         * the launch filter. */
        if (!v)
                die("SANDBOX_SECCOMP_FD is not set", ENOENT);

        if (strcmp(v, "none") == 0) {
                (void) unsetenv("SANDBOX_SECCOMP_FD");
                close_preload_fd();
                (void) unsetenv("LD_PRELOAD");
                if (confirm(0) != 0)
                        die("confirmation", errno);
                return;
        }

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

        /* Every thread at once: a constructor that ran before us may have started some. */
        struct sock_fprog prog = { .len = len, .filter = insns };
        long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
        if (r < 0)
                die("seccomp(SECCOMP_FILTER_FLAG_TSYNC)", errno);
        if (r > 0)
                die("seccomp(SECCOMP_FILTER_FLAG_TSYNC): a thread has a filter of its own", ESRCH);

        (void) close((int) fd);
        close_preload_fd();
        (void) unsetenv("SANDBOX_SECCOMP_FD");
        (void) unsetenv("LD_PRELOAD");

        /* The init verifies before it answers; anything but 0 means it did not believe us. */
        if (confirm(0) != 0)
                die("confirmation", errno);
}
