/* SPDX-License-Identifier: MIT */
/* daemon/lib/unveil.c: parsing of unveil entries, the default unveil set, and resolving a rule once. */
#include <assert.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "unveil.h"
#include "util.h"

static const char *const unveil_origin_table[_UNVEIL_ORIGIN_MAX] = {
        [UNVEIL_ORIGIN_USER] = "user",       [UNVEIL_ORIGIN_DEFAULT] = "default", [UNVEIL_ORIGIN_LAUNCH] = "launch",
        [UNVEIL_ORIGIN_NOMAD] = "nomad",     [UNVEIL_ORIGIN_PRIVATE] = "private", [UNVEIL_ORIGIN_VOLUME] = "volume",
};

DEFINE_STRING_TABLE_LOOKUP(unveil_origin, UnveilOrigin, _UNVEIL_ORIGIN_MAX, _UNVEIL_ORIGIN_INVALID, streq)

/* Collapses "//" and "/./" and drops a trailing '/', in place; ".." stays (the policy refuses it,
 * sandboxctl run resolves it). Whether a rule lies beneath /tmp or /proc is decided on this form. */
static void path_simplify(char *p) {
        char *w = p;
        for (const char *r = p; *r;) {
                if (r[0] == '/' && (r[1] == '/' || (r[1] == '.' && (r[2] == '/' || r[2] == 0)))) {
                        r += r[1] == '/' ? 1 : 2;
                        continue;
                }
                *w++ = *r++;
        }
        *w = 0;
        if (w == p)
                strcpy(p, "/");
        else if (w > p + 1 && w[-1] == '/')
                w[-1] = 0;
}

int unveil_perms_parse(const char *letters, unsigned *ret, SbxError *err) {
        unsigned perms = 0;

        for (const char *c = letters; *c; c++)
                switch (*c) {
                case 'r':
                        perms |= UNVEIL_R;
                        break;
                case 'w':
                        perms |= UNVEIL_W;
                        break;
                case 'x':
                        perms |= UNVEIL_X;
                        break;
                case 'c':
                        perms |= UNVEIL_C;
                        break;
                default:
                        return sbx_error(err, EINVAL, "unknown unveil permission '%c' in '%s' (allowed: r, w, x, c)",
                                         *c, letters);
                }
        *ret = perms;
        return 0;
}

const char *unveil_perms_format(unsigned perms, char buf[static 5]) {
        char *p = buf;
        if (perms & UNVEIL_R)
                *p++ = 'r';
        if (perms & UNVEIL_W)
                *p++ = 'w';
        if (perms & UNVEIL_X)
                *p++ = 'x';
        if (perms & UNVEIL_C)
                *p++ = 'c';
        *p = 0;
        return buf;
}

int unveil_entry_parse(const char *entry, char **ret_path, unsigned *ret_perms, SbxError *err) {
        const char *colon = strchr(entry, ':');
        unsigned perms = UNVEIL_R;
        const char *path = entry;
        int r;

        if (entry[0] != '/') {
                if (!colon)
                        return sbx_error(err, EINVAL, "'%s': expected LETTERS:PATH (e.g. r:/etc/mime.types)", entry);
                _cleanup_free_ char *letters = xstrndup(entry, colon - entry);
                r = unveil_perms_parse(letters, &perms, err);
                if (r < 0)
                        return r;
                path = colon + 1;
        }
        if (path[0] != '/')
                return sbx_error(err, EINVAL, "'%s': path must be absolute", entry);
        if (strlen(path) >= UNVEIL_MAX_PATH)
                return sbx_error(err, ENAMETOOLONG, "'%.64s...': path too long", entry);

        *ret_path = xstrdup(path);
        path_simplify(*ret_path);
        *ret_perms = perms;
        return 0;
}

static size_t count_origin(const UnveilList *l, UnveilOrigin o) {
        size_t n = 0;
        for (size_t i = 0; i < l->n; i++)
                n += l->rules[i].origin == o;
        return n;
}

UnveilRule *unveil_list_append(UnveilList *l, const char *path, unsigned perms, UnveilOrigin origin) {
        assert(l->n < UNVEIL_MAX_TOTAL);
        l->rules = xrealloc(l->rules, (l->n + 1) * sizeof(UnveilRule));
        UnveilRule *r = &l->rules[l->n++];
        *r = (UnveilRule) { .path = xstrdup(path), .perms = perms, .origin = origin, .fd = -1 };
        path_simplify(r->path);
        return r;
}

UnveilRule *unveil_list_append_copy(UnveilList *l, const UnveilRule *rule) {
        /* rule may lie in l itself, whose array the append moves (not the strings) */
        const UnveilRule c = *rule, *src = &c;
        UnveilRule *r = unveil_list_append(l, src->path, src->perms, src->origin);
        r->what = src->what;
        r->optional = src->optional;
        r->deferred = src->deferred;
        r->resolved = src->resolved ? xstrdup(src->resolved) : NULL;
        r->absent = src->absent;
        r->pinned = src->pinned;
        r->dev = src->dev;
        r->ino = src->ino;
        return r;
}

int unveil_list_add(UnveilList *l, const char *path, unsigned perms, UnveilOrigin origin, SbxError *err) {
        if (count_origin(l, UNVEIL_ORIGIN_USER) >= UNVEIL_MAX_RULES || l->n >= UNVEIL_MAX_TOTAL - 256)
                return sbx_error(err, E2BIG, "too many unveil entries (at most %d)", UNVEIL_MAX_RULES);
        (void) unveil_list_append(l, path, perms, origin);
        return 0;
}

int unveil_list_add_entry(UnveilList *l, const char *entry, SbxError *err) {
        _cleanup_free_ char *path = NULL;
        unsigned perms;
        int r = unveil_entry_parse(entry, &path, &perms, err);
        if (r < 0)
                return r;
        return unveil_list_add(l, path, perms, UNVEIL_ORIGIN_USER, err);
}

/* The default set: what ordinary dynamically linked programs, DNS resolution and TLS need. It
 * follows exec2's defaults (docs/unveil.md) with their bugs fixed: /etc/hostname (exec2 has
 * "/hostname"), zoneinfo and common-licenses as directories, and binaries dirs skipped when
 * missing instead of failing the task. Nothing under /etc that holds accounts or secrets, no
 * /tmp, no home directories. Entries missing on this host are skipped. */
static const struct {
        const char *path;
        unsigned perms;
} default_rules[] = {
        /* loader and libraries */
        { "/lib", UNVEIL_R | UNVEIL_X },
        { "/lib32", UNVEIL_R | UNVEIL_X },
        { "/lib64", UNVEIL_R | UNVEIL_X },
        { "/usr/lib", UNVEIL_R | UNVEIL_X },
        { "/usr/lib32", UNVEIL_R | UNVEIL_X },
        { "/usr/lib64", UNVEIL_R | UNVEIL_X },
        { "/usr/libexec", UNVEIL_R | UNVEIL_X },
        { "/usr/local/lib", UNVEIL_R | UNVEIL_X },
        { "/usr/local/lib64", UNVEIL_R | UNVEIL_X },
        { "/etc/ld.so.conf", UNVEIL_R },
        { "/etc/ld.so.conf.d", UNVEIL_R },
        { "/etc/ld.so.cache", UNVEIL_R },
        /* programs */
        { "/bin", UNVEIL_R | UNVEIL_X },
        { "/sbin", UNVEIL_R | UNVEIL_X },
        { "/usr/bin", UNVEIL_R | UNVEIL_X },
        { "/usr/sbin", UNVEIL_R | UNVEIL_X },
        { "/usr/local/bin", UNVEIL_R | UNVEIL_X },
        /* stdio-ish devices and process info */
        { "/dev/null", UNVEIL_R | UNVEIL_W },
        { "/dev/full", UNVEIL_R | UNVEIL_W },
        { "/dev/zero", UNVEIL_R },
        { "/dev/random", UNVEIL_R },
        { "/dev/urandom", UNVEIL_R },
        { "/usr/share/locale", UNVEIL_R },
        { "/usr/lib/locale", UNVEIL_R },
        { "/usr/share/zoneinfo", UNVEIL_R },
        { "/usr/share/common-licenses", UNVEIL_R },
        { "/etc/localtime", UNVEIL_R },
        { "/etc/mime.types", UNVEIL_R },
        /* The sandbox's own procfs: its pid namespace shows only the task's processes, and
         * programs read /proc/self/... from every process they fork (a /proc/self rule would
         * only cover the first). Global files (cpuinfo, meminfo, sys) are readable. */
        { "/proc", UNVEIL_R },
        { "/sys/devices/system/cpu", UNVEIL_R },
        /* name resolution */
        { "/etc/hosts", UNVEIL_R },
        { "/etc/hostname", UNVEIL_R },
        { "/etc/services", UNVEIL_R },
        { "/etc/protocols", UNVEIL_R },
        { "/etc/resolv.conf", UNVEIL_R },
        { "/etc/nsswitch.conf", UNVEIL_R },
        { "/etc/gai.conf", UNVEIL_R },
        { "/etc/host.conf", UNVEIL_R },
        /* certificates */
        { "/etc/ssl/certs", UNVEIL_R },
        { "/etc/pki/tls/certs", UNVEIL_R },
        { "/etc/ssl/ca-bundle.pem", UNVEIL_R },
        { "/etc/pki/tls/cacert.pem", UNVEIL_R },
        { "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", UNVEIL_R },
        { "/etc/ssl/cert.pem", UNVEIL_R },
        { "/usr/share/ca-certificates", UNVEIL_R },
};

void unveil_list_add_defaults(UnveilList *l) {
        for (size_t i = 0; i < ELEMENTSOF(default_rules); i++)
                unveil_list_append(l, default_rules[i].path, default_rules[i].perms, UNVEIL_ORIGIN_DEFAULT)->optional =
                        true;
}

bool unveil_defaults_cover(const char *path, unsigned perms) {
        unsigned allowed = 0;
        for (size_t i = 0; i < ELEMENTSOF(default_rules); i++)
                if (path_beneath(path, default_rules[i].path))
                        allowed |= default_rules[i].perms;
        return allowed && !(perms & ~allowed);
}

void unveil_list_done(UnveilList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->rules[i].path);
                free(l->rules[i].resolved);
                safe_close(l->rules[i].fd);
        }
        free(l->rules);
        l->rules = NULL;
        l->n = 0;
}

const char *unveil_rule_format(const UnveilRule *r, char *buf, size_t size) {
        char letters[5];
        snprintf(buf, size, "%s:%s", unveil_perms_format(r->perms, letters), r->path);
        return buf;
}

int unveil_rule_resolve(UnveilRule *r, SbxError *err) {
        char what[UNVEIL_MAX_PATH + 8], self[64], real[PATH_MAX];
        struct stat st;
        int fd;

        assert(!r->deferred);
        r->fd = safe_close(r->fd);
        if (r->pinned && r->absent)
                return 0; /* missing at start: the task never got it */
        if (r->pinned) {
                /* The path it led to at start, with no symlink anywhere: a task that can write
                 * somewhere along it must not be able to point the rule elsewhere now. */
                struct open_how how = { .flags = O_PATH | O_CLOEXEC,
                                        .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
                fd = (int) syscall(SYS_openat2, AT_FDCWD, r->resolved ?: r->path, &how, sizeof(how));
                if (fd < 0 && (errno == ELOOP || errno == ENOENT || errno == ENOTDIR))
                        return sbx_error(err, ESTALE,
                                         "unveil '%s': it led to %s when the task started, and that path is now %s; the "
                                         "task's rules are pinned at start, so the exec is refused",
                                         unveil_rule_format(r, what, sizeof(what)), r->resolved ?: r->path,
                                         errno == ELOOP ? "reached through a symbolic link" : "gone");
                if (fd < 0)
                        return sbx_error_errno(err, errno, "landlock: %s", r->resolved ?: r->path);
                if (fstat(fd, &st) < 0) {
                        int e = errno;
                        safe_close(fd);
                        return sbx_error_errno(err, e, "landlock: %s", r->resolved ?: r->path);
                }
                if ((uint64_t) st.st_dev != r->dev || (uint64_t) st.st_ino != r->ino) {
                        safe_close(fd);
                        return sbx_error(err, ESTALE,
                                         "unveil '%s': %s is not the object it was when the task started (moved or "
                                         "replaced); the task's rules are pinned at start, so the exec is refused",
                                         unveil_rule_format(r, what, sizeof(what)), r->resolved ?: r->path);
                }
                r->fd = fd;
                return 0;
        }

        /* Once, following symlinks as root sees the host: the Landlock rule is built from this fd
         * and the policy checks the path read back from it, so both see the same object. */
        if (r->origin == UNVEIL_ORIGIN_NOMAD) {
                /* Opened without symlinks when sandboxd checked it; so again. */
                struct open_how how = { .flags = O_PATH | O_CLOEXEC,
                                        .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
                fd = (int) syscall(SYS_openat2, AT_FDCWD, r->path, &how, sizeof(how));
        } else
                fd = open(r->path, O_PATH | O_CLOEXEC);
        if (fd < 0) {
                if (r->optional && (errno == ENOENT || errno == ENOTDIR)) {
                        r->absent = true;
                        return 0;
                }
                return sbx_error_errno(err, errno, "landlock: %s", r->path);
        }
        snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(self, real, sizeof(real) - 1);
        int e = n < 0 ? errno : 0;
        if (n >= 0)
                real[n] = 0;
        if (e == 0 && real[0] != '/')
                e = ENOENT; /* not reachable from our root */
        if (e == 0 && fstat(fd, &st) < 0)
                e = errno;
        if (e) {
                safe_close(fd);
                return sbx_error_errno(err, e, "landlock: %s: finding where it leads", r->path);
        }
        free(r->resolved);
        r->resolved = xstrdup(real);
        r->fd = fd;
        r->dev = (uint64_t) st.st_dev;
        r->ino = (uint64_t) st.st_ino;
        r->absent = false;
        return 0;
}

int port_list_parse(const char *s, PortList *ret, SbxError *err) {
        PortList l = { .set = true };

        if (streq(s, "none")) {
                *ret = l;
                return 0;
        }
        const char *p = s;
        for (;;) {
                char *end;
                unsigned long lo, hi;

                errno = 0;
                lo = strtoul(p, &end, 10);
                if (errno || end == p || lo > 65535)
                        return sbx_error(err, EINVAL, "'%s': expected ports like 80,443,8000-8010 or 'none'", s);
                hi = lo;
                if (*end == '-') {
                        p = end + 1;
                        hi = strtoul(p, &end, 10);
                        if (errno || end == p || hi > 65535 || hi < lo)
                                return sbx_error(err, EINVAL, "'%s': bad port range", s);
                }
                for (unsigned long port = lo; port <= hi; port++) {
                        if (l.n >= UNVEIL_MAX_PORTS)
                                return sbx_error(err, E2BIG, "'%s': at most %d ports", s, UNVEIL_MAX_PORTS);
                        l.ports[l.n++] = (uint16_t) port;
                }
                if (*end == 0)
                        break;
                if (*end != ',')
                        return sbx_error(err, EINVAL, "'%s': expected ports like 80,443,8000-8010 or 'none'", s);
                p = end + 1;
        }
        *ret = l;
        return 0;
}
