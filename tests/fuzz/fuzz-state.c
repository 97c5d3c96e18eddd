/* SPDX-License-Identifier: MIT */
/* Fuzz target: sandboxd's state.json reader (task_record_from_json), its rules.json reader
 * (task_rules_from_json) and the init's exit record parser. A corrupt state file must be refused
 * with a message, never crash the daemon. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spawn.h"
#include "task.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;

        TaskRecord t = {};
        SbxError err = {};
        if (task_record_from_json(text, &t, &err) == 0) {
                /* Round trip: what we accept we must write back and accept again, unchanged. */
                char *again = task_record_to_json(&t);
                TaskRecord t2 = {};
                if (task_record_from_json(again, &t2, &err) < 0)
                        abort();
                char *third = task_record_to_json(&t2);
                if (strcmp(again, third) != 0)
                        abort();
                free(again);
                free(third);
                task_record_done(&t2);
                task_record_done(&t);
        } else if (!err.msg[0])
                abort();

        /* The pinned unveil rules (rules.json): the same promise. */
        UnveilList l = {};
        if (task_rules_from_json(text, &l, &err) == 0) {
                char *again = task_rules_to_json(&l, l.n);
                UnveilList l2 = {};
                if (task_rules_from_json(again, &l2, &err) < 0)
                        abort();
                char *third = task_rules_to_json(&l2, l2.n);
                if (strcmp(again, third) != 0)
                        abort();
                free(again);
                free(third);
                unveil_list_done(&l2);
                unveil_list_done(&l);
        } else if (!err.msg[0])
                abort();

        InitMsg m;
        (void) sandbox_parse_exit_record(text, &m);
        free(text);
        return 0;
}
