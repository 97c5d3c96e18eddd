/* SPDX-License-Identifier: MIT */
/* sandboxd's list and stats: a task looked up by name as the connection may see it, the task
 * list in pages that fit a frame, a task's cgroup statistics. */
#include <stdio.h>

#include "macro.h"
#include "request.h"
#include "sandboxd-internal.h"
#include "util.h"

Task *lookup(Conn *c, uint64_t id, const char *name) {
        Task *t = task_find(c->d, name);
        if (!t || !conn_may_see(c, t)) {
                char msg[TASK_NAME_MAX + 64];
                snprintf(msg, sizeof(msg), "no task named '%s'", name);
                reply_error(c, id, ENOENT, "name", msg);
                return NULL;
        }
        return t;
}

static int task_name_cmp(const void *a, const void *b) {
        return strcmp((*(Task *const *) a)->rec.name, (*(Task *const *) b)->rec.name);
}

static bool listed(const Conn *c, const Task *t, const char *after) {
        return conn_may_see(c, t) && (!after || strcmp(t->rec.name, after) > 0);
}

/* One page of the task list: the tasks named after `after`, sorted by name, as many as fit in
 * one frame (a thousand tasks with their unveil lists do not). */
void handle_list(Conn *c, uint64_t id, const char *after) {
        Daemon *d = c->d;
        size_t n = 0, i = 0;
        for (Task *t = d->tasks; t; t = t->next)
                if (listed(c, t, after))
                        n++;
        Task **sorted = xcalloc(n ? n : 1, sizeof(*sorted));
        for (Task *t = d->tasks; t; t = t->next)
                if (listed(c, t, after))
                        sorted[i++] = t;
        qsort(sorted, n, sizeof(*sorted), task_name_cmp);

        Sandboxd__V1__TaskInfo *infos = xcalloc(n ? n : 1, sizeof(*infos));
        Sandboxd__V1__TaskInfo **ptrs = xcalloc(n ? n : 1, sizeof(*ptrs));
        Sandboxd__V1__ExitResult *exits = xcalloc(n ? n : 1, sizeof(*exits));
        Sandboxd__V1__NomadMeta *metas = xcalloc(n ? n : 1, sizeof(*metas));
        /* room for the frame, response and list headers, the id and the `more` flag */
        size_t budget = FRAME_MAX - 256, used = 0, k = 0;
        for (; k < n; k++) {
                task_info_fill(sorted[k], &infos[k], &exits[k], &metas[k]);
                size_t sz = sandboxd__v1__task_info__get_packed_size(&infos[k]);
                sz += 1 + 5; /* the field's tag and length */
                if (used + sz > budget && k > 0)
                        break;
                used += sz;
                ptrs[k] = &infos[k];
        }
        Sandboxd__V1__TaskList list = SANDBOXD__V1__TASK_LIST__INIT;
        list.n_tasks = k;
        list.tasks = ptrs;
        list.more = k < n;
        Sandboxd__V1__Response resp = SANDBOXD__V1__RESPONSE__INIT;
        resp.id = id;
        resp.result_case = SANDBOXD__V1__RESPONSE__RESULT_LIST;
        resp.list = &list;
        Frame f = SANDBOXD__V1__FRAME__INIT;
        f.kind_case = SANDBOXD__V1__FRAME__KIND_RESPONSE;
        f.response = &resp;
        if (sandboxd__v1__frame__get_packed_size(&f) > FRAME_MAX)
                reply_error(c, id, EMSGSIZE, "", "a task's description does not fit in one reply");
        else
                conn_send(c, &f);
        free(sorted);
        free(infos);
        free(ptrs);
        free(exits);
        free(metas);
}

void handle_stats(Conn *c, uint64_t id, Task *t) {
        Sandboxd__V1__TaskStats st = SANDBOXD__V1__TASK_STATS__INIT;
        CgroupStats cs = {};
        char *measured[16];
        size_t nm = 0;

        st.name = t->rec.name;
        st.timestamp_ns = now_ns();
        if (t->cg && t->rec.state != SANDBOXD__V1__TASK_STATE__TASK_STATE_EXITED && cgroup_stats(t->cg, &cs) == 0) {
                st.cpu_user_us = cs.cpu_user_us;
                st.cpu_system_us = cs.cpu_system_us;
                st.cpu_usage_us = cs.cpu_usage_us;
                st.throttled_periods = cs.nr_throttled;
                st.throttled_us = cs.throttled_us;
                st.memory_current = cs.memory_current;
                st.memory_rss = cs.memory_rss;
                st.memory_cache = cs.memory_cache;
                st.memory_swap = cs.memory_swap;
                st.memory_peak = cs.memory_peak;
                st.pids_current = cs.pids_current;
                nm = cgroup_stats_measured(&cs, (const char **) measured, ELEMENTSOF(measured));
        }
        st.n_measured = nm;
        st.measured = measured;
        Sandboxd__V1__Response resp = SANDBOXD__V1__RESPONSE__INIT;
        resp.id = id;
        resp.result_case = SANDBOXD__V1__RESPONSE__RESULT_STATS;
        resp.stats = &st;
        Frame f = SANDBOXD__V1__FRAME__INIT;
        f.kind_case = SANDBOXD__V1__FRAME__KIND_RESPONSE;
        f.response = &resp;
        conn_send(c, &f);
}
