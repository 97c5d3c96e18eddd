/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz-main.c: replays a fuzz target's corpus (files or directories given as
 * arguments) without libFuzzer, as a TAP test: one line per input, so a crash names the input. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned n_run;

static int run_file(const char *path) {
        FILE *f = fopen(path, "rb");
        if (!f) {
                printf("not ok %u - %s: %s\n", ++n_run, path, strerror(errno));
                return -1;
        }
        size_t cap = 4096, len = 0;
        uint8_t *buf = malloc(cap);
        for (;;) {
                if (len == cap)
                        buf = realloc(buf, cap *= 2);
                size_t n = fread(buf + len, 1, cap - len, f);
                if (n == 0)
                        break;
                len += n;
        }
        fclose(f);
        /* An exact-size copy, so a sanitizer sees reads past the end of the input. */
        uint8_t *exact = malloc(len ? len : 1);
        memcpy(exact, buf, len);
        free(buf);
        fflush(stdout);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
        printf("ok %u - %s (%zu bytes)\n", ++n_run, path, len);
        return 0;
}

static int compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int run_path(const char *path) {
        struct stat st;
        if (stat(path, &st) < 0) {
                printf("not ok %u - %s: %s\n", ++n_run, path, strerror(errno));
                return -1;
        }
        if (!S_ISDIR(st.st_mode))
                return run_file(path);

        DIR *d = opendir(path);
        if (!d) {
                printf("not ok %u - %s: %s\n", ++n_run, path, strerror(errno));
                return -1;
        }
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                names = realloc(names, (n + 1) * sizeof(*names));
                if (asprintf(&names[n++], "%s/%s", path, de->d_name) < 0)
                        abort();
        }
        closedir(d);
        qsort(names, n, sizeof(*names), compare);
        int r = 0;
        for (size_t i = 0; i < n; i++) {
                if (run_path(names[i]) < 0)
                        r = -1;
                free(names[i]);
        }
        free(names);
        return r;
}

int main(int argc, char **argv) {
        int r = 0;
        if (argc < 2) {
                fprintf(stderr, "usage: %s CORPUS-DIR-OR-FILE...\n", argv[0]);
                return 2;
        }
        for (int i = 1; i < argc; i++)
                if (run_path(argv[i]) < 0)
                        r = 1;
        if (n_run == 0) {
                printf("not ok 1 - empty corpus\n");
                n_run = 1;
                r = 1;
        }
        printf("1..%u\n", n_run);
        return r;
}
