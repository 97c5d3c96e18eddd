/* SPDX-License-Identifier: MIT */
/* daemon/unveil.c: parsing of unveil entries and the default unveil set. */
#include <string.h>

#include "macro.h"
#include "unveil.h"

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
        *ret_perms = perms;
        return 0;
}

int unveil_list_add(UnveilList *l, const char *path, unsigned perms, UnveilOrigin origin, SbxError *err) {
        if (l->n >= UNVEIL_MAX_RULES)
                return sbx_error(err, E2BIG, "too many unveil entries (at most %d)", UNVEIL_MAX_RULES);
        l->rules = xrealloc(l->rules, (l->n + 1) * sizeof(UnveilRule));
        l->rules[l->n++] = (UnveilRule) { .path = xstrdup(path), .perms = perms, .origin = origin };
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
 * follows exec2's defaults (anchors.md §1.3) with their bugs fixed: /etc/hostname (exec2 has
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
        { "/dev/fd", UNVEIL_R },
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
                (void) unveil_list_add(l, default_rules[i].path, default_rules[i].perms, UNVEIL_ORIGIN_DEFAULT,
                                       NULL);
}

void unveil_list_done(UnveilList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->rules[i].path);
        free(l->rules);
        l->rules = NULL;
        l->n = 0;
}
