/* SPDX-License-Identifier: MIT */
/* proto/client.c: see client.h. */
#include <sys/socket.h>
#include <sys/un.h>

#include "client.h"
#include "macro.h"

static int error_from_response(const Sandboxd__V1__Error *e, SbxError *err) {
        if (e->field && e->field[0])
                return sbx_error(err, e->code ? e->code : EIO, "%s: %s", e->field, e->message);
        return sbx_error(err, e->code ? e->code : EIO, "%s", e->message);
}

int sandboxd_connect(const char *socket_path, const char *driver, const char *client_name, SandboxdClient *ret,
                     SbxError *err) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        Frame *f = NULL;

        if (strlen(socket_path) >= sizeof(sa.sun_path))
                return sbx_error(err, ENAMETOOLONG, "socket path '%s' too long", socket_path);
        strcpy(sa.sun_path, socket_path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return sbx_error_errno(err, errno, "socket");
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                /* No socket, or nobody listening on it: most likely the daemon is not running. */
                if (errno == ENOENT || errno == ECONNREFUSED)
                        return sbx_error(err, errno,
                                         "connecting to sandboxd at %s: %s (is sandboxd running? "
                                         "systemctl start sandboxd.socket)",
                                         socket_path, strerror(errno));
                return sbx_error_errno(err, errno, "connecting to sandboxd at %s", socket_path);
        }

        Sandboxd__V1__Hello h = SANDBOXD__V1__HELLO__INIT;
        h.protocol = SANDBOXD_PROTOCOL_VERSION;
        h.client = (char *) client_name;
        h.driver = (char *) driver;
        Frame hf = SANDBOXD__V1__FRAME__INIT;
        hf.kind_case = SANDBOXD__V1__FRAME__KIND_HELLO;
        hf.hello = &h;
        int r = frame_send(fd, &hf, NULL, 0);
        /* Refused at once (not allowed, too many connections): sandboxd answered and shut the
         * connection before our hello; its answer waits to be read. */
        int sent = r;
        r = frame_recv(fd, &f, NULL, NULL);
        if (sent < 0 && r <= 0)
                return sbx_error_errno(err, sent, "sending hello to sandboxd");
        if (r == 0)
                return sbx_error(err, ECONNRESET, "sandboxd closed the connection");
        if (r < 0)
                return sbx_error_errno(err, r, "reading sandboxd's hello");
        if (f->kind_case == SANDBOXD__V1__FRAME__KIND_RESPONSE && f->response->error) {
                r = error_from_response(f->response->error, err);
                frame_free(f);
                return r;
        }
        if (f->kind_case != SANDBOXD__V1__FRAME__KIND_HELLO_REPLY) {
                frame_free(f);
                return sbx_error(err, EPROTO, "sandboxd answered hello with something else");
        }
        *ret = (SandboxdClient) { .fd = TAKE_FD(fd), .next_id = 1, .hello = f->hello_reply, .hello_frame = f };
        return 0;
}

void sandboxd_disconnect(SandboxdClient *c) {
        c->fd = safe_close(c->fd);
        frame_free(c->hello_frame);
        c->hello_frame = NULL;
        c->hello = NULL;
}

int sandboxd_call(SandboxdClient *c, Sandboxd__V1__Request *req, const int *fds, size_t n_fds, Frame **ret_frame,
                  SbxError *err) {
        Frame f = SANDBOXD__V1__FRAME__INIT;
        int r;

        req->id = c->next_id++;
        f.kind_case = SANDBOXD__V1__FRAME__KIND_REQUEST;
        f.request = req;
        c->unanswered = false;
        r = frame_send(c->fd, &f, fds, n_fds);
        if (r < 0)
                return sbx_error_errno(err, r, "sending the request to sandboxd");
        for (;;) {
                Frame *in = NULL;
                r = frame_recv(c->fd, &in, NULL, NULL);
                c->unanswered = r <= 0;
                if (r == 0)
                        return sbx_error(err, ECONNRESET, "sandboxd closed the connection before answering");
                if (r < 0)
                        return sbx_error_errno(err, r, "reading sandboxd's answer");
                if (in->kind_case != SANDBOXD__V1__FRAME__KIND_RESPONSE) {
                        frame_free(in);
                        continue; /* an event */
                }
                if (in->response->id != req->id && in->response->id != 0) {
                        frame_free(in);
                        continue;
                }
                if (in->response->error) {
                        r = error_from_response(in->response->error, err);
                        frame_free(in);
                        return r;
                }
                *ret_frame = in;
                return 0;
        }
}
