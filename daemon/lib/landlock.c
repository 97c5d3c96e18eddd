/* SPDX-License-Identifier: MIT */
/* daemon/lib/landlock.c: unveil rules -> a Landlock ruleset.
 *
 * Letters map to rights as exec2's go-landlock does (docs/unveil.md), extended to what newer
 * ABIs offer:
 *   r  files: READ_FILE;             directories: READ_FILE | READ_DIR
 *   w  WRITE_FILE | TRUNCATE (ABI >= 3) | IOCTL_DEV (ABI >= 5)
 *   x  EXECUTE
 *   c  directories only: MAKE_REG | MAKE_DIR | MAKE_SOCK | MAKE_FIFO | MAKE_SYM | REMOVE_FILE |
 *      REMOVE_DIR | REFER (ABI >= 2); MAKE_CHAR and MAKE_BLOCK are never granted.
 * Everything the ABI knows is handled, so what no rule grants is denied. */
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "landlock-compat.h"
#include "landlock.h"
#include "macro.h"

#define FS_ABI1                                                                                    \
        (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
         LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
         LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |     \
         LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |  \
         LANDLOCK_ACCESS_FS_MAKE_SYM)

/* Rights that make sense on a non-directory; others make landlock_add_rule fail with EINVAL. */
#define FS_FILE_RIGHTS                                                                             \
        (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
         LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)

int landlock_abi(void) {
        static int cached = 0;
        if (cached == 0) {
                int v = sbx_landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
                cached = v < 0 ? -errno : v;
        }
        return cached;
}

static uint64_t handled_fs_for_abi(int abi) {
        uint64_t h = FS_ABI1;
        /* Deliberate fallthrough: each case adds what that ABI introduced. */
        switch (abi) {
        default: /* newer than we know: use everything we know */
        case 7:
        case 6:
        case 5:
                h |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
                /* fallthrough */
        case 4:
        case 3:
                h |= LANDLOCK_ACCESS_FS_TRUNCATE;
                /* fallthrough */
        case 2:
                h |= LANDLOCK_ACCESS_FS_REFER;
                /* fallthrough */
        case 1:
                break;
        }
        return h;
}

static uint64_t rights_for(unsigned perms, bool dir, uint64_t handled) {
        uint64_t a = 0;

        if (perms & UNVEIL_R)
                a |= LANDLOCK_ACCESS_FS_READ_FILE | (dir ? LANDLOCK_ACCESS_FS_READ_DIR : 0);
        if (perms & UNVEIL_W)
                a |= LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV;
        if (perms & UNVEIL_X)
                a |= LANDLOCK_ACCESS_FS_EXECUTE;
        if ((perms & UNVEIL_C) && dir)
                a |= LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_SOCK |
                     LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REMOVE_FILE |
                     LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REFER;
        if (!dir)
                a &= FS_FILE_RIGHTS;
        return a & handled;
}

static int add_path_rule(int ruleset_fd, int path_fd, unsigned perms, uint64_t handled) {
        struct stat st;
        if (fstat(path_fd, &st) < 0)
                return -errno;
        struct sbx_landlock_path_beneath_attr pb = {
                .allowed_access = rights_for(perms, S_ISDIR(st.st_mode), handled),
                .parent_fd = path_fd,
        };
        if (pb.allowed_access == 0)
                return 0; /* e.g. "c" on a file: nothing to grant, and add_rule would say ENOMSG */
        if (sbx_landlock_add_rule(ruleset_fd, SBX_LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
                return -errno;
        return 0;
}

static int add_port_rules(int ruleset_fd, const PortList *l, uint64_t right) {
        for (size_t i = 0; i < l->n; i++) {
                struct sbx_landlock_net_port_attr np = { .allowed_access = right, .port = l->ports[i] };
                if (sbx_landlock_add_rule(ruleset_fd, SBX_LANDLOCK_RULE_NET_PORT, &np, 0) < 0)
                        return -errno;
        }
        return 0;
}

int landlock_build(const LandlockConfig *c, int *ret_fd, LandlockInfo *ret_info, SbxError *err) {
        int abi = landlock_abi();
        int r;

        if (abi == -ENOSYS)
                return sbx_error(err, ENOSYS, "landlock: not supported by this kernel (needs Linux >= 5.13 with CONFIG_SECURITY_LANDLOCK)");
        if (abi == -EOPNOTSUPP)
                return sbx_error(err, EOPNOTSUPP, "landlock: disabled on this system (add 'landlock' to the lsm= boot parameter)");
        if (abi < 0)
                return sbx_error_errno(err, abi, "landlock: probing the ABI failed");

        struct sbx_landlock_ruleset_attr attr = { .handled_access_fs = handled_fs_for_abi(abi) };
        size_t attr_size = sizeof(uint64_t); /* ABI < 4 kernels know only handled_access_fs */

        if (c->bind_tcp.set || c->connect_tcp.set) {
                if (abi < 4)
                        return sbx_error(err, EOPNOTSUPP,
                                         "landlock: TCP port rules need Landlock ABI 4 (Linux 6.7), this kernel has ABI %d", abi);
                if (c->bind_tcp.set)
                        attr.handled_access_net |= LANDLOCK_ACCESS_NET_BIND_TCP;
                if (c->connect_tcp.set)
                        attr.handled_access_net |= LANDLOCK_ACCESS_NET_CONNECT_TCP;
                attr_size = 2 * sizeof(uint64_t);
        }
        if (c->scope && abi >= 6) {
                attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
                attr_size = sizeof(attr);
        }

        _cleanup_close_ int fd = sbx_landlock_create_ruleset(&attr, attr_size, 0);
        if (fd < 0)
                return sbx_error_errno(err, errno, "landlock: creating the ruleset");

        for (size_t i = 0; i < c->unveil->n; i++) {
                const UnveilRule *rule = &c->unveil->rules[i];
                if (rule->deferred || rule->absent)
                        continue;
                if (rule->fd < 0)
                        return sbx_error(err, EBADF, "landlock: %s: not resolved", rule->path);
                r = add_path_rule(fd, rule->fd, rule->perms, attr.handled_access_fs);
                if (r < 0)
                        return sbx_error_errno(err, r, "landlock: %s", rule->path);
        }

        r = add_port_rules(fd, &c->bind_tcp, LANDLOCK_ACCESS_NET_BIND_TCP);
        if (r >= 0)
                r = add_port_rules(fd, &c->connect_tcp, LANDLOCK_ACCESS_NET_CONNECT_TCP);
        if (r < 0)
                return sbx_error_errno(err, r, "landlock: adding TCP port rules");

        if (ret_info)
                *ret_info = (LandlockInfo) {
                        .abi = abi,
                        .handled_fs = attr.handled_access_fs,
                        .handled_net = attr.handled_access_net,
                        .scoped = attr.scoped,
                };
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int landlock_add_deferred(int ruleset_fd, const UnveilList *l, const LandlockInfo *info, LandlockPin *pins,
                          size_t *ret_index) {
        for (size_t i = 0; i < l->n; i++) {
                const UnveilRule *rule = &l->rules[i];
                struct stat st;
                if (!rule->deferred)
                        continue;
                if (rule->pinned && rule->absent)
                        continue; /* missing at start: the task never got it */
                struct open_how how = { .flags = O_PATH | O_CLOEXEC,
                                        .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
                int pfd = (int) syscall(SYS_openat2, AT_FDCWD, rule->path, &how, sizeof(how));
                if (pfd < 0) {
                        int e = errno;
                        if (rule->optional && !rule->pinned && (e == ENOENT || e == ENOTDIR)) {
                                if (pins)
                                        pins[i] = (LandlockPin) { .state = 2 };
                                continue;
                        }
                        *ret_index = i;
                        return rule->pinned && (e == ENOENT || e == ENOTDIR || e == ELOOP) ? -ESTALE : -e;
                }
                int r = fstat(pfd, &st) < 0 ? -errno : 0;
                if (r == 0 && rule->pinned && ((uint64_t) st.st_dev != rule->dev || (uint64_t) st.st_ino != rule->ino))
                        r = -ESTALE;
                if (r == 0)
                        r = add_path_rule(ruleset_fd, pfd, rule->perms, info->handled_fs);
                (void) close(pfd);
                if (r < 0) {
                        *ret_index = i;
                        return r;
                }
                if (pins)
                        pins[i] = (LandlockPin) { .dev = (uint64_t) st.st_dev, .ino = (uint64_t) st.st_ino, .state = 1 };
        }
        return 0;
}
