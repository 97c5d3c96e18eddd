/* SPDX-License-Identifier: MIT */
/* tests/root/launch-helper.c: the program of tests/root/test-launch.sh, built several ways
 * (tests/root/meson.build):
 *   launch-helper-evil       dynamic, needs libsbxtest-evil.so (whose constructor attacks the
 *                            narrowing); a DT_PREINIT_ARRAY entry renames SANDBOX_SECCOMP_FD
 *                            when SBXTEST_EVIL_PREINIT is set
 *   launch-helper-ifunc      dynamic; an IFUNC resolver (run while ld.so relocates, before any
 *                            constructor and before libc sets environ) finds SANDBOX_SECCOMP_FD
 *                            on the initial stack and renames it
 *   launch-helper-execstack  dynamic, needs libsbxtest-execstack.so (-z execstack)
 *   launch-helper-static-x   static, linked -z execstack (PT_GNU_STACK with PF_X)
 * Subcommands (exit code = errno, "main ran" printed first so a test sees whether main() ran):
 *   read PATH     open and read PATH
 *   stack-exec    copy "mov $42, %eax; ret" onto the stack and call it
 *   mmap-exec     map anonymous memory PROT_READ|PROT_EXEC */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef WITH_EVIL_LIB
void sbxtest_evil_linked(void);
static void preinit(int argc, char **argv, char **envp) {
        bool on = false;
        for (char **e = envp; e && *e; e++)
                on = on || strncmp(*e, "SBXTEST_EVIL_PREINIT=", 21) == 0;
        for (char **e = envp; on && e && *e; e++)
                if (strncmp(*e, "SANDBOX_SECCOMP_FD=", 19) == 0)
                        (*e)[0] = 'X';
}
__attribute__((section(".preinit_array"), used)) static void (*const preinit_entry)(int, char **, char **) = preinit;
#endif

#ifdef WITH_IFUNC
/* No libc here: environ is not set yet. The environment strings sit at the top of the initial
 * stack, above this frame: scan up for the variable (it is there, so the scan ends on it). */
static int target(void) {
        return 0;
}
typedef int (*target_fn)(void);
/* used: named only in the ifunc attribute below, which clang does not count as a use */
__attribute__((used)) static target_fn resolve(void) {
        static const char name[] = "SANDBOX_SECCOMP_FD=";
        volatile char here = 0;
        char *start = (char *) &here;
        /* Hide where p points from the compiler: it would take the store for one into the
         * dying local and drop it. */
        __asm__("" : "+r"(start));
        for (volatile char *p = start;; p++) {
                size_t i = 0;
                while (i < sizeof(name) - 1 && p[i] == name[i])
                        i++;
                if (i == sizeof(name) - 1 && p[-1] == 0) {
                        p[0] = 'X';
                        break;
                }
        }
        return target;
}
int sbxtest_ifunc(void) __attribute__((ifunc("resolve")));
#endif

#ifdef WITH_EXECSTACK_LIB
void sbxtest_execstack_linked(void);
#endif

static int stack_exec(void) {
        unsigned char code[16] = { 0xb8, 42, 0, 0, 0, 0xc3 }; /* mov $42, %eax; ret */
        int (*f)(void) = (int (*)(void)) (void *) code;
        __asm__ volatile("" ::: "memory");
        int r = f();
        printf("stack code returned %d\n", r);
        return r == 42 ? 0 : 1;
}

int main(int argc, char **argv) {
#ifdef WITH_EVIL_LIB
        sbxtest_evil_linked();
#endif
#ifdef WITH_IFUNC
        (void) sbxtest_ifunc();
#endif
#ifdef WITH_EXECSTACK_LIB
        sbxtest_execstack_linked();
#endif
        printf("main ran\n");
        fflush(stdout);
        if (argc >= 3 && strcmp(argv[1], "read") == 0) {
                char buf[256];
                int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
                if (fd < 0 || read(fd, buf, sizeof(buf)) < 0) {
                        int e = errno;
                        fprintf(stderr, "launch-helper: %s: %s\n", argv[2], strerror(e));
                        return e;
                }
                printf("read ok\n");
                return 0;
        }
        if (argc >= 2 && strcmp(argv[1], "stack-exec") == 0)
                return stack_exec();
        if (argc >= 2 && strcmp(argv[1], "mmap-exec") == 0) {
                void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED) {
                        int e = errno;
                        fprintf(stderr, "launch-helper: mmap: %s\n", strerror(e));
                        return e;
                }
                return 0;
        }
        if (argc >= 2 && strcmp(argv[1], "sleep") == 0) {
                sleep(5);
                return 0;
        }
        fprintf(stderr, "launch-helper: usage: read PATH | stack-exec | mmap-exec | sleep\n");
        return EINVAL;
}
