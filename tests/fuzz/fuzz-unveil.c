/* SPDX-License-Identifier: MIT */
/* Fuzz target: unveil entries, port lists and the ELF/script header parser. The input is split
 * at newlines; each line goes through every text parser, the whole buffer through the ELF one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elfinfo.h"
#include "landlock.h"
#include "unveil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static ElfImage img;
        const char *reason = NULL;
        /* Every refusal says why; a script's name and an interpreter are C strings. */
        if (elf_parse_buffer(data, size, &img, &reason) < 0 ? !reason
                                                           : strnlen(img.script, sizeof(img.script)) == sizeof(img.script) ||
                                                                     strnlen(img.interp, sizeof(img.interp)) == sizeof(img.interp))
                abort();

        char *copy = malloc(size + 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        copy[size] = 0;

        UnveilList l = {};
        char *save = NULL;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                SbxError err = {};
                char *path = NULL;
                unsigned perms = 0;
                if (unveil_entry_parse(line, &path, &perms, &err) == 0) {
                        char buf[5];
                        unsigned again;
                        /* The letters we print must parse back to the same set. */
                        if (unveil_perms_parse(unveil_perms_format(perms, buf), &again, NULL) < 0 || again != perms)
                                abort();
                        if (path[0] != '/')
                                abort();
                        free(path);
                } else if (strnlen(err.msg, sizeof(err.msg)) == 0)
                        abort(); /* every refusal must say why */
                (void) unveil_list_add_entry(&l, line, NULL);
                PortList p;
                if (port_list_parse(line, &p, &err) == 0 && p.n > UNVEIL_MAX_PORTS)
                        abort();
        }
        unveil_list_done(&l);
        free(copy);
        return 0;
}
