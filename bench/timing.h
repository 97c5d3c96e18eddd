/* SPDX-License-Identifier: MIT */
/* bench/timing.h: the clock and the summary every benchmark program prints. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline long long now_ns(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static inline int cmp_ll(const void *a, const void *b) {
        long long x = *(const long long *) a, y = *(const long long *) b;
        return x < y ? -1 : x > y;
}

/* Sorts lat[0..n) (ns, n > 0) and gives its median, 10th and 90th percentile in µs. */
static inline void latency_summary(long long *lat, int n, double *med, double *p10, double *p90) {
        qsort(lat, (size_t) n, sizeof(long long), cmp_ll);
        *med = lat[n / 2] / 1000.0;
        *p10 = lat[n / 10] / 1000.0;
        *p90 = lat[n * 9 / 10] / 1000.0;
}

/* The line bench/run.sh reads (--raw), for n > 0 runs summarised by latency_summary(). */
static inline void latency_print_raw(int n, double med, double p10, double p90, int failed, int first_status) {
        printf("n=%d median_us=%.1f p10_us=%.1f p90_us=%.1f failed=%d first_status=%d\n", n, med, p10, p90, failed,
               first_status);
}
