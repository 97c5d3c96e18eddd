/* SPDX-License-Identifier: MIT */
/* proto/client.h: a blocking sandboxd client (sandboxctl, tests). */
#pragma once

#include "error.h"
#include "frame.h"

typedef struct SandboxdClient {
        int fd;
        uint64_t next_id;
        Sandboxd__V1__HelloReply *hello; /* owned by hello_frame */
        Frame *hello_frame;
        bool unanswered; /* the last call's request went out and no answer came back: the
                          * connection broke, so whether sandboxd acted on it is unknown */
} SandboxdClient;

/* Connects and says hello. driver "" = admin view (root only). On a refusal err holds the
 * daemon's message. */
int sandboxd_connect(const char *socket_path, const char *driver, const char *client_name, SandboxdClient *ret,
                     SbxError *err);
void sandboxd_disconnect(SandboxdClient *c);

/* Sends req (its id is assigned here) with optional fds and waits for the matching response,
 * skipping events. Returns 0 with *ret_frame (free with frame_free) whose response has no error;
 * a daemon error becomes -code with err = "<field>: <message>". */
int sandboxd_call(SandboxdClient *c, Sandboxd__V1__Request *req, const int *fds, size_t n_fds, Frame **ret_frame,
                  SbxError *err);
