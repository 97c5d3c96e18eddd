/* SPDX-License-Identifier: MIT */
/* tests/root/start-logs.c: a start as the plugin sends it, with stdout_path and stderr_path in
 * the request: sandboxd opens them itself (and waits for a FIFO's reader), where sandboxctl opens
 * its own files and passes descriptors.
 *
 *   start-logs SOCKET NAME STDOUT_PATH STDERR_PATH RESOLV_CONF UNVEIL COMMAND [ARG]...
 * Admin connection (root), network none; RESOLV_CONF is the content of the task's resolv.conf
 * ("" = none); START_LOGS_NO_DEFAULTS set: no default unveil set; START_LOGS_ALLOC_ID: the
 * request's nomad.alloc_id (task "web"). Exits 0 when started, 1 when refused (the message on stderr), 3 when the request
 * went out and the connection broke before an answer (the outcome is unknown), 2 on bad usage. */
#include <stdio.h>

#include "client.h"

int main(int argc, char **argv) {
        if (argc < 8) {
                fprintf(stderr, "usage: start-logs SOCKET NAME STDOUT_PATH STDERR_PATH RESOLV_CONF UNVEIL COMMAND [ARG]...\n");
                return 2;
        }
        SandboxdClient c;
        SbxError err = {};
        if (sandboxd_connect(argv[1], "", "start-logs", &c, &err) < 0) {
                fprintf(stderr, "start-logs: %s\n", err.msg);
                return 1;
        }
        Sandboxd__V1__StartRequest s = SANDBOXD__V1__START_REQUEST__INIT;
        s.name = argv[2];
        s.stdout_path = argv[3];
        s.stderr_path = argv[4];
        s.resolv_conf = argv[5];
        s.n_unveil = argv[6][0] ? 1 : 0;
        s.unveil = &argv[6];
        s.net = (char *) "none";
        s.no_unveil_defaults = getenv("START_LOGS_NO_DEFAULTS") != NULL; /* for a policy without the set */
        Sandboxd__V1__NomadMeta meta = SANDBOXD__V1__NOMAD_META__INIT;
        if (getenv("START_LOGS_ALLOC_ID")) { /* the start is for this allocation, as the plugin's */
                meta.alloc_id = getenv("START_LOGS_ALLOC_ID");
                meta.task_name = (char *) "web";
                s.nomad = &meta;
        }
        s.n_argv = (size_t) argc - 7;
        s.argv = argv + 7;
        Sandboxd__V1__Request req = SANDBOXD__V1__REQUEST__INIT;
        req.op_case = SANDBOXD__V1__REQUEST__OP_START;
        req.start = &s;
        Frame *f = NULL;
        int r = sandboxd_call(&c, &req, NULL, 0, &f, &err);
        bool unanswered = c.unanswered;
        frame_free(f);
        sandboxd_disconnect(&c);
        if (r < 0) {
                fprintf(stderr, "start-logs: %s%s\n", unanswered ? "the outcome is unknown: " : "", err.msg);
                return unanswered ? 3 : 1;
        }
        printf("started %s\n", argv[2]);
        return 0;
}
