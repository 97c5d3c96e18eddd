/* SPDX-License-Identifier: MIT */
/* daemon/sandboxd/request.h: a StartRequest from the wire -> a validated SandboxSpec. Pure (no side
 * effects but user/group lookups and stat() of the command), so it can be fuzzed. */
#pragma once

#include "error.h"
#include "frame.h"
#include "spec.h"

#define TASK_NAME_MAX 256

/* Checks a task name: 1..256 printable ASCII characters. */
int task_name_valid(const char *name);

/* On failure *ret_field names the request field at fault ("promises", "unveil", "user", ...) and
 * err says why; the caller answers "<field>: <message>". default_user applies when the request
 * names none. */
int request_to_spec(const Sandboxd__V1__StartRequest *r, const char *default_user, SandboxSpec *s,
                    const char **ret_field, SbxError *err);
