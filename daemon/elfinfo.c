/* SPDX-License-Identifier: MIT */
/* daemon/elfinfo.c: minimal ELF/script header inspection, enough to tell whether the launch needs
 * the dynamic loader (and so the preload helper and the library directories). */
#include <elf.h>
#include <fcntl.h>
#include <string.h>

#include "elfinfo.h"
#include "macro.h"

#define HEAD_SIZE 4096

int elf_parse_buffer(const unsigned char *buf, size_t len, bool *ret_has_interp, size_t *ret_interp_off,
                     size_t *ret_interp_len) {
        if (len >= 2 && buf[0] == '#' && buf[1] == '!')
                return 2;
        if (len < sizeof(Elf64_Ehdr) || memcmp(buf, ELFMAG, SELFMAG) != 0)
                return 0;
        if (buf[EI_CLASS] != ELFCLASS64)
                return -ENOEXEC; /* 32-bit programs: their syscalls would hit the wrong-arch kill */

        Elf64_Ehdr eh;
        memcpy(&eh, buf, sizeof(eh));
        if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 512)
                return -ENOEXEC;

        *ret_has_interp = false;
        for (size_t i = 0; i < eh.e_phnum; i++) {
                size_t off = eh.e_phoff + i * sizeof(Elf64_Phdr);
                if (eh.e_phoff > len || off + sizeof(Elf64_Phdr) > len || off < eh.e_phoff)
                        return -ERANGE; /* program headers beyond what we read */
                Elf64_Phdr ph;
                memcpy(&ph, buf + off, sizeof(ph));
                if (ph.p_type == PT_INTERP) {
                        if (ph.p_filesz == 0 || ph.p_filesz >= PATH_MAX)
                                return -ENOEXEC;
                        *ret_has_interp = true;
                        *ret_interp_off = ph.p_offset;
                        *ret_interp_len = ph.p_filesz;
                }
        }
        return 1;
}

static int inspect_one(int fd, const char *path, bool *ret_dynamic, char interp[PATH_MAX], char script[PATH_MAX],
                       SbxError *err) {
        unsigned char buf[HEAD_SIZE];
        ssize_t n = pread(fd, buf, sizeof(buf), 0);
        bool has_interp = false;
        size_t ioff = 0, ilen = 0;

        if (n < 0)
                return sbx_error_errno(err, errno, "exec: %s", path);
        int kind = elf_parse_buffer(buf, (size_t) n, &has_interp, &ioff, &ilen);
        if (kind == -ERANGE) {
                /* Unusual layout: program headers past the first 4 KiB. Assume dynamic. */
                *ret_dynamic = true;
                return 0;
        }
        if (kind < 0)
                return sbx_error_errno(err, kind, "exec: %s", path);
        if (kind == 2 && script) {
                size_t i = 2, j = 0;
                while (i < (size_t) n && (buf[i] == ' ' || buf[i] == '\t'))
                        i++;
                while (i < (size_t) n && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && j < PATH_MAX - 1)
                        script[j++] = (char) buf[i++];
                script[j] = 0;
                *ret_dynamic = true;
                return 0;
        }
        if (kind == 1 && has_interp) {
                if (pread(fd, interp, ilen, (off_t) ioff) != (ssize_t) ilen)
                        return sbx_error(err, ENOEXEC, "exec: %s: truncated PT_INTERP", path);
                interp[ilen - 1] = 0;
                *ret_dynamic = true;
                return 0;
        }
        *ret_dynamic = false;
        return 0;
}

int elf_inspect(const char *path, ElfInfo *ret, SbxError *err) {
        ElfInfo info = {};
        int r;

        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return sbx_error_errno(err, errno, "exec: %s", path);
        r = inspect_one(fd, path, &info.dynamic, info.interp, info.script_interp, err);
        if (r < 0)
                return r;
        if (info.script_interp[0] == '/') {
                /* One level: what does the script's interpreter need? */
                _cleanup_close_ int ifd = open(info.script_interp, O_RDONLY | O_CLOEXEC);
                if (ifd >= 0) {
                        bool dyn = true;
                        r = inspect_one(ifd, info.script_interp, &dyn, info.interp, NULL, err);
                        if (r < 0)
                                return r;
                        info.dynamic = dyn;
                }
        }
        *ret = info;
        return 0;
}
