/* tape_iter.c - reading events: td_tape_read and the iterators over a stream.
 *
 * Events are read from RocksDB, or, for the offsets of a retired day, from the day's sealed file
 * through the tape's sealed-day cache (tape_sealed.c). An iterator reads a snapshot: the stream as
 * it was, and its retired days as they were, when the iterator was created.
 *
 * Threads: any (RocksDB's thread-safe reads; the sealed-day cache is locked). One iterator is used
 * by one thread at a time.
 */
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/tape_internal.h"

struct td_tape_iter {
    td_tape_t *tape;
    const rocksdb_snapshot_t *snap;
    rocksdb_readoptions_t *ropts;
    rocksdb_iterator_t *it;
    char symbol[TD_SYMBOL_MAX + 1];
    size_t symlen;
    char upper[TD_SYMBOL_MAX + 1]; /* symbol 0x01: end of the stream's keys; ropts points here */
    uint64_t expect;
    bool started;
    td_err_t final; /* once END or an error, every further next() returns it */
    td_slice_t raw;
    td_stream_kind_t kind;
    td_day_range_t *retired; /* the stream's retired days in the snapshot, increasing */
    size_t n_retired, next_retired;
    struct sealed_ref *sealed; /* the retired day being read, or NULL */
    bool reseek;               /* RocksDB's iterator must seek to expect (it was left behind in a retired range) */
    uint64_t decode_kinds;     /* td_tape_iter_decode_only: bit k = decode kind k; 0 = decode every event */
};

/* Decodes a stored value into ev for (symbol, offset), with the detail of any failure. */
td_err_t td_tape__decode_stored(const char *symbol, uint64_t offset, const char *v, size_t n, td_event_t *ev,
                                char *errbuf, size_t errlen)
{
    char detail[256];
    td_err_t rc = td_codec_decode_ex((const uint8_t *)v, n, TD_CODEC_TRUSTED, ev, detail, sizeof detail);
    if (rc != TD_OK)
        return td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: %s@%llu: %s", symbol, (unsigned long long)offset,
                          detail);
    if (strcmp(ev->symbol, symbol) != 0)
        return td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: %s@%llu: the stored event is for symbol %s", symbol,
                          (unsigned long long)offset, ev->symbol);
    ev->offset = offset;
    return TD_OK;
}

td_err_t td_tape_read(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, uint64_t offset, td_event_t *ev,
                      char *errbuf, size_t errlen)
{
    uint8_t key[STREAM_KEY_MAX];
    char *err = NULL;
    size_t symlen = symbol_len(symbol);
    if (!tape || !kind_ok(kind) || !ev || !symlen)
        return TD_ERR_INVALID;
    size_t klen = stream_key(key, symbol, symlen, offset);
    rocksdb_pinnableslice_t *ps =
        rocksdb_get_pinned_cf(tape->db, tape->ropts, stream_cf(tape, kind), (const char *)key, klen, &err);
    if (err)
        return td_tape__store_err(errbuf, errlen, "read", err);
    if (!ps)
        return td_tape__read_retired(tape, kind, symbol, symlen, offset, ev, errbuf, errlen);
    size_t n;
    const char *v = rocksdb_pinnableslice_value(ps, &n);
    td_err_t rc = td_tape__decode_stored(symbol, offset, v, n, ev, errbuf, errlen);
    rocksdb_pinnableslice_destroy(ps);
    return rc;
}

td_err_t td_tape_iter_new(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, uint64_t from_offset,
                          td_tape_iter_t **out, char *errbuf, size_t errlen)
{
    uint8_t key[STREAM_KEY_MAX];
    size_t symlen = symbol_len(symbol);
    if (!out)
        return TD_ERR_INVALID;
    *out = NULL;
    if (!tape || !kind_ok(kind) || !symlen)
        return TD_ERR_INVALID;
    td_tape_iter_t *iter = calloc(1, sizeof *iter);
    if (!iter)
        return td_err_set(errbuf, errlen, TD_ERR_NOMEM, "tape: out of memory for an iterator");
    iter->tape = tape;
    memcpy(iter->symbol, symbol, symlen);
    iter->symlen = symlen;
    memcpy(iter->upper, symbol, symlen);
    iter->upper[symlen] = 0x01;
    iter->expect = from_offset;
    iter->final = TD_OK;
    iter->kind = kind;
    iter->snap = rocksdb_create_snapshot(tape->db);
    iter->ropts = rocksdb_readoptions_create();
    rocksdb_readoptions_set_snapshot(iter->ropts, iter->snap);
    if (kind != TD_STREAM_HISTORY && atomic_load(&tape->has_retired)) {
        /* the retired days as of the same snapshot: a retirement commits markers and deletions at once */
        rocksdb_readoptions_t *meta = rocksdb_readoptions_create();
        rocksdb_readoptions_set_snapshot(meta, iter->snap);
        td_err_t rc =
            td_tape__retired_list(tape, meta, kind, symbol, symlen, &iter->retired, &iter->n_retired, errbuf, errlen);
        rocksdb_readoptions_destroy(meta);
        if (rc != TD_OK) {
            rocksdb_readoptions_destroy(iter->ropts);
            rocksdb_release_snapshot(tape->db, iter->snap);
            free(iter);
            return rc;
        }
    }
    rocksdb_readoptions_set_iterate_upper_bound(iter->ropts, iter->upper, symlen + 1);
    iter->it = rocksdb_create_iterator_cf(tape->db, iter->ropts, stream_cf(tape, kind));
    size_t klen = stream_key(key, symbol, symlen, from_offset);
    rocksdb_iter_seek(iter->it, (const char *)key, klen);
    *out = iter;
    return TD_OK;
}

void td_tape_iter_decode_only(td_tape_iter_t *iter, uint64_t kinds)
{
    iter->decode_kinds = kinds;
}

/* td_tape__decode_stored, or for a kind outside iter->decode_kinds only the kind and the offset. */
static td_err_t decode_iter(td_tape_iter_t *iter, uint64_t offset, const char *v, size_t n, td_event_t *ev,
                            char *errbuf, size_t errlen)
{
    if (iter->decode_kinds) {
        td_event_kind_t kind;
        if (td_codec_peek_kind((const uint8_t *)v, n, &kind) != TD_OK)
            return td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: %s@%llu: the stored bytes name no event kind",
                              iter->symbol, (unsigned long long)offset);
        if (!(iter->decode_kinds & TD_TAPE_KIND_BIT(kind))) {
            ev->kind = kind;
            ev->offset = offset;
            return TD_OK;
        }
    }
    return td_tape__decode_stored(iter->symbol, offset, v, n, ev, errbuf, errlen);
}

/* The event at iter->expect, inside the retired day `range`, from the day's sealed file. */
static td_err_t next_retired(td_tape_iter_t *iter, const td_day_range_t *range, td_event_t *ev, char *errbuf,
                             size_t errlen)
{
    td_tape_t *tape = iter->tape;
    td_err_t rc = TD_OK;
    if (!iter->sealed || iter->sealed->trading_day != range->trading_day) {
        td_tape__sealed_release(tape, iter->sealed);
        iter->sealed = NULL;
        rc = td_tape__sealed_acquire(tape, iter->kind, iter->symbol, range, &iter->sealed, errbuf, errlen);
        if (rc != TD_OK)
            return rc;
    }
    td_slice_t bytes = {NULL, 0};
    if (td_seal_day_get(&iter->sealed->day, iter->kind == TD_STREAM_OUTPUT, iter->expect, &bytes) != TD_OK)
        return td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: %s@%llu: not in the sealed file of day %u",
                          iter->symbol, (unsigned long long)iter->expect, range->trading_day);
    rc = decode_iter(iter, iter->expect, (const char *)bytes.ptr, bytes.len, ev, errbuf, errlen);
    if (rc == TD_OK) {
        iter->raw = bytes;
        iter->expect++;
        iter->reseek = true; /* RocksDB's iterator does not know about this event */
    }
    return rc;
}

td_err_t td_tape_iter_next(td_tape_iter_t *iter, td_event_t *ev, char *errbuf, size_t errlen)
{
    char *err = NULL;
    td_err_t rc = TD_OK;
    if (!iter || !ev)
        return TD_ERR_INVALID;
    if (iter->final != TD_OK)
        return iter->final;
    iter->raw = (td_slice_t){NULL, 0};
    /* a retired day: its events come from its sealed file */
    while (iter->next_retired < iter->n_retired && iter->retired[iter->next_retired].last_offset < iter->expect)
        iter->next_retired++;
    if (iter->next_retired < iter->n_retired && iter->retired[iter->next_retired].first_offset <= iter->expect) {
        rc = next_retired(iter, &iter->retired[iter->next_retired], ev, errbuf, errlen);
        goto done;
    }
    if (iter->reseek) {
        td_tape__sealed_release(iter->tape, iter->sealed); /* past the retired days in front of expect */
        iter->sealed = NULL;
        uint8_t key[STREAM_KEY_MAX];
        size_t klen = stream_key(key, iter->symbol, iter->symlen, iter->expect);
        rocksdb_iter_seek(iter->it, (const char *)key, klen);
        iter->reseek = false;
    } else if (iter->started) {
        rocksdb_iter_next(iter->it);
    }
    iter->started = true;
    if (!rocksdb_iter_valid(iter->it)) {
        rocksdb_iter_get_error(iter->it, &err);
        rc = err ? td_tape__store_err(errbuf, errlen, "iterate", err) : TD_ERR_END;
        goto done;
    }
    size_t n, vn;
    const char *k = rocksdb_iter_key(iter->it, &n);
    if (n != iter->symlen + 9 || memcmp(k, iter->symbol, iter->symlen) != 0 || k[iter->symlen] != 0x00) {
        rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: %s: a key of %zu bytes inside the stream", iter->symbol,
                        n);
        goto done;
    }
    uint64_t offset = get_be64((const uint8_t *)k + iter->symlen + 1);
    if (offset != iter->expect) {
        rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: %s: offset gap: expected %llu, found %llu", iter->symbol,
                        (unsigned long long)iter->expect, (unsigned long long)offset);
        goto done;
    }
    const char *v = rocksdb_iter_value(iter->it, &vn);
    rc = decode_iter(iter, offset, v, vn, ev, errbuf, errlen);
    if (rc == TD_OK) {
        iter->raw = (td_slice_t){(const uint8_t *)v, vn};
        iter->expect = offset + 1;
    }
done:
    if (rc != TD_OK)
        iter->final = rc;
    return rc;
}

td_slice_t td_tape_iter_raw(td_tape_iter_t *iter)
{
    return iter ? iter->raw : (td_slice_t){NULL, 0};
}

void td_tape_iter_destroy(td_tape_iter_t *iter)
{
    if (!iter)
        return;
    td_tape__sealed_release(iter->tape, iter->sealed);
    free(iter->retired);
    rocksdb_iter_destroy(iter->it);
    rocksdb_readoptions_destroy(iter->ropts);
    rocksdb_release_snapshot(iter->tape->db, iter->snap);
    free(iter);
}
