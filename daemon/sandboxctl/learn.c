/* SPDX-License-Identifier: MIT */
/* daemon/sandboxctl/learn.c: see learn.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "explain.h"
#include "learn.h"
#include "macro.h"
#include "promises.h"
#include "seccomp-program.h"
#include "util.h"

#define LEARN_MAX_PATHS 65536
#define LEARN_MAX_CALLS 4096

static void add_port(uint16_t **l, size_t *n, uint16_t port) {
        for (size_t i = 0; i < *n; i++)
                if ((*l)[i] == port)
                        return;
        if (*n >= UNVEIL_MAX_PORTS)
                return;
        *l = xrealloc(*l, (*n + 1) * sizeof(**l));
        (*l)[(*n)++] = port;
}

static void add_call(Learned *l, LearnedCall **calls, size_t *n_calls, const InitNote *n, uint64_t sources) {
        int nr = n->nr;
        for (size_t i = 0; i < *n_calls; i++)
                if ((*calls)[i].nr == nr && (*calls)[i].sources == sources) {
                        (*calls)[i].count++;
                        return;
                }
        if (*n_calls >= LEARN_MAX_CALLS)
                return;
        *calls = xrealloc(*calls, (*n_calls + 1) * sizeof(**calls));
        (*calls)[*n_calls] = (LearnedCall) { .nr = nr, .sources = sources, .count = 1 };
        memcpy((*calls)[(*n_calls)++].args, n->args, sizeof(n->args));
}

void learned_add(Learned *l, const InitNote *n) {
        if (n->type != INIT_MSG_NOTE || n->kind != NOTE_LEARNED)
                return;
        l->notes++;
        if (n->flags & (NOTE_BIND | NOTE_CONNECT)) {
                if (n->flags & NOTE_BIND)
                        add_port(&l->bind, &l->n_bind, (uint16_t) n->port);
                else
                        add_port(&l->connect, &l->n_connect, (uint16_t) n->port);
                return;
        }
        if (n->path[0]) {
                /* Landlock rules name what exists when the task starts: a path that did not exist
                 * (a failed open, a program not found) needs none. */
                if (!(n->flags & NOTE_EXISTED) || n->letters == 0)
                        return;
                /* A name with control characters is the program's to choose, and no rule a
                 * policy could hold: left out, counted. */
                for (const char *c = n->path; *c; c++)
                        if ((unsigned char) *c < 0x20 || *c == 0x7f) {
                                l->odd_paths++;
                                return;
                        }
                for (size_t i = 0; i < l->n_paths; i++)
                        if (streq(l->paths[i].path, n->path)) {
                                l->paths[i].letters |= n->letters;
                                return;
                        }
                if (l->n_paths >= LEARN_MAX_PATHS)
                        return;
                l->paths = xrealloc(l->paths, (l->n_paths + 1) * sizeof(*l->paths));
                l->paths[l->n_paths++] = (LearnedPath) { .path = xstrndup(n->path, sizeof(n->path)),
                                                         .letters = n->letters,
                                                         .dir = n->flags & NOTE_DIR };
                return;
        }
        uint64_t sources = n->sources;
        /* ld.so and the constructors in the launch window have rpath and executable mappings on
         * top of the promises (docs/promises.md): what those allow there is no constraint. */
        if ((n->flags & NOTE_WINDOW) &&
            (sources & (PROMISE_BIT(PROMISE_RPATH) | SECCOMP_SOURCE_BIT(SECCOMP_SOURCE_LAUNCH))))
                return;
        sources &= SECCOMP_SOURCES_PROMISES;
        /* It fails whatever the promises: no constraint (and under the suggestion it fails
         * with EPERM instead, which is no difference a verify should count). */
        if (n->flags & NOTE_FUTILE) {
                add_call(l, &l->futile_calls, &l->n_futile, n, sources);
                return;
        }
        if (n->flags & NOTE_UNIX)
                l->unix_used = true;
        /* A unix socket made only to probe for a daemon that is not there (glibc asks nscd in
         * every name lookup) needs no promise: counted only if some unix socket was used. */
        if (n->nr == __NR_socket && n->args[0] == AF_UNIX) {
                add_call(l, &l->unix_sockets, &l->n_unix_sockets, n, sources);
                return;
        }
        add_call(l, &l->calls, &l->n_calls, n, sources);
}

void learned_done(Learned *l) {
        for (size_t i = 0; i < l->n_paths; i++)
                free(l->paths[i].path);
        free(l->paths);
        free(l->calls);
        free(l->futile_calls);
        free(l->unix_sockets);
        free(l->bind);
        free(l->connect);
        *l = (Learned) {};
}

/* What the rules the task gets anyway allow at path (Landlock's rights add up down the tree). */
static unsigned granted_at(const UnveilList *g, const char *path) {
        unsigned p = 0;
        for (size_t i = 0; g && i < g->n; i++)
                if (path_beneath(path, g->rules[i].path))
                        p |= g->rules[i].perms;
        return p;
}

static void add_rule(UnveilList *u, const char *path, unsigned letters) {
        for (size_t i = 0; i < u->n; i++)
                if (streq(u->rules[i].path, path)) {
                        u->rules[i].perms |= letters;
                        return;
                }
        (void) unveil_list_add(u, path, letters, UNVEIL_ORIGIN_USER, NULL);
}

static int depth(const char *path) {
        int d = 0;
        for (const char *c = path; *c; c++)
                if (*c == '/' && c[1])
                        d++;
        return d;
}

static char *parent_of(const char *path) {
        const char *s = strrchr(path, '/');
        return s == path ? xstrdup("/") : xstrndup(path, (size_t) (s - path));
}

static int cmp_rule(const void *a, const void *b) {
        return strcmp(((const UnveilRule *) a)->path, ((const UnveilRule *) b)->path);
}

static bool in_nomad_dir(const LearnOptions *o, const char *path) {
        return (o->task_dir && path_beneath(path, o->task_dir)) || (o->alloc_dir && path_beneath(path, o->alloc_dir)) ||
               (o->secrets_dir && path_beneath(path, o->secrets_dir));
}

int learn_result(const Learned *l, const LearnOptions *o, LearnResult *ret) {
        LearnResult r = {};
        UnveilList *u = &r.unveil;

        /* Promises: the smallest set that allows every recorded call. */
        size_t n = 0;
        uint64_t *c = xcalloc(l->n_calls + l->n_unix_sockets + 1, sizeof(uint64_t));
        for (size_t i = 0; i < l->n_calls; i++) {
                c[n++] = l->calls[i].sources;
                if (!l->calls[i].sources) {
                        r.refused = xrealloc(r.refused, (r.n_refused + 1) * sizeof(*r.refused));
                        r.refused[r.n_refused++] = &l->calls[i];
                }
        }
        for (size_t i = 0; l->unix_used && i < l->n_unix_sockets; i++)
                c[n++] = l->unix_sockets[i].sources;
        r.promises = explain_minimal(c, n, o->forced);
        free(c);

        /* Unveil: what the granted rules do not already allow, beneath no Nomad directory. */
        for (size_t i = 0; i < l->n_paths; i++) {
                const LearnedPath *p = &l->paths[i];
                if (in_nomad_dir(o, p->path))
                        continue; /* unveiled rwc for the task by the driver */
                if ((p->letters & ~granted_at(o->granted, p->path)) == 0)
                        continue;
                /* A task's own cgroup files (a JVM reads its limits there) lie at a path that
                 * differs from one task to the next: the rule is for the whole tree. */
                const char *path = path_beneath(p->path, "/sys/fs/cgroup") ? "/sys/fs/cgroup" : p->path;
                add_rule(u, path, p->letters);
        }

        /* Fold: a directory (two levels deep at least: never "/" or "/etc") whose entries were
         * used fold_min times or more becomes one rule with their letters; again up the tree. */
        for (bool changed = o->fold_min > 0; changed;) {
                changed = false;
                for (size_t i = 0; i < u->n && !changed; i++) {
                        _cleanup_free_ char *parent = parent_of(u->rules[i].path);
                        if (depth(parent) < 2)
                                continue;
                        unsigned entries = 0, letters = 0;
                        for (size_t k = 0; k < u->n; k++)
                                if (!streq(u->rules[k].path, parent) && path_beneath(u->rules[k].path, parent)) {
                                        entries++;
                                        letters |= u->rules[k].perms;
                                }
                        if (entries < o->fold_min)
                                continue;
                        UnveilList next = {};
                        for (size_t k = 0; k < u->n; k++) {
                                if (streq(u->rules[k].path, parent))
                                        letters |= u->rules[k].perms;
                                else if (!path_beneath(u->rules[k].path, parent))
                                        (void) unveil_list_add(&next, u->rules[k].path, u->rules[k].perms,
                                                               UNVEIL_ORIGIN_USER, NULL);
                        }
                        (void) unveil_list_add(&next, parent, letters, UNVEIL_ORIGIN_USER, NULL);
                        unveil_list_done(u);
                        *u = next;
                        changed = true;
                }
        }
        /* A rule beneath another with the same letters or fewer says nothing more. */
        for (size_t i = 0; i < u->n;) {
                bool covered = false;
                for (size_t k = 0; k < u->n && !covered; k++)
                        covered = k != i && path_beneath(u->rules[i].path, u->rules[k].path) &&
                                  !streq(u->rules[i].path, u->rules[k].path) &&
                                  (u->rules[i].perms & ~u->rules[k].perms) == 0;
                if (!covered) {
                        i++;
                        continue;
                }
                free(u->rules[i].path);
                memmove(&u->rules[i], &u->rules[i + 1], (u->n - i - 1) * sizeof(u->rules[0]));
                u->n--;
        }
        if (u->n > 1)
                qsort(u->rules, u->n, sizeof(u->rules[0]), cmp_rule);

        /* Ports. */
        r.bind.set = l->n_bind > 0;
        for (size_t i = 0; i < l->n_bind; i++)
                r.bind.ports[r.bind.n++] = l->bind[i];
        r.connect.set = l->n_connect > 0;
        for (size_t i = 0; i < l->n_connect; i++)
                r.connect.ports[r.connect.n++] = l->connect[i];

        *ret = r;
        return 0;
}

void learn_result_done(LearnResult *r) {
        unveil_list_done(&r->unveil);
        free(r->refused);
        *r = (LearnResult) {};
}

static int cmp_u16(const void *a, const void *b) {
        return (int) *(const uint16_t *) a - (int) *(const uint16_t *) b;
}

void port_list_format(const PortList *p, char *buf, size_t size) {
        uint16_t ports[UNVEIL_MAX_PORTS];
        size_t off = 0;

        if (!p->set || p->n == 0) {
                snprintf(buf, size, "none");
                return;
        }
        memcpy(ports, p->ports, p->n * sizeof(ports[0]));
        qsort(ports, p->n, sizeof(ports[0]), cmp_u16);
        buf[0] = 0;
        for (size_t i = 0; i < p->n && off < size;) {
                size_t j = i;
                while (j + 1 < p->n && ports[j + 1] == ports[j] + 1)
                        j++;
                if (j > i + 1)
                        off += (size_t) snprintf(buf + off, size - off, "%s%u-%u", off ? "," : "", ports[i], ports[j]);
                else {
                        off += (size_t) snprintf(buf + off, size - off, "%s%u", off ? "," : "", ports[i]);
                        if (j == i + 1 && off < size)
                                off += (size_t) snprintf(buf + off, size - off, ",%u", ports[j]);
                }
                i = j + 1;
        }
}

char *learn_nomad_path(const LearnOptions *o, const char *path) {
        static const char *const vars[] = { "${NOMAD_SECRETS_DIR}", "${NOMAD_TASK_DIR}", "${NOMAD_ALLOC_DIR}" };
        const char *dirs[] = { o->secrets_dir, o->task_dir, o->alloc_dir };
        /* the secrets dir lies beneath the task dir's parent: most specific first */
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (dirs[i] && path_beneath(path, dirs[i]))
                        return xasprintf("%s%s", vars[i], path + strlen(dirs[i]));
        return xstrdup(path);
}

bool learned_futile(const Learned *l, int nr, uint64_t sources) {
        sources &= SECCOMP_SOURCES_PROMISES;
        /* refused while learning too: no promise allows it */
        for (size_t i = 0; !sources && i < l->n_calls; i++)
                if (l->calls[i].nr == nr && l->calls[i].sources == 0)
                        return true;
        for (size_t i = 0; i < l->n_futile; i++)
                if (l->futile_calls[i].nr == nr && l->futile_calls[i].sources == sources)
                        return true;
        if (!l->unix_used)
                for (size_t i = 0; i < l->n_unix_sockets; i++)
                        if (l->unix_sockets[i].nr == nr && l->unix_sockets[i].sources == sources)
                                return true;
        return false;
}
