/* td_hops.c - where the tick-to-order time goes on Kafka: for every OrderIntent of the symbols'
 * output streams in a tape (the archiver's), the time from the gateway reading its input (the
 * input's ingest time, set by the gateway) to the processor appending the intent to its own tape
 * (the intent's ingest time, set there and carried through the output topic).
 *
 *   td_hops DATA_DIR SYMBOL...
 *
 * prints "first hop over N orders, ms: p50 A, p99 B, max C" (millisecond clocks: +-1 ms). A
 * benchmark tool, not a test.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/tape.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: td_hops DATA_DIR SYMBOL...\n");
        return 2;
    }
    char err[512] = "";
    td_tape_t *tape = NULL;
    td_tape_opts_t opts = {.read_only = true};
    td_tape_iter_t *iter = NULL;
    static td_event_t out, in;
    int64_t *ms = NULL;
    size_t n = 0, cap = 0;
    td_err_t rc = td_tape_open(argv[1], &opts, &tape, err, sizeof err);
    for (int a = 2; rc == TD_OK && a < argc; a++) {
        const char *symbol = argv[a];
        td_tape_iter_destroy(iter);
        iter = NULL;
        rc = td_tape_iter_new(tape, TD_STREAM_OUTPUT, symbol, 0, &iter, NULL, 0);
        while (rc == TD_OK && (rc = td_tape_iter_next(iter, &out, NULL, 0)) == TD_OK) {
            if (out.kind != TD_EV_ORDER_INTENT)
                continue;
            rc = td_tape_read(tape, TD_STREAM_INPUT, symbol, out.input_offset, &in, NULL, 0);
            if (rc == TD_OK && n == cap) {
                cap = cap ? 2 * cap : 256;
                int64_t *p = realloc(ms, cap * sizeof *ms);
                if (!p)
                    rc = TD_ERR_NOMEM;
                else
                    ms = p;
            }
            if (rc == TD_OK)
                ms[n++] = out.ingest_ms - in.ingest_ms;
        }
        if (rc == TD_ERR_END)
            rc = TD_OK;
    }
    td_tape_iter_destroy(iter);
    td_tape_close(tape);
    if (rc != TD_OK) {
        fprintf(stderr, "td_hops: %s %s\n", td_err_name(rc), err);
        free(ms);
        return 3;
    }
    if (n) {
        qsort(ms, n, sizeof *ms, cmp_i64);
        printf("first hop (gateway read -> intent appended by the processor) over %zu orders, ms: p50 %" PRId64
               ", p99 %" PRId64 ", max %" PRId64 "\n",
               n, ms[(n - 1) / 2], ms[(n * 99 + 99) / 100 - 1], ms[n - 1]);
    }
    free(ms);
    return 0;
}
