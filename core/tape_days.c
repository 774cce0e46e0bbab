/* tape_days.c - the trading-day index: for (kind, symbol, trading day) the first and last offset.
 *
 * Written by batches (tape_batch.c) and loaded into the stream map (tape.c); read here. A retired
 * day keeps its entry: retention never touches the index.
 *
 * Threads: any (RocksDB's thread-safe reads only).
 */
#include <string.h>

#include "core/tape_internal.h"

static td_err_t day_value(const char *symbol, uint32_t day, const char *v, size_t n, td_day_range_t *range,
                          char *errbuf, size_t errlen)
{
    if (n != 16)
        return td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: %s day %u: index value of %zu bytes", symbol, day, n);
    range->trading_day = day;
    range->first_offset = get_be64((const uint8_t *)v);
    range->last_offset = get_be64((const uint8_t *)v + 8);
    if (range->last_offset < range->first_offset)
        return td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: %s day %u: last offset before the first", symbol, day);
    range->count = range->last_offset - range->first_offset + 1;
    return TD_OK;
}

td_err_t td_tape_day_get(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, uint32_t trading_day,
                         td_day_range_t *range, char *errbuf, size_t errlen)
{
    uint8_t key[DAY_KEY_MAX];
    char *err = NULL;
    size_t symlen = symbol_len(symbol);
    if (!tape || !kind_ok(kind) || !range || !symlen)
        return TD_ERR_INVALID;
    size_t klen = day_key(key, kind, symbol, symlen, trading_day);
    rocksdb_pinnableslice_t *ps =
        rocksdb_get_pinned_cf(tape->db, tape->ropts, tape->cf[CF_DAY], (const char *)key, klen, &err);
    if (err)
        return td_tape__store_err(errbuf, errlen, "day_get", err);
    if (!ps)
        return TD_ERR_NOT_FOUND;
    size_t n;
    const char *v = rocksdb_pinnableslice_value(ps, &n);
    td_err_t rc = day_value(symbol, trading_day, v, n, range, errbuf, errlen);
    rocksdb_pinnableslice_destroy(ps);
    return rc;
}

td_err_t td_tape_days(td_tape_t *tape, td_stream_kind_t kind, const char *symbol,
                      td_err_t (*cb)(void *opaque, const td_day_range_t *range), void *opaque, char *errbuf,
                      size_t errlen)
{
    uint8_t key[DAY_KEY_MAX];
    char *err = NULL;
    td_err_t rc = TD_OK;
    size_t symlen = symbol_len(symbol);
    if (!tape || !kind_ok(kind) || !cb || !symlen)
        return TD_ERR_INVALID;
    size_t plen = day_key(key, kind, symbol, symlen, 0) - 4;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(tape->db, tape->ropts, tape->cf[CF_DAY]);
    rocksdb_iter_seek(it, (const char *)key, plen);
    for (; rc == TD_OK && rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t n, vn;
        const char *k = rocksdb_iter_key(it, &n);
        if (n < plen || memcmp(k, key, plen) != 0)
            break;
        if (n != plen + 4) {
            rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: %s: day key of %zu bytes", symbol, n);
            break;
        }
        const char *v = rocksdb_iter_value(it, &vn);
        td_day_range_t range;
        rc = day_value(symbol, get_be32((const uint8_t *)k + plen), v, vn, &range, errbuf, errlen);
        if (rc == TD_OK)
            rc = cb(opaque, &range);
    }
    if (rc == TD_OK) {
        rocksdb_iter_get_error(it, &err);
        if (err)
            rc = td_tape__store_err(errbuf, errlen, "listing days", err);
    }
    rocksdb_iter_destroy(it);
    return rc;
}
