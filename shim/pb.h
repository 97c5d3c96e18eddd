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

/* Per package: NAME_T(Type) the message type, NAME_K(CONSTANT__INIT) an INIT macro or enum value,
 * NAME_F(message__unpack) a function: DRV_T(TaskConfig), DRV_K(TASK_CONFIG__INIT), DRV_F(task_config__unpack). */
#define DRV_T(x) Hashicorp__Nomad__Plugins__Drivers__Proto__##x
#define DRV_K(x) HASHICORP__NOMAD__PLUGINS__DRIVERS__PROTO__##x
#define DRV_F(x) hashicorp__nomad__plugins__drivers__proto__##x
#define BASE_T(x) Hashicorp__Nomad__Plugins__Base__Proto__##x
#define BASE_K(x) HASHICORP__NOMAD__PLUGINS__BASE__PROTO__##x
#define BASE_F(x) hashicorp__nomad__plugins__base__proto__##x
#define HCL_T(x) Hashicorp__Nomad__Plugins__Shared__Hclspec__##x
#define HCL_K(x) HASHICORP__NOMAD__PLUGINS__SHARED__HCLSPEC__##x
#define HCL_F(x) hashicorp__nomad__plugins__shared__hclspec__##x
#define STRUCTS_T(x) Hashicorp__Nomad__Plugins__Shared__Structs__##x
#define STRUCTS_K(x) HASHICORP__NOMAD__PLUGINS__SHARED__STRUCTS__##x
#define STRUCTS_F(x) hashicorp__nomad__plugins__shared__structs__##x

/* schema.c: the hclspec trees, built once */
const HCL_T(Spec) *schema_plugin_config(void);
const HCL_T(Spec) *schema_task_config(void);
