/* SPDX-License-Identifier: MIT */
/* shim/log.c: hclog-style JSON lines on stderr. go-plugin parses each line and re-logs it in the
 * Nomad agent's log: @level and @message must be strings, @timestamp in Go's
 * 2006-01-02T15:04:05.000000Z07:00 layout. Strings are escaped by json-c. */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "shim.h"

static const char *const level_names[] = { "trace", "debug", "info", "warn", "error" };

void hclog(HclogLevel level, const char *msg, ...) {
        struct timespec ts;
        struct tm tm;
        char stamp[64];
        int saved = errno;

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);

        json_object *o = json_object_new_object();
        json_object_object_add(o, "@level", json_object_new_string(level_names[level]));
        json_object_object_add(o, "@message", json_object_new_string(msg));
        json_object_object_add(o, "@module", json_object_new_string("sandbox"));
        json_object_object_add(o, "@timestamp", json_object_new_string(stamp));
        va_list ap;
        va_start(ap, msg);
        for (;;) {
                const char *k = va_arg(ap, const char *);
                if (!k)
                        break;
                const char *v = va_arg(ap, const char *);
                if (k[0] == '@') /* never let a caller overwrite the typed keys */
                        continue;
                json_object_object_add(o, k, json_object_new_string(v ? v : ""));
        }
        va_end(ap);
        const char *line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        /* one write per line; EPIPE (the agent went away) is ignored, SIGPIPE is ignored */
        size_t n = strlen(line);
        _cleanup_free_ char *buf = malloc(n + 2);
        if (buf) {
                memcpy(buf, line, n);
                buf[n] = '\n';
                ssize_t _unused_ w = write(STDERR_FILENO, buf, n + 1);
        }
        json_object_put(o);
        errno = saved;
}
