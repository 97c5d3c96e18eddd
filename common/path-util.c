/* SPDX-License-Identifier: MIT */
/* common/path-util.c: see path-util.h. */
#include <sys/stat.h>

#include "macro.h"
#include "path-util.h"
#include "util.h"

int path_check_root_only(const char *path, SbxError *err) {
        if (!path || path[0] != '/')
                return sbx_error(err, EINVAL, "'%s': not an absolute path", path ? path : "");

        _cleanup_free_ char *cur = xstrdup(path);
        for (;;) {
                struct stat st;
                if (lstat(cur, &st) < 0)
                        return sbx_error_errno(err, errno, "'%s'", cur);
                const char *what = S_ISDIR(st.st_mode) ? "directory " : "";
                if (S_ISLNK(st.st_mode))
                        return sbx_error(err, ELOOP, "'%s' is a symbolic link", cur);
                if (st.st_uid != 0)
                        return sbx_error(err, EPERM, "%s'%s' is owned by uid %u, not root", what, cur,
                                         (unsigned) st.st_uid);
                /* A sticky directory protects its entries (the next component, checked above). */
                if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX)))
                        return sbx_error(err, EPERM, "%s'%s' is writable by group or others (mode %04o)", what, cur,
                                         (unsigned) (st.st_mode & 07777));
                if (streq(cur, "/"))
                        return 0;
                char *slash = strrchr(cur, '/');
                if (slash == cur)
                        slash[1] = 0;
                else
                        *slash = 0;
        }
}
