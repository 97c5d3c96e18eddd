/* SPDX-License-Identifier: MIT */
/* proto/frame.c: SOCK_SEQPACKET framing. A datagram boundary is a message boundary, so there
 * is no length prefix to trust; MSG_TRUNC tells us the real size of an oversize datagram. */
#include <sys/socket.h>

#include "frame.h"
#include "macro.h"
#include "util.h"

int frame_send(int sock, const Frame *f, const int *fds, size_t n_fds) {
        size_t len = sandboxd__v1__frame__get_packed_size(f);
        if (len > FRAME_MAX)
                return -EMSGSIZE;
        if (n_fds > FRAME_MAX_FDS)
                return -EINVAL;

        _cleanup_free_ uint8_t *buf = xmalloc(len ? len : 1);
        sandboxd__v1__frame__pack(f, buf);

        struct iovec iov = { .iov_base = buf, .iov_len = len };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * FRAME_MAX_FDS)];
        } control = {};
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (n_fds > 0) {
                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        for (;;) {
                ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
                if (n >= 0)
                        return (size_t) n == len ? 0 : -EIO;
                if (errno != EINTR)
                        return -errno;
        }
}

int frame_decode(const uint8_t *buf, size_t len, Frame **ret) {
        if (len > FRAME_MAX)
                return -EMSGSIZE;
        Frame *f = sandboxd__v1__frame__unpack(NULL, len, buf);
        if (!f)
                return -EBADMSG;
        *ret = f;
        return 0;
}

void frame_free(Frame *f) {
        if (f)
                sandboxd__v1__frame__free_unpacked(f, NULL);
}

static void close_fds_from(struct msghdr *mh, int *fds, size_t *n_fds) {
        size_t kept = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (fds && kept < FRAME_MAX_FDS)
                                fds[kept++] = fd;
                        else
                                (void) close(fd);
                }
        }
        if (n_fds)
                *n_fds = kept;
}

int frame_recv(int sock, Frame **ret, int *fds, size_t *n_fds) {
        _cleanup_free_ uint8_t *buf = xmalloc(FRAME_MAX);
        struct iovec iov = { .iov_base = buf, .iov_len = FRAME_MAX };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 16)];
        } control;
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        ssize_t n;

        if (n_fds)
                *n_fds = 0;
        for (;;) {
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_TRUNC);
                if (n >= 0)
                        break;
                if (errno != EINTR)
                        return errno == ECONNRESET ? 0 : -errno;
        }
        if (mh.msg_flags & MSG_CTRUNC) {
                /* More fds than we accept: the kernel closed the excess; drop the whole frame. */
                close_fds_from(&mh, NULL, NULL);
                return -EBADMSG;
        }
        if (n == 0 && mh.msg_controllen == 0)
                return 0;
        if ((size_t) n > FRAME_MAX || (mh.msg_flags & MSG_TRUNC)) {
                close_fds_from(&mh, NULL, NULL);
                return -EMSGSIZE;
        }
        Frame *f;
        int r = frame_decode(buf, (size_t) n, &f);
        if (r < 0) {
                close_fds_from(&mh, NULL, NULL);
                return r;
        }
        close_fds_from(&mh, fds, n_fds);
        *ret = f;
        return 1;
}
