/* SPDX-License-Identifier: MIT */
/* shim/pb.h: short names for the protobuf-c types generated from proto/nomad. */
#pragma once

#include "attribute.pb-c.h"
#include "base.pb-c.h"
#include "controller.pb-c.h"
#include "driver.pb-c.h"
#include "duration.pb-c.h"
#include "hcl_spec.pb-c.h"
#include "health.pb-c.h"
#include "timestamp.pb-c.h"

/* types, INIT macros and enum values, functions: D(TaskConfig), DI(TASK_CONFIG__INIT), d_(task_config__unpack) */
#define D(x) Hashicorp__Nomad__Plugins__Drivers__Proto__##x
#define DI(x) HASHICORP__NOMAD__PLUGINS__DRIVERS__PROTO__##x
#define d_(x) hashicorp__nomad__plugins__drivers__proto__##x
#define B(x) Hashicorp__Nomad__Plugins__Base__Proto__##x
#define BI(x) HASHICORP__NOMAD__PLUGINS__BASE__PROTO__##x
#define b_(x) hashicorp__nomad__plugins__base__proto__##x
#define H(x) Hashicorp__Nomad__Plugins__Shared__Hclspec__##x
#define HI(x) HASHICORP__NOMAD__PLUGINS__SHARED__HCLSPEC__##x
#define h_(x) hashicorp__nomad__plugins__shared__hclspec__##x
#define S(x) Hashicorp__Nomad__Plugins__Shared__Structs__##x
#define SI(x) HASHICORP__NOMAD__PLUGINS__SHARED__STRUCTS__##x

/* schema.c: the hclspec trees, built once */
const H(Spec) *schema_plugin_config(void);
const H(Spec) *schema_task_config(void);
