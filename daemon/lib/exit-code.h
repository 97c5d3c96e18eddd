/* SPDX-License-Identifier: MIT */
/* daemon/lib/exit-code.h: what a command that did not run exits with, the way a shell and env(1)
 * say it. The spawn library, the preload helper, sandboxctl and sandboxd all give and read
 * these numbers; this is the one place they are written. */
#pragma once

#include <errno.h>

enum {
        EXIT_SETUP = 125,       /* the sandbox could not be built (or the narrowing failed) */
        EXIT_CANNOT_EXEC = 126, /* the command was found but cannot be executed */
        EXIT_NOT_FOUND = 127,   /* the command was not found */
};

/* The exit code of a command whose execve (or lookup) failed with errno e (positive). */
static inline int exit_code_from_exec_errno(int e) {
        return e == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
}

/* The reverse, for a start that failed before the task ran: the errno its reply carries. */
static inline int exec_errno_from_exit_code(int code) {
        return code == EXIT_NOT_FOUND ? ENOENT : code == EXIT_CANNOT_EXEC ? EACCES : EIO;
}
