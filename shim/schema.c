/* SPDX-License-Identifier: MIT */
/* shim/schema.c: the HCL specs Nomad decodes plugin and task configs with.
 *
 * Task options are the union of the pledge driver's (command, args, promises, unveil,
 * importance) and exec2's (command, args, unveil, oom_score_adj), so their job specs run
 * unchanged, plus work_dir (from Nomad's exec and raw_exec drivers) and our own (tcp_bind,
 * tcp_connect, private_tmp, hostname). An Attr inside a Default
 * must carry its own name (Nomad's converter gives it no implied name). */
#include <stdlib.h>

#include "config.h"
#include "macro.h"
#include "pb.h"
#include "util.h"

static HCL_T(Spec) *spec_new(void) {
        HCL_T(Spec) *s = xcalloc(1, sizeof *s);
        HCL_F(spec__init)(s);
        return s;
}

static HCL_T(Spec) *attr(const char *name, const char *type, bool required) {
        HCL_T(Attr) *a = xcalloc(1, sizeof *a);
        HCL_F(attr__init)(a);
        a->name = (char *) name;
        a->type = (char *) type;
        a->required = required;
        HCL_T(Spec) *s = spec_new();
        s->block_case = HCL_K(SPEC__BLOCK_ATTR);
        s->attr = a;
        return s;
}

/* primary, or the HCL expression `literal` when the operator left it out */
static HCL_T(Spec) *with_default(HCL_T(Spec) *primary, const char *literal) {
        HCL_T(Literal) *l = xcalloc(1, sizeof *l);
        HCL_F(literal__init)(l);
        l->value = (char *) literal;
        HCL_T(Spec) *ls = spec_new();
        ls->block_case = HCL_K(SPEC__BLOCK_LITERAL);
        ls->literal = l;
        HCL_T(Default) *d = xcalloc(1, sizeof *d);
        HCL_F(default__init)(d);
        d->primary = primary;
        d->default_ = ls;
        HCL_T(Spec) *s = spec_new();
        s->block_case = HCL_K(SPEC__BLOCK_DEFAULT);
        s->default_ = d;
        return s;
}

typedef struct Field {
        const char *name;
        HCL_T(Spec) *spec;
} Field;

static HCL_T(Spec) *object(const Field *f, size_t n) {
        HCL_T(Object) *o = xcalloc(1, sizeof *o);
        HCL_F(object__init)(o);
        o->n_attributes = n;
        o->attributes = xcalloc(n, sizeof *o->attributes);
        for (size_t i = 0; i < n; i++) {
                HCL_T(Object__AttributesEntry) *e = xcalloc(1, sizeof *e);
                HCL_F(object__attributes_entry__init)(e);
                e->key = (char *) f[i].name;
                e->value = f[i].spec;
                o->attributes[i] = e;
        }
        HCL_T(Spec) *s = spec_new();
        s->block_case = HCL_K(SPEC__BLOCK_OBJECT);
        s->object = o;
        return s;
}

const HCL_T(Spec) *schema_plugin_config(void) {
        static HCL_T(Spec) *s;
        if (!s) {
                const Field f[] = {
                        { "socket", with_default(attr("socket", "string", false), "\"" SANDBOXD_SOCKET "\"") },
                        { "unveil_defaults", with_default(attr("unveil_defaults", "bool", false), "true") },
                        { "unveil_by_task", with_default(attr("unveil_by_task", "bool", false), "true") },
                        { "unveil_paths", attr("unveil_paths", "list(string)", false) },
                        { "pledge_executable", attr("pledge_executable", "string", false) },
                };
                s = object(f, ELEMENTSOF(f));
        }
        return s;
}

const HCL_T(Spec) *schema_task_config(void) {
        static HCL_T(Spec) *s;
        if (!s) {
                const Field f[] = {
                        { "command", attr("command", "string", true) },
                        { "args", attr("args", "list(string)", false) },
                        { "promises", attr("promises", "string", false) },
                        { "unveil", attr("unveil", "list(string)", false) },
                        { "importance", with_default(attr("importance", "string", false), "\"normal\"") },
                        { "oom_score_adj", attr("oom_score_adj", "number", false) },
                        { "tcp_bind", attr("tcp_bind", "string", false) },
                        { "tcp_connect", attr("tcp_connect", "string", false) },
                        { "private_tmp", with_default(attr("private_tmp", "bool", false), "true") },
                        { "hostname", attr("hostname", "string", false) },
                        { "work_dir", attr("work_dir", "string", false) },
                };
                s = object(f, ELEMENTSOF(f));
        }
        return s;
}
