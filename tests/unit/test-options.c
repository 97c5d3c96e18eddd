/* SPDX-License-Identifier: MIT */
/* tests/unit/test-options.c: the shim's decoders for Nomad's cty msgpack configs, fed the
 * bytes cty produces (keys sorted, every schema attribute present, absent ones nil). */
#include <string.h>

#include "config.h"
#include "options.h"
#include "tap.h"

#define B(s) (const uint8_t *) (s), sizeof(s) - 1

static void task_err(const uint8_t *b, size_t n, const char *want_prefix, const char *desc) {
        TaskOptions o = { 0 };
        SbxError err = { 0 };
        int k = task_options_decode(b, n, &o, &err);
        tap_ok(k < 0 && strncmp(err.msg, want_prefix, strlen(want_prefix)) == 0, "%s: refused, '%s'", desc, err.msg);
        if (k == 0)
                task_options_free(&o);
}

int main(void) {
        TaskOptions o = { 0 };
        SbxError err = { 0 };

        /* real cty v1.16.4 output for the pledge driver's schema */
        int k = task_options_decode(
                B("\x85\xa4" "args\x91\xa2hi\xa7" "command\xa9/bin/echo\xaaimportance\xa6normal\xa8promises\xc0\xa6unveil\xc0"),
                &o, &err);
        TAP_EQ_INT(k, 0, "cty bytes of a pledge job decode");
        TAP_EQ_STR(o.command, "/bin/echo", "command");
        tap_ok(o.args && o.args[0] && strcmp(o.args[0], "hi") == 0 && !o.args[1], "args = [\"hi\"]");
        TAP_EQ_STR(o.importance, "normal", "importance");
        tap_ok(!o.has_promises && !o.unveil, "promises and unveil nil: no filter, no extra paths");
        tap_ok(o.private_tmp, "private_tmp defaults to true");
        task_options_free(&o);

        /* exec2: oom_score_adj as a number: -200 = d1 ff 38 */
        k = task_options_decode(B("\x82\xa7" "command\xa5sleep\xadoom_score_adj\xd1\xff\x38"), &o, &err);
        tap_ok(k == 0 && o.has_oom_score_adj && o.oom_score_adj == -200, "oom_score_adj -200 (int16)");
        task_options_free(&o);
        /* 1000 arrives as uint16 (cd 03 e8): the top of the range */
        k = task_options_decode(B("\x82\xa7" "command\xa5sleep\xadoom_score_adj\xcd\x03\xe8"), &o, &err);
        TAP_EQ_INT(k, 0, "oom_score_adj 1000 accepted");
        task_options_free(&o);
        /* counts beyond the bytes present: msgpack-c would allocate from them (64 GiB here) */
        task_err(B("\x85\xdd\x6c\x64\x69\x6c"), "task config: not valid msgpack (a count or length beyond",
                 "an array32 header claiming 1.8 billion entries in 6 bytes");
        task_err(B("\x81\xa7" "command\xdb\xff\xff\xff\xff"), "task config: not valid msgpack",
                 "a str32 longer than the input");
        task_err(B("\x81\xa7" "command\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
                   "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\xc0"),
                 "task config: not valid msgpack", "nesting deeper than 32");
        task_err(B("\x82\xa7" "command\xa5sleep\xadoom_score_adj\xcd\x03\xe9"), "oom_score_adj: 1001 is out of range",
                 "oom_score_adj 1001");
        /* cty sends 0.1 as a decimal string; 1.5 as float64 */
        task_err(B("\x82\xa7" "command\xa5sleep\xadoom_score_adj\xa3" "0.1"), "oom_score_adj: '0.1'", "oom_score_adj \"0.1\"");
        task_err(B("\x82\xa7" "command\xa5sleep\xadoom_score_adj\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"),
                 "oom_score_adj: 1.5 is not a whole number", "oom_score_adj 1.5");
        k = task_options_decode(B("\x82\xa7" "command\xa5sleep\xadoom_score_adj\xa4-300"), &o, &err);
        tap_ok(k == 0 && o.oom_score_adj == -300, "oom_score_adj as the string \"-300\"");
        task_options_free(&o);

        /* promises "" = no filter (pledge); non-empty = a filter */
        k = task_options_decode(B("\x82\xa7" "command\xa1x\xa8promises\xa0"), &o, &err);
        tap_ok(k == 0 && !o.has_promises, "promises \"\": no filter");
        task_options_free(&o);
        k = task_options_decode(B("\x82\xa7" "command\xa1x\xa8promises\xa5stdio"), &o, &err);
        tap_ok(k == 0 && o.has_promises && strcmp(o.promises, "stdio") == 0, "promises \"stdio\"");
        task_options_free(&o);

        task_err(B("\x81\xa4" "args\x90"), "command: required", "no command");
        task_err(B("\x81\xa7" "command\xc0"), "command: required", "command nil");
        task_err((const uint8_t *) "", 0, "command: required", "no driver config at all");
        task_err(B("\x81\xa7" "command\x05"), "command: expected a string", "command 5");
        task_err(B("\x82\xa7" "command\xa1x\xa4" "args\xa1y"), "args: expected a list", "args a string");
        task_err(B("\x82\xa7" "command\xa1x\xa4" "args\x92\xa1y\x07"), "args[1]: expected a string", "args [\"y\", 7]");
        task_err(B("\x82\xa7" "command\xa1x\xa6nosuch\x01"), "nosuch: unknown option", "unknown key");
        task_err(B("\x82\xa7" "command\xa1x\xaaimportance\xa6urgent"), "importance: 'urgent'", "importance urgent");
        k = task_options_decode(B("\x82\xa7" "command\xa1x\xaaimportance\xa4High"), &o, &err);
        tap_ok(k == 0 && strcmp(o.importance, "High") == 0, "importance 'High': any case, as the pledge driver");
        task_options_free(&o);
        task_err(B("\x82\xa7" "command\xa1x\xabprivate_tmp\xa3yes"), "private_tmp: expected true or false",
                 "private_tmp \"yes\"");
        /* work_dir (Nomad's exec and raw_exec): absolute; "" and nil mean the task directory */
        k = task_options_decode(B("\x82\xa7" "command\xa1x\xa8work_dir\xa4/srv"), &o, &err);
        tap_ok(k == 0 && o.work_dir && strcmp(o.work_dir, "/srv") == 0, "work_dir \"/srv\"");
        task_options_free(&o);
        k = task_options_decode(B("\x82\xa7" "command\xa1x\xa8work_dir\xa0"), &o, &err);
        tap_ok(k == 0 && !o.work_dir, "work_dir \"\": the task directory");
        task_options_free(&o);
        k = task_options_decode(B("\x82\xa7" "command\xa1x\xa8work_dir\xc0"), &o, &err);
        tap_ok(k == 0 && !o.work_dir, "work_dir nil: the task directory");
        task_options_free(&o);
        task_err(B("\x82\xa7" "command\xa1x\xa8work_dir\xa5local"), "work_dir: 'local' must be an absolute path",
                 "work_dir relative");
        task_err(B("\x92\xa1x\xa1y"), "task config: expected an object", "an array");
        task_err(B("\x82\xa7" "command\xa1x"), "task config: not valid msgpack", "truncated map");
        task_err(B("\x81\xa7" "command\xa1x\xc0"), "task config: trailing bytes", "trailing bytes");
        task_err(B("\x81\xa7" "command\xa3" "a\0b"), "command: contains a NUL byte", "NUL in command");

        PluginConfig c = { 0 };
        k = plugin_config_decode(NULL, 0, &c, &err);
        tap_ok(k == 0 && strcmp(c.socket, SANDBOXD_SOCKET) == 0 && c.unveil_defaults && c.unveil_by_task,
               "no plugin config: defaults");
        plugin_config_free(&c);
        k = plugin_config_decode(B("\x83\xa6socket\xa8/x/y.soc\xafunveil_defaults\xc2\xacunveil_paths\x92\xa4r:/a\xa2/b"),
                                 &c, &err);
        tap_ok(k == 0 && strcmp(c.socket, "/x/y.soc") == 0 && !c.unveil_defaults && c.unveil_paths &&
                       strcmp(c.unveil_paths[1], "/b") == 0,
               "plugin config: socket, unveil_defaults false, unveil_paths");
        plugin_config_free(&c);
        k = plugin_config_decode(B("\x81\xa6socket\xa3x.s"), &c, &err);
        tap_ok(k < 0 && strncmp(err.msg, "socket: 'x.s' must be an absolute path", 36) == 0, "relative socket: '%s'", err.msg);
        k = plugin_config_decode(B("\x81\xacunveil_paths\x91\xa3r:x"), &c, &err);
        tap_ok(k < 0 && strncmp(err.msg, "unveil_paths: 'r:x': expected LETTERS:PATH", 42) == 0,
               "unveil_paths 'r:x' (relative) refused at SetConfig: '%s'", err.msg);
        k = plugin_config_decode(B("\x81\xacunveil_paths\x91\xa4q:/x"), &c, &err);
        tap_ok(k < 0 && strncmp(err.msg, "unveil_paths: 'q:/x'", 20) == 0, "unveil_paths 'q:/x' (letter q): '%s'", err.msg);
        k = plugin_config_decode(B("\x81\xacunveil_paths\x91\xa3:/x"), &c, &err);
        tap_ok(k < 0 && strncmp(err.msg, "unveil_paths: ':/x'", 19) == 0, "unveil_paths ':/x' (no letters): '%s'", err.msg);
        k = plugin_config_decode(B("\x81\xacunveil_paths\x91\xa7rwxc:/x"), &c, &err);
        tap_ok(k == 0, "unveil_paths 'rwxc:/x' accepted");
        plugin_config_free(&c);
        k = plugin_config_decode(B("\x81\xacunveil_paths\x91\xa1x"), &c, &err);
        tap_ok(k < 0 && strncmp(err.msg, "unveil_paths: 'x'", 17) == 0, "unveil_paths 'x': '%s'", err.msg);
        k = plugin_config_decode(B("\x81\xa5other\xc0"), &c, &err);
        tap_ok(k < 0 && strncmp(err.msg, "other: unknown option", 21) == 0, "unknown plugin option: '%s'", err.msg);
        return tap_done();
}
