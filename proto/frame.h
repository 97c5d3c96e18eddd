/* SPDX-License-Identifier: MIT */
/* proto/frame.h: one protobuf Frame per SOCK_SEQPACKET datagram, with optional fds.
 * Used by sandboxd, sandboxctl and the shim (which must not link the spawn library). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "sandboxd.pb-c.h"

#define SANDBOXD_PROTOCOL_VERSION 1
#define FRAME_MAX (128u * 1024u)
#define FRAME_MAX_FDS 3

typedef Sandboxd__V1__Frame Frame;

/* Serializes f and sends it with n_fds descriptors (SCM_RIGHTS). Returns 0 or -errno
 * (-EMSGSIZE if the frame is larger than FRAME_MAX). Never raises SIGPIPE. */
int frame_send(int sock, const Frame *f, const int *fds, size_t n_fds);

/* Receives one datagram. Returns 1 with *ret set (free with frame_free), 0 on EOF,
 * -EMSGSIZE for an oversize datagram (consumed and dropped), -EBADMSG for one that does not
 * decode, -EAGAIN on a non-blocking socket with nothing to read, or another -errno.
 * Received fds are close-on-exec; up to FRAME_MAX_FDS are returned in fds/ *n_fds (both may be
 * NULL, then every received fd is closed), any beyond that are closed. */
int frame_recv(int sock, Frame **ret, int *fds, size_t *n_fds);

/* Pure decoding with the same checks as frame_recv (for tests and fuzzing). */
int frame_decode(const uint8_t *buf, size_t len, Frame **ret);
void frame_free(Frame *f);
