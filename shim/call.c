/* SPDX-License-Identifier: MIT */
/* shim/call.c: one gRPC server call on gRPC's C core.
 *
 * A call holds one reference per outstanding batch plus one for each owner (the dispatcher while
 * a handler runs, a pending sandboxd request, a stream list). At zero the grpc_call is released,
 * which cancels it if no status went out. Messages and the final status go through a queue so
 * that only one send batch is in flight (core's rule). */
#include <errno.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "any.pb-c.h"
#include "macro.h"
#include "pb.h"
#include "recoverable_error.pb-c.h"
#include "shim.h"
#include "status.pb-c.h"
#include "util.h"

struct OutMsg {
        grpc_byte_buffer *buf; /* NULL: the status */
        grpc_status_code code;
        OutMsg *next;
};

void call_ref(Call *c) {
        c->refs++;
}

void call_unref(Call *c) {
        if (--c->refs > 0)
                return;
        if (c->data_free)
                c->data_free(c->data);
        for (OutMsg *m = c->out_head, *n; m; m = n) {
                n = m->next;
                if (m->buf)
                        grpc_byte_buffer_destroy(m->buf);
                free(m);
        }
        if (c->recv_buf)
                grpc_byte_buffer_destroy(c->recv_buf);
        grpc_slice_unref(c->status_msg);
        if (c->has_trailer)
                grpc_slice_unref(c->trailer.value);
        grpc_call_details_destroy(&c->details);
        grpc_metadata_array_destroy(&c->md);
        grpc_call_unref(c->call);
        free(c->method);
        free(c);
}

bool call_open(const Call *c) {
        return !c->closed && !c->finishing;
}

static void start_batch(Call *c, grpc_op *ops, size_t n, ShimTag *tag) {
        call_ref(c);
        grpc_call_error e = grpc_call_start_batch(c->call, ops, n, tag, NULL);
        if (e != GRPC_CALL_OK) {
                hclog_error("grpc_call_start_batch failed", "method", c->method, "error", grpc_call_error_to_string(e));
                call_unref(c);
        }
}

static void pump(Call *c);

static void on_send(void *owner, bool ok) {
        Call *c = owner;
        OutMsg *m = c->out_head;
        c->sending = false;
        if (m) {
                c->out_head = m->next;
                if (!c->out_head)
                        c->out_tail = NULL;
                bool was_status = !m->buf;
                if (m->buf)
                        grpc_byte_buffer_destroy(m->buf);
                free(m);
                if (was_status && c->exit_after_status) {
                        hclog_info("shutdown requested by the plugin client: exiting");
                        shim.shutting_down = true;
                }
        }
        if (!ok) { /* the call is gone: drop the rest */
                for (OutMsg *x = c->out_head, *n; x; x = n) {
                        n = x->next;
                        if (x->buf)
                                grpc_byte_buffer_destroy(x->buf);
                        free(x);
                }
                c->out_head = c->out_tail = NULL;
        }
        pump(c);
        call_unref(c);
}

static void pump(Call *c) {
        if (c->sending || !c->out_head)
                return;
        OutMsg *m = c->out_head;
        grpc_op op = { 0 };
        if (m->buf) {
                op.op = GRPC_OP_SEND_MESSAGE;
                op.data.send_message.send_message = m->buf;
        } else {
                op.op = GRPC_OP_SEND_STATUS_FROM_SERVER;
                op.data.send_status_from_server.status = m->code;
                op.data.send_status_from_server.status_details = &c->status_msg;
                op.data.send_status_from_server.trailing_metadata_count = c->has_trailer ? 1 : 0;
                op.data.send_status_from_server.trailing_metadata = c->has_trailer ? &c->trailer : NULL;
        }
        c->sending = true;
        start_batch(c, &op, 1, &c->tag_send);
}

static void enqueue(Call *c, grpc_byte_buffer *buf, grpc_status_code code) {
        OutMsg *m = xcalloc(1, sizeof *m);
        m->buf = buf;
        m->code = code;
        if (c->out_tail)
                c->out_tail->next = m;
        else
                c->out_head = m;
        c->out_tail = m;
        pump(c);
}

void call_send(Call *c, const ProtobufCMessage *m) {
        if (!call_open(c))
                return;
        size_t n = protobuf_c_message_get_packed_size(m);
        _cleanup_free_ uint8_t *b = xmalloc(n ? n : 1);
        protobuf_c_message_pack(m, b);
        grpc_slice s = grpc_slice_from_copied_buffer((const char *) b, n);
        grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
        grpc_slice_unref(s);
        enqueue(c, bb, GRPC_STATUS_OK);
}

void call_finish(Call *c, grpc_status_code code, const char *msg) {
        if (!call_open(c))
                return;
        c->finishing = true;
        grpc_slice_unref(c->status_msg);
        c->status_msg = grpc_slice_from_copied_string(msg ? msg : "");
        enqueue(c, NULL, code);
}

void call_finish_recoverable(Call *c, bool recoverable, const char *msg) {
        if (!call_open(c))
                return;
        /* google.rpc.Status{code, message, details: [Any{RecoverableError}]} in
         * grpc-status-details-bin; its code and message equal the call's status */
        STRUCTS_T(RecoverableError) re = STRUCTS_K(RECOVERABLE_ERROR__INIT);
        re.recoverable = recoverable;
        uint8_t reb[8];
        size_t ren = STRUCTS_F(recoverable_error__pack)(&re, reb);
        Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
        any.type_url = (char *) "type.googleapis.com/hashicorp.nomad.plugins.shared.structs.RecoverableError";
        any.value.data = reb;
        any.value.len = ren;
        Google__Protobuf__Any *details[] = { &any };
        Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
        st.code = GRPC_STATUS_FAILED_PRECONDITION;
        st.message = (char *) (msg ? msg : "");
        st.n_details = 1;
        st.details = details;
        size_t n = google__rpc__status__get_packed_size(&st);
        _cleanup_free_ uint8_t *b = xmalloc(n);
        google__rpc__status__pack(&st, b);
        if (c->has_trailer)
                grpc_slice_unref(c->trailer.value);
        c->trailer.key = grpc_slice_from_static_string("grpc-status-details-bin");
        c->trailer.value = grpc_slice_from_copied_buffer((const char *) b, n);
        c->has_trailer = true;
        call_finish(c, GRPC_STATUS_FAILED_PRECONDITION, msg);
}

void call_fail_errno(Call *c, int code, const char *msg) {
        grpc_status_code s;
        switch (code) {
        case EINVAL:
        case E2BIG:
        case ENAMETOOLONG:
        case EBADMSG:
                s = GRPC_STATUS_INVALID_ARGUMENT;
                break;
        case EPERM:
        case EACCES:
                s = GRPC_STATUS_PERMISSION_DENIED;
                break;
        case ENOENT:
        case ESRCH:
                s = GRPC_STATUS_NOT_FOUND;
                break;
        case EEXIST:
                s = GRPC_STATUS_ALREADY_EXISTS;
                break;
        case EBUSY:
        case ENOTEMPTY:
                s = GRPC_STATUS_FAILED_PRECONDITION;
                break;
        case ETIMEDOUT:
                s = GRPC_STATUS_DEADLINE_EXCEEDED;
                break;
        case EAGAIN:
        case ENOSPC:
        case EMFILE:
        case ENFILE:
                s = GRPC_STATUS_RESOURCE_EXHAUSTED;
                break;
        default: /* never UNAVAILABLE: Nomad reads that as "the plugin died" */
                s = GRPC_STATUS_INTERNAL;
                break;
        }
        call_finish(c, s, msg);
}

static void deliver(Call *c, bool ok) {
        grpc_byte_buffer *bb = c->recv_buf;
        c->recv_buf = NULL;
        if (!ok || !bb) {
                if (c->on_recv)
                        c->on_recv(c, NULL, 0, true);
                if (bb)
                        grpc_byte_buffer_destroy(bb);
                return;
        }
        grpc_byte_buffer_reader r;
        grpc_byte_buffer_reader_init(&r, bb);
        grpc_slice s = grpc_byte_buffer_reader_readall(&r);
        grpc_byte_buffer_reader_destroy(&r);
        grpc_byte_buffer_destroy(bb);
        if (c->on_recv)
                c->on_recv(c, GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s), false);
        grpc_slice_unref(s);
}

static void on_recv_stream(void *owner, bool ok) {
        Call *c = owner;
        deliver(c, ok);
        call_unref(c);
}

void call_recv_next(Call *c) {
        if (c->closed)
                return;
        grpc_op op = { 0 };
        op.op = GRPC_OP_RECV_MESSAGE;
        op.data.recv_message.recv_message = &c->recv_buf;
        c->tag_recv.fn = on_recv_stream;
        start_batch(c, &op, 1, &c->tag_recv);
}

static void on_close(void *owner, bool ok) {
        Call *c = owner;
        c->closed = true;
        if (c->on_close)
                c->on_close(c);
        call_unref(c);
}

static void unimplemented(Call *c, const uint8_t *buf, size_t len) {
        char msg[300];
        snprintf(msg, sizeof msg, "unknown method %s", c->method);
        call_finish(c, GRPC_STATUS_UNIMPLEMENTED, msg);
}

static void on_first_message(void *owner, bool ok) {
        Call *c = owner;
        bool streaming = false;
        Handler h = driver_handler(c->method, &streaming);
        if (!h)
                h = unimplemented;
        if (streaming) { /* the handler sets on_recv and gets this first message through it */
                h(c, NULL, 0);
                deliver(c, ok);
        } else if (!ok || !c->recv_buf) {
                if (h == unimplemented)
                        h(c, NULL, 0);
                else
                        call_finish(c, GRPC_STATUS_INVALID_ARGUMENT, "no request message");
        } else {
                grpc_byte_buffer_reader r;
                grpc_byte_buffer_reader_init(&r, c->recv_buf);
                grpc_slice s = grpc_byte_buffer_reader_readall(&r);
                grpc_byte_buffer_reader_destroy(&r);
                grpc_byte_buffer_destroy(c->recv_buf);
                c->recv_buf = NULL;
                h(c, GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s));
                grpc_slice_unref(s);
        }
        call_unref(c);
}

void call_begin(grpc_call *gc, grpc_call_details *details, grpc_metadata_array *md, grpc_completion_queue *cq) {
        Call *c = xcalloc(1, sizeof *c);
        c->call = gc;
        c->details = *details;
        c->md = *md;
        c->method = xstrndup((const char *) GRPC_SLICE_START_PTR(details->method), GRPC_SLICE_LENGTH(details->method));
        c->status_msg = grpc_empty_slice();
        c->tag_recv = (ShimTag) { on_first_message, c };
        c->tag_send = (ShimTag) { on_send, c };
        c->tag_close = (ShimTag) { on_close, c };
        c->refs = 1;

        grpc_op close_op = { 0 };
        close_op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
        close_op.data.recv_close_on_server.cancelled = &c->cancelled;
        start_batch(c, &close_op, 1, &c->tag_close);

        grpc_op ops[2] = { { 0 }, { 0 } };
        ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
        ops[1].op = GRPC_OP_RECV_MESSAGE;
        ops[1].data.recv_message.recv_message = &c->recv_buf;
        start_batch(c, ops, 2, &c->tag_recv);
        call_unref(c);
}
