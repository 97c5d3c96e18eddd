/* SPDX-License-Identifier: MIT */
/* daemon/lib/explain.h: the words for a refused or learned system call (the init's InitNote), and
 * the choice of promises that allow a set of calls. The promises each call needs come from the
 * table itself (seccomp_sources_allowing); this only words and chooses. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "spawn.h"

/* The name of an x86_64 system call ("openat"), or "syscall 999". */
const char *explain_syscall_name(int nr, char buf[static 32]);

/* The call with the arguments its rules look at: "openat(flags O_WRONLY|O_CREAT)",
 * "socket(AF_INET, SOCK_STREAM, 0)", "ioctl(request 0x5412)", ... */
void explain_call(int nr, const uint64_t args[6], char *buf, size_t size);

/* Of the promises in `mask`, the one to suggest: the one that gives away least, by a fixed weight
 * (rpath before wpath and dns, tmppath before cpath, dns before inet, ...). -1 if mask is empty. */
int explain_pick(uint64_t mask);

/* The lightest set of promises that meets every constraint (each a mask of promises, any one of
 * which allows a call), by the same weights. `forced` is part of the answer whatever the
 * constraints say. */
uint64_t explain_minimal(const uint64_t *constraints, size_t n, uint64_t forced);

/* One line for a NOTE_DENIED note:
 *   "python3[7]: openat(flags O_WRONLY|O_CREAT|O_TRUNC): refused, needs promise 'cpath'"
 *   "sh[3]: execve: refused, needs promise 'exec'"
 *   "probe[2]: mount: refused, no promise allows it"
 * with ", N more denials not reported" when the init dropped some. */
void explain_note(const InitNote *n, char *buf, size_t size);
