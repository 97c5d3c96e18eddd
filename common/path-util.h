/* SPDX-License-Identifier: MIT */
/* common/path-util.h: checks on who can change what a path names. */
#pragma once

#include "error.h"

/* Whether only root can change what PATH names (an absolute path without symlinks, such as
 * realpath() or /proc/self/exe gives): PATH and every directory above it are owned by root and
 * not writable by group or others. A sticky directory above (as /tmp) is fine: others may add
 * names there but cannot rename or remove root's. Fails with a message naming the first
 * path that breaks the rule and why: "directory '/srv' is writable by group or others (mode
 * 0775)", "'/srv/x' is owned by uid 1000, not root", "'/srv/x' is a symbolic link". */
int path_check_root_only(const char *path, SbxError *err);
