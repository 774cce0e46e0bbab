/* scratch_tape.h - a fresh local tape (tape.sync none) in a new folder under the build tree for
 * one unit test, and its removal afterwards. Header-only: include it after <cmocka.h> in a test
 * file; the folder name starts with tmp-NAME-. */
#ifndef TD_TESTS_SCRATCH_TAPE_H
#define TD_TESTS_SCRATCH_TAPE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/tape.h"

static int scratch_tape_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Creates the folder (into dir, size bytes) and opens the tape there; fails the test otherwise. */
static void scratch_tape_open(char *dir, size_t size, const char *name, td_tape_t **tape)
{
    char err[512] = "";
    snprintf(dir, size, "%s/tmp-%s-XXXXXX", TD_TEST_BINARY_DIR, name);
    assert_non_null(mkdtemp(dir));
    td_tape_opts_t opts = {.sync = TD_SYNC_NONE};
    *tape = NULL;
    assert_int_equal(td_tape_open(dir, &opts, tape, err, sizeof err), TD_OK);
}

/* Closes the tape and removes its folder. */
static void scratch_tape_remove(const char *dir, td_tape_t *tape)
{
    td_tape_close(tape);
    nftw(dir, scratch_tape_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
