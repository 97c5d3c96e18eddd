/* SPDX-License-Identifier: MIT */
/* daemon/lib/elfinfo.c: what execve(2) will run. The ELF part follows load_elf_binary() and
 * load_elf_phdrs() in fs/binfmt_elf.c, the "#!" part load_script() in fs/binfmt_script.c and
 * the interpreter loop exec_binprm() in fs/exec.c (Linux 6.x), check for check, so the launch
 * rules and the launch filter describe the program the kernel actually runs. */
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "elfinfo.h"
#include "macro.h"
#include "util.h"

/* Reads exactly size bytes (the kernel's elf_read(): a short read is -EIO). */
static int read_exact(ElfReadFn read, void *userdata, void *buf, size_t size, unsigned long long offset) {
        long n = read(userdata, buf, size, offset);
        if (n < 0)
                return (int) n;
        return (size_t) n == size ? 0 : -EIO;
}

static bool spacetab(char c) {
        return c == ' ' || c == '\t';
}

/* The first of [first, last] (both included) that is not a space or tab, or NULL. */
static const char *next_non_spacetab(const char *first, const char *last) {
        for (; first <= last; first++)
                if (!spacetab(*first))
                        return first;
        return NULL;
}

/* The first of [first, last] that is a space, a tab or a NUL, or NULL. */
static const char *next_terminator(const char *first, const char *last) {
        for (; first <= last; first++)
                if (spacetab(*first) || !*first)
                        return first;
        return NULL;
}

/* load_script(): the interpreter name of "#!" in the first ELF_BUF_SIZE bytes (zero padded,
 * as the kernel's buffer is). Either a newline ends the line, or a space, tab or NUL must
 * follow the name within the buffer: the kernel never runs a truncated interpreter path. */
static int parse_script(const char buf[ELF_BUF_SIZE], char name[ELF_BUF_SIZE], const char **reason) {
        const char *buf_end = buf + ELF_BUF_SIZE - 1;
        const char *i_end = memchr(buf, '\n', ELF_BUF_SIZE);

        if (!i_end) {
                i_end = next_non_spacetab(buf + 2, buf_end);
                if (!i_end) {
                        *reason = "the \"#!\" line holds nothing but blanks";
                        return -ENOEXEC;
                }
                if (!next_terminator(i_end, buf_end)) {
                        *reason = "the \"#!\" interpreter path does not end within the first 256 bytes";
                        return -ENOEXEC;
                }
                i_end = buf_end;
        }
        while (spacetab(i_end[-1]))
                i_end--;
        const char *i_name = next_non_spacetab(buf + 2, i_end);
        if (!i_name || i_name == i_end) {
                *reason = "the \"#!\" line names no interpreter";
                return -ENOEXEC;
        }
        /* The name ends at a space, tab or NUL, or where the line ends (i_end, which the kernel
         * overwrites with a NUL). */
        const char *i_sep = next_terminator(i_name, i_end);
        const char *stop = i_sep && i_sep < i_end ? i_sep : i_end;
        size_t len = (size_t) (stop - i_name);
        memcpy(name, i_name, len);
        name[len] = 0;
        return 0;
}

int elf_parse(ElfReadFn read, void *userdata, ElfImage *ret, const char **ret_reason) {
        char buf[ELF_BUF_SIZE] = {};
        const char *reason = NULL;
        int r;

        *ret_reason = NULL;
        ret->kind = ELF_KIND_OTHER;
        ret->has_interp = ret->exec_stack = false;
        ret->interp[0] = ret->script[0] = 0;

        long n = read(userdata, buf, sizeof(buf), 0);
        if (n < 0) {
                *ret_reason = "cannot read its first bytes";
                return (int) n;
        }

        if (buf[0] == '#' && buf[1] == '!') {
                r = parse_script(buf, ret->script, &reason);
                if (r < 0) {
                        *ret_reason = reason;
                        return r;
                }
                ret->kind = ELF_KIND_SCRIPT;
                return 0;
        }

        if (memcmp(buf, ELFMAG, SELFMAG) != 0)
                return 0; /* not ours: binfmt_misc or ENOEXEC, execve decides */

        Elf64_Ehdr eh;
        memcpy(&eh, buf, sizeof(eh));
        /* The 64-bit loader does not look at EI_CLASS; the compat loader takes i386 and x32
         * programs, whose system calls every filter of ours kills (foreign architecture). */
        if (eh.e_ident[EI_CLASS] == ELFCLASS32) {
                Elf32_Ehdr eh32;
                memcpy(&eh32, buf, sizeof(eh32));
                if (eh32.e_machine == EM_386 || eh32.e_machine == EM_X86_64) {
                        *ret_reason = "a 32-bit (i386 or x32) program: the sandbox runs x86_64 programs only";
                        return -ENOEXEC;
                }
                return 0;
        }
        if ((eh.e_type != ET_EXEC && eh.e_type != ET_DYN) || eh.e_machine != EM_X86_64)
                return 0; /* binfmt_elf refuses it with ENOEXEC and passes it on */

        /* load_elf_phdrs() */
        if (eh.e_phentsize != sizeof(Elf64_Phdr)) {
                *ret_reason = "e_phentsize is not the size of an Elf64_Phdr";
                return -ENOEXEC;
        }
        size_t size = (size_t) eh.e_phnum * sizeof(Elf64_Phdr);
        if (size == 0 || size > ELF_MAX_PHDRS_SIZE) {
                *ret_reason = "no program headers, or more than fit in 4096 bytes";
                return -ENOEXEC;
        }
        Elf64_Phdr ph[ELF_MAX_PHDRS_SIZE / sizeof(Elf64_Phdr)];
        r = read_exact(read, userdata, ph, size, eh.e_phoff);
        if (r < 0) {
                *ret_reason = "its program headers lie beyond the end of the file";
                return r;
        }

        /* The first PT_INTERP is the interpreter; the kernel never looks at a second one. */
        for (size_t i = 0; i < eh.e_phnum; i++) {
                if (ph[i].p_type != PT_INTERP)
                        continue;
                if (ph[i].p_filesz > PATH_MAX || ph[i].p_filesz < 2) {
                        *ret_reason = "PT_INTERP is shorter than 2 or longer than 4096 bytes";
                        return -ENOEXEC;
                }
                r = read_exact(read, userdata, ret->interp, ph[i].p_filesz, ph[i].p_offset);
                if (r < 0) {
                        *ret_reason = "PT_INTERP lies beyond the end of the file";
                        return r;
                }
                if (ret->interp[ph[i].p_filesz - 1] != 0) {
                        *ret_reason = "PT_INTERP is not NUL-terminated";
                        return -ENOEXEC;
                }
                if (ret->interp[0] == 0) {
                        *ret_reason = "PT_INTERP names no file";
                        return -ENOEXEC;
                }
                ret->has_interp = true;
                break;
        }
        /* Every PT_GNU_STACK counts, the last one wins. Without one, x86_64 (64-bit, since
         * Linux 5.8) gives a non-executable stack and no READ_IMPLIES_EXEC. */
        for (size_t i = 0; i < eh.e_phnum; i++)
                if (ph[i].p_type == PT_GNU_STACK)
                        ret->exec_stack = ph[i].p_flags & PF_X;

        ret->kind = ELF_KIND_ELF;
        return 0;
}

typedef struct MemFile {
        const unsigned char *data;
        size_t len;
} MemFile;

static long mem_read(void *userdata, void *buf, size_t size, unsigned long long offset) {
        const MemFile *m = userdata;
        if (offset >= m->len)
                return 0;
        size_t n = m->len - (size_t) offset < size ? m->len - (size_t) offset : size;
        memcpy(buf, m->data + offset, n);
        return (long) n;
}

int elf_parse_buffer(const void *buf, size_t len, ElfImage *ret, const char **ret_reason) {
        MemFile m = { .data = buf, .len = len };
        return elf_parse(mem_read, &m, ret, ret_reason);
}

static long fd_read(void *userdata, void *buf, size_t size, unsigned long long offset) {
        int fd = *(int *) userdata;
        size_t done = 0;
        if (offset > (unsigned long long) INT64_MAX)
                return 0;
        while (done < size) {
                ssize_t n = pread(fd, (char *) buf + done, size - done, (off_t) (offset + done));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        return (long) done;
}

/* An interpreter path as the kernel opens it (open_exec: symlinks followed, relative to the
 * caller's cwd), resolved to the regular file it names. */
static int resolve_interp(const char *name, const char *cwd, char **ret) {
        _cleanup_free_ char *joined = NULL;
        struct stat st;

        if (name[0] != '/')
                name = joined = xasprintf("%s/%s", cwd && cwd[0] == '/' ? cwd : "/", name);
        _cleanup_free_ char *real = realpath(name, NULL);
        if (!real)
                return -errno;
        if (stat(real, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return S_ISDIR(st.st_mode) ? -EISDIR : -EACCES;
        *ret = TAKE_PTR(real);
        return 0;
}

int elf_inspect(const char *path, const char *cwd, ElfInfo *ret, SbxError *err) {
        ElfInfo info = {};
        _cleanup_free_ char *cur = xstrdup(path);
        ElfImage *img = xmalloc(sizeof(ElfImage));
        const char *reason;
        int r = 0;

        for (size_t depth = 0;; depth++) {
                struct stat st;
                _cleanup_close_ int fd = open(cur, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
                if (fd < 0) {
                        r = sbx_error_errno(err, errno, "exec: %s", cur);
                        goto fail;
                }
                if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                        r = sbx_error(err, EACCES, "exec: %s: not a regular file", cur);
                        goto fail;
                }
                r = elf_parse(fd_read, &fd, img, &reason);
                if (r < 0) {
                        r = sbx_error(err, -r, "exec: %s: %s", cur, reason ?: strerror(-r));
                        goto fail;
                }
                if (img->kind != ELF_KIND_SCRIPT) {
                        info.native = img->kind == ELF_KIND_ELF;
                        info.dynamic = img->has_interp;
                        info.exec_stack = img->exec_stack;
                        /* Unveiled only as the regular file an absolute PT_INTERP names; anything
                         * else is left to the task's own rules (and execve to judge). */
                        if (img->has_interp && img->interp[0] == '/')
                                (void) resolve_interp(img->interp, NULL, &info.interp);
                        break;
                }
                if (depth >= ELF_MAX_INTERP_DEPTH) {
                        r = sbx_error(err, ELOOP, "exec: %s: more than %d levels of \"#!\" interpreters", path,
                                      ELF_MAX_INTERP_DEPTH);
                        goto fail;
                }
                char *next = NULL;
                r = resolve_interp(img->script, cwd, &next);
                if (r < 0) {
                        r = sbx_error(err, -r, "exec: %s: its \"#!\" interpreter '%s': %s", cur, img->script,
                                      strerror(-r));
                        goto fail;
                }
                info.scripts[info.n_scripts++] = next;
                free(cur);
                cur = xstrdup(next);
        }

        info.program = TAKE_PTR(cur);
        free(img);
        *ret = info;
        return 0;

fail:
        free(img);
        elf_info_done(&info);
        return r;
}

void elf_info_done(ElfInfo *i) {
        if (!i)
                return;
        free(i->program);
        free(i->interp);
        for (size_t k = 0; k < i->n_scripts; k++)
                free(i->scripts[k]);
        *i = (ElfInfo) {};
}
