/* SPDX-License-Identifier: MIT */
/* daemon/lib/elfinfo.h: what execve(2) will run, read the way the kernel reads it.
 *
 * The launch rules (what gets unveiled for the program's interpreters) and the launch filter
 * (whether ld.so runs, so the preload helper narrows) both follow from this, so the parser
 * follows fs/binfmt_elf.c and fs/binfmt_script.c rather than the ELF specification: the first
 * PT_INTERP, program headers wherever e_phoff puts them, the kernel's size limits, the "#!"
 * line within the kernel's 256-byte buffer, at most 5 interpreter rewrites. What the kernel
 * would refuse, or run differently than we read it, is an error naming the file and the
 * reason. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define ELF_BUF_SIZE 256         /* BINPRM_BUF_SIZE: the kernel's look at a file's first bytes */
#define ELF_MAX_INTERP_DEPTH 5   /* exec_binprm(): a 6th interpreter rewrite is ELOOP */
#define ELF_MAX_PHDRS_SIZE 4096  /* load_elf_phdrs(): e_phnum * e_phentsize <= ELF_MIN_ALIGN */

typedef enum ElfKind {
        ELF_KIND_OTHER,  /* neither: binfmt_elf and binfmt_script pass it on (binfmt_misc, ENOEXEC) */
        ELF_KIND_ELF,    /* a native (x86_64, ET_EXEC or ET_DYN) ELF the kernel loads itself */
        ELF_KIND_SCRIPT, /* "#!" */
        _ELF_KIND_MAX,
        _ELF_KIND_INVALID = -EINVAL,
} ElfKind;

/* One file, as one level of execve's handler loop sees it. */
typedef struct ElfImage {
        ElfKind kind;
        /* ELF_KIND_ELF */
        bool has_interp;
        bool exec_stack;          /* the last PT_GNU_STACK has PF_X (none: not executable on x86_64) */
        char interp[PATH_MAX];    /* the first PT_INTERP, as the kernel opens it (up to its NUL) */
        /* ELF_KIND_SCRIPT */
        char script[ELF_BUF_SIZE]; /* the "#!" interpreter name */
} ElfImage;

/* Reads at most size bytes at offset into buf; returns the count, or -errno. */
typedef long (*ElfReadFn)(void *userdata, void *buf, size_t size, unsigned long long offset);

/* One level, pure: the file is reached through read (pread on a fd, or a buffer for the fuzz
 * target and the unit tests). On a file the kernel would refuse, returns -errno (ENOEXEC, EIO,
 * ELOOP, ...) and sets *ret_reason to a constant sentence ("PT_INTERP is not NUL-terminated"). */
int elf_parse(ElfReadFn read, void *userdata, ElfImage *ret, const char **ret_reason);
/* elf_parse over an in-memory file image. */
int elf_parse_buffer(const void *buf, size_t len, ElfImage *ret, const char **ret_reason);

typedef struct ElfInfo {
        bool dynamic;       /* the ELF that finally runs has a PT_INTERP: ld.so runs before main() */
        bool exec_stack;    /* ... and asks for an executable stack */
        bool native;        /* it is an ELF the kernel loads itself (not ELF_KIND_OTHER) */
        char *program;      /* the file that finally runs (the last interpreter of a script) */
        char *interp;       /* its PT_INTERP resolved to a regular file (absolute, no symlinks) to
                             * unveil, or NULL (none, relative, or not a regular file) */
        char *scripts[ELF_MAX_INTERP_DEPTH]; /* each "#!" interpreter, resolved like interp */
        size_t n_scripts;
} ElfInfo;

/* Follows path through its "#!" interpreters (a relative one is resolved against cwd, as
 * execve would in the task) to the file that runs, and inspects it. Reads only headers. */
int elf_inspect(const char *path, const char *cwd, ElfInfo *ret, SbxError *err);
void elf_info_done(ElfInfo *i);
