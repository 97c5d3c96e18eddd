/* SPDX-License-Identifier: MIT */
/* daemon/sandboxd/signals.h: signal names as Nomad and operators write them. */
#pragma once

/* "SIGTERM", "sigterm", "TERM", "term", "15". Returns the number or -EINVAL. Real-time signals
 * as "SIGRTMIN+N". Signal 0 and SIGKILL/SIGSTOP are allowed (callers decide). */
int signal_from_string(const char *s);
