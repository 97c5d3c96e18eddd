/* SPDX-License-Identifier: MIT */
/* shim/shim.h: nomad-driver-sandbox, the Nomad plugin shim.
 *
 * Two threads share everything below under one mutex (shim_lock):
 *   - the gRPC thread drains the server's completion queue: new calls, received messages,
 *     finished sends (main.c, call.c);
 *   - the reactor thread polls the sandboxd connection, exec session pipes and timers (sbx.c).
 * Every callback in either thread runs with shim_lock held, so handlers never race. Nothing
 * blocks while holding it except connecting to sandboxd's local socket. */
#pragma once

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "frame.h"
#include "options.h"

extern pthread_mutex_t shim_lock;

/* ---- logging (log.c): hclog JSON lines on stderr, which go-plugin re-logs in Nomad */
typedef enum { HCLOG_TRACE, HCLOG_DEBUG, HCLOG_INFO, HCLOG_WARN, HCLOG_ERROR } HclogLevel;
/* kv: NULL-terminated pairs of strings (key, value, key, value, ..., NULL) */
void hclog(HclogLevel level, const char *msg, ...) __attribute__((sentinel));
#define hclog_info(...) hclog(HCLOG_INFO, __VA_ARGS__, NULL)
#define hclog_warn(...) hclog(HCLOG_WARN, __VA_ARGS__, NULL)
#define hclog_error(...) hclog(HCLOG_ERROR, __VA_ARGS__, NULL)
#define hclog_debug(...) hclog(HCLOG_DEBUG, __VA_ARGS__, NULL)

/* ---- gRPC calls (call.c) */
typedef struct ShimTag {
        void (*fn)(void *owner, bool ok);
        void *owner;
} ShimTag;

typedef struct OutMsg OutMsg;
typedef struct Call Call;
typedef void (*CallRecvFn)(Call *c, const uint8_t *buf, size_t len, bool end);

struct Call {
        grpc_call *call;
        grpc_call_details details;
        grpc_metadata_array md;
        char *method;
        ShimTag tag_recv, tag_send, tag_close;
        grpc_byte_buffer *recv_buf;
        int cancelled;
        bool closed;    /* RECV_CLOSE_ON_SERVER completed: the client is gone or the status went out */
        bool finishing; /* the status is queued; later sends are dropped */
        bool sending;
        bool exit_after_status;
        OutMsg *out_head, *out_tail;
        grpc_slice status_msg;
        grpc_metadata trailer;
        bool has_trailer;
        int refs;
        CallRecvFn on_recv;          /* client-streaming calls: every message, then end=true */
        void (*on_close)(Call *c);   /* the call ended (cancelled or finished) */
        void *data;
        void (*data_free)(void *data);
};

void call_ref(Call *c);
void call_unref(Call *c);
/* Starts serving a call accepted by grpc_server_request_call. */
void call_begin(grpc_call *gc, grpc_call_details *details, grpc_metadata_array *md, grpc_completion_queue *cq);
bool call_open(const Call *c);
/* Queue a message (packed with protobuf-c). No-op on a closed or finishing call. */
void call_send(Call *c, const ProtobufCMessage *m);
/* Queue the final status. msg may be NULL. */
void call_finish(Call *c, grpc_status_code code, const char *msg);
/* Status FAILED_PRECONDITION with a RecoverableError detail, as Nomad expects for StartTask. */
void call_finish_recoverable(Call *c, bool recoverable, const char *msg);
static inline void call_reply(Call *c, const ProtobufCMessage *m) {
        call_send(c, m);
        call_finish(c, GRPC_STATUS_OK, NULL);
}
/* Ask for the next client message (client-streaming); delivered to c->on_recv. */
void call_recv_next(Call *c);
/* Maps a sandboxd/errno failure to a gRPC status and finishes the call with "msg". */
void call_fail_errno(Call *c, int code, const char *msg);

extern grpc_completion_queue *shim_cq;

/* ---- dispatch (driver.c, main.c) */
typedef void (*Handler)(Call *c, const uint8_t *buf, size_t len);
Handler driver_handler(const char *method, bool *client_streaming);
void exec_task(Call *c, const uint8_t *buf, size_t len);
void exec_task_streaming(Call *c, const uint8_t *buf, size_t len);

/* ---- state */
typedef struct ShimState {
        char *driver_name;      /* PluginInfo name and the sandboxd policy section */
        PluginConfig config;
        bool configured;
        double cpu_total_mhz;   /* from SetConfig's Nomad topology, 0 = unknown */
        size_t cpu_cores;
        bool shutting_down;
} ShimState;
extern ShimState shim;

/* ---- reactor (sbx.c): timers, fd watches, the sandboxd connection */
int64_t now_ms(void);
int64_t now_ns_realtime(void);

typedef struct Timer {
        int64_t when; /* CLOCK_MONOTONIC ms; 0 = not armed */
        void (*fn)(void *ud);
        void *ud;
} Timer;
void timer_arm(Timer *t, int64_t delay_ms);
void timer_cancel(Timer *t);

typedef struct Watch {
        int fd;
        short events;
        void (*fn)(void *ud, short revents);
        void *ud;
        bool active;
} Watch;
void watch_add(Watch *w);
void watch_remove(Watch *w);

void reactor_start(void);
void reactor_wake(void);

/* The sandboxd connection. done() runs under shim_lock in either thread: resp is the response
 * (never with an error set) or err says why not (err->code: the daemon's errno, or
 * ECONNRESET/ETIMEDOUT for the connection). */
typedef void (*SbxDone)(void *ud, const Sandboxd__V1__Response *resp, const SbxError *err);
enum {
        SBX_RESEND = 1 << 0, /* idempotent: send again after a reconnect instead of failing */
};
/* Takes ownership of fds (closed once sent or failed). timeout_ms 0 = no deadline. The returned
 * request is valid until done() runs. */
typedef struct SbxReq SbxReq;
SbxReq *sbx_submit(Sandboxd__V1__Request *req, const int *fds, size_t n_fds, int flags, int64_t timeout_ms,
                   SbxDone done, void *ud);
/* Asks sandboxd to end a request it has not answered yet (an exec: the command is killed).
 * done() still runs, with sandboxd's answer; for a request not sent yet it runs now, with
 * ECANCELED. */
void sbx_cancel(SbxReq *r);
bool sbx_connected(void);
const Sandboxd__V1__DaemonInfo *sbx_info(void);
const char *sbx_daemon_version(void);
const char *sbx_last_error(void);
/* (Re)connect now if disconnected. Returns true if connected. */
bool sbx_try_connect(void);
/* The socket changed (SetConfig): drop the connection, reconnect to the new one. */
void sbx_reset(void);
/* Called when the connection goes up or down (fingerprint streams resend). */
void driver_health_changed(void);
/* sandboxd explained a refused call of a task: a TaskEvent on every open TaskEvents stream. */
void driver_task_denied(const Sandboxd__V1__Denial *d, const Sandboxd__V1__NomadMeta *nomad);
