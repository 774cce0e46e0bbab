/* tape_sealed.c - retired days: raw events replaced by the day's sealed file (td_tape_retire_day).
 *
 * This file keeps the retired-day markers, loads and checks sealed days, caches the last one the
 * tape loaded (shared by td_tape_read and the iterators, reference counted), and retires a day.
 *
 * Threads: td_tape_retire_day the writer's thread; the rest any thread (the cache is locked by the
 * tape's seal_lock; RocksDB reads are thread-safe).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tape_internal.h"

/* ---------------------------------------------------------------------------------------------
 * retired days: raw events replaced by the day's sealed file (td_tape_retire_day)
 *
 * A retired day of a stream has a marker in the meta column family,
 *   "tapedeck.retired" 0x00 kind(1) symbol 0x00 day(4, BE) -> first(8, BE) last(8, BE),
 * written in the same WriteBatch that deletes the day's stream keys. Readers list a stream's markers
 * and read offsets inside them from DIR/sealed/<SYMBOL>/<YYYYMMDD>.tdseal, verified on every load.
 * String keys of td_tape_batch_put_meta never contain 0x00, so they cannot collide with these.
 */

/* Sets has_retired when the meta family holds any retired-day marker. */
td_err_t td_tape__probe_retired(td_tape_t *tape, const char *path, char *errbuf, size_t errlen)
{
    char *err = NULL;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(tape->db, tape->ropts, tape->cf[CF_META]);
    rocksdb_iter_seek(it, RETIRED_PREFIX, sizeof RETIRED_PREFIX); /* the prefix and its 0x00 */
    size_t n = 0;
    const char *k = rocksdb_iter_valid(it) ? rocksdb_iter_key(it, &n) : NULL;
    atomic_store(&tape->has_retired,
                 k && n > sizeof RETIRED_PREFIX && memcmp(k, RETIRED_PREFIX, sizeof RETIRED_PREFIX) == 0);
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    td_err_t rc = TD_OK;
    if (err)
        rc = td_err_set(errbuf, errlen, TD_ERR_STORE, "tape: %s: looking for retired days: %s", path, err);
    rocksdb_free(err);
    return rc;
}

/* The marker key of (kind, symbol, day); without the day (the stream's prefix) its length - 4. */
static size_t retired_key(uint8_t *key, td_stream_kind_t kind, const char *symbol, size_t symlen, uint32_t day)
{
    size_t n = sizeof RETIRED_PREFIX; /* the prefix and its NUL */
    memcpy(key, RETIRED_PREFIX, n);
    key[n] = (uint8_t)kind;
    memcpy(key + n + 1, symbol, symlen);
    key[n + 1 + symlen] = 0x00;
    put_be32(key + n + 2 + symlen, day);
    return n + 6 + symlen;
}

/* Lists the retired days of (kind, symbol) as ropts sees the tape, in increasing order, into a
 * heap array *out (NULL when there are none). */
td_err_t td_tape__retired_list(td_tape_t *tape, const rocksdb_readoptions_t *ropts, td_stream_kind_t kind,
                               const char *symbol, size_t symlen, td_day_range_t **out, size_t *n_out, char *errbuf,
                               size_t errlen)
{
    uint8_t key[RETIRED_KEY_MAX];
    size_t plen = retired_key(key, kind, symbol, symlen, 0) - 4;
    td_day_range_t *v = NULL;
    size_t n = 0, cap = 0;
    td_err_t rc = TD_OK;
    char *err = NULL;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(tape->db, ropts, tape->cf[CF_META]);
    rocksdb_iter_seek(it, (const char *)key, plen);
    for (; rc == TD_OK && rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kn, vn;
        const char *k = rocksdb_iter_key(it, &kn);
        if (kn < plen || memcmp(k, key, plen) != 0)
            break;
        const char *val = rocksdb_iter_value(it, &vn);
        if (kn != plen + 4 || vn != 16) {
            rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: %s: a retired-day record of %zu/%zu bytes", symbol,
                            kn, vn);
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            td_day_range_t *p = realloc(v, cap * sizeof *p);
            if (!p) {
                rc = td_err_set(errbuf, errlen, TD_ERR_NOMEM, "tape: out of memory for the retired days");
                break;
            }
            v = p;
        }
        td_day_range_t *r = &v[n++];
        r->trading_day = get_be32((const uint8_t *)k + plen);
        r->first_offset = get_be64((const uint8_t *)val);
        r->last_offset = get_be64((const uint8_t *)val + 8);
        if (r->last_offset < r->first_offset)
            rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: %s day %u: retired range ends before it starts",
                            symbol, r->trading_day);
        r->count = r->last_offset - r->first_offset + 1;
    }
    if (rc == TD_OK) {
        rocksdb_iter_get_error(it, &err);
        if (err)
            rc = td_tape__store_err(errbuf, errlen, "listing retired days", err);
    }
    rocksdb_iter_destroy(it);
    if (rc != TD_OK) {
        free(v);
        v = NULL;
        n = 0;
    }
    *out = v;
    *n_out = n;
    return rc;
}

/* Checks that the loaded sealed day holds exactly `range` of the kind's stream of symbol. */
static td_err_t sealed_check(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, const td_day_range_t *range,
                             const td_seal_day_t *sealed, char *errbuf, size_t errlen)
{
    char path[4200];
    if (td_seal_path(path, sizeof path, tape->dir, symbol, range->trading_day) != TD_OK)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "tape: %s: the sealed file's path is too long", tape->dir);
    const td_seal_header_t *h = &sealed->header;
    const td_day_range_t *have = kind == TD_STREAM_OUTPUT ? &h->outputs : &h->inputs;
    if (strcmp(h->symbol, symbol) != 0 || h->trading_day != range->trading_day ||
        have->first_offset != range->first_offset || have->last_offset != range->last_offset ||
        have->count != range->count)
        return td_err_set(errbuf, errlen, TD_ERR_CORRUPT,
                          "tape: %s: holds %s day %u %s offsets %llu..%llu, the tape removed %s day %u %s offsets "
                          "%llu..%llu",
                          path, h->symbol, h->trading_day, kind_name(kind), (unsigned long long)have->first_offset,
                          (unsigned long long)have->last_offset, symbol, range->trading_day, kind_name(kind),
                          (unsigned long long)range->first_offset, (unsigned long long)range->last_offset);
    return TD_OK;
}

/* Loads the sealed file of (symbol, range->trading_day) into *sealed (initialised here; the
 * caller finis it) and checks that it holds exactly `range` of the kind's stream. */
static td_err_t sealed_load(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, const td_day_range_t *range,
                            td_seal_day_t *sealed, char *errbuf, size_t errlen)
{
    char path[4200], detail[1024] = "";
    memset(sealed, 0, sizeof *sealed);
    if (td_seal_path(path, sizeof path, tape->dir, symbol, range->trading_day) != TD_OK)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "tape: %s: the sealed file's path is too long", tape->dir);
    td_err_t rc = td_seal_day_load(path, sealed, detail, sizeof detail);
    if (rc == TD_ERR_NOT_FOUND)
        return td_err_set(errbuf, errlen, TD_ERR_CORRUPT,
                          "tape: %s day %u: its raw events were removed by retention and its sealed file %s is missing",
                          symbol, range->trading_day, path);
    if (rc != TD_OK)
        return td_err_set(errbuf, errlen, rc, "tape: %s day %u (raw events removed by retention): %s", symbol,
                          range->trading_day, detail);
    return sealed_check(tape, kind, symbol, range, sealed, errbuf, errlen);
}

void td_tape__sealed_release(td_tape_t *tape, sealed_ref_t *ref)
{
    if (!ref)
        return;
    pthread_mutex_lock(&tape->seal_lock);
    bool last = --ref->refs == 0;
    pthread_mutex_unlock(&tape->seal_lock);
    if (last) {
        td_seal_day_fini(&ref->day);
        free(ref);
    }
}

/* A reference to the sealed day of (symbol, range->trading_day), checked to hold `range` of the
 * kind's stream: the tape's last loaded one when it is that day, else loaded now (and kept as the
 * tape's last). The caller releases it with td_tape__sealed_release. Any thread. */
td_err_t td_tape__sealed_acquire(td_tape_t *tape, td_stream_kind_t kind, const char *symbol,
                                 const td_day_range_t *range, sealed_ref_t **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    pthread_mutex_lock(&tape->seal_lock);
    sealed_ref_t *ref = tape->seal_last;
    if (ref && ref->trading_day == range->trading_day && strcmp(ref->symbol, symbol) == 0)
        ref->refs++;
    else
        ref = NULL;
    pthread_mutex_unlock(&tape->seal_lock);
    td_err_t rc = TD_OK;
    if (ref) {
        rc = sealed_check(tape, kind, symbol, range, &ref->day, errbuf, errlen);
        if (rc != TD_OK)
            td_tape__sealed_release(tape, ref);
        else
            *out = ref;
        return rc;
    }
    /* loaded outside the lock: two threads may load one day at once, which costs time, not sense */
    ref = calloc(1, sizeof *ref);
    if (!ref)
        return td_err_set(errbuf, errlen, TD_ERR_NOMEM, "tape: out of memory for a sealed day");
    rc = sealed_load(tape, kind, symbol, range, &ref->day, errbuf, errlen);
    if (rc != TD_OK) {
        td_seal_day_fini(&ref->day);
        free(ref);
        return rc;
    }
    snprintf(ref->symbol, sizeof ref->symbol, "%s", symbol);
    ref->trading_day = range->trading_day;
    ref->refs = 2; /* the caller's and the tape's */
    pthread_mutex_lock(&tape->seal_lock);
    sealed_ref_t *old = tape->seal_last;
    tape->seal_last = ref;
    pthread_mutex_unlock(&tape->seal_lock);
    td_tape__sealed_release(tape, old);
    *out = ref;
    return TD_OK;
}

static const td_day_range_t *range_holding(const td_day_range_t *v, size_t n, uint64_t offset)
{
    for (size_t i = 0; i < n; i++)
        if (offset >= v[i].first_offset && offset <= v[i].last_offset)
            return &v[i];
    return NULL;
}

/* td_tape_read of an offset that RocksDB does not hold: from its sealed file when its day is
 * retired (the tape keeps the last such day loaded), else TD_ERR_NOT_FOUND. */
td_err_t td_tape__read_retired(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, size_t symlen,
                               uint64_t offset, td_event_t *ev, char *errbuf, size_t errlen)
{
    if (kind == TD_STREAM_HISTORY || !atomic_load(&tape->has_retired))
        return TD_ERR_NOT_FOUND;
    td_day_range_t *v = NULL;
    size_t n = 0;
    td_err_t rc = td_tape__retired_list(tape, tape->ropts, kind, symbol, symlen, &v, &n, errbuf, errlen);
    const td_day_range_t *range = rc == TD_OK ? range_holding(v, n, offset) : NULL;
    if (rc == TD_OK && !range)
        rc = TD_ERR_NOT_FOUND;
    sealed_ref_t *ref = NULL;
    if (rc == TD_OK)
        rc = td_tape__sealed_acquire(tape, kind, symbol, range, &ref, errbuf, errlen);
    td_slice_t bytes = {NULL, 0};
    if (rc == TD_OK && td_seal_day_get(&ref->day, kind == TD_STREAM_OUTPUT, offset, &bytes) != TD_OK)
        rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: %s@%llu: not in the sealed file of day %u", symbol,
                        (unsigned long long)offset, range->trading_day);
    if (rc == TD_OK)
        rc = td_tape__decode_stored(symbol, offset, (const char *)bytes.ptr, bytes.len, ev, errbuf, errlen);
    td_tape__sealed_release(tape, ref);
    free(v);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * retention
 */

/* TD_OK with *found when the marker of (kind, symbol, day) exists. */
static td_err_t retired_get(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, size_t symlen, uint32_t day,
                            bool *found, char *errbuf, size_t errlen)
{
    uint8_t key[RETIRED_KEY_MAX];
    char *err = NULL;
    size_t klen = retired_key(key, kind, symbol, symlen, day);
    rocksdb_pinnableslice_t *ps =
        rocksdb_get_pinned_cf(tape->db, tape->ropts, tape->cf[CF_META], (const char *)key, klen, &err);
    if (err)
        return td_tape__store_err(errbuf, errlen, "reading a retired-day record", err);
    *found = ps != NULL;
    rocksdb_pinnableslice_destroy(ps);
    return TD_OK;
}

/* Checks that the tape's events of `range` are byte for byte the sealed file's. */
static td_err_t same_bytes(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, const td_day_range_t *range,
                           const td_seal_day_t *sealed, td_event_t *ev, char *errbuf, size_t errlen)
{
    td_tape_iter_t *iter = NULL;
    td_err_t rc = td_tape_iter_new(tape, kind, symbol, range->first_offset, &iter, errbuf, errlen);
    for (uint64_t i = 0; rc == TD_OK && i < range->count; i++) {
        uint64_t offset = range->first_offset + i;
        rc = td_tape_iter_next(iter, ev, errbuf, errlen);
        if (rc == TD_ERR_END)
            rc =
                td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: %s: the %s stream ends at offset %llu, inside day %u",
                           symbol, kind_name(kind), (unsigned long long)offset, range->trading_day);
        if (rc != TD_OK)
            break;
        td_slice_t want = {NULL, 0}, have = td_tape_iter_raw(iter);
        if (td_seal_day_get(sealed, kind == TD_STREAM_OUTPUT, offset, &want) != TD_OK || want.len != have.len ||
            memcmp(want.ptr, have.ptr, have.len) != 0)
            rc = td_err_set(errbuf, errlen, TD_ERR_MISMATCH,
                            "tape: %s day %u: the sealed file differs from the tape at %s offset %llu", symbol,
                            range->trading_day, kind_name(kind), (unsigned long long)offset);
    }
    td_tape_iter_destroy(iter);
    return rc;
}

/* Puts the marker and the deletion of `range` of the kind's stream into wb; remembers the keys. */
static void retire_range(td_tape_t *tape, rocksdb_writebatch_t *wb, td_stream_kind_t kind, const char *symbol,
                         size_t symlen, const td_day_range_t *range, uint8_t *lo, uint8_t *hi, size_t *klen)
{
    uint8_t key[RETIRED_KEY_MAX], val[16];
    size_t mlen = retired_key(key, kind, symbol, symlen, range->trading_day);
    put_be64(val, range->first_offset);
    put_be64(val + 8, range->last_offset);
    rocksdb_writebatch_put_cf(wb, tape->cf[CF_META], (const char *)key, mlen, (const char *)val, sizeof val);
    *klen = stream_key(lo, symbol, symlen, range->first_offset);
    stream_key(hi, symbol, symlen, range->last_offset + 1);
    rocksdb_writebatch_delete_range_cf(wb, stream_cf(tape, kind), (const char *)lo, *klen, (const char *)hi, *klen);
}

td_err_t td_tape_retire_day(td_tape_t *tape, const char *symbol, uint32_t trading_day, bool *retired_now, char *errbuf,
                            size_t errlen)
{
    size_t symlen = symbol_len(symbol);
    if (!tape || !symlen || !retired_now)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "tape: retire: bad arguments");
    *retired_now = false;
    if (tape->opts.read_only)
        return td_err_set(errbuf, errlen, TD_ERR_STATE, "tape: retire: the tape is open read-only");
    if (tape->sticky != TD_OK)
        return td_err_set(errbuf, errlen, tape->sticky, "tape: a commit failed earlier: reopen the tape");

    td_day_range_t range[2]; /* input, output */
    bool has[2] = {true, true}, done[2] = {false, false};
    uint8_t lo[2][STREAM_KEY_MAX], hi[2][STREAM_KEY_MAX];
    size_t klen[2] = {0, 0};
    td_seal_day_t sealed;
    memset(&sealed, 0, sizeof sealed);
    td_event_t *ev = NULL;
    rocksdb_writebatch_t *wb = NULL;
    rocksdb_writeoptions_t *wopts = NULL;
    char *err = NULL;
    td_err_t rc = TD_OK;
    for (int k = 0; rc == TD_OK && k < 2; k++) {
        rc = td_tape_day_get(tape, (td_stream_kind_t)k, symbol, trading_day, &range[k], errbuf, errlen);
        if (rc == TD_ERR_NOT_FOUND && k == 1) {
            has[1] = false;
            rc = TD_OK;
        } else if (rc == TD_ERR_NOT_FOUND) {
            rc = td_err_set(errbuf, errlen, TD_ERR_NOT_FOUND, "tape: %s has no inputs on day %u", symbol, trading_day);
        }
        if (rc == TD_OK && has[k])
            rc = retired_get(tape, (td_stream_kind_t)k, symbol, symlen, trading_day, &done[k], errbuf, errlen);
    }
    if (rc == TD_OK && done[0] && (done[1] || !has[1]))
        goto done; /* retired by an earlier run */
    if (rc == TD_OK && (done[0] || done[1]))
        rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: %s day %u: retired for one stream only", symbol,
                        trading_day);
    /* a stream's newest day keeps its events: the next offset and the day roll are read from them */
    for (int k = 0; rc == TD_OK && k < 2; k++) {
        stream_t *stream = NULL;
        if (has[k])
            rc = td_tape__stream_get(tape, (td_stream_kind_t)k, symbol, symlen, &stream, errbuf, errlen);
        if (rc == TD_OK && has[k] && stream->done.last_day <= trading_day)
            rc = td_err_set(errbuf, errlen, TD_ERR_STATE,
                            "tape: %s day %u is the newest day of its %s stream: it keeps its events", symbol,
                            trading_day, kind_name((td_stream_kind_t)k));
    }
    /* the sealed file: verified (checksums, records) and equal to the tape, byte for byte */
    if (rc == TD_OK)
        rc = sealed_load(tape, TD_STREAM_INPUT, symbol, &range[0], &sealed, errbuf, errlen);
    if (rc == TD_OK) {
        const td_day_range_t *o = &sealed.header.outputs;
        bool same = has[1] ? o->count == range[1].count && o->first_offset == range[1].first_offset &&
                                 o->last_offset == range[1].last_offset
                           : o->count == 0;
        if (!same)
            rc = td_err_set(errbuf, errlen, TD_ERR_MISMATCH,
                            "tape: %s day %u: the sealed file's outputs are not the tape's", symbol, trading_day);
    }
    if (rc == TD_OK && !(ev = malloc(sizeof *ev)))
        rc = td_err_set(errbuf, errlen, TD_ERR_NOMEM, "tape: out of memory");
    for (int k = 0; rc == TD_OK && k < 2; k++)
        if (has[k])
            rc = same_bytes(tape, (td_stream_kind_t)k, symbol, &range[k], &sealed, ev, errbuf, errlen);

    /* one atomic, synced write: the markers and the deletions together */
    if (rc == TD_OK) {
        wb = rocksdb_writebatch_create();
        for (int k = 0; k < 2; k++)
            if (has[k])
                retire_range(tape, wb, (td_stream_kind_t)k, symbol, symlen, &range[k], lo[k], hi[k], &klen[k]);
        wopts = rocksdb_writeoptions_create();
        rocksdb_writeoptions_set_sync(wopts, 1);
        rocksdb_write(tape->db, wopts, wb, &err);
        if (err) {
            rc = td_tape__store_err(errbuf, errlen, "retire", err);
            tape->sticky = TD_ERR_STATE;
        }
    }
    /* give the space back now: compaction drops what the deletions cover */
    for (int k = 0; rc == TD_OK && k < 2; k++)
        if (has[k])
            rocksdb_compact_range_cf(tape->db, stream_cf(tape, (td_stream_kind_t)k), (const char *)lo[k], klen[k],
                                     (const char *)hi[k], klen[k]);
    if (rc == TD_OK) {
        atomic_store(&tape->has_retired, true);
        *retired_now = true;
    }
done:
    if (wopts)
        rocksdb_writeoptions_destroy(wopts);
    if (wb)
        rocksdb_writebatch_destroy(wb);
    free(ev);
    td_seal_day_fini(&sealed);
    return rc;
}

td_err_t td_tape_day_retired(td_tape_t *tape, const char *symbol, uint32_t trading_day, bool *retired, char *errbuf,
                             size_t errlen)
{
    size_t symlen = symbol_len(symbol);
    if (!tape || !symlen || !retired)
        return TD_ERR_INVALID;
    return retired_get(tape, TD_STREAM_INPUT, symbol, symlen, trading_day, retired, errbuf, errlen);
}
