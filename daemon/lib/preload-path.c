/* SPDX-License-Identifier: MIT */
/* daemon/lib/preload-path.c: where the preload helper is (sandbox_preload_path, spawn.h).
 *
 * Installed, it lives in LIBEXECDIR/nomad-driver-sandbox. A program run from its build tree
 * (build/sandboxctl, build/sandboxd) uses the helper built next to it, so a checkout works
 * without `meson install` and without SANDBOX_PRELOAD; but only if no user but root can replace
 * that file: the helper runs inside every task with promises and is what narrows its filter,
 * so a helper another user can write would let that user lift the filter of root's tasks. */
#include <limits.h>

#include "config.h"
#include "macro.h"
#include "path-util.h"
#include "spawn.h"
#include "util.h"

#define PRELOAD_NAME "libsandbox-preload.so"

/* Resolved once per process; never freed (one path and one message). */
static const char *preload_path;
static const char *preload_note = "";

static void preload_resolve(void) {
        char exe[PATH_MAX];
        SbxError err = {};

        preload_path = PRELOAD_PATH;

        /* The kernel's path of our own executable: canonical, no symlinks. */
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
                return;
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (!slash || slash == exe)
                return;
        *slash = 0;
        char *cand = xasprintf("%s/%s", exe, PRELOAD_NAME);
        if (streq(cand, PRELOAD_PATH) || access(cand, F_OK) < 0) {
                free(cand); /* installed, or no build tree here */
                return;
        }
        if (path_check_root_only(cand, &err) < 0) {
                preload_note = xasprintf("the build tree's %s is not used: %s; SANDBOX_PRELOAD=PATH names a helper "
                                         "explicitly",
                                         cand, err.msg);
                free(cand);
                return;
        }
        preload_path = cand;
}

const char *sandbox_preload_path(void) {
        const char *e = secure_getenv("SANDBOX_PRELOAD");
        if (e && e[0] == '/')
                return e;
        if (!preload_path)
                preload_resolve();
        return preload_path;
}

const char *sandbox_preload_note(void) {
        (void) sandbox_preload_path();
        const char *e = secure_getenv("SANDBOX_PRELOAD");
        return e && e[0] == '/' ? "" : preload_note;
}
