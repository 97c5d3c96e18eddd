/* SPDX-License-Identifier: MIT */
/* shim/exec.c: ExecTask (script checks) and ExecTaskStreaming (`nomad alloc exec`).
 *
 * sandboxd runs the command inside the task's sandbox (its namespaces, cgroup, user, Landlock
 * and seccomp) with stdio fds the shim passes: pipes, or the slave of a pty whose master the shim
 * keeps. The shim only moves bytes between those fds and the gRPC stream.
 *
 * The command lives no longer than its call: when ExecTask's timeout passes, or the caller goes
 * away (Nomad cancels the call, `nomad alloc exec` ends), the shim cancels the request and
 * sandboxd kills the command's whole process group. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "macro.h"
#include "pb.h"
#include "shim.h"
#include "util.h"

#define OUTPUT_MAX (4u << 20) /* ExecTask keeps at most this much of each stream */
#define DRAIN_GRACE_MS 1000   /* after the command exits, wait this long for its output to end */
#define CHUNK 32768

typedef struct Buf {
        uint8_t *p;
        size_t len, cap;
} Buf;

static void buf_append(Buf *b, const uint8_t *d, size_t n, size_t max) {
        if (b->len + n > max)
                n = max > b->len ? max - b->len : 0;
        if (!n)
                return;
        if (b->len + n > b->cap) {
                b->cap = (b->len + n) * 2;
                b->p = xrealloc(b->p, b->cap);
        }
        memcpy(b->p + b->len, d, n);
        b->len += n;
}

typedef struct Exec {
        Call *call;
        SbxReq *sbx; /* valid while sbx_pending */
        bool streaming, tty, started, finished, sbx_pending;
        int in_fd, out_fd, err_fd;
        Watch in_w, out_w, err_w;
        bool out_eof, err_eof, in_close;
        Buf out, err, inq;
        bool have_result;
        DRV_T(ExitResult) result;
        char *error;
        Timer grace, timeout;
} Exec;

static void close_fd(int *fd) {
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

static void exec_release(Exec *e) {
        if (e->in_w.active)
                watch_remove(&e->in_w);
        if (e->out_w.active)
                watch_remove(&e->out_w);
        if (e->err_w.active)
                watch_remove(&e->err_w);
        timer_cancel(&e->grace);
        timer_cancel(&e->timeout);
        close_fd(&e->in_fd);
        close_fd(&e->out_fd);
        close_fd(&e->err_fd);
}

static void exec_free(Exec *e) {
        exec_release(e);
        free(e->out.p);
        free(e->err.p);
        free(e->inq.p);
        free(e->error);
        Call *c = e->call;
        if (c->data == e)
                c->data = NULL;
        free(e);
        call_unref(c);
}

/* The call is over (answered, failed, timed out or cancelled): free now, or once sandboxd
 * answers. A command still running is killed: sandboxd ends it on the cancel. */
static void exec_finish(Exec *e) {
        if (e->finished)
                return;
        e->finished = true;
        exec_release(e);
        if (e->sbx_pending)
                sbx_cancel(e->sbx); /* exec_done frees us, maybe right now */
        else
                exec_free(e);
}

static void send_io(Exec *e, bool is_err, const uint8_t *d, size_t n, bool close_) {
        DRV_T(ExecTaskStreamingIOOperation) io = DRV_K(EXEC_TASK_STREAMING_IOOPERATION__INIT);
        io.data.data = (uint8_t *) d;
        io.data.len = n;
        io.close = close_;
        DRV_T(ExecTaskStreamingResponse) r = DRV_K(EXEC_TASK_STREAMING_RESPONSE__INIT);
        if (is_err)
                r.stderr = &io;
        else
                r.stdout = &io;
        call_send(e->call, &r.base);
}

static void maybe_done(Exec *e, bool grace_over) {
        if (e->finished || !e->have_result)
                return;
        if (!(e->out_eof && e->err_eof) && !grace_over)
                return;
        if (e->streaming) {
                DRV_T(ExecTaskStreamingResponse) r = DRV_K(EXEC_TASK_STREAMING_RESPONSE__INIT);
                r.exited = true;
                r.result = &e->result;
                call_send(e->call, &r.base);
                call_finish(e->call, GRPC_STATUS_OK, NULL);
        } else {
                DRV_T(ExecTaskResponse) r = DRV_K(EXEC_TASK_RESPONSE__INIT);
                r.stdout.data = e->out.p;
                r.stdout.len = e->out.len;
                r.stderr.data = e->err.p;
                r.stderr.len = e->err.len;
                r.result = &e->result; /* always set: Nomad dereferences it */
                call_reply(e->call, &r.base);
        }
        exec_finish(e);
}

static void on_output(Exec *e, bool is_err) {
        int *fd = is_err ? &e->err_fd : &e->out_fd;
        uint8_t buf[CHUNK];
        for (int i = 0; i < 16; i++) {
                ssize_t n = read(*fd, buf, sizeof buf);
                if (n > 0) {
                        if (e->streaming)
                                send_io(e, is_err, buf, (size_t) n, false);
                        else
                                buf_append(is_err ? &e->err : &e->out, buf, (size_t) n, OUTPUT_MAX);
                        continue;
                }
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                /* EOF, or EIO from a pty master once the last slave closed */
                watch_remove(is_err ? &e->err_w : &e->out_w);
                if (e->tty && !is_err)
                        e->in_fd = -1; /* the same fd */
                close_fd(fd);
                if (is_err)
                        e->err_eof = true;
                else
                        e->out_eof = true;
                if (e->streaming)
                        send_io(e, is_err, NULL, 0, true);
                maybe_done(e, false);
                return;
        }
}

static void on_out(void *ud, short rev) {
        on_output(ud, false);
}

static void on_err(void *ud, short rev) {
        on_output(ud, true);
}

static void flush_stdin(Exec *e);

static void on_in(void *ud, short rev) {
        flush_stdin(ud);
}

static void flush_stdin(Exec *e) {
        int fd = e->tty ? e->out_fd : e->in_fd;
        if (fd < 0) {
                e->inq.len = 0;
                return;
        }
        while (e->inq.len > 0) {
                ssize_t n = write(fd, e->inq.p, e->inq.len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        if (!e->in_w.active) {
                                e->in_w = (Watch) { fd, POLLOUT, on_in, e, false };
                                watch_add(&e->in_w);
                        }
                        return;
                }
                if (n < 0) { /* the command closed its stdin */
                        e->inq.len = 0;
                        break;
                }
                memmove(e->inq.p, e->inq.p + n, e->inq.len - (size_t) n);
                e->inq.len -= (size_t) n;
        }
        if (e->in_w.active)
                watch_remove(&e->in_w);
        if (e->in_close) {
                if (e->tty) {
                        static const uint8_t eot = 0x04;
                        ssize_t _unused_ w = write(fd, &eot, 1);
                } else
                        close_fd(&e->in_fd);
                e->in_close = false;
        }
}

static void exec_done(void *ud, const Sandboxd__V1__Response *resp, const SbxError *err) {
        Exec *e = ud;
        e->sbx_pending = false;
        if (e->finished) {
                exec_free(e);
                return;
        }
        if (err) {
                call_fail_errno(e->call, err->code, err->msg);
                exec_finish(e);
                return;
        }
        e->have_result = true;
        DRV_F(exit_result__init)(&e->result);
        if (resp->exec) {
                e->result.exit_code = resp->exec->exit_code;
                e->result.signal = resp->exec->signal;
                e->result.oom_killed = resp->exec->oom_killed;
                if (resp->exec->error && resp->exec->error[0]) {
                        e->error = xstrdup(resp->exec->error);
                        if (e->streaming)
                                send_io(e, true, (const uint8_t *) e->error, strlen(e->error), false);
                        else
                                buf_append(&e->err, (const uint8_t *) e->error, strlen(e->error), OUTPUT_MAX);
                }
        }
        timer_arm(&e->grace, DRAIN_GRACE_MS);
        maybe_done(e, false);
}

static void on_grace(void *ud) {
        maybe_done(ud, true);
}

static void on_timeout(void *ud) {
        Exec *e = ud;
        call_finish(e->call, GRPC_STATUS_DEADLINE_EXCEEDED, "exec: the command did not finish within the timeout");
        exec_finish(e);
}

static void exec_closed(Call *c) {
        Exec *e = c->data;
        if (e)
                exec_finish(e);
}

static Exec *exec_new(Call *c, bool streaming) {
        Exec *e = xcalloc(1, sizeof *e);
        e->call = c;
        call_ref(c);
        e->streaming = streaming;
        e->in_fd = e->out_fd = e->err_fd = -1;
        e->grace = (Timer) { 0, on_grace, e };
        e->timeout = (Timer) { 0, on_timeout, e };
        c->data = e;
        c->on_close = exec_closed;
        return e;
}

static int set_nonblock(int fd) {
        int fl = fcntl(fd, F_GETFL);
        return fl < 0 ? -errno : fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

/* Opens the stdio for the command; fds[3] go to sandboxd. */
static int exec_open(Exec *e, bool tty, int fds[3], SbxError *err) {
        e->tty = tty;
        if (tty) {
                int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (m < 0)
                        return sbx_error_errno(err, errno, "tty: posix_openpt");
                char name[128];
                if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof name) != 0) {
                        close(m);
                        return sbx_error_errno(err, errno, "tty: cannot unlock the pty");
                }
                int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (s < 0) {
                        close(m);
                        return sbx_error_errno(err, errno, "tty: open %s", name);
                }
                fds[0] = s;
                fds[1] = fcntl(s, F_DUPFD_CLOEXEC, 3);
                fds[2] = fcntl(s, F_DUPFD_CLOEXEC, 3);
                e->out_fd = m;
                e->err_eof = true;
        } else {
                int in[2], out[2], er[2];
                if (pipe2(out, O_CLOEXEC) < 0)
                        return sbx_error_errno(err, errno, "pipe");
                if (pipe2(er, O_CLOEXEC) < 0) {
                        close(out[0]);
                        close(out[1]);
                        return sbx_error_errno(err, errno, "pipe");
                }
                if (e->streaming) {
                        if (pipe2(in, O_CLOEXEC) < 0) {
                                close(out[0]);
                                close(out[1]);
                                close(er[0]);
                                close(er[1]);
                                return sbx_error_errno(err, errno, "pipe");
                        }
                        fds[0] = in[0];
                        e->in_fd = in[1];
                        set_nonblock(e->in_fd);
                } else
                        fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
                fds[1] = out[1];
                fds[2] = er[1];
                e->out_fd = out[0];
                e->err_fd = er[0];
                set_nonblock(e->err_fd);
                e->err_w = (Watch) { e->err_fd, POLLIN, on_err, e, false };
                watch_add(&e->err_w);
        }
        set_nonblock(e->out_fd);
        e->out_w = (Watch) { e->out_fd, POLLIN, on_out, e, false };
        watch_add(&e->out_w);
        return 0;
}

static int exec_submit(Exec *e, const char *task, char **argv, size_t argc,
                       const DRV_T(ExecTaskStreamingRequest__TerminalSize) *size, SbxError *err) {
        if (!task || !task[0])
                return sbx_error(err, EINVAL, "task_id: empty");
        if (argc == 0 || !argv[0][0])
                return sbx_error(err, EINVAL, "command: empty");
        int fds[3] = { -1, -1, -1 };
        int k = exec_open(e, e->tty, fds, err);
        if (k < 0)
                return k;
        if (size && e->tty) { /* before the command starts, so it sees its size at once */
                struct winsize ws = { .ws_row = (unsigned short) size->height, .ws_col = (unsigned short) size->width };
                ioctl(e->out_fd, TIOCSWINSZ, &ws);
        }
        char *env[] = { (char *) "TERM=xterm" };
        Sandboxd__V1__ExecRequest x = SANDBOXD__V1__EXEC_REQUEST__INIT;
        x.name = (char *) task;
        x.argv = argv;
        x.n_argv = argc;
        x.passed_fds = 3;
        x.tty = e->tty;
        if (e->tty) {
                x.env = env;
                x.n_env = 1;
        }
        Sandboxd__V1__Request r = SANDBOXD__V1__REQUEST__INIT;
        r.op_case = SANDBOXD__V1__REQUEST__OP_EXEC;
        r.exec = &x;
        e->sbx_pending = true;
        e->started = true;
        e->sbx = sbx_submit(&r, fds, 3, 0, 0, exec_done, e);
        return 0;
}

void exec_task(Call *c, const uint8_t *buf, size_t len) {
        DRV_T(ExecTaskRequest) *req = DRV_F(exec_task_request__unpack)(NULL, len, buf);
        if (!req) {
                call_finish(c, GRPC_STATUS_INVALID_ARGUMENT, "the request message does not decode");
                return;
        }
        Exec *e = exec_new(c, false);
        SbxError err = { 0 };
        if (exec_submit(e, req->task_id, req->command, req->n_command, NULL, &err) < 0) {
                call_fail_errno(c, err.code, err.msg);
                exec_finish(e);
        } else if (req->timeout && (req->timeout->seconds > 0 || req->timeout->nanos > 0))
                timer_arm(&e->timeout, req->timeout->seconds * 1000 + req->timeout->nanos / 1000000);
        DRV_F(exec_task_request__free_unpacked)(req, NULL);
}

static void stream_recv(Call *c, const uint8_t *buf, size_t len, bool end) {
        Exec *e = c->data;
        if (!e || e->finished)
                return;
        if (end) { /* the client closed its side: no more stdin */
                if (!e->started) {
                        call_finish(c, GRPC_STATUS_INVALID_ARGUMENT, "setup: the stream ended before the setup message");
                        exec_finish(e);
                } else {
                        e->in_close = true;
                        flush_stdin(e);
                }
                return;
        }
        DRV_T(ExecTaskStreamingRequest) *req = DRV_F(exec_task_streaming_request__unpack)(NULL, len, buf);
        if (!req) {
                call_finish(c, GRPC_STATUS_INVALID_ARGUMENT, "the request message does not decode");
                exec_finish(e);
                return;
        }
        SbxError err = { 0 };
        if (!e->started) {
                if (!req->setup) {
                        call_finish(c, GRPC_STATUS_INVALID_ARGUMENT, "setup: the first message must carry setup");
                        exec_finish(e);
                        goto out;
                }
                e->tty = req->setup->tty;
                if (exec_submit(e, req->setup->task_id, req->setup->command, req->setup->n_command, req->tty_size,
                                &err) < 0) {
                        call_fail_errno(c, err.code, err.msg);
                        exec_finish(e);
                        goto out;
                }
        }
        if (req->tty_size && e->tty && e->out_fd >= 0) {
                struct winsize ws = { .ws_row = (unsigned short) req->tty_size->height,
                                      .ws_col = (unsigned short) req->tty_size->width };
                ioctl(e->out_fd, TIOCSWINSZ, &ws);
        }
        if (req->stdin) {
                if (req->stdin->data.len)
                        buf_append(&e->inq, req->stdin->data.data, req->stdin->data.len, 16u << 20);
                if (req->stdin->close)
                        e->in_close = true;
                flush_stdin(e);
        }
        call_recv_next(c);
out:
        DRV_F(exec_task_streaming_request__free_unpacked)(req, NULL);
}

void exec_task_streaming(Call *c, const uint8_t *buf, size_t len) {
        exec_new(c, true);
        c->on_recv = stream_recv;
}
