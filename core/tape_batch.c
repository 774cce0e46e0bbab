/* tape_batch.c - writing the tape: batches (core/tape.h "writing: batches").
 *
 * A batch keeps, per stream it appends to, a pending copy of the stream's position and writes the
 * day index entries it changed when it is sealed; the tape's copies (stream_t.tail at seal,
 * stream_t.done at settle) change only after that, so a failed commit leaves nothing to undo.
 * State and meta values put in a batch land in the same RocksDB WriteBatch as its events.
 *
 * Threads: the writer's thread, except td_tape_write (any one thread at a time, in seal order).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/codec.h"
#include "core/tape_internal.h"
#include "core/timeutil.h"

/* Event times the day arithmetic accepts: 1900-01-01 .. 2200-01-01 UTC. Far outside any market
 * data, and far from int64 overflow once the day offset is added. */
#define TIME_MIN (-INT64_C(2208988800000))
#define TIME_MAX INT64_C(7258118400000)

typedef struct pending {
    stream_t *stream;
    uint64_t base_next; /* stream->tail.next when the batch first touched it */
    uint64_t next;
    uint32_t day;
    uint64_t day_first;
    uint32_t floor_day;
    bool day_dirty;           /* (day, day_first, next - 1) not yet in the write batch */
    uint32_t time_day;        /* trading day of the times in [time_lo, time_hi): saves the calendar */
    int64_t time_lo, time_hi; /* arithmetic for the run of events in one day */
} pending_t;

struct td_tape_batch {
    td_tape_t *tape;
    rocksdb_writebatch_t *wb;
    uint64_t serial;
    pending_t *pending;
    size_t n_pending, cap_pending;
    size_t last; /* slot of the previous append, or SIZE_MAX */
    size_t n_events;
    td_buf_t val;
    int64_t ingest_ms; /* wall clock when the batch began: the ingest time of its events */
    bool sealed;       /* td_tape_seal: its offsets are handed over, nothing more may be added */
    bool written;      /* td_tape_write ran */
    char *write_err;   /* RocksDB's message when that write failed */
};

/* ---------------------------------------------------------------------------------------------
 * batches
 */

td_err_t td_tape_batch_new(td_tape_t *tape, td_tape_batch_t **out, char *errbuf, size_t errlen)
{
    td_tape_batch_t *batch = NULL;
    if (!out)
        return TD_ERR_INVALID;
    *out = NULL;
    if (!tape)
        return TD_ERR_INVALID;
    if (tape->opts.read_only)
        return td_err_set(errbuf, errlen, TD_ERR_STATE, "tape: opened read-only: no batches");
    if (tape->sticky != TD_OK)
        return td_err_set(errbuf, errlen, tape->sticky, "tape: a commit failed earlier: reopen the tape");
    batch = calloc(1, sizeof *batch);
    if (!batch)
        return td_err_set(errbuf, errlen, TD_ERR_NOMEM, "tape: out of memory for a batch");
    batch->tape = tape;
    batch->wb = rocksdb_writebatch_create();
    batch->serial = ++tape->batch_serial;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    batch->ingest_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    batch->last = SIZE_MAX;
    td_buf_init(&batch->val);
    *out = batch;
    return TD_OK;
}

void td_tape_batch_destroy(td_tape_batch_t *batch)
{
    if (!batch)
        return;
    if (batch->sealed) /* its offsets were handed to later batches: they cannot land without it */
        batch->tape->sticky = TD_ERR_STATE;
    rocksdb_free(batch->write_err);
    rocksdb_writebatch_destroy(batch->wb);
    free(batch->pending);
    td_buf_fini(&batch->val);
    free(batch);
}

size_t td_tape_batch_events(const td_tape_batch_t *batch)
{
    return batch ? batch->n_events : 0;
}

/* The batch's pending record for (kind, symbol), created from the tape's committed one. O(1) for
 * a run of appends to one stream and, through the stream's hint, for interleaved streams. */
static td_err_t pending_get(td_tape_batch_t *batch, td_stream_kind_t kind, const char *symbol, size_t symlen,
                            pending_t **out, char *errbuf, size_t errlen)
{
    td_tape_t *tape = batch->tape;
    stream_t *stream = NULL;
    td_err_t rc = TD_OK;

    if (batch->last != SIZE_MAX) {
        pending_t *p = &batch->pending[batch->last];
        if (p->stream->kind == kind && p->stream->symlen == symlen && memcmp(p->stream->symbol, symbol, symlen) == 0) {
            *out = p;
            return TD_OK;
        }
    }
    rc = td_tape__stream_get(tape, kind, symbol, symlen, &stream, errbuf, errlen);
    if (rc != TD_OK)
        return rc;
    size_t slot = SIZE_MAX;
    if (stream->hint_serial == batch->serial) {
        slot = stream->hint_slot;
    } else {
        /* another batch overwrote the hint (or this is the first touch): look it up */
        for (size_t i = 0; i < batch->n_pending; i++)
            if (batch->pending[i].stream == stream)
                slot = i;
    }
    if (slot == SIZE_MAX) {
        if (batch->n_pending == batch->cap_pending) {
            size_t cap = batch->cap_pending ? batch->cap_pending * 2 : 8;
            pending_t *p = realloc(batch->pending, cap * sizeof *p);
            if (!p)
                return td_err_set(errbuf, errlen, TD_ERR_NOMEM, "tape: out of memory for a batch");
            batch->pending = p;
            batch->cap_pending = cap;
        }
        slot = batch->n_pending++;
        batch->pending[slot] = (pending_t){.stream = stream,
                                           .base_next = stream->tail.next,
                                           .next = stream->tail.next,
                                           .day = stream->tail.last_day,
                                           .day_first = stream->tail.day_first,
                                           .floor_day = stream->tail.floor_day,
                                           .day_dirty = false,
                                           .time_lo = 1,
                                           .time_hi = 0}; /* an empty range: compute on first use */
    }
    stream->hint_serial = batch->serial;
    stream->hint_slot = slot;
    batch->last = slot;
    *out = &batch->pending[slot];
    return TD_OK;
}

/* Puts the pending day entry (day, day_first .. next - 1) of p into the write batch. */
static void pending_put_day(td_tape_batch_t *batch, pending_t *p)
{
    uint8_t key[DAY_KEY_MAX], val[16];
    size_t klen = day_key(key, p->stream->kind, p->stream->symbol, p->stream->symlen, p->day);
    put_be64(val, p->day_first);
    put_be64(val + 8, p->next - 1);
    rocksdb_writebatch_put_cf(batch->wb, batch->tape->cf[CF_DAY], (const char *)key, klen, (const char *)val,
                              sizeof val);
    p->day_dirty = false;
}

/* Appends ev in trading day `day`, or in td_event_day(ev, floor) when day is 0. */
static td_err_t append_in_day(td_tape_batch_t *batch, td_stream_kind_t kind, td_event_t *ev, uint32_t forced_day,
                              char *errbuf, size_t errlen)
{
    pending_t *p = NULL;
    td_err_t rc = TD_OK;
    uint8_t key[STREAM_KEY_MAX];

    if (!batch || !ev || !kind_ok(kind) || batch->sealed)
        return TD_ERR_INVALID;
    td_tape_t *tape = batch->tape;
    size_t symlen = symbol_len(ev->symbol);
    if (!symlen)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "tape: append: symbol empty or longer than %d bytes",
                          TD_SYMBOL_MAX);
    /* paper fills (ExecutionReports made by the fill model) are outputs too */
    bool fits = kind == TD_STREAM_OUTPUT    ? td_event_is_output(ev->kind) || ev->kind == TD_EV_EXEC_REPORT
                : kind == TD_STREAM_HISTORY ? ev->kind == TD_EV_BAR
                                            : !td_event_is_output(ev->kind);
    if (ev->kind == TD_EV_NONE || !fits)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "tape: append: a %s event does not belong in an %s stream",
                          td_event_kind_name(ev->kind), kind_name(kind));
    if (ev->kind == TD_EV_SESSION_MARK && ev->u.session.kind != TD_SESSION_NONE &&
        !td_time_valid_yyyymmdd(ev->u.session.trading_day))
        return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                          "tape: append: %s: session mark for trading day %u, not a calendar date", ev->symbol,
                          ev->u.session.trading_day);
    if (ev->time_ms < TIME_MIN || ev->time_ms >= TIME_MAX)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "tape: append: %s: time %lld ms outside 1900..2200",
                          ev->symbol, (long long)ev->time_ms);

    rc = pending_get(batch, kind, ev->symbol, symlen, &p, errbuf, errlen);
    if (rc != TD_OK)
        return rc;
    if (ev->ingest_ms == 0)
        ev->ingest_ms = batch->ingest_ms; /* the record of when it arrived; no digest covers it */
    td_buf_reset(&batch->val);
    rc = td_codec_encode(ev, TD_CODEC_NO_OFFSET, &batch->val);
    if (rc != TD_OK)
        return td_err_set(errbuf, errlen, rc, "tape: append: %s: the %s event does not encode", ev->symbol,
                          td_event_kind_name(ev->kind));

    /* the day of ev is td_event_day(ev, floor): the calendar work is cached for a run of events */
    uint32_t day;
    if (forced_day) {
        day = forced_day;
    } else if (ev->kind == TD_EV_SESSION_MARK && ev->u.session.kind == TD_SESSION_DAY_END) {
        day = td_event_day(ev, p->floor_day, tape->opts.day_offset_minutes);
    } else {
        if (ev->time_ms < p->time_lo || ev->time_ms >= p->time_hi) {
            p->time_day = td_time_trading_day(ev->time_ms, tape->opts.day_offset_minutes);
            p->time_lo = td_time_trading_day_start(p->time_day, tape->opts.day_offset_minutes);
            p->time_hi = p->time_lo + TD_MS_PER_DAY;
            TD_ASSERT(ev->time_ms >= p->time_lo && ev->time_ms < p->time_hi);
        }
        day = p->time_day > p->floor_day ? p->time_day : p->floor_day;
    }
    if (day < p->day)
        day = p->day; /* days never go back within a stream */
    p->floor_day = td_event_floor_after(ev, day);
    uint64_t offset = p->next;
    size_t klen = stream_key(key, ev->symbol, symlen, offset);
    rocksdb_writebatch_put_cf(batch->wb, stream_cf(tape, kind), (const char *)key, klen, (const char *)batch->val.ptr,
                              batch->val.len);
    if (day != p->day) {
        if (p->day_dirty)
            pending_put_day(batch, p);
        p->day = day;
        p->day_first = offset;
    }
    p->day_dirty = true;
    p->next = offset + 1;
    ev->offset = offset;
    batch->n_events++;
    return TD_OK;
}

td_err_t td_tape_batch_append(td_tape_batch_t *batch, td_stream_kind_t kind, td_event_t *ev, char *errbuf,
                              size_t errlen)
{
    return append_in_day(batch, kind, ev, 0, errbuf, errlen);
}

td_err_t td_tape_batch_append_in_day(td_tape_batch_t *batch, td_stream_kind_t kind, td_event_t *ev, uint32_t day,
                                     char *errbuf, size_t errlen)
{
    if (!day)
        return TD_ERR_INVALID;
    return append_in_day(batch, kind, ev, day, errbuf, errlen);
}

static td_err_t put_kv(td_tape_batch_t *batch, int cf, const char *what, const char *key, const void *val, size_t len,
                       char *errbuf, size_t errlen)
{
    if (!batch || !key || (!val && len) || batch->sealed)
        return TD_ERR_INVALID;
    size_t klen = strlen(key);
    if (!klen)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "tape: %s: empty key", what);
    rocksdb_writebatch_put_cf(batch->wb, batch->tape->cf[cf], key, klen, val ? (const char *)val : "", len);
    return TD_OK;
}

td_err_t td_tape_batch_put_state(td_tape_batch_t *batch, const char *key, const void *val, size_t len, char *errbuf,
                                 size_t errlen)
{
    return put_kv(batch, CF_STATE, "put_state", key, val, len, errbuf, errlen);
}

td_err_t td_tape_batch_put_meta(td_tape_batch_t *batch, const char *key, const void *val, size_t len, char *errbuf,
                                size_t errlen)
{
    return put_kv(batch, CF_META, "put_meta", key, val, len, errbuf, errlen);
}

/* The stream position a pending record ends at. */
static stream_pos_t pending_end(const pending_t *p)
{
    return (stream_pos_t){.next = p->next, .last_day = p->day, .day_first = p->day_first, .floor_day = p->floor_day};
}

/* The failure paths set rc themselves, not from td_err_set's result: td_tape_commit relies on a
 * failed seal (which frees the batch) never returning TD_OK, and the compiler cannot see through
 * td_err_set (GCC's -Wuse-after-free in a Release build). */
td_err_t td_tape_seal(td_tape_t *tape, td_tape_batch_t *batch, char *errbuf, size_t errlen)
{
    td_err_t rc = TD_OK;
    if (!tape || !batch || batch->tape != tape || batch->sealed) {
        rc = TD_ERR_INVALID;
        goto fail;
    }
    if (tape->sticky != TD_OK) {
        rc = tape->sticky;
        td_err_set(errbuf, errlen, rc, "tape: a commit failed earlier: reopen the tape");
        goto fail;
    }
    /* two batches appending to one stream would both claim its next offsets */
    for (size_t i = 0; i < batch->n_pending; i++) {
        const pending_t *p = &batch->pending[i];
        if (p->stream->tail.next != p->base_next) {
            rc = TD_ERR_ORDER;
            td_err_set(errbuf, errlen, rc,
                       "tape: commit: %s stream %s moved from offset %llu to %llu while this batch was open",
                       kind_name(p->stream->kind), p->stream->symbol, (unsigned long long)p->base_next,
                       (unsigned long long)p->stream->tail.next);
            goto fail;
        }
    }
    for (size_t i = 0; i < batch->n_pending; i++) {
        pending_t *p = &batch->pending[i];
        if (p->day_dirty)
            pending_put_day(batch, p);
        p->stream->tail = pending_end(p);
    }
    batch->sealed = true;
    return TD_OK;
fail:
    td_tape_batch_destroy(batch);
    return rc;
}

td_err_t td_tape_write(td_tape_batch_t *batch)
{
    if (!batch || !batch->sealed || batch->written)
        return TD_ERR_INVALID;
    td_tape_t *tape = batch->tape;
    rocksdb_write(tape->db, tape->wopts, batch->wb, &batch->write_err);
    batch->written = true;
    return batch->write_err ? TD_ERR_STORE : TD_OK;
}

td_err_t td_tape_settle(td_tape_t *tape, td_tape_batch_t *batch, char *errbuf, size_t errlen)
{
    td_err_t rc = TD_OK;
    if (!tape || !batch || batch->tape != tape || !batch->sealed) {
        rc = TD_ERR_INVALID;
    } else if (!batch->written || batch->write_err) {
        batch->sealed = false; /* settled */
        if (batch->write_err) {
            rc = td_tape__store_err(errbuf, errlen, "commit", batch->write_err);
            batch->write_err = NULL; /* td_tape__store_err frees it */
        } else if (tape->sticky != TD_OK) {
            rc = tape->sticky; /* skipped behind an earlier failure: its message stays */
        } else {
            rc = td_err_set(errbuf, errlen, TD_ERR_STATE, "tape: commit: the batch was sealed but never written");
        }
        /* the sealed batches after this one continue its offsets: none of them may land either */
        tape->sticky = TD_ERR_STATE;
    } else {
        for (size_t i = 0; i < batch->n_pending; i++) {
            const pending_t *p = &batch->pending[i];
            TD_ASSERT(p->stream->done.next == p->base_next); /* settled in seal order */
            p->stream->done = pending_end(p);
        }
        batch->sealed = false; /* settled */
    }
    td_tape_batch_destroy(batch);
    return rc;
}

td_err_t td_tape_commit(td_tape_t *tape, td_tape_batch_t *batch, char *errbuf, size_t errlen)
{
    td_err_t rc = td_tape_seal(tape, batch, errbuf, errlen); /* consumes the batch when it fails */
    if (rc != TD_OK)
        return rc;
    (void)td_tape_write(batch); /* its result is the batch's, for settle */
    return td_tape_settle(tape, batch, errbuf, errlen);
}
