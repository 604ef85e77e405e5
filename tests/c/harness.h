/* A tiny test harness: assertions that fail the current case and return.
 * Each case runs in its own child process with a fresh temporary directory
 * as its working directory (see runner.c), so cases cannot disturb each
 * other and a crash fails only the case that crashed. */
#ifndef ZLMDB_TEST_HARNESS_H
#define ZLMDB_TEST_HARNESS_H

#include <stdio.h>
#include <string.h>

#include "zlmdb.h"

struct zt_case {
    const char *name;
    void (*fn)(void);
};

/* Record a failure; the runner reports the case as failed. */
void zt_fail(const char *file, int line, const char *fmt, ...);
/* The case's own temporary directory (also the working directory). */
const char *zt_tmpdir(void);
/* Number of failures recorded in the current case. */
int zt_failures(void);

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            zt_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);               \
            return;                                                        \
        }                                                                  \
    } while (0)

#define CHECK_RC(expr, want)                                               \
    do {                                                                   \
        int zt_rc_ = (expr), zt_want_ = (want);                            \
        if (zt_rc_ != zt_want_) {                                          \
            zt_fail(__FILE__, __LINE__, "%s returned %d (%s), wanted %d",  \
                    #expr, zt_rc_, zlmdb_strerror(zt_rc_), zt_want_);      \
            return;                                                        \
        }                                                                  \
    } while (0)

#define CHECK_OK(expr) CHECK_RC(expr, 0)

#define CHECK_STR(got, want)                                               \
    do {                                                                   \
        const char *zt_g_ = (got), *zt_w_ = (want);                        \
        if (zt_g_ == NULL || strcmp(zt_g_, zt_w_) != 0) {                  \
            zt_fail(__FILE__, __LINE__, "%s is \"%s\", wanted \"%s\"",     \
                    #got, zt_g_ ? zt_g_ : "(null)", zt_w_);                \
            return;                                                        \
        }                                                                  \
    } while (0)

#define CHECK_MEM(got, want, len)                                          \
    do {                                                                   \
        if (memcmp((got), (want), (len)) != 0) {                           \
            zt_fail(__FILE__, __LINE__, "%s differs from %s", #got, #want); \
            return;                                                        \
        }                                                                  \
    } while (0)

#endif
