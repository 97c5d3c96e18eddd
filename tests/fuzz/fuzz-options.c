/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz-options.c: Nomad's cty msgpack configs through the shim's decoders. The first
 * byte picks the decoder (even: task config, odd: plugin config); the rest is the msgpack.
 * Whatever the input: no crash, no leak; a refusal names the option ("name: reason"); an
 * accepted task config has a command. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        SbxError err = { 0 };
        if (data[0] & 1) {
                PluginConfig c = { 0 };
                if (plugin_config_decode(data + 1, size - 1, &c, &err) == 0) {
                        if (!c.socket || c.socket[0] != '/')
                                abort();
                        plugin_config_free(&c);
                } else if (!err.msg[0] || !strchr(err.msg, ':'))
                        abort();
        } else {
                TaskOptions o = { 0 };
                if (task_options_decode(data + 1, size - 1, &o, &err) == 0) {
                        if (!o.command || !o.command[0])
                                abort();
                        task_options_free(&o);
                } else if (!err.msg[0] || !strchr(err.msg, ':'))
                        abort();
        }
        return 0;
}
