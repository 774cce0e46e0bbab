/* tape_kv.c - the state store and the meta space of the tape: reads and key listings.
 *
 * Opaque values under string keys in the state and meta column families; they are written in a
 * batch (td_tape_batch_put_state / _meta, tape_batch.c), read here. Retired-day markers also live
 * in the meta family under keys with a 0x00 (tape_sealed.c): string keys never reach them.
 *
 * Threads: any (RocksDB's thread-safe reads only).
 */
#include <string.h>

#include "core/tape_internal.h"

static td_err_t get_kv(td_tape_t *tape, int cf, const char *what, const char *key, td_buf_t *out, char *errbuf,
                       size_t errlen)
{
    char *err = NULL;
    td_err_t rc = TD_OK;
    if (!tape || !key || !out)
        return TD_ERR_INVALID;
    td_buf_reset(out);
    rocksdb_pinnableslice_t *ps = rocksdb_get_pinned_cf(tape->db, tape->ropts, tape->cf[cf], key, strlen(key), &err);
    if (err)
        return td_tape__store_err(errbuf, errlen, what, err);
    if (!ps)
        return TD_ERR_NOT_FOUND;
    size_t n;
    const char *v = rocksdb_pinnableslice_value(ps, &n);
    rc = td_buf_append(out, v, n);
    rocksdb_pinnableslice_destroy(ps);
    return rc;
}

td_err_t td_tape_get_state(td_tape_t *tape, const char *key, td_buf_t *out, char *errbuf, size_t errlen)
{
    return get_kv(tape, CF_STATE, "get_state", key, out, errbuf, errlen);
}

td_err_t td_tape_get_meta(td_tape_t *tape, const char *key, td_buf_t *out, char *errbuf, size_t errlen)
{
    return get_kv(tape, CF_META, "get_meta", key, out, errbuf, errlen);
}

td_err_t td_tape_state_keys(td_tape_t *tape, const char *prefix, td_err_t (*cb)(void *opaque, const char *key),
                            void *opaque, char *errbuf, size_t errlen)
{
    td_err_t rc = TD_OK;
    char *err = NULL;
    td_buf_t key;
    if (!tape || !prefix || !cb)
        return TD_ERR_INVALID;
    td_buf_init(&key);
    size_t plen = strlen(prefix);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(tape->db, tape->ropts, tape->cf[CF_STATE]);
    rocksdb_iter_seek(it, prefix, plen);
    for (; rc == TD_OK && rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t n;
        const char *k = rocksdb_iter_key(it, &n);
        if (n < plen || memcmp(k, prefix, plen) != 0)
            break;
        td_buf_reset(&key);
        rc = td_buf_append(&key, k, n);
        const char *s = rc == TD_OK ? td_buf_cstr(&key) : NULL;
        if (!s)
            rc = TD_ERR_NOMEM;
        if (rc == TD_OK)
            rc = cb(opaque, s);
    }
    if (rc == TD_OK) {
        rocksdb_iter_get_error(it, &err);
        if (err)
            rc = td_tape__store_err(errbuf, errlen, "listing state keys", err);
    }
    rocksdb_iter_destroy(it);
    td_buf_fini(&key);
    return rc;
}
