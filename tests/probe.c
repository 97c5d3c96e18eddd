/* SPDX-License-Identifier: MIT */
/* tests/probe.c: the in-sandbox probe. One subcommand per assertion, run as the task of
 * `sandboxctl run`, so every check is made from inside the sandbox (crun's tests/init.c,
 * bubblewrap's try-syscall.c).
 *
 * Contract: the exit code is the errno of the operation (0 = success). On failure one line
 * "probe: <op>: <strerror>" goes to stderr; on success nothing is printed unless printing is
 * the point of the command (id, ps, env, ...), and then only to stdout.
 *
 * `syscall NAME` uses bubblewrap's technique: each syscall is made with deliberately bad
 * arguments (fd -1, pointer 1, impossible flags), so when the filter lets it through the kernel
 * fails it harmlessly (EBADF, EFAULT, EINVAL, ESRCH, ...), and when the filter blocks it the
 * result is the filter's errno (EPERM, or ENOSYS for the syscalls pledge closes that way).
 *
 * The probe avoids libc paths that make syscalls of their own (stdio's fstat, opendir's fstat,
 * locale lookups): output goes through write(2), directories are read with getdents64, so the
 * syscalls a subcommand makes are the ones its name says. Built static and without sanitizers;
 * tests/root/meson.build also builds it dynamically linked (probe-dyn) and, with PROBE_NOLIBC,
 * as a libc-free program (probe-raw) for the empty promise set, under which even glibc's
 * start-up code cannot run. */

#ifdef PROBE_NOLIBC

#include <stddef.h>
#include <sys/syscall.h>

#if !defined(__x86_64__)
#error "probe-raw is x86_64 only"
#endif

static long raw3(long n, long a, long b, long c) {
        long ret;
        __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
        return ret;
}

__attribute__((noreturn)) static void raw_exit(long code) {
        for (;;)
                (void) raw3(SYS_exit, code, 0, 0); /* exit(2): allowed under every promise set */
}

static int raw_streq(const char *a, const char *b) {
        while (*a && *a == *b)
                a++, b++;
        return *a == *b;
}

static long raw_atoi(const char *s) {
        long v = 0;
        while (*s >= '0' && *s <= '9')
                v = v * 10 + (*s++ - '0');
        return v;
}

__attribute__((used, noreturn)) void probe_raw_main(long *sp);

/* probe-raw write       write(1, ...): exit 0, or the errno (EPERM = 1) via exit(2)
 * probe-raw exit-group N  exit_group(N); if that returns, exit(2) with its errno
 * probe-raw open PATH   openat(AT_FDCWD, PATH, O_RDONLY): exit 0, or the errno */
__attribute__((used, noreturn)) void probe_raw_main(long *sp) {
        long argc = sp[0];
        char **argv = (char **) (sp + 1);
        static const char msg[] = "probe-raw\n";

        if (argc >= 2 && raw_streq(argv[1], "write")) {
                long r = raw3(SYS_write, 1, (long) msg, sizeof(msg) - 1);
                raw_exit(r < 0 ? -r : 0);
        }
        if (argc >= 3 && raw_streq(argv[1], "open")) {
                long r = raw3(SYS_openat, -100 /* AT_FDCWD */, (long) argv[2], 0 /* O_RDONLY */);
                raw_exit(r < 0 ? -r : 0);
        }
        if (argc >= 3 && raw_streq(argv[1], "exit-group")) {
                long r = raw3(SYS_exit_group, raw_atoi(argv[2]), 0, 0);
                raw_exit(r < 0 ? -r : 0);
        }
        raw_exit(22); /* EINVAL: bad usage */
}

__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "        xor %rbp, %rbp\n"
        "        mov %rsp, %rdi\n"
        "        and $-16, %rsp\n"
        "        call probe_raw_main\n"
        "        hlt\n");

#else /* !PROBE_NOLIBC */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif
#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447
#endif
#ifndef SYS_process_mrelease
#define SYS_process_mrelease 448
#endif
#ifndef O_TMPFILE
#define O_TMPFILE (020000000 | O_DIRECTORY)
#endif
#ifndef F_OFD_SETLK
#define F_OFD_SETLK 37
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#define X32_SYSCALL_BIT 0x40000000

extern char **environ;

static const char *op = "probe";

/* ---------------------------------------------------------------------------------------- */
/* Output: straight write(2), no stdio buffering (and no fstat from stdio).                   */

static void write_all(int fd, const char *buf, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, buf, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                buf += n;
                len -= (size_t) n;
        }
}

__attribute__((format(printf, 2, 3))) static void put(int fd, const char *fmt, ...) {
        char buf[4096];
        va_list ap;

        va_start(ap, fmt);
        int n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        write_all(fd, buf, (size_t) n < sizeof(buf) ? (size_t) n : sizeof(buf) - 1);
}

/* Reports a failed operation and returns its errno as the exit code. */
static int fail(int e) {
        const char *d = strerrordesc_np(e);
        if (d)
                put(2, "probe: %s: %s\n", op, d);
        else
                put(2, "probe: %s: error %d\n", op, e);
        return e;
}

static int fail_what(const char *what, int e) {
        const char *d = strerrordesc_np(e);
        put(2, "probe: %s: %s: %s\n", op, what, d ? d : "unknown error");
        return e;
}

static int usage(const char *msg) {
        put(2, "probe: %s: usage: %s\n", op, msg);
        return EINVAL;
}

static bool parse_long(const char *s, long *ret) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 0);
        if (errno || end == s || *end)
                return false;
        *ret = v;
        return true;
}

static int cmp_long(const void *a, const void *b) {
        long x = *(const long *) a, y = *(const long *) b;
        return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* ---------------------------------------------------------------------------------------- */
/* Directory listing with getdents64 (opendir would add an fstat).                            */

struct linux_dirent64 {
        uint64_t d_ino;
        int64_t d_off;
        unsigned short d_reclen;
        unsigned char d_type;
        char d_name[];
};

#define MAX_NAMES 4096

typedef struct NameList {
        char *names[MAX_NAMES];
        size_t n;
} NameList;

static NameList names;

/* Fills `names` with the entries of path (without . and ..). Returns 0 or errno. If ret_fd is
 * given it receives the directory fd's number (for `fds`, which must not list its own fd). */
static int list_dir(const char *path, int *ret_fd) {
        static char buf[32768];
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno;
        if (ret_fd)
                *ret_fd = fd;
        names.n = 0;
        for (;;) {
                long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
                if (n < 0) {
                        int e = errno;
                        (void) close(fd);
                        return e;
                }
                if (n == 0)
                        break;
                for (long off = 0; off < n;) {
                        struct linux_dirent64 *d = (struct linux_dirent64 *) (buf + off);
                        off += d->d_reclen;
                        if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
                                continue;
                        if (names.n < MAX_NAMES)
                                names.names[names.n++] = strdup(d->d_name);
                }
        }
        (void) close(fd);
        return 0;
}

/* Prints numeric entries of `names` sorted, space separated; skips `skip` (or -1). */
static void print_numeric_names(long skip) {
        static long nums[MAX_NAMES];
        size_t k = 0;
        char line[16384];
        size_t len = 0;

        for (size_t i = 0; i < names.n; i++) {
                long v;
                if (names.names[i] && parse_long(names.names[i], &v) && v != skip)
                        nums[k++] = v;
        }
        qsort(nums, k, sizeof(long), cmp_long);
        for (size_t i = 0; i < k && len < sizeof(line) - 32; i++)
                len += (size_t) snprintf(line + len, sizeof(line) - len, "%s%ld", i ? " " : "", nums[i]);
        line[len++] = '\n';
        write_all(1, line, len);
}

/* Reads a whole (small) file into a static buffer. Returns 0 or errno. */
static char file_buf[1 << 20];
static size_t file_len;

static int read_file(const char *path) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno;
        file_len = 0;
        for (;;) {
                ssize_t n = read(fd, file_buf + file_len, sizeof(file_buf) - 1 - file_len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int e = errno;
                        (void) close(fd);
                        return e;
                }
                if (n == 0)
                        break;
                file_len += (size_t) n;
                if (file_len >= sizeof(file_buf) - 1)
                        break;
        }
        file_buf[file_len] = 0;
        (void) close(fd);
        return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* syscall NAME: the bad-argument table.                                                      */

#include "probe-syscalls.h"

static int cmd_syscall(int argc, char **argv) {
        static union {
                char c[4096];
                long l[512];
        } scratch;

        if (argc < 1)
                return usage("syscall NAME (probe syscall list)");
        if (strcmp(argv[0], "list") == 0) {
                for (size_t i = 0; i < sizeof(syscall_table) / sizeof(syscall_table[0]); i++)
                        put(1, "%s\t%s\n", syscall_table[i].name, syscall_table[i].note);
                return 0;
        }
        for (size_t i = 0; i < sizeof(syscall_table) / sizeof(syscall_table[0]); i++) {
                const SyscallProbe *p = &syscall_table[i];
                long a[6];
                if (strcmp(p->name, argv[0]) != 0)
                        continue;
                for (int k = 0; k < 6; k++) {
                        a[k] = p->a[k];
                        if (a[k] == A_SELF)
                                a[k] = getpid();
                        else if (a[k] == A_BUF)
                                a[k] = (long) (uintptr_t) &scratch;
                }
                if (strcmp(p->name, "prctl-set-name") == 0)
                        strcpy(scratch.c, "probe");
                errno = 0;
                long r = syscall(p->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
                if (r == -1 && errno != 0) {
                        int e = errno;
                        op = p->name;
                        return fail(e);
                }
                /* Success: close what socket()/landlock_create_ruleset() may have returned. */
                if (p->nr == SYS_socket)
                        (void) close((int) r);
                return 0;
        }
        put(2, "probe: syscall: unknown name '%s' (see: probe syscall list)\n", argv[0]);
        return EINVAL;
}

/* ---------------------------------------------------------------------------------------- */
/* Files                                                                                      */

static int open_and_close(const char *path, int flags, mode_t mode) {
        int fd = open(path, flags | O_CLOEXEC, mode);
        if (fd < 0)
                return fail(errno);
        (void) close(fd);
        return 0;
}

static int cmd_read(int argc, char **argv) {
        int r = read_file(argv[0]);
        return r ? fail(r) : 0;
}

static int cmd_cat(int argc, char **argv) {
        int r = read_file(argv[0]);
        if (r)
                return fail(r);
        write_all(1, file_buf, file_len);
        return 0;
}

static int write_to(const char *path, int flags) {
        static const char line[] = "probe\n";
        int fd = open(path, flags | O_CLOEXEC, 0644);
        if (fd < 0)
                return fail(errno);
        if (write(fd, line, sizeof(line) - 1) < 0) {
                int e = errno;
                (void) close(fd);
                return fail(e);
        }
        (void) close(fd);
        return 0;
}

static int cmd_write(int argc, char **argv) {
        return write_to(argv[0], O_WRONLY);
}

static int cmd_append(int argc, char **argv) {
        return write_to(argv[0], O_WRONLY | O_APPEND);
}

static int cmd_create(int argc, char **argv) {
        return write_to(argv[0], O_WRONLY | O_CREAT | O_EXCL);
}

static int cmd_open_trunc(int argc, char **argv) {
        return open_and_close(argv[0], O_WRONLY | O_TRUNC, 0);
}

static int cmd_truncate(int argc, char **argv) {
        return truncate(argv[0], 0) < 0 ? fail(errno) : 0;
}

static int cmd_ftruncate(int argc, char **argv) {
        int fd = open(argv[0], O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return fail_what("open", errno);
        if (ftruncate(fd, 0) < 0) {
                int e = errno;
                (void) close(fd);
                return fail(e);
        }
        (void) close(fd);
        return 0;
}

static int cmd_mkdir(int argc, char **argv) {
        return mkdir(argv[0], 0755) < 0 ? fail(errno) : 0;
}

static int cmd_rmdir(int argc, char **argv) {
        return rmdir(argv[0]) < 0 ? fail(errno) : 0;
}

static int cmd_unlink(int argc, char **argv) {
        return unlink(argv[0]) < 0 ? fail(errno) : 0;
}

static int cmd_rename(int argc, char **argv) {
        return rename(argv[0], argv[1]) < 0 ? fail(errno) : 0;
}

static int cmd_link(int argc, char **argv) {
        return link(argv[0], argv[1]) < 0 ? fail(errno) : 0;
}

static int cmd_symlink(int argc, char **argv) {
        return symlink(argv[0], argv[1]) < 0 ? fail(errno) : 0;
}

static int cmd_mkfifo(int argc, char **argv) {
        return mknod(argv[0], S_IFIFO | 0600, 0) < 0 ? fail(errno) : 0;
}

static int cmd_stat(int argc, char **argv) {
        struct stat st;
        return stat(argv[0], &st) < 0 ? fail(errno) : 0;
}

static int cmd_chmod(int argc, char **argv) {
        char *end;
        unsigned long mode = strtoul(argv[1], &end, 8);
        if (*end || end == argv[1])
                return usage("chmod PATH OCTAL-MODE");
        return chmod(argv[0], (mode_t) mode) < 0 ? fail(errno) : 0;
}

static int cmd_chown(int argc, char **argv) {
        long uid, gid;
        if (!parse_long(argv[1], &uid) || !parse_long(argv[2], &gid))
                return usage("chown PATH UID GID");
        return chown(argv[0], (uid_t) uid, (gid_t) gid) < 0 ? fail(errno) : 0;
}

static int cmd_utime(int argc, char **argv) {
        return utimensat(AT_FDCWD, argv[0], NULL, 0) < 0 ? fail(errno) : 0;
}

static int cmd_flock(int argc, char **argv) {
        int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return fail_what("open", errno);
        int r = flock(fd, LOCK_EX | LOCK_NB) < 0 ? fail(errno) : 0;
        (void) close(fd);
        return r;
}

static int cmd_fcntl_lock(int argc, char **argv) {
        struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
        int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return fail_what("open", errno);
        int r = fcntl(fd, F_SETLK, &fl) < 0 ? fail(errno) : 0;
        (void) close(fd);
        return r;
}

static int cmd_ls(int argc, char **argv) {
        int r = list_dir(argv[0], NULL);
        if (r)
                return fail(r);
        qsort(names.names, names.n, sizeof(char *), cmp_str);
        for (size_t i = 0; i < names.n; i++)
                put(1, "%s\n", names.names[i]);
        return 0;
}

static int cmd_readlink(int argc, char **argv) {
        char buf[4096];
        ssize_t n = readlink(argv[0], buf, sizeof(buf) - 1);
        if (n < 0)
                return fail(errno);
        buf[n] = 0;
        put(1, "%s\n", buf);
        return 0;
}

static int cmd_cwd(int argc, char **argv) {
        char buf[4096];
        if (!getcwd(buf, sizeof(buf)))
                return fail(errno);
        put(1, "%s\n", buf);
        return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Programs and memory                                                                        */

static int cmd_exec(int argc, char **argv) {
        execve(argv[0], argv, environ);
        return fail(errno);
}

static int cmd_mmap_exec(int argc, char **argv) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return fail(errno);
        (void) munmap(p, 4096);
        return 0;
}

static int cmd_mprotect_exec(int argc, char **argv) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return fail_what("mmap", errno);
        int r = mprotect(p, 4096, PROT_READ | PROT_EXEC) < 0 ? fail(errno) : 0;
        (void) munmap(p, 4096);
        return r;
}

static int cmd_memhog(int argc, char **argv) {
        long mb;
        if (!parse_long(argv[0], &mb) || mb <= 0)
                return usage("memhog MB");
        size_t len = (size_t) mb << 20;
        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return fail(errno);
        for (size_t i = 0; i < len; i += 4096)
                p[i] = 1;
        (void) munmap(p, len);
        return 0;
}

static void *thread_main(void *arg) {
        *(int *) arg = 42;
        return NULL;
}

static int cmd_thread(int argc, char **argv) {
        pthread_t t;
        int v = 0;
        int r = pthread_create(&t, NULL, thread_main, &v);
        if (r != 0)
                return fail(r);
        r = pthread_join(t, NULL);
        if (r != 0)
                return fail_what("join", r);
        return v == 42 ? 0 : fail(EIO);
}

static int cmd_fork(int argc, char **argv) {
        pid_t pid = fork();
        if (pid < 0)
                return fail(errno);
        if (pid == 0)
                _exit(0);
        int st;
        if (waitpid(pid, &st, 0) < 0)
                return fail_what("waitpid", errno);
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : fail(EIO);
}

/* Forks up to N children that wait in pause(); prints how many were started, then kills them
 * (by pid) and reaps them. Exit code: the errno of the first failing fork, or 0. */
static int cmd_forkbomb(int argc, char **argv) {
        static pid_t kids[4096];
        long n;
        int e = 0;
        size_t k = 0;

        if (!parse_long(argv[0], &n) || n <= 0 || n > 4096)
                return usage("forkbomb N (1..4096)");
        for (long i = 0; i < n; i++) {
                pid_t pid = fork();
                if (pid < 0) {
                        e = errno;
                        break;
                }
                if (pid == 0) {
                        for (;;)
                                pause();
                }
                kids[k++] = pid;
        }
        for (size_t i = 0; i < k; i++)
                (void) kill(kids[i], SIGKILL);
        for (size_t i = 0; i < k; i++)
                (void) waitpid(kids[i], NULL, 0);
        put(1, "%zu\n", k);
        return e ? fail(e) : 0;
}

static int cmd_sleep(int argc, char **argv) {
        char *end;
        double s = strtod(argv[0], &end);
        if (*end || end == argv[0] || s < 0)
                return usage("sleep SECONDS");
        struct timespec ts = { .tv_sec = (time_t) s, .tv_nsec = (long) ((s - (double) (time_t) s) * 1e9) };
        while (nanosleep(&ts, &ts) < 0)
                if (errno != EINTR)
                        return fail(errno);
        return 0;
}

static int cmd_x32(int argc, char **argv) {
        /* getpid through the x32 ABI: a filter for x86_64 must kill (or refuse) it. */
        long r = syscall(X32_SYSCALL_BIT | 39);
        return r < 0 ? fail(errno) : 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Sockets                                                                                    */

static bool parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *len) {
        char host[128];
        const char *colon = strrchr(s, ':');
        long port;

        if (!colon || (size_t) (colon - s) >= sizeof(host) || !parse_long(colon + 1, &port) || port < 0 ||
            port > 65535)
                return false;
        memcpy(host, s, colon - s);
        host[colon - s] = 0;
        memset(ss, 0, sizeof(*ss));
        if (host[0] == '[') {
                struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) ss;
                size_t l = strlen(host);
                if (l < 2 || host[l - 1] != ']')
                        return false;
                host[l - 1] = 0;
                if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
                        return false;
                a6->sin6_family = AF_INET6;
                a6->sin6_port = htons((uint16_t) port);
                *len = sizeof(*a6);
                return true;
        }
        struct sockaddr_in *a4 = (struct sockaddr_in *) ss;
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
                return false;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t) port);
        *len = sizeof(*a4);
        return true;
}

static int cmd_connect(int argc, char **argv) {
        struct sockaddr_storage ss;
        socklen_t len;
        if (!parse_hostport(argv[0], &ss, &len))
                return usage("connect ADDR:PORT (numeric, [v6]:port for IPv6)");
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return fail_what("socket", errno);
        int r = connect(fd, (struct sockaddr *) &ss, len) < 0 ? fail(errno) : 0;
        (void) close(fd);
        return r;
}

static int cmd_udp_send(int argc, char **argv) {
        struct sockaddr_storage ss;
        socklen_t len;
        if (!parse_hostport(argv[0], &ss, &len))
                return usage("udp-send ADDR:PORT");
        int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return fail_what("socket", errno);
        int r = sendto(fd, "probe", 5, 0, (struct sockaddr *) &ss, len) < 0 ? fail(errno) : 0;
        (void) close(fd);
        return r;
}

static int loopback_listener(long port, int *ret_fd) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return fail_what("socket", errno);
        if (bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
                int e = errno;
                (void) close(fd);
                return fail_what("bind", e);
        }
        *ret_fd = fd;
        return 0;
}

static int cmd_bind(int argc, char **argv) {
        long port;
        int fd, r;
        if (!parse_long(argv[0], &port) || port < 0 || port > 65535)
                return usage("bind PORT");
        r = loopback_listener(port, &fd);
        if (r)
                return r;
        (void) close(fd);
        return 0;
}

/* Listens on 127.0.0.1:PORT and connects to it: TCP connect rules inside the sandbox's own
 * network namespace. Exit code: bind's errno, listen's, or connect's. */
static int cmd_connect_self(int argc, char **argv) {
        long port;
        int lfd, r;
        if (!parse_long(argv[0], &port) || port <= 0 || port > 65535)
                return usage("connect-self PORT");
        r = loopback_listener(port, &lfd);
        if (r)
                return r;
        if (listen(lfd, 1) < 0) {
                int e = errno;
                (void) close(lfd);
                return fail_what("listen", e);
        }
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                int e = errno;
                (void) close(lfd);
                return fail_what("socket", e);
        }
        r = connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0 ? fail(errno) : 0;
        (void) close(fd);
        (void) close(lfd);
        return r;
}

/* connect-self over MPTCP: Landlock's TCP port rules do not see MPTCP sockets. */
static int cmd_connect_self_mptcp(int argc, char **argv) {
        long port;
        int lfd, r;
        if (!parse_long(argv[0], &port) || port <= 0 || port > 65535)
                return usage("connect-self-mptcp PORT");
        r = loopback_listener(port, &lfd);
        if (r)
                return r;
        if (listen(lfd, 1) < 0) {
                int e = errno;
                (void) close(lfd);
                return fail_what("listen", e);
        }
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 262 /* IPPROTO_MPTCP */);
        if (fd < 0) {
                int e = errno;
                (void) close(lfd);
                return fail_what("socket(IPPROTO_MPTCP)", e);
        }
        r = connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0 ? fail(errno) : 0;
        (void) close(fd);
        (void) close(lfd);
        return r;
}

/* listen(2) on a socket nobody bound: TCP binds it to an ephemeral port (printed), without the
 * bind(2) that Landlock checks; AF_UNIX refuses (EINVAL). */
static int cmd_listen_unbound(int argc, char **argv) {
        int family = strcmp(argv[0], "inet6") == 0 ? AF_INET6 : strcmp(argv[0], "unix") == 0 ? AF_UNIX : AF_INET;
        if (family == AF_INET && strcmp(argv[0], "inet") != 0)
                return usage("listen-unbound inet|inet6|unix");
        int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return fail_what("socket", errno);
        if (listen(fd, 1) < 0) {
                int e = errno;
                (void) close(fd);
                return fail_what("listen", e);
        }
        struct sockaddr_in6 a = {};
        socklen_t l = sizeof(a);
        if (family != AF_UNIX && getsockname(fd, (struct sockaddr *) &a, &l) == 0)
                put(1, "%u\n", (unsigned) ntohs(a.sin6_port)); /* sin_port sits at the same offset */
        (void) close(fd);
        return 0;
}

static socklen_t abstract_addr(const char *name, struct sockaddr_un *a) {
        size_t l = strlen(name);
        memset(a, 0, sizeof(*a));
        a->sun_family = AF_UNIX;
        if (l > sizeof(a->sun_path) - 1)
                l = sizeof(a->sun_path) - 1;
        memcpy(a->sun_path + 1, name, l);
        return (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + l);
}

static int cmd_abstract_connect(int argc, char **argv) {
        struct sockaddr_un a;
        socklen_t len = abstract_addr(argv[0], &a);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return fail_what("socket", errno);
        int r = connect(fd, (struct sockaddr *) &a, len) < 0 ? fail(errno) : 0;
        (void) close(fd);
        return r;
}

/* Listens on an abstract socket and connects to it from the same process: allowed inside one
 * Landlock domain (the positive control for abstract-connect). */
static int cmd_abstract_self(int argc, char **argv) {
        struct sockaddr_un a;
        socklen_t len = abstract_addr(argv[0], &a);
        int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0)
                return fail_what("socket", errno);
        if (bind(lfd, (struct sockaddr *) &a, len) < 0 || listen(lfd, 1) < 0) {
                int e = errno;
                (void) close(lfd);
                return fail_what("bind/listen", e);
        }
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                int e = errno;
                (void) close(lfd);
                return fail_what("socket", e);
        }
        int r = connect(fd, (struct sockaddr *) &a, len) < 0 ? fail(errno) : 0;
        (void) close(fd);
        (void) close(lfd);
        return r;
}

/* Connects to a unix socket at a path (what Landlock ABI 7 cannot refuse: only the task's view
 * can hide such sockets). */
static int cmd_unix_connect(int argc, char **argv) {
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        if (strlen(argv[0]) >= sizeof(a.sun_path))
                return fail(ENAMETOOLONG);
        memcpy(a.sun_path, argv[0], strlen(argv[0]));
        /* Stream, then seqpacket (sandboxd's own socket): EPROTOTYPE means it is there. */
        static const int types[] = { SOCK_STREAM, SOCK_SEQPACKET };
        int e = 0;
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return fail_what("socket", errno);
                e = connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0 ? errno : 0;
                (void) close(fd);
                if (e != EPROTOTYPE)
                        break;
        }
        return e ? fail(e) : 0;
}

static int cmd_socket(int argc, char **argv) {
        static const struct {
                const char *name;
                int value;
        } families[] = { { "inet", AF_INET },       { "inet6", AF_INET6 },   { "unix", AF_UNIX },
                         { "netlink", AF_NETLINK }, { "packet", AF_PACKET } },
          types[] = { { "stream", SOCK_STREAM }, { "dgram", SOCK_DGRAM }, { "raw", SOCK_RAW },
                      { "seqpacket", SOCK_SEQPACKET } };
        int family = -1, type = -1;
        long proto = 0;

        for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
                if (strcmp(argv[0], families[i].name) == 0)
                        family = families[i].value;
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
                if (strcmp(argv[1], types[i].name) == 0)
                        type = types[i].value;
        if (family < 0 || type < 0 || (argc > 2 && !parse_long(argv[2], &proto)))
                return usage("socket inet|inet6|unix|netlink|packet stream|dgram|raw|seqpacket [PROTO]");
        int fd = socket(family, type | SOCK_CLOEXEC, (int) proto);
        if (fd < 0)
                return fail(errno);
        (void) close(fd);
        return 0;
}

/* ioctl NAME on the read end of a fresh pipe: allowed requests fail with ENOTTY (or succeed),
 * filtered ones fail with the filter's errno. */
static int cmd_ioctl(int argc, char **argv) {
        static const struct {
                const char *name;
                unsigned long req;
        } reqs[] = {
                { "fionread", FIONREAD },     { "fionbio", FIONBIO },           { "fioclex", FIOCLEX },
                { "fionclex", FIONCLEX },     { "tcgets", TCGETS },             { "tcsets", TCSETS },
                { "tiocgwinsz", TIOCGWINSZ }, { "tiocswinsz", TIOCSWINSZ },     { "tiocgpgrp", TIOCGPGRP },
                { "tiocsti", TIOCSTI },       { "tiocsti-high", TIOCSTI | (1UL << 32) },
                { "siocatmark", SIOCATMARK },
        };
        static union {
                char c[256];
                int i;
        } arg;
        int p[2];

        for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
                if (strcmp(argv[0], reqs[i].name) != 0)
                        continue;
                if (pipe2(p, O_CLOEXEC) < 0)
                        return fail_what("pipe2", errno);
                arg.i = 0;
                long r = syscall(SYS_ioctl, p[0], reqs[i].req, &arg);
                int e = errno;
                (void) close(p[0]);
                (void) close(p[1]);
                return r < 0 ? fail(e) : 0;
        }
        return usage("ioctl fionread|fionbio|fioclex|fionclex|tcgets|tcsets|tiocgwinsz|tiocswinsz|tiocgpgrp|"
                     "tiocsti|tiocsti-high|siocatmark");
}

/* ---------------------------------------------------------------------------------------- */
/* Processes and signals                                                                      */

static int cmd_kill(int argc, char **argv) {
        long pid, sig;
        if (!parse_long(argv[0], &pid) || !parse_long(argv[1], &sig))
                return usage("kill PID SIGNAL");
        return kill((pid_t) pid, (int) sig) < 0 ? fail(errno) : 0;
}

static int cmd_kill_self(int argc, char **argv) {
        long sig = 0;
        if (argc > 0 && !parse_long(argv[0], &sig))
                return usage("kill-self [SIGNAL]");
        return kill(getpid(), (int) sig) < 0 ? fail(errno) : 0;
}

/* Forks a child that waits, kills it with SIGTERM, checks it died of it: signals inside the
 * sandbox's own Landlock domain work (the positive control for signal scoping). */
static int cmd_kill_child(int argc, char **argv) {
        pid_t pid = fork();
        if (pid < 0)
                return fail_what("fork", errno);
        if (pid == 0) {
                for (;;)
                        pause();
        }
        int r = kill(pid, SIGTERM) < 0 ? errno : 0;
        int st;
        if (r)
                (void) kill(pid, SIGKILL);
        (void) waitpid(pid, &st, 0);
        if (r)
                return fail(r);
        return WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM ? 0 : fail(EIO);
}

static int cmd_signal_self(int argc, char **argv) {
        long sig;
        if (!parse_long(argv[0], &sig))
                return usage("signal-self SIGNAL");
        int r = raise((int) sig);
        return r != 0 ? fail(r > 0 ? r : errno) : 0;
}

static int cmd_exit(int argc, char **argv) {
        long code;
        if (!parse_long(argv[0], &code))
                return usage("exit CODE");
        return (int) code;
}

static int cmd_getpid(int argc, char **argv) {
        put(1, "%ld\n", (long) getpid());
        return 0;
}

static int cmd_getppid(int argc, char **argv) {
        put(1, "%ld\n", (long) getppid());
        return 0;
}

static int cmd_ps(int argc, char **argv) {
        int r = list_dir("/proc", NULL);
        if (r)
                return fail(r);
        print_numeric_names(-1);
        return 0;
}

static int cmd_fds(int argc, char **argv) {
        int dfd = -1;
        int r = list_dir("/proc/self/fd", &dfd);
        if (r)
                return fail(r);
        print_numeric_names(dfd);
        return 0;
}

static int cmd_id(int argc, char **argv) {
        gid_t groups[1024];
        char line[8192];
        size_t len;
        int n = getgroups(1024, groups);
        if (n < 0)
                return fail(errno);
        len = (size_t) snprintf(line, sizeof(line), "uid=%u gid=%u euid=%u egid=%u groups=", (unsigned) getuid(),
                                (unsigned) getgid(), (unsigned) geteuid(), (unsigned) getegid());
        for (int i = 0; i < n && len < sizeof(line) - 16; i++)
                len += (size_t) snprintf(line + len, sizeof(line) - len, "%s%u", i ? "," : "", (unsigned) groups[i]);
        line[len++] = '\n';
        write_all(1, line, len);
        return 0;
}

static int cmd_nice(int argc, char **argv) {
        errno = 0;
        int v = getpriority(PRIO_PROCESS, 0);
        if (v == -1 && errno)
                return fail(errno);
        put(1, "%d\n", v);
        return 0;
}

static int cmd_setnice(int argc, char **argv) {
        long v;
        if (!parse_long(argv[0], &v))
                return usage("setnice N");
        return setpriority(PRIO_PROCESS, 0, (int) v) < 0 ? fail(errno) : 0;
}

static int cmd_oom(int argc, char **argv) {
        int r = read_file("/proc/self/oom_score_adj");
        if (r)
                return fail(r);
        while (file_len > 0 && (file_buf[file_len - 1] == '\n' || file_buf[file_len - 1] == ' '))
                file_buf[--file_len] = 0;
        put(1, "%s\n", file_buf);
        return 0;
}

/* status FIELD: the value of one /proc/self/status line (e.g. NoNewPrivs, Seccomp, CapEff). */
static int cmd_status(int argc, char **argv) {
        int r = read_file("/proc/self/status");
        size_t fl = strlen(argv[0]);
        if (r)
                return fail(r);
        for (char *line = file_buf; line && *line;) {
                char *nl = strchr(line, '\n');
                if (nl)
                        *nl = 0;
                if (strncmp(line, argv[0], fl) == 0 && line[fl] == ':') {
                        const char *v = line + fl + 1;
                        while (*v == ' ' || *v == '\t')
                                v++;
                        put(1, "%s\n", v);
                        return 0;
                }
                line = nl ? nl + 1 : NULL;
        }
        return fail(ENOENT);
}

static int cmd_rlimit(int argc, char **argv) {
        static const struct {
                const char *name;
                int resource;
        } limits[] = {
                { "AS", RLIMIT_AS },         { "CORE", RLIMIT_CORE },         { "CPU", RLIMIT_CPU },
                { "DATA", RLIMIT_DATA },     { "FSIZE", RLIMIT_FSIZE },       { "LOCKS", RLIMIT_LOCKS },
                { "MEMLOCK", RLIMIT_MEMLOCK }, { "MSGQUEUE", RLIMIT_MSGQUEUE }, { "NICE", RLIMIT_NICE },
                { "NOFILE", RLIMIT_NOFILE }, { "NPROC", RLIMIT_NPROC },       { "RSS", RLIMIT_RSS },
                { "RTPRIO", RLIMIT_RTPRIO }, { "RTTIME", RLIMIT_RTTIME },     { "SIGPENDING", RLIMIT_SIGPENDING },
                { "STACK", RLIMIT_STACK },
        };
        for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
                struct rlimit rl;
                char soft[32], hard[32];
                if (strcasecmp(argv[0], limits[i].name) != 0)
                        continue;
                if (getrlimit(limits[i].resource, &rl) < 0)
                        return fail(errno);
                if (rl.rlim_cur == RLIM_INFINITY)
                        strcpy(soft, "unlimited");
                else
                        snprintf(soft, sizeof(soft), "%llu", (unsigned long long) rl.rlim_cur);
                if (rl.rlim_max == RLIM_INFINITY)
                        strcpy(hard, "unlimited");
                else
                        snprintf(hard, sizeof(hard), "%llu", (unsigned long long) rl.rlim_max);
                put(1, "%s %s\n", soft, hard);
                return 0;
        }
        return usage("rlimit AS|CORE|CPU|DATA|FSIZE|LOCKS|MEMLOCK|MSGQUEUE|NICE|NOFILE|NPROC|RSS|RTPRIO|RTTIME|"
                     "SIGPENDING|STACK");
}

static int cmd_env(int argc, char **argv) {
        for (char **e = environ; *e; e++)
                put(1, "%s\n", *e);
        return 0;
}

static int cmd_hostname(int argc, char **argv) {
        struct utsname u;
        if (uname(&u) < 0)
                return fail(errno);
        put(1, "%s\n", u.nodename);
        return 0;
}

/* netdev: the interface names of the current network namespace, sorted, space separated. */
static int cmd_netdev(int argc, char **argv) {
        char *list[256];
        size_t n = 0;
        int r = read_file("/proc/net/dev");
        if (r)
                return fail(r);
        int lineno = 0;
        for (char *line = file_buf; line && *line;) {
                char *nl = strchr(line, '\n');
                if (nl)
                        *nl = 0;
                char *colon = strchr(line, ':');
                if (++lineno > 2 && colon && n < 256) {
                        *colon = 0;
                        while (*line == ' ')
                                line++;
                        list[n++] = line;
                }
                line = nl ? nl + 1 : NULL;
        }
        qsort(list, n, sizeof(char *), cmp_str);
        for (size_t i = 0; i < n; i++)
                put(1, "%s%s", i ? " " : "", list[i]);
        put(1, "\n");
        return 0;
}

static int cmd_echo(int argc, char **argv) {
        for (int i = 0; i < argc; i++)
                put(1, "%s%s", i ? " " : "", argv[i]);
        put(1, "\n");
        return 0;
}

static int cmd_echo_err(int argc, char **argv) {
        for (int i = 0; i < argc; i++)
                put(2, "%s%s", i ? " " : "", argv[i]);
        put(2, "\n");
        return 0;
}

/* ---------------------------------------------------------------------------------------- */

/* ---- Explaining and learning (tests/root/test-learn.sh) ---- */

/* Is one of our own fds a seccomp listener? A task that held the listener of its own filter
 * could answer its own refused calls "continue". Exit 0 if none is, EEXIST if one is. */
static int cmd_find_listener(int argc, char **argv) {
        char path[64], target[128];
        for (int fd = 0; fd < 1024; fd++) {
                snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
                ssize_t n = readlink(path, target, sizeof(target) - 1);
                if (n <= 0)
                        continue;
                target[n] = 0;
                if (strstr(target, "seccomp")) {
                        put(1, "fd %d: %s\n", fd, target);
                        return EEXIST;
                }
        }
        return 0;
}

/* pidfd_getfd(pidfd_open(PID), FD) for FD = 0..63: any fd of another process (the init's
 * listener). Exit 0 if none could be taken, else the first errno other than EBADF seen... or
 * EEXIST when an fd was taken. */
static int cmd_steal_fds(int argc, char **argv) {
        long pid;
        if (!parse_long(argv[0], &pid))
                return usage("steal-fds PID");
        int pidfd = (int) syscall(SYS_pidfd_open, (pid_t) pid, 0);
        if (pidfd < 0)
                return fail_what("pidfd_open", errno);
        int e = EBADF;
        for (int fd = 0; fd < 64; fd++) {
                int got = (int) syscall(SYS_pidfd_getfd, pidfd, fd, 0);
                if (got >= 0) {
                        put(1, "took fd %d of pid %ld\n", fd, pid);
                        return EEXIST;
                }
                if (errno != EBADF)
                        e = errno;
        }
        return e == EBADF ? fail_what("pidfd_getfd", EBADF) : fail_what("pidfd_getfd", e);
}

/* Loads a filter of our own that sends everything to a listener we would hold: only one
 * listener per filter stack (EBUSY), and no promise allows seccomp(2) (EPERM). */
static int cmd_new_listener(int argc, char **argv) {
        static struct sock_filter notify_all[] = { { 0x06, 0, 0, 0x7fc00000U /* SECCOMP_RET_USER_NOTIF */ } };
        struct sock_fprog prog = { .len = 1, .filter = notify_all };
        (void) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        long fd = syscall(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 8 /* FLAG_NEW_LISTENER */, &prog);
        if (fd < 0)
                return fail_what("seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER)", errno);
        put(1, "own listener: fd %ld\n", fd);
        return EEXIST;
}

/* Refused calls in bulk: mknod N times (one cause), then a row of distinct calls no promise
 * allows. Exit 0 when every one failed with EPERM. */
static int cmd_deny_flood(int argc, char **argv) {
        static const long nrs[] = { SYS_mount, SYS_umount2, SYS_pivot_root, SYS_chroot, SYS_swapon, SYS_swapoff,
                                    SYS_reboot, SYS_sethostname, SYS_setdomainname, SYS_iopl, SYS_ioperm,
                                    SYS_init_module, SYS_delete_module, SYS_quotactl, SYS_acct, SYS_syslog,
                                    SYS_vhangup, SYS_kexec_load, SYS_bpf, SYS_userfaultfd };
        long n;
        if (!parse_long(argv[0], &n) || n < 1)
                return usage("deny-flood N");
        for (long i = 0; i < n; i++)
                if (syscall(SYS_mknodat, -1, (void *) 1, 0, 0) == 0 || errno != EPERM)
                        return fail_what("mknodat", errno ? errno : EINVAL);
        for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++)
                if (syscall(nrs[i], 0, 0, 0, 0, 0) == 0 || errno != EPERM)
                        return fail_what("a refused call", errno ? errno : EINVAL);
        return 0;
}

static void *listen_thread(void *arg) {
        int *fd = arg;
        fd[1] = listen(fd[0], 1) < 0 ? errno : 0;
        return NULL;
}

/* Binds 127.0.0.1:PORT here and listens from another thread: the init answers a thread's
 * listen(2) under --tcp-bind too. Exit: listen's errno. */
static int cmd_thread_listen(int argc, char **argv) {
        long port;
        int fd[2], r;
        pthread_t t;
        if (!parse_long(argv[0], &port) || port <= 0 || port > 65535)
                return usage("thread-listen PORT");
        r = loopback_listener(port, &fd[0]);
        if (r)
                return r;
        if (pthread_create(&t, NULL, listen_thread, fd) != 0 || pthread_join(t, NULL) != 0)
                return fail_what("pthread", EAGAIN);
        (void) close(fd[0]);
        return fd[1] ? fail_what("listen", fd[1]) : 0;
}

static int cmd_help(int argc, char **argv);

static const struct {
        const char *name;
        int min_args, max_args;
        int (*fn)(int argc, char **argv);
        const char *usage;
} commands[] = {
        { "syscall", 1, 1, cmd_syscall, "NAME|list: bad-argument syscall; exit = errno" },
        { "read", 1, 1, cmd_read, "PATH: open O_RDONLY and read it all" },
        { "cat", 1, 1, cmd_cat, "PATH: print the file" },
        { "write", 1, 1, cmd_write, "PATH: open O_WRONLY (no create, no truncate) and write" },
        { "append", 1, 1, cmd_append, "PATH: open O_WRONLY|O_APPEND and write" },
        { "create", 1, 1, cmd_create, "PATH: open O_WRONLY|O_CREAT|O_EXCL and write" },
        { "open-trunc", 1, 1, cmd_open_trunc, "PATH: open O_WRONLY|O_TRUNC" },
        { "truncate", 1, 1, cmd_truncate, "PATH: truncate(2) to 0" },
        { "ftruncate", 1, 1, cmd_ftruncate, "PATH: open O_WRONLY, ftruncate(2) to 0" },
        { "mkdir", 1, 1, cmd_mkdir, "PATH" },
        { "rmdir", 1, 1, cmd_rmdir, "PATH" },
        { "unlink", 1, 1, cmd_unlink, "PATH" },
        { "rename", 2, 2, cmd_rename, "OLD NEW" },
        { "link", 2, 2, cmd_link, "OLD NEW" },
        { "symlink", 2, 2, cmd_symlink, "TARGET PATH" },
        { "mkfifo", 1, 1, cmd_mkfifo, "PATH: mknod S_IFIFO" },
        { "stat", 1, 1, cmd_stat, "PATH" },
        { "chmod", 2, 2, cmd_chmod, "PATH OCTAL-MODE" },
        { "chown", 3, 3, cmd_chown, "PATH UID GID" },
        { "utime", 1, 1, cmd_utime, "PATH: utimensat(now)" },
        { "flock", 1, 1, cmd_flock, "PATH: flock(LOCK_EX|LOCK_NB)" },
        { "fcntl-lock", 1, 1, cmd_fcntl_lock, "PATH: fcntl(F_SETLK, F_RDLCK)" },
        { "ls", 1, 1, cmd_ls, "DIR: list entries, one per line" },
        { "readlink", 1, 1, cmd_readlink, "PATH: print the link's target" },
        { "cwd", 0, 0, cmd_cwd, ": print getcwd()" },
        { "exec", 1, 1024, cmd_exec, "PATH [ARG]...: execve(PATH, [PATH, ARG...])" },
        { "mmap-exec", 0, 0, cmd_mmap_exec, ": anonymous PROT_READ|PROT_EXEC mapping" },
        { "mprotect-exec", 0, 0, cmd_mprotect_exec, ": mprotect an RW mapping to RX" },
        { "memhog", 1, 1, cmd_memhog, "MB: map and touch MB megabytes" },
        { "thread", 0, 0, cmd_thread, ": pthread_create + join" },
        { "fork", 0, 0, cmd_fork, ": fork + wait" },
        { "forkbomb", 1, 1, cmd_forkbomb, "N: fork up to N waiting children, print how many" },
        { "sleep", 1, 1, cmd_sleep, "SECONDS" },
        { "x32", 0, 0, cmd_x32, ": getpid through the x32 ABI" },
        { "connect", 1, 1, cmd_connect, "ADDR:PORT: TCP connect" },
        { "connect-self-mptcp", 1, 1, cmd_connect_self_mptcp, "PORT: listen on 127.0.0.1:PORT, connect over MPTCP" },
        { "listen-unbound", 1, 1, cmd_listen_unbound, "inet|inet6|unix: listen(2) without bind(2); prints the port" },
        { "udp-send", 1, 1, cmd_udp_send, "ADDR:PORT: one UDP datagram" },
        { "bind", 1, 1, cmd_bind, "PORT: TCP bind to 127.0.0.1:PORT" },
        { "connect-self", 1, 1, cmd_connect_self, "PORT: listen on 127.0.0.1:PORT and connect to it" },
        { "abstract-connect", 1, 1, cmd_abstract_connect, "NAME: connect to abstract unix socket @NAME" },
        { "abstract-self", 1, 1, cmd_abstract_self, "NAME: listen on @NAME and connect to it" },
        { "unix-connect", 1, 1, cmd_unix_connect, "PATH: connect to the unix socket at PATH (stream or seqpacket)" },
        { "socket", 2, 3, cmd_socket, "FAMILY TYPE [PROTO]: create and close a socket" },
        { "ioctl", 1, 1, cmd_ioctl, "NAME: ioctl on a pipe (allowed: 0 or ENOTTY)" },
        { "find-listener", 0, 0, cmd_find_listener, ": EEXIST if one of our fds is a seccomp listener" },
        { "steal-fds", 1, 1, cmd_steal_fds, "PID: pidfd_getfd of its fds 0..63; EEXIST if one is taken" },
        { "new-listener", 0, 0, cmd_new_listener, ": load a notify-everything filter with a listener of our own" },
        { "deny-flood", 1, 1, cmd_deny_flood, "N: mknodat N times, then 20 distinct calls no promise allows" },
        { "thread-listen", 1, 1, cmd_thread_listen, "PORT: bind 127.0.0.1:PORT, listen(2) from a thread" },
        { "kill", 2, 2, cmd_kill, "PID SIGNAL" },
        { "kill-self", 0, 1, cmd_kill_self, "[SIGNAL]: kill(getpid(), SIGNAL or 0)" },
        { "kill-child", 0, 0, cmd_kill_child, ": fork a child and SIGTERM it" },
        { "signal-self", 1, 1, cmd_signal_self, "SIGNAL: raise(SIGNAL)" },
        { "exit", 1, 1, cmd_exit, "CODE" },
        { "getpid", 0, 0, cmd_getpid, ": print the pid" },
        { "getppid", 0, 0, cmd_getppid, ": print the parent's pid" },
        { "ps", 0, 0, cmd_ps, ": print the pids in /proc" },
        { "fds", 0, 0, cmd_fds, ": print the open fds" },
        { "id", 0, 0, cmd_id, ": print uid gid euid egid groups" },
        { "nice", 0, 0, cmd_nice, ": print the nice value" },
        { "setnice", 1, 1, cmd_setnice, "N: setpriority(N)" },
        { "oom", 0, 0, cmd_oom, ": print oom_score_adj" },
        { "status", 1, 1, cmd_status, "FIELD: print a /proc/self/status field" },
        { "rlimit", 1, 1, cmd_rlimit, "NAME: print soft and hard limit" },
        { "env", 0, 0, cmd_env, ": print the environment" },
        { "hostname", 0, 0, cmd_hostname, ": print the nodename" },
        { "netdev", 0, 0, cmd_netdev, ": print the network interfaces" },
        { "echo", 0, 1024, cmd_echo, "WORD...: print to stdout" },
        { "echo-err", 0, 1024, cmd_echo_err, "WORD...: print to stderr" },
        { "help", 0, 0, cmd_help, ": this list" },
};

static int cmd_help(int argc, char **argv) {
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                put(1, "probe %s %s\n", commands[i].name, commands[i].usage);
        return 0;
}

int main(int argc, char **argv) {
        if (argc < 2) {
                put(2, "probe: usage: probe COMMAND [ARG]... (probe help)\n");
                return EINVAL;
        }
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                if (strcmp(argv[1], commands[i].name) != 0)
                        continue;
                int n = argc - 2;
                op = commands[i].name;
                if (n < commands[i].min_args || n > commands[i].max_args) {
                        put(2, "probe: usage: probe %s %s\n", commands[i].name, commands[i].usage);
                        return EINVAL;
                }
                return commands[i].fn(n, argv + 2);
        }
        put(2, "probe: unknown command '%s' (probe help)\n", argv[1]);
        return EINVAL;
}

#endif /* PROBE_NOLIBC */
