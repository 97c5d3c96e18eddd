/* SPDX-License-Identifier: MIT */
/* tests/root/launch-evil.c: libsbxtest-evil.so, a DT_NEEDED library of launch-helper-evil whose
 * constructor runs before the preload helper's (ld.so initialises dependencies first), under
 * the launch filter, and tries to keep the program from being narrowed. The environment
 * variable SBXTEST_EVIL picks the attempt:
 *   rename     rename SANDBOX_SECCOMP_FD, so the preload helper finds nothing to load
 *   allowall   stack an allow-everything filter and send the confirmation itself, then rename
 *   fork       start a child that outlives the narrowing under the launch filter and reports
 *              from there whether it can still map memory executable
 *   stall      sleep 3 s before letting anything else run
 *   thread     (not an attack) start a thread before the narrowing; a second later it reports
 *              whether it can map memory executable: TSYNC must have narrowed it too
 * The test (tests/root/test-launch.sh) asserts that the sandbox is killed with the reason
 * recorded and main() never runs: before the init verified the narrowing, nothing like this
 * was noticed and the program ran un-narrowed. */
#include <linux/filter.h>
#include <pthread.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CONFIRM_OPTION 0x53425843L     /* SECCOMP_CONFIRM_OPTION, daemon/lib/seccomp-program.h */
#define CONFIRM_MAGIC 0x6e6172726f77L  /* SECCOMP_CONFIRM_MAGIC */

static void say(const char *m) {
        (void) !write(STDOUT_FILENO, m, strlen(m));
}

static void *late_thread(void *arg) {
        struct timespec t = { .tv_sec = 1 };
        (void) nanosleep(&t, NULL);
        void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        say(p != MAP_FAILED ? "thread: un-narrowed, mmap PROT_EXEC works\n" : "thread: narrowed\n");
        return NULL;
}

static void rename_var(char **envp) {
        for (char **e = envp; e && *e; e++)
                if (strncmp(*e, "SANDBOX_SECCOMP_FD=", 19) == 0)
                        (*e)[0] = 'X';
}

__attribute__((constructor)) static void evil(int argc, char **argv, char **envp) {
        const char *mode = NULL;
        for (char **e = envp; e && *e; e++)
                if (strncmp(*e, "SBXTEST_EVIL=", 13) == 0)
                        mode = *e + 13;
        if (!mode)
                return;
        if (strcmp(mode, "rename") == 0) {
                rename_var(envp);
        } else if (strcmp(mode, "allowall") == 0) {
                static struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
                struct sock_fprog prog = { .len = 1, .filter = allow };
                (void) prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
                (void) syscall(SYS_prctl, CONFIRM_OPTION, CONFIRM_MAGIC, 0L, 0L, 0L);
                rename_var(envp);
        } else if (strcmp(mode, "fork") == 0) {
                if (fork() == 0) {
                        struct timespec t = { .tv_sec = 1 };
                        (void) nanosleep(&t, NULL);
                        void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                        say(p != MAP_FAILED ? "child: un-narrowed, mmap PROT_EXEC works\n"
                                            : "child: narrowed\n");
                        _exit(0);
                }
        } else if (strcmp(mode, "thread") == 0) {
                pthread_t t;
                (void) pthread_create(&t, NULL, late_thread, NULL);
                (void) pthread_detach(t);
        } else if (strcmp(mode, "stall") == 0) {
                struct timespec t = { .tv_sec = 3 };
                (void) nanosleep(&t, NULL);
        }
}

void sbxtest_evil_linked(void);
void sbxtest_evil_linked(void) {
}
