/* SPDX-License-Identifier: MIT */
/* tests/unit/test-elf.c: the ELF and "#!" inspector against what fs/binfmt_elf.c and
 * fs/binfmt_script.c do: crafted images in memory (elf_parse_buffer), and chains of files on
 * disk (elf_inspect: interpreters resolved to regular files, relative ones against the cwd,
 * the kernel's depth limit). tests/root/test-launch.sh runs the same cases through execve. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfinfo.h"
#include "tap.h"

#define IMG_SIZE 16384

typedef struct Img {
        unsigned char b[IMG_SIZE];
        size_t len;
} Img;

static void put(Img *img, size_t off, const void *data, size_t n) {
        memcpy(img->b + off, data, n);
        if (off + n > img->len)
                img->len = off + n;
}

/* An x86_64 ET_DYN with the given program headers at phoff. */
static void make_elf(Img *img, const Elf64_Phdr *ph, size_t n, uint64_t phoff) {
        memset(img, 0, sizeof(*img));
        Elf64_Ehdr eh = { .e_type = ET_DYN, .e_machine = EM_X86_64, .e_version = EV_CURRENT, .e_phoff = phoff,
                          .e_ehsize = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = (uint16_t) n };
        memcpy(eh.e_ident, ELFMAG, SELFMAG);
        eh.e_ident[EI_CLASS] = ELFCLASS64;
        eh.e_ident[EI_DATA] = ELFDATA2LSB;
        eh.e_ident[EI_VERSION] = EV_CURRENT;
        put(img, 0, &eh, sizeof(eh));
        if (n)
                put(img, phoff, ph, n * sizeof(Elf64_Phdr));
}

static Elf64_Phdr interp_at(uint64_t off, uint64_t len) {
        return (Elf64_Phdr) { .p_type = PT_INTERP, .p_flags = PF_R, .p_offset = off, .p_filesz = len, .p_memsz = len };
}

static int parse(const Img *img, ElfImage *ret, const char **reason) {
        return elf_parse_buffer(img->b, img->len, ret, reason);
}

static int parse_text(const char *text, size_t len, ElfImage *ret) {
        const char *reason;
        return elf_parse_buffer(text, len, ret, &reason);
}

static void test_scripts(void) {
        static ElfImage img;
        char buf[400];

        TAP_EQ_INT(parse_text("#!/bin/sh\necho\n", 15, &img), 0, "script");
        tap_ok(img.kind == ELF_KIND_SCRIPT && strcmp(img.script, "/bin/sh") == 0, "interpreter /bin/sh");
        TAP_EQ_INT(parse_text("#! \t/usr/bin/env  python3 -u \n", 30, &img), 0, "blanks around the name");
        TAP_EQ_STR(img.script, "/usr/bin/env", "name ends at the first blank");
        TAP_EQ_INT(parse_text("#!/bin/sh\0junk\n", 15, &img), 0, "NUL inside the line");
        TAP_EQ_STR(img.script, "/bin/sh", "name ends at the NUL, as the kernel copies it");
        TAP_EQ_INT(parse_text("#!/bin/sh", 9, &img), 0, "no newline in a short file (zero padding ends it)");
        TAP_EQ_STR(img.script, "/bin/sh", "interpreter of the short file");
        TAP_EQ_INT(parse_text("#!interp/rel arg\n", 17, &img), 0, "relative interpreter");
        TAP_EQ_STR(img.script, "interp/rel", "relative name kept as written");
        TAP_EQ_INT(parse_text("#!   \n", 6, &img), -ENOEXEC, "no interpreter: ENOEXEC");
        TAP_EQ_INT(parse_text("#!\n", 3, &img), -ENOEXEC, "empty line: ENOEXEC");

        /* 256 bytes without a newline: the name must end within them */
        memset(buf, 'a', sizeof(buf));
        memcpy(buf, "#!/", 3);
        TAP_EQ_INT(parse_text(buf, sizeof(buf), &img), -ENOEXEC, "interpreter path truncated at 256 bytes: ENOEXEC");
        buf[200] = ' ';
        TAP_EQ_INT(parse_text(buf, sizeof(buf), &img), 0, "long line, the name ends within 256 bytes");
        tap_ok(strlen(img.script) == 198, "name of 198 bytes (%zu)", strlen(img.script));
        memset(buf, ' ', sizeof(buf));
        memcpy(buf, "#!", 2);
        TAP_EQ_INT(parse_text(buf, sizeof(buf), &img), -ENOEXEC, "only blanks: ENOEXEC");
        /* the newline may lie anywhere in the 256 bytes; past them it does not count */
        memset(buf, 'b', sizeof(buf));
        memcpy(buf, "#!/x ", 5);
        buf[300] = '\n';
        TAP_EQ_INT(parse_text(buf, sizeof(buf), &img), 0, "newline past 256 bytes, the name ends before");
        TAP_EQ_STR(img.script, "/x", "short name");

        TAP_EQ_INT(parse_text("plain text\n", 11, &img), 0, "not a script nor an ELF");
        tap_ok(img.kind == ELF_KIND_OTHER, "ELF_KIND_OTHER");
        TAP_EQ_INT(parse_text("", 0, &img), 0, "empty file");
        tap_ok(img.kind == ELF_KIND_OTHER, "empty file: ELF_KIND_OTHER");
}

static void test_elf_headers(void) {
        static Img img;
        static ElfImage e;
        const char *reason;
        const char ld[] = "/lib64/ld-linux-x86-64.so.2";

        /* The finding: a second PT_INTERP naming "/" must not be the one we read. */
        Elf64_Phdr two[] = { interp_at(1024, sizeof(ld)), interp_at(1100, 2) };
        make_elf(&img, two, 2, 64);
        put(&img, 1024, ld, sizeof(ld));
        put(&img, 1100, "/", 2);
        TAP_EQ_INT(parse(&img, &e, &reason), 0, "two PT_INTERP");
        tap_ok(e.kind == ELF_KIND_ELF && e.has_interp, "dynamic");
        TAP_EQ_STR(e.interp, ld, "the first PT_INTERP, as the kernel");

        /* Program headers past the first 4 KiB of a static program. */
        Elf64_Phdr load = { .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_filesz = 64, .p_memsz = 64 };
        make_elf(&img, &load, 1, 8192);
        TAP_EQ_INT(parse(&img, &e, &reason), 0, "program headers at 8 KiB");
        tap_ok(e.kind == ELF_KIND_ELF && !e.has_interp, "static (not mistaken for dynamic)");
        Elf64_Phdr far[] = { load, interp_at(12000, sizeof(ld)) };
        make_elf(&img, far, 2, 9000);
        put(&img, 12000, ld, sizeof(ld));
        TAP_EQ_INT(parse(&img, &e, &reason), 0, "program headers at 9000, PT_INTERP at 12000");
        tap_ok(e.has_interp && strcmp(e.interp, ld) == 0, "dynamic, interpreter found far out");

        make_elf(&img, &load, 1, 8192);
        img.len = 8192 + 10;
        TAP_EQ_INT(parse(&img, &e, &reason), -EIO, "program headers cut off by the end of the file: EIO");
        tap_ok(reason != NULL, "with a reason: %s", reason);

        make_elf(&img, &load, 1, 64);
        ((Elf64_Ehdr *) img.b)->e_phentsize = 32;
        TAP_EQ_INT(parse(&img, &e, &reason), -ENOEXEC, "e_phentsize 32: ENOEXEC");
        ((Elf64_Ehdr *) img.b)->e_phentsize = sizeof(Elf64_Phdr);
        ((Elf64_Ehdr *) img.b)->e_phnum = 0;
        TAP_EQ_INT(parse(&img, &e, &reason), -ENOEXEC, "no program headers: ENOEXEC");

        static Elf64_Phdr many[80];
        for (size_t i = 0; i < 80; i++)
                many[i] = load;
        make_elf(&img, many, 73, 64);
        TAP_EQ_INT(parse(&img, &e, &reason), 0, "73 program headers (4088 bytes)");
        make_elf(&img, many, 74, 64);
        TAP_EQ_INT(parse(&img, &e, &reason), -ENOEXEC, "74 program headers (4144 bytes > 4096): ENOEXEC");

        Elf64_Phdr in = interp_at(1024, 8);
        make_elf(&img, &in, 1, 64);
        put(&img, 1024, "/lib/ldX", 8);
        TAP_EQ_INT(parse(&img, &e, &reason), -ENOEXEC, "PT_INTERP not NUL-terminated: ENOEXEC");
        TAP_EQ_STR(reason, "PT_INTERP is not NUL-terminated", "reason names it");
        put(&img, 1024, "/a\0/etc\0", 8);
        TAP_EQ_INT(parse(&img, &e, &reason), 0, "PT_INTERP with an inner NUL");
        TAP_EQ_STR(e.interp, "/a", "the name ends at the first NUL (open_exec reads a C string)");
        put(&img, 1024, "\0/etc/x\0", 8);
        TAP_EQ_INT(parse(&img, &e, &reason), -ENOEXEC, "PT_INTERP naming no file: refused");
        in = interp_at(1024, 1);
        make_elf(&img, &in, 1, 64);
        TAP_EQ_INT(parse(&img, &e, &reason), -ENOEXEC, "PT_INTERP of 1 byte: ENOEXEC");
        in = interp_at(1024, PATH_MAX + 1);
        make_elf(&img, &in, 1, 64);
        img.len = IMG_SIZE;
        TAP_EQ_INT(parse(&img, &e, &reason), -ENOEXEC, "PT_INTERP longer than PATH_MAX: ENOEXEC");
        in = interp_at(100000, 10);
        make_elf(&img, &in, 1, 64);
        TAP_EQ_INT(parse(&img, &e, &reason), -EIO, "PT_INTERP past the end: EIO");

        /* Executable stack: the last PT_GNU_STACK decides; none means not executable. */
        Elf64_Phdr stk = { .p_type = PT_GNU_STACK, .p_flags = PF_R | PF_W | PF_X };
        Elf64_Phdr stk_nx = { .p_type = PT_GNU_STACK, .p_flags = PF_R | PF_W };
        make_elf(&img, &stk, 1, 64);
        TAP_EQ_INT(parse(&img, &e, &reason), 0, "PT_GNU_STACK RWX");
        tap_ok(e.exec_stack, "executable stack");
        Elf64_Phdr both[] = { stk, stk_nx };
        make_elf(&img, both, 2, 64);
        TAP_EQ_INT(parse(&img, &e, &reason), 0, "two PT_GNU_STACK");
        tap_ok(!e.exec_stack, "the last one (RW) wins");
        Elf64_Phdr both2[] = { stk_nx, stk };
        make_elf(&img, both2, 2, 64);
        TAP_EQ_INT(parse(&img, &e, &reason), 0, "two PT_GNU_STACK, RWX last");
        tap_ok(e.exec_stack, "the last one (RWX) wins");
        make_elf(&img, &load, 1, 64);
        TAP_EQ_INT(parse(&img, &e, &reason), 0, "no PT_GNU_STACK");
        tap_ok(!e.exec_stack, "not executable on x86_64");

        /* What the 64-bit loader does not take */
        make_elf(&img, &load, 1, 64);
        img.b[EI_CLASS] = ELFCLASS32;
        ((Elf32_Ehdr *) img.b)->e_machine = EM_386;
        TAP_EQ_INT(parse(&img, &e, &reason), -ENOEXEC, "i386: refused");
        ((Elf32_Ehdr *) img.b)->e_machine = EM_X86_64;
        TAP_EQ_INT(parse(&img, &e, &reason), -ENOEXEC, "x32: refused");
        ((Elf32_Ehdr *) img.b)->e_machine = EM_ARM;
        TAP_EQ_INT(parse(&img, &e, &reason), 0, "32-bit ARM: left to execve");
        tap_ok(e.kind == ELF_KIND_OTHER, "ELF_KIND_OTHER");
        make_elf(&img, two, 2, 64);
        ((Elf64_Ehdr *) img.b)->e_machine = EM_AARCH64;
        TAP_EQ_INT(parse(&img, &e, &reason), 0, "aarch64: left to execve (binfmt_misc)");
        tap_ok(e.kind == ELF_KIND_OTHER && !e.has_interp, "ELF_KIND_OTHER, its PT_INTERP ignored");
        make_elf(&img, two, 2, 64);
        ((Elf64_Ehdr *) img.b)->e_type = ET_REL;
        TAP_EQ_INT(parse(&img, &e, &reason), 0, "ET_REL: left to execve");
        tap_ok(e.kind == ELF_KIND_OTHER, "ELF_KIND_OTHER");
}

/* ---------------------------------------------------------------------------------------- */
/* Files                                                                                      */

static char dir[] = "/tmp/test-elf.XXXXXX";

static void write_file(const char *name, const void *data, size_t len, mode_t mode) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0 || write(fd, data, len) != (ssize_t) len) {
                printf("Bail out! cannot write %s\n", path);
                exit(1);
        }
        close(fd);
}

static void write_text(const char *name, const char *text) {
        write_file(name, text, strlen(text), 0755);
}

static void test_files(void) {
        static Img img;
        ElfInfo info;
        SbxError err = {};
        char path[PATH_MAX], want[PATH_MAX];
        const char ld[] = "/lib64/ld-linux-x86-64.so.2";

        if (!mkdtemp(dir)) {
                printf("Bail out! mkdtemp\n");
                exit(1);
        }
        char *real_ld = realpath(ld, NULL);
        char *real_sh = realpath("/bin/sh", NULL);

        TAP_EQ_INT(elf_inspect("/bin/sh", "/", &info, &err), 0, "inspect /bin/sh");
        tap_ok(info.dynamic && info.native && info.interp && real_ld && strcmp(info.interp, real_ld) == 0,
               "dynamic; its loader resolved through the symlink to %s", info.interp ? info.interp : "(null)");
        elf_info_done(&info);

        /* A static program and a dynamic one whose loader is a symlink, a directory, relative. */
        Elf64_Phdr load = { .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_filesz = 64, .p_memsz = 64 };
        make_elf(&img, &load, 1, 8192);
        write_file("static", img.b, img.len, 0755);
        Elf64_Phdr two[] = { interp_at(1024, sizeof(ld)), interp_at(1100, 2) };
        make_elf(&img, two, 2, 64);
        put(&img, 1024, ld, sizeof(ld));
        put(&img, 1100, "/", 2);
        write_file("two-interp", img.b, img.len, 0755);
        Elf64_Phdr slash = interp_at(1024, 2);
        make_elf(&img, &slash, 1, 64);
        put(&img, 1024, "/", 2);
        write_file("interp-slash", img.b, img.len, 0755);
        Elf64_Phdr rel = interp_at(1024, 7);
        make_elf(&img, &rel, 1, 64);
        put(&img, 1024, "static", 7);
        write_file("interp-rel", img.b, img.len, 0755);
        Elf64_Phdr stack = { .p_type = PT_GNU_STACK, .p_flags = PF_R | PF_W | PF_X };
        make_elf(&img, &stack, 1, 64);
        write_file("execstack", img.b, img.len, 0755);

        snprintf(path, sizeof(path), "%s/static", dir);
        TAP_EQ_INT(elf_inspect(path, "/", &info, &err), 0, "static with headers at 8 KiB");
        tap_ok(!info.dynamic && !info.interp && info.native, "static, nothing to unveil");
        elf_info_done(&info);
        snprintf(path, sizeof(path), "%s/two-interp", dir);
        TAP_EQ_INT(elf_inspect(path, "/", &info, &err), 0, "two PT_INTERP");
        tap_ok(info.interp && real_ld && strcmp(info.interp, real_ld) == 0, "the first one unveiled: %s",
               info.interp ? info.interp : "(null)");
        elf_info_done(&info);
        snprintf(path, sizeof(path), "%s/interp-slash", dir);
        TAP_EQ_INT(elf_inspect(path, "/", &info, &err), 0, "PT_INTERP '/'");
        tap_ok(info.dynamic && !info.interp, "a directory is never unveiled as an interpreter");
        elf_info_done(&info);
        snprintf(path, sizeof(path), "%s/interp-rel", dir);
        TAP_EQ_INT(elf_inspect(path, dir, &info, &err), 0, "relative PT_INTERP");
        tap_ok(info.dynamic && !info.interp, "relative PT_INTERP: not unveiled");
        elf_info_done(&info);
        snprintf(path, sizeof(path), "%s/execstack", dir);
        TAP_EQ_INT(elf_inspect(path, "/", &info, &err), 0, "PT_GNU_STACK RWX");
        tap_ok(info.exec_stack, "executable stack reported");
        elf_info_done(&info);

        /* Scripts: absolute, relative (against the task's cwd), through symlinks, nested. */
        write_text("abs.sh", "#!/bin/sh\n");
        snprintf(path, sizeof(path), "%s/abs.sh", dir);
        TAP_EQ_INT(elf_inspect(path, "/", &info, &err), 0, "script with /bin/sh");
        tap_ok(info.n_scripts == 1 && real_sh && strcmp(info.scripts[0], real_sh) == 0 && info.dynamic,
               "interpreter resolved to %s, dynamic", info.n_scripts ? info.scripts[0] : "(none)");
        elf_info_done(&info);

        char sub[PATH_MAX];
        snprintf(sub, sizeof(sub), "%s/bin", dir);
        mkdir(sub, 0755);
        write_text("rel.sh", "#!bin/interp\n");
        make_elf(&img, &load, 1, 8192);
        write_file("bin/interp", img.b, img.len, 0755);
        snprintf(path, sizeof(path), "%s/rel.sh", dir);
        TAP_EQ_INT(elf_inspect(path, dir, &info, &err), 0, "relative interpreter, resolved against the cwd");
        snprintf(want, sizeof(want), "%s/bin/interp", dir);
        char *real_want = realpath(want, NULL);
        tap_ok(info.n_scripts == 1 && real_want && strcmp(info.scripts[0], real_want) == 0 && !info.dynamic,
               "static interpreter %s: not dynamic", info.n_scripts ? info.scripts[0] : "(none)");
        elf_info_done(&info);
        TAP_EQ_INT(elf_inspect(path, "/", &info, &err), -ENOENT, "the same script from another cwd: ENOENT");
        tap_ok(strstr(err.msg, "bin/interp") != NULL, "message names the interpreter: %s", err.msg);

        snprintf(path, sizeof(path), "%s/bin/link", dir);
        TAP_EQ_INT(symlink("interp", path), 0, "bin/link -> interp");
        write_text("link.sh", "#!bin/link\n");
        snprintf(path, sizeof(path), "%s/link.sh", dir);
        TAP_EQ_INT(elf_inspect(path, dir, &info, &err), 0, "interpreter through a symlink");
        tap_ok(info.n_scripts == 1 && real_want && strcmp(info.scripts[0], real_want) == 0,
               "the regular file is unveiled, not the link");
        elf_info_done(&info);

        write_text("dir.sh", "#!/\n");
        snprintf(path, sizeof(path), "%s/dir.sh", dir);
        TAP_EQ_INT(elf_inspect(path, "/", &info, &err), -EISDIR, "interpreter '/': refused (EISDIR)");

        /* Five rewrites are allowed, the sixth is ELOOP (exec_binprm's depth > 5). */
        char name[32], text[64];
        for (int i = 1; i <= 6; i++) {
                snprintf(name, sizeof(name), "s%d", i);
                if (i == 1)
                        snprintf(text, sizeof(text), "#!%s/bin/interp\n", dir);
                else
                        snprintf(text, sizeof(text), "#!%s/s%d\n", dir, i - 1);
                write_text(name, text);
        }
        snprintf(path, sizeof(path), "%s/s5", dir);
        TAP_EQ_INT(elf_inspect(path, "/", &info, &err), 0, "five scripts deep");
        tap_ok(info.n_scripts == 5 && !info.dynamic, "five interpreters, the last a static ELF");
        elf_info_done(&info);
        snprintf(path, sizeof(path), "%s/s6", dir);
        TAP_EQ_INT(elf_inspect(path, "/", &info, &err), -ELOOP, "six scripts deep: ELOOP");

        write_text("bad.sh", "#!\n");
        snprintf(path, sizeof(path), "%s/bad.sh", dir);
        TAP_EQ_INT(elf_inspect(path, "/", &info, &err), -ENOEXEC, "'#!' and nothing: ENOEXEC");
        tap_ok(strstr(err.msg, "names no interpreter") != NULL, "message: %s", err.msg);

        free(real_ld);
        free(real_sh);
        free(real_want);
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        (void) !system(cmd);
}

int main(void) {
        test_scripts();
        test_elf_headers();
        test_files();
        return tap_done();
}
