/* SPDX-License-Identifier: MIT */
/* daemon/lib/landlock.h: unveil rules -> a Landlock ruleset, per the ABI the kernel offers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "unveil.h"

/* Landlock ABI version (1..N), or -ENOSYS / -EOPNOTSUPP when the kernel has none / it is off. */
int landlock_abi(void);

typedef struct LandlockConfig {
        const UnveilList *unveil;
        bool scope; /* ABI >= 6: deny signals and abstract unix connects out of the domain */
        PortList bind_tcp, connect_tcp;
} LandlockConfig;

/* What the ruleset handles (for inspect/fingerprint). */
typedef struct LandlockInfo {
        int abi;
        uint64_t handled_fs, handled_net, scoped;
} LandlockInfo;

/* Creates the ruleset and adds every host rule (not deferred, not absent) from the O_PATH fd
 * unveil_rule_resolve() opened, so nothing is resolved twice. Deferred rules are left for
 * landlock_add_deferred(), which the task calls after its mounts. */
int landlock_build(const LandlockConfig *c, int *ret_fd, LandlockInfo *ret_info, SbxError *err);

/* What a deferred rule resolved to in the task (for pinning): state 0 = not deferred, 1 = dev/ino
 * set, 2 = absent (an optional rule whose path does not exist). */
typedef struct LandlockPin {
        uint64_t dev, ino;
        int32_t state;
} LandlockPin;

/* Async-signal-safe: adds the deferred rules, each opened without following any symlink or
 * magic link (the task may have planted them: in its /tmp, its alloc dir, a writable volume).
 * A pinned rule must be the same inode as at start, or -ESTALE. If pins is not NULL, pins[i] gets
 * what rule i resolved to. On failure returns -errno and sets *ret_index to the failing rule. */
int landlock_add_deferred(int ruleset_fd, const UnveilList *l, const LandlockInfo *info, LandlockPin *pins,
                          size_t *ret_index);
