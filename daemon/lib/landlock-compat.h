/* SPDX-License-Identifier: MIT */
/* daemon/lib/landlock-compat.h: what Debian 12's <linux/landlock.h> (Linux 6.1 UAPI) lacks.
 *
 * The 6.1 header stops at ABI 2 (REFER) and its struct landlock_ruleset_attr has only
 * handled_access_fs. The kernels we run on offer ABI 7, so we carry our own definitions, each
 * under #ifndef so a newer header wins. The attr struct is ours too (with handled_access_net
 * and scoped): a kernel that does not know a trailing field accepts the larger struct only if
 * that field is zero (else E2BIG), so callers mask by ABI before creating a ruleset.
 * FIXME: drop the fallbacks once the build baseline ships a >= 6.12 UAPI header. */
#pragma once

#include <linux/landlock.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule 445
#endif
#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self 446
#endif

#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif

/* ABI 3 (6.2) */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
/* ABI 5 (6.10) */
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
/* ABI 4 (6.7) */
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#endif
#ifndef LANDLOCK_ACCESS_NET_CONNECT_TCP
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#define SBX_LANDLOCK_RULE_PATH_BENEATH 1
#define SBX_LANDLOCK_RULE_NET_PORT 2
/* ABI 6 (6.12) */
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif
/* ABI 7 (6.15): landlock_restrict_self() flags for audit logging. */
#ifndef LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF
#define LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF (1U << 0)
#endif
#ifndef LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON
#define LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON (1U << 1)
#endif

struct sbx_landlock_ruleset_attr {
        uint64_t handled_access_fs;
        uint64_t handled_access_net;
        uint64_t scoped;
};

struct sbx_landlock_path_beneath_attr {
        uint64_t allowed_access;
        int32_t parent_fd;
} __attribute__((packed));

struct sbx_landlock_net_port_attr {
        uint64_t allowed_access;
        uint64_t port;
};

static inline int sbx_landlock_create_ruleset(const struct sbx_landlock_ruleset_attr *attr, size_t size,
                                              uint32_t flags) {
        return (int) syscall(__NR_landlock_create_ruleset, attr, size, flags);
}

static inline int sbx_landlock_add_rule(int ruleset_fd, int rule_type, const void *rule_attr, uint32_t flags) {
        return (int) syscall(__NR_landlock_add_rule, ruleset_fd, rule_type, rule_attr, flags);
}

static inline int sbx_landlock_restrict_self(int ruleset_fd, uint32_t flags) {
        return (int) syscall(__NR_landlock_restrict_self, ruleset_fd, flags);
}
