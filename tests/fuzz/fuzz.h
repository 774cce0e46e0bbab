/* fuzz.h - what a fuzz target in tests/fuzz/ provides and may use.
 *
 * A target defines LLVMFuzzerTestOneInput() (libFuzzer's entry point: any return is 0, a crash,
 * leak, sanitizer report or FUZZ_REQUIRE failure is a finding) and may define td_fuzz_seeds() to
 * generate seed inputs in code (binary envelopes are generated, never committed). The same file
 * links either with libFuzzer (-fsanitize=fuzzer) or with driver.c, the plain deterministic driver
 * that CTest runs with any compiler.
 */
#ifndef TD_FUZZ_H
#define TD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef void (*td_fuzz_add_fn)(void *opaque, const char *name, const uint8_t *data, size_t size);

/* Optional (weak): calls add() once per generated seed input. */
void td_fuzz_seeds(td_fuzz_add_fn add, void *opaque) __attribute__((weak));

/* Where targets that must go through a file write it: $TMPDIR, else /dev/shm when it is there
 * (a file system in memory makes these targets several times faster), else /tmp. */
static inline const char *td_fuzz_tmpdir(void)
{
    const char *tmp = getenv("TMPDIR");
    if (tmp && *tmp)
        return tmp;
    return access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
}

/* A property the target checks on accepted input; a failure aborts, which both drivers report. */
#define FUZZ_REQUIRE(cond)                                                                  \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: FUZZ_REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond); \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

#endif
