/* SPDX-License-Identifier: MIT */
/* daemon/sandboxd/log.c: see log.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "log.h"

static const char *log_ident = "sandboxd";
static int max_level = LOG_INFO;
static bool use_journal;
static bool use_prefix;

void log_setup(const char *ident) {
        const char *lvl = getenv("SANDBOXD_LOG_LEVEL");
        log_ident = ident;
        use_journal = getenv("JOURNAL_STREAM") != NULL;
        /* The "<N>" prefix is for a supervisor that reads our stderr, not for a person. */
        use_prefix = !isatty(STDERR_FILENO);
        if (lvl && streq(lvl, "debug"))
                max_level = LOG_DEBUG;
}

void log_set_plain(void) {
        use_journal = false;
        use_prefix = false;
}

void log_set_max_level(int level) {
        max_level = level;
}

_printf_(3, 0) static void vlog(int level, const LogFields *f, const char *fmt, va_list ap) {
        char msg[2048];

        if (level > max_level)
                return;
        vsnprintf(msg, sizeof(msg), fmt, ap);
        if (use_journal) {
                if (f)
                        sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", level, "SYSLOG_IDENTIFIER=%s", log_ident,
                                        "SANDBOX_TASK=%s", f->task ? f->task : "", "SANDBOX_TASK_DIR=%s",
                                        f->task_dir ? f->task_dir : "", "SANDBOX_DRIVER=%s", f->driver ? f->driver : "",
                                        "NOMAD_ALLOC_ID=%s", f->alloc_id ? f->alloc_id : "", "NOMAD_JOB_ID=%s",
                                        f->job_id ? f->job_id : "", "NOMAD_NAMESPACE=%s",
                                        f->nomad_namespace ? f->nomad_namespace : "", "NOMAD_TASK=%s",
                                        f->nomad_task ? f->nomad_task : "", NULL);
                else
                        sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", level, "SYSLOG_IDENTIFIER=%s", log_ident,
                                        NULL);
                return;
        }
        if (use_prefix)
                fprintf(stderr, "<%d>%s: %s\n", level, log_ident, msg);
        else
                fprintf(stderr, "%s: %s\n", log_ident, msg);
}

void log_msg(int level, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vlog(level, NULL, fmt, ap);
        va_end(ap);
}

int log_msg_errno(int level, int r, const char *fmt, ...) {
        va_list ap;
        errno = r < 0 ? -r : r;
        va_start(ap, fmt);
        vlog(level, NULL, fmt, ap);
        va_end(ap);
        return r;
}

void log_fields_va(int level, const LogFields *f, const char *fmt, va_list ap) {
        vlog(level, f, fmt, ap);
}
