/* SPDX-License-Identifier: MIT */
/* daemon/sandboxd/log.h: sandboxd's logging. Under journald (JOURNAL_STREAM set) entries go to the
 * journal with structured fields (SANDBOX_TASK, SANDBOX_DRIVER, NOMAD_ALLOC_ID, NOMAD_JOB_ID,
 * NOMAD_NAMESPACE, NOMAD_TASK); otherwise to stderr, with a "<N>" priority prefix (which
 * systemd also understands) unless stderr is a terminal. Only top-level code logs; library code
 * returns errors. */
#pragma once

#include <stdarg.h>
#include <syslog.h>

#include "macro.h"

void log_setup(const char *ident);
void log_set_max_level(int level);
/* Plain "sandboxd: message" lines on stderr, for a report to a person (--check-config). */
void log_set_plain(void);
void log_msg(int level, const char *fmt, ...) _printf_(2, 3);
/* Logs with errno = -r (so %m works) and returns r. */
int log_msg_errno(int level, int r, const char *fmt, ...) _printf_(3, 4);
/* The journal fields of a message about one task; any may be NULL. The task records fill them
 * (log_task, task.h): the logger knows nothing of a task. */
typedef struct LogFields {
        const char *task, *task_dir, *driver, *alloc_id, *job_id, *nomad_namespace, *nomad_task;
} LogFields;
void log_fields_va(int level, const LogFields *f, const char *fmt, va_list ap) _printf_(3, 0);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_error_errno(r, ...) log_msg_errno(LOG_ERR, (r), __VA_ARGS__)
