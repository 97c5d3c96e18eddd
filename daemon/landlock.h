/* SPDX-License-Identifier: MIT */
/* daemon/landlock.h: unveil rules -> a Landlock ruleset, per the ABI the kernel offers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "unveil.h"

#define LANDLOCK_MAX_PORTS 64

typedef struct PortList {
        bool set; /* the option was given: the right is handled, only listed ports allowed */
        uint16_t ports[LANDLOCK_MAX_PORTS];
        size_t n;
} PortList;

/* "80,443", "8000-8010", "none". */
int port_list_parse(const char *s, PortList *ret, SbxError *err);

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

/* Creates the ruleset and adds every rule that can be resolved in the caller's mount namespace.
 * Rules for paths under /proc (and /dev/fd, /dev/std*) are left for landlock_add_deferred(),
 * which the task calls after its own /proc is mounted. A missing path is an error naming it
 * unless the rule comes from the default set. */
int landlock_build(const LandlockConfig *c, int *ret_fd, LandlockInfo *ret_info, SbxError *err);

/* True if the rule must be resolved inside the sandbox's mount namespace. */
bool landlock_rule_deferred(const UnveilRule *r);

/* Async-signal-safe: adds the deferred rules. On failure returns -errno and sets *ret_index to
 * the failing rule. */
int landlock_add_deferred(int ruleset_fd, const UnveilList *l, const LandlockInfo *info, size_t *ret_index);
