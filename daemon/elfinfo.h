/* SPDX-License-Identifier: MIT */
/* daemon/elfinfo.h: is a program statically or dynamically linked, and what does it load first. */
#pragma once

#include <limits.h>
#include <stdbool.h>

#include "error.h"

typedef struct ElfInfo {
        bool dynamic;              /* needs ld.so (PT_INTERP), or is a script */
        char interp[PATH_MAX];     /* PT_INTERP of the program (or of a script's interpreter) */
        char script_interp[PATH_MAX]; /* "#!" interpreter of a script, "" otherwise */
} ElfInfo;

/* Reads only headers. A script counts as dynamic unless its interpreter is a static ELF. */
int elf_inspect(const char *path, ElfInfo *ret, SbxError *err);

/* Pure: inspects an in-memory image prefix (used by the fuzz target and elf_inspect). Returns
 * 1 = ELF, 2 = script, 0 = neither (left to execve to judge), -errno on malformed headers. */
int elf_parse_buffer(const unsigned char *buf, size_t len, bool *ret_has_interp, size_t *ret_interp_off,
                     size_t *ret_interp_len);
