/* SPDX-License-Identifier: MIT */
/* Fuzz target: what a peer can send sandboxd. The bytes are decoded as one Frame (as the daemon
 * does for each datagram); a start request then goes through the same validation as in the
 * daemon (request_to_spec), which is where hostile strings reach our parsers. */
#include <stdint.h>
#include <stdlib.h>

#include "frame.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Frame *f = NULL;
        if (frame_decode(data, size, &f) < 0)
                return 0;
        if (f->kind_case == SANDBOXD__V1__FRAME__KIND_REQUEST && f->request &&
            f->request->op_case == SANDBOXD__V1__REQUEST__OP_START && f->request->start) {
                SandboxSpec s;
                SbxError err = {};
                const char *field = NULL;
                sandbox_spec_init(&s);
                if (request_to_spec(f->request->start, "nobody", &s, &field, &err) < 0 && (!field || !err.msg[0]))
                        abort(); /* every refusal names its reason */
                sandbox_spec_done(&s);
        }
        /* Re-encoding what we decoded must fit the limit we decoded it under. */
        if (sandboxd__v1__frame__get_packed_size(f) > FRAME_MAX)
                abort();
        frame_free(f);
        return 0;
}
