/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz-promises.c: promise strings through the parser, the formatter and (for what
 * parses) the seccomp compiler; the formatted text must parse back to the same set. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promises.h"
#include "seccomp-program.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static unsigned compiled;
        char *s = malloc(size + 1);
        memcpy(s, data, size);
        s[size] = 0;

        SbxError err = {};
        uint64_t mask, again;
        if (promises_parse(s, &mask, &err) == 0) {
                char *f = promises_format(mask);
                if (promises_parse(f, &again, &err) < 0 || again != mask)
                        abort();
                free(f);
                /* Compiling is slow; a few per run prove the compiler takes any parsed set. */
                if (compiled++ < 64) {
                        SeccompProgram p = {};
                        if (seccomp_compile_promises(mask, compiled & 1 ? SECCOMP_COMPILE_ALLOW_EXEC : 0, &p, &err) < 0)
                                abort();
                        seccomp_program_done(&p);
                }
        } else if (!err.msg[0])
                abort(); /* every refusal says why */
        free(s);
        return 0;
}
