/* tape.c - the local tape on RocksDB (core/tape.h): open/close, the stream map, the stream
 * listings and the tape's error detail.
 *
 * In memory the tape keeps, per (kind, symbol) stream, the committed next offset, the last trading
 * day and that day's first offset; each is loaded on first use with a reverse seek (the stream
 * map). Batches (tape_batch.c) start from it and move it on when they are sealed and settled.
 * The layout of the database and the tape's other files: core/tape_internal.h.
 *
 * Threads: open/close and td_tape_next_offset belong to the writer's thread (the stream map is not
 * locked; td_tape_known_symbols reads it). td_tape_stream_end and td_tape_symbols only use
 * RocksDB's thread-safe reads and may run in any thread.
 *
 * Errors: every call that fails with detail writes it into its caller's errbuf (td_err_set);
 * the tape keeps no error text of its own, so readers in several threads never share one.
 */
#include "core/tape.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "core/codec.h"
#include "core/tape_internal.h"

static const char *const cf_names[CF_COUNT] = {"default", "input", "output", "day", "state", "meta", "history"};

#define FORMAT_KEY "tapedeck.tape.format"
#define FORMAT_VALUE "1"
/* The trading-day roll the day index was built with: fixed when the tape is created. */
#define DAY_OFFSET_KEY "tapedeck.tape.day_offset_minutes"

/* Translates a RocksDB error (taking and freeing err) into TD_ERR_STORE with detail. */
td_err_t td_tape__store_err(char *errbuf, size_t errlen, const char *what, char *err)
{
    td_err_t rc = td_err_set(errbuf, errlen, TD_ERR_STORE, "tape: %s: %s", what, err ? err : "unknown RocksDB error");
    rocksdb_free(err);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * the stream map
 */

static uint64_t stream_hash(td_stream_kind_t kind, const char *symbol, size_t symlen)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325) ^ (uint64_t)kind;
    for (size_t i = 0; i < symlen; i++) {
        h ^= (uint8_t)symbol[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static stream_t *stream_find(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, size_t symlen)
{
    if (!tape->index_cap)
        return NULL;
    size_t mask = tape->index_cap - 1;
    for (size_t i = stream_hash(kind, symbol, symlen) & mask;; i = (i + 1) & mask) {
        uint32_t slot = tape->index[i];
        if (!slot)
            return NULL;
        stream_t *stream = tape->streams[slot - 1];
        if (stream->kind == kind && stream->symlen == symlen && memcmp(stream->symbol, symbol, symlen) == 0)
            return stream;
    }
}

static td_err_t stream_insert(td_tape_t *tape, stream_t *stream, char *errbuf, size_t errlen)
{
    if (tape->n_streams == tape->cap_streams) {
        size_t cap = tape->cap_streams ? tape->cap_streams * 2 : 16;
        stream_t **p = realloc(tape->streams, cap * sizeof *p);
        if (!p)
            return td_err_set(errbuf, errlen, TD_ERR_NOMEM, "tape: out of memory for the stream map");
        tape->streams = p;
        tape->cap_streams = cap;
    }
    if ((tape->n_streams + 1) * 2 > tape->index_cap) {
        size_t cap = tape->index_cap ? tape->index_cap * 2 : 64;
        uint32_t *idx = calloc(cap, sizeof *idx);
        if (!idx)
            return td_err_set(errbuf, errlen, TD_ERR_NOMEM, "tape: out of memory for the stream map");
        for (size_t s = 0; s < tape->n_streams; s++) {
            const stream_t *old = tape->streams[s];
            size_t i = stream_hash(old->kind, old->symbol, old->symlen) & (cap - 1);
            while (idx[i])
                i = (i + 1) & (cap - 1);
            idx[i] = (uint32_t)(s + 1);
        }
        free(tape->index);
        tape->index = idx;
        tape->index_cap = cap;
    }
    size_t mask = tape->index_cap - 1;
    size_t i = stream_hash(stream->kind, stream->symbol, stream->symlen) & mask;
    while (tape->index[i])
        i = (i + 1) & mask;
    tape->streams[tape->n_streams++] = stream;
    tape->index[i] = (uint32_t)tape->n_streams;
    return TD_OK;
}

/* Reads the last key at or before `probe` in cf that starts with prefix[plen] and has klen bytes;
 * *found = false if there is none. val/vlen receive a copy of its value when asked (<= 16 bytes). */
static td_err_t last_with_prefix(td_tape_t *tape, rocksdb_column_family_handle_t *cf, const uint8_t *probe, size_t klen,
                                 size_t plen, bool *found, uint8_t *key_out, uint8_t *val, size_t *vlen, char *errbuf,
                                 size_t errlen)
{
    td_err_t rc = TD_OK;
    char *err = NULL;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(tape->db, tape->ropts, cf);
    *found = false;
    rocksdb_iter_seek_for_prev(it, (const char *)probe, klen);
    if (rocksdb_iter_valid(it)) {
        size_t n;
        const char *k = rocksdb_iter_key(it, &n);
        if (n >= plen && memcmp(k, probe, plen) == 0) {
            if (n != klen) {
                rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: key of %zu bytes under a %zu-byte stream prefix",
                                n, plen);
                goto done;
            }
            memcpy(key_out, k, n);
            if (val) {
                const char *v = rocksdb_iter_value(it, &n);
                if (n > *vlen) {
                    rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: day index value of %zu bytes", n);
                    goto done;
                }
                memcpy(val, v, n);
                *vlen = n;
            }
            *found = true;
        }
    } else {
        rocksdb_iter_get_error(it, &err);
        if (err)
            rc = td_tape__store_err(errbuf, errlen, "reverse seek", err);
    }
done:
    rocksdb_iter_destroy(it);
    return rc;
}

/* The floor after the stream's last event: a DAY_END mark or a DayDigest closes its day. */
static td_err_t load_floor(td_tape_t *tape, stream_t *stream, char *errbuf, size_t errlen)
{
    uint8_t key[STREAM_KEY_MAX];
    size_t klen = stream_key(key, stream->symbol, stream->symlen, stream->done.next - 1);
    char *err = NULL;
    size_t vlen = 0;
    char *v =
        rocksdb_get_cf(tape->db, tape->ropts, stream_cf(tape, stream->kind), (const char *)key, klen, &vlen, &err);
    if (err)
        return td_tape__store_err(errbuf, errlen, "read", err);
    if (!v)
        return td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: %s: last offset %llu missing", stream->symbol,
                          (unsigned long long)(stream->done.next - 1));
    td_event_t *ev = malloc(sizeof *ev);
    char detail[256] = "";
    td_err_t rc = ev ? td_codec_decode((const uint8_t *)v, vlen, ev, detail, sizeof detail) : TD_ERR_NOMEM;
    if (rc == TD_OK)
        stream->done.floor_day = td_event_floor_after(ev, stream->done.last_day);
    else
        rc = td_err_set(errbuf, errlen, rc, "tape: %s: last event does not decode: %s", stream->symbol, detail);
    free(ev);
    rocksdb_free(v);
    return rc;
}

/* Finds the stream, loading its next offset and last day from the DB on first use. */
td_err_t td_tape__stream_get(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, size_t symlen, stream_t **out,
                             char *errbuf, size_t errlen)
{
    stream_t *stream = stream_find(tape, kind, symbol, symlen);
    td_err_t rc = TD_OK;
    uint8_t probe[DAY_KEY_MAX > STREAM_KEY_MAX ? DAY_KEY_MAX : STREAM_KEY_MAX];
    uint8_t key[sizeof probe];
    uint8_t val[16];
    bool found = false;

    if (stream) {
        *out = stream;
        return TD_OK;
    }
    stream = calloc(1, sizeof *stream);
    if (!stream)
        return td_err_set(errbuf, errlen, TD_ERR_NOMEM, "tape: out of memory for a stream");
    stream->kind = kind;
    stream->symlen = symlen;
    memcpy(stream->symbol, symbol, symlen);

    size_t klen = stream_key(probe, symbol, symlen, UINT64_MAX);
    rc =
        last_with_prefix(tape, stream_cf(tape, kind), probe, klen, symlen + 1, &found, key, NULL, NULL, errbuf, errlen);
    if (rc == TD_OK && found)
        stream->done.next = get_be64(key + symlen + 1) + 1;

    if (rc == TD_OK) {
        size_t vlen = sizeof val;
        klen = day_key(probe, kind, symbol, symlen, UINT32_MAX);
        rc = last_with_prefix(tape, tape->cf[CF_DAY], probe, klen, symlen + 2, &found, key, val, &vlen, errbuf, errlen);
        if (rc == TD_OK && found && vlen != 16)
            rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: %s: day index value of %zu bytes", stream->symbol,
                            vlen);
        if (rc == TD_OK && found) {
            stream->done.last_day = get_be32(key + symlen + 2);
            stream->done.day_first = get_be64(val);
            if (get_be64(val + 8) + 1 != stream->done.next || stream->done.day_first > get_be64(val + 8))
                rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT,
                                "tape: %s: day %u ends at offset %llu but the stream's next offset is %llu",
                                stream->symbol, stream->done.last_day, (unsigned long long)get_be64(val + 8),
                                (unsigned long long)stream->done.next);
        } else if (rc == TD_OK && stream->done.next > 0) {
            rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: %s: %llu events and no day index", stream->symbol,
                            (unsigned long long)stream->done.next);
        }
    }
    stream->done.floor_day = stream->done.last_day;
    if (rc == TD_OK && stream->done.next > 0)
        rc = load_floor(tape, stream, errbuf, errlen);
    stream->tail = stream->done;
    if (rc == TD_OK)
        rc = stream_insert(tape, stream, errbuf, errlen);
    if (rc != TD_OK) {
        free(stream);
        return rc;
    }
    *out = stream;
    return TD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * open / close
 */

static void configure(rocksdb_options_t *options, const td_tape_opts_t *opts, bool compress)
{
    rocksdb_options_set_create_if_missing(options, !opts->read_only);
    rocksdb_options_set_create_missing_column_families(options, !opts->read_only);
    rocksdb_options_increase_parallelism(options, 2);
    rocksdb_options_set_write_buffer_size(options, 16u << 20);
    rocksdb_options_set_keep_log_file_num(options, 4);
    if (opts->read_only)
        rocksdb_options_set_max_open_files(options, -1); /* see td_tape_open: files held from the open */
    /* LZ4 at every level: replay reads whole days, and LZ4 decompresses several times faster than
     * ZSTD (which cost replay about 7% of its time); sealed archives (compact) can use ZSTD. */
    rocksdb_options_set_compression(options, compress ? rocksdb_lz4_compression : rocksdb_no_compression);
    rocksdb_options_set_bottommost_compression(options, compress ? rocksdb_lz4_compression : rocksdb_no_compression);
    /* 16 KiB blocks: streams are read sequentially, and fewer, larger blocks cost less per event */
    rocksdb_block_based_table_options_t *table = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_size(table, 16u << 10);
    rocksdb_options_set_block_based_table_factory(options, table);
    rocksdb_block_based_options_destroy(table);
}

static bool compression_refused(const char *err)
{
    return err && strstr(err, "ompression") && strstr(err, "not");
}

/* Read-only opens retried when a file named by the MANIFEST vanished: 10, 20, 40, 80, 160, then
 * 320 ms apart, about 3 s in all. */
#define OPEN_RETRIES 12

static bool file_vanished(const char *err)
{
    return strstr(err, "No such file") != NULL;
}

/* The day index of a tape is only meaningful under one trading-day roll: the first writer records
 * its day_offset_minutes, and an open with another value is refused (TD_ERR_CONFIG). */
static td_err_t check_day_offset(td_tape_t *tape, const char *path, char *errbuf, size_t errlen)
{
    char want[16], *err = NULL;
    snprintf(want, sizeof want, "%d", tape->opts.day_offset_minutes);
    size_t n = 0;
    char *have =
        rocksdb_get_cf(tape->db, tape->ropts, tape->cf[CF_DEFAULT], DAY_OFFSET_KEY, strlen(DAY_OFFSET_KEY), &n, &err);
    td_err_t rc = TD_OK;
    if (err) {
        rc = td_err_set(errbuf, errlen, TD_ERR_STORE, "tape: %s: reading the day offset: %s", path, err);
    } else if (have && (n != strlen(want) || memcmp(have, want, n) != 0)) {
        rc = td_err_set(errbuf, errlen, TD_ERR_CONFIG,
                        "tape: %s: its trading days roll at day_offset_minutes %.*s, the configuration says %s "
                        "(session.day_offset_minutes cannot change on an existing tape)",
                        path, (int)(n < 8 ? n : 8), have, want);
    } else if (!have && !tape->opts.read_only) {
        rocksdb_put_cf(tape->db, tape->wopts, tape->cf[CF_DEFAULT], DAY_OFFSET_KEY, strlen(DAY_OFFSET_KEY), want,
                       strlen(want), &err);
        if (err)
            rc = td_err_set(errbuf, errlen, TD_ERR_STORE, "tape: %s: writing the day offset: %s", path, err);
    }
    rocksdb_free(err);
    rocksdb_free(have);
    return rc;
}

td_err_t td_tape_open(const char *dir, const td_tape_opts_t *opts, td_tape_t **out, char *errbuf, size_t errlen)
{
    td_tape_opts_t defaults = {TD_SYNC_NONE, 0, false};
    td_tape_t *tape = NULL;
    td_buf_t path;
    char *err = NULL;
    rocksdb_pinnableslice_t *fmt = NULL;
    td_err_t rc = TD_OK;

    td_buf_init(&path);
    if (out)
        *out = NULL;
    if (!dir || !*dir || !out)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "tape: open: no directory");
    if (!opts)
        opts = &defaults;
    if (opts->day_offset_minutes <= -1440 || opts->day_offset_minutes >= 1440)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "tape: day_offset_minutes %d not in -1439..1439",
                          opts->day_offset_minutes);

    rc = td_buf_printf(&path, "%s/tape", dir);
    if (rc == TD_OK && !td_buf_cstr(&path))
        rc = TD_ERR_NOMEM;
    if (rc != TD_OK) {
        rc = td_err_set(errbuf, errlen, rc, "tape: open %s: out of memory", dir);
        goto done;
    }
    if (opts->read_only) {
        struct stat st;
        if (stat((const char *)path.ptr, &st) != 0) {
            rc = td_err_set(errbuf, errlen, TD_ERR_NOT_FOUND, "tape: %s: no tape here (%s)", (const char *)path.ptr,
                            strerror(errno));
            goto done;
        }
    } else if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        rc = td_err_set(errbuf, errlen, TD_ERR_IO, "tape: mkdir %s: %s", dir, strerror(errno));
        goto done;
    }

    tape = calloc(1, sizeof *tape);
    if (!tape) {
        rc = td_err_set(errbuf, errlen, TD_ERR_NOMEM, "tape: open: out of memory");
        goto done;
    }
    pthread_mutex_init(&tape->seal_lock, NULL);
    tape->opts = *opts;
    tape->dir = strdup(dir);
    if (!tape->dir) {
        rc = td_err_set(errbuf, errlen, TD_ERR_NOMEM, "tape: open: out of memory");
        goto done;
    }

    /* A read-only open beside a writer reads the writer's MANIFEST and then the table files it
     * names; a flush or compaction finishing in between deletes one of them ("No such file").
     * The tape itself is fine: read the MANIFEST again (a few times, with a short wait). Once
     * open, every table file is held open (max_open_files -1), so later deletions do not matter. */
    for (int attempt = 0, vanished = 0; attempt < 2; attempt++) {
        const rocksdb_options_t *cf_opts[CF_COUNT];
        if (tape->options)
            rocksdb_options_destroy(tape->options);
        tape->options = rocksdb_options_create();
        configure(tape->options, opts, attempt == 0);
        for (int i = 0; i < CF_COUNT; i++)
            cf_opts[i] = tape->options;
        rocksdb_free(err);
        err = NULL;
        if (opts->read_only)
            tape->db = rocksdb_open_for_read_only_column_families(tape->options, (const char *)path.ptr, CF_COUNT,
                                                                  cf_names, cf_opts, tape->cf, 0, &err);
        else
            tape->db = rocksdb_open_column_families(tape->options, (const char *)path.ptr, CF_COUNT, cf_names, cf_opts,
                                                    tape->cf, &err);
        if (err && opts->read_only && file_vanished(err) && vanished < OPEN_RETRIES) {
            struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(10 << (vanished < 5 ? vanished : 5)) * 1000000L};
            nanosleep(&ts, NULL);
            vanished++;
            attempt--; /* the same compression choice again */
            continue;
        }
        if (!err || !compression_refused(err))
            break; /* a library built without LZ4/ZSTD gets an uncompressed tape */
    }
    if (err) {
        rc = td_err_set(errbuf, errlen, TD_ERR_STORE, "tape: open %s: %s", (const char *)path.ptr, err);
        rocksdb_free(err);
        err = NULL;
        tape->db = NULL;
        goto done;
    }

    tape->ropts = rocksdb_readoptions_create();
    tape->wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(tape->wopts, opts->sync == TD_SYNC_COMMIT);

    fmt = rocksdb_get_pinned_cf(tape->db, tape->ropts, tape->cf[CF_DEFAULT], FORMAT_KEY, strlen(FORMAT_KEY), &err);
    if (err) {
        rc = td_err_set(errbuf, errlen, TD_ERR_STORE, "tape: %s: reading the format: %s", (const char *)path.ptr, err);
        rocksdb_free(err);
        goto done;
    }
    if (fmt) {
        size_t n;
        const char *v = rocksdb_pinnableslice_value(fmt, &n);
        if (n != strlen(FORMAT_VALUE) || memcmp(v, FORMAT_VALUE, n) != 0) {
            rc = td_err_set(errbuf, errlen, TD_ERR_UNSUPPORTED, "tape: %s: format \"%.*s\", this build reads \"%s\"",
                            (const char *)path.ptr, (int)(n < 16 ? n : 16), v, FORMAT_VALUE);
            goto done;
        }
    } else if (!opts->read_only) {
        rocksdb_put_cf(tape->db, tape->wopts, tape->cf[CF_DEFAULT], FORMAT_KEY, strlen(FORMAT_KEY), FORMAT_VALUE,
                       strlen(FORMAT_VALUE), &err);
        if (err) {
            rc = td_err_set(errbuf, errlen, TD_ERR_STORE, "tape: %s: writing the format: %s", (const char *)path.ptr,
                            err);
            rocksdb_free(err);
            goto done;
        }
    }
    rc = check_day_offset(tape, (const char *)path.ptr, errbuf, errlen);
    if (rc != TD_OK)
        goto done;
    rc = td_tape__probe_retired(tape, (const char *)path.ptr, errbuf, errlen);
    if (rc != TD_OK)
        goto done;

done:
    rocksdb_pinnableslice_destroy(fmt);
    td_buf_fini(&path);
    if (rc != TD_OK) {
        td_tape_close(tape);
        tape = NULL;
    }
    *out = tape;
    return rc;
}

void td_tape_close(td_tape_t *tape)
{
    if (!tape)
        return;
    if (tape->db && !tape->opts.read_only && tape->sticky == TD_OK) {
        /* Move what the write-ahead log holds into table files now: the next open then need not
         * replay the log (for a large import that replay costs seconds). Durability is unchanged:
         * the data was already in the log. A failure here loses nothing and is ignored. */
        rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
        rocksdb_flushoptions_set_wait(fo, 1);
        for (int i = 0; i < CF_COUNT; i++) {
            char *err = NULL;
            rocksdb_flush_cf(tape->db, fo, tape->cf[i], &err);
            rocksdb_free(err);
        }
        rocksdb_flushoptions_destroy(fo);
    }
    for (int i = 0; i < CF_COUNT; i++)
        if (tape->cf[i])
            rocksdb_column_family_handle_destroy(tape->cf[i]);
    if (tape->db)
        rocksdb_close(tape->db);
    if (tape->options)
        rocksdb_options_destroy(tape->options);
    if (tape->ropts)
        rocksdb_readoptions_destroy(tape->ropts);
    if (tape->wopts)
        rocksdb_writeoptions_destroy(tape->wopts);
    for (size_t i = 0; i < tape->n_streams; i++)
        free(tape->streams[i]);
    free(tape->streams);
    free(tape->index);
    td_tape__sealed_release(tape, tape->seal_last);
    free(tape->dir);
    pthread_mutex_destroy(&tape->seal_lock);
    free(tape);
}

int td_tape_day_offset_minutes(const td_tape_t *tape)
{
    return tape->opts.day_offset_minutes;
}

const char *td_tape_explain(td_err_t rc, const char *detail)
{
    if ((rc == TD_ERR_CORRUPT || rc == TD_ERR_STORE) && detail && detail[0])
        return detail;
    return td_err_name(rc);
}

uint64_t td_tape_next_offset(td_tape_t *tape, td_stream_kind_t kind, const char *symbol)
{
    size_t symlen = symbol_len(symbol);
    stream_t *stream = NULL;
    if (!tape || !kind_ok(kind) || !symlen)
        return 0;
    /* a load failure has no one to tell here; the append that follows reports it */
    if (td_tape__stream_get(tape, kind, symbol, symlen, &stream, NULL, 0) != TD_OK)
        return 0;
    return stream->done.next;
}

td_err_t td_tape_stream_end(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, uint64_t *end, char *errbuf,
                            size_t errlen)
{
    size_t symlen = symbol_len(symbol);
    if (!end)
        return TD_ERR_INVALID;
    *end = 0;
    if (!tape || !kind_ok(kind) || !symlen)
        return TD_ERR_INVALID;
    uint8_t probe[STREAM_KEY_MAX], key[STREAM_KEY_MAX];
    bool found = false;
    size_t klen = stream_key(probe, symbol, symlen, UINT64_MAX);
    td_err_t rc =
        last_with_prefix(tape, stream_cf(tape, kind), probe, klen, symlen + 1, &found, key, NULL, NULL, errbuf, errlen);
    if (rc == TD_OK && found)
        *end = get_be64(key + symlen + 1) + 1;
    return rc;
}

td_err_t td_tape_known_symbols(td_tape_t *tape, td_stream_kind_t kind, td_err_t (*cb)(void *opaque, const char *symbol),
                               void *opaque)
{
    if (!tape || !kind_ok(kind) || !cb)
        return TD_ERR_INVALID;
    for (size_t i = 0; i < tape->n_streams; i++) {
        const stream_t *stream = tape->streams[i];
        if (stream->kind != kind || stream->done.next == 0)
            continue;
        td_err_t rc = cb(opaque, stream->symbol);
        if (rc != TD_OK)
            return rc;
    }
    return TD_OK;
}

td_err_t td_tape_symbols(td_tape_t *tape, td_stream_kind_t kind, td_err_t (*cb)(void *opaque, const char *symbol),
                         void *opaque, char *errbuf, size_t errlen)
{
    td_err_t rc = TD_OK;
    char *err = NULL;
    char symbol[TD_SYMBOL_MAX + 2];
    if (!tape || !kind_ok(kind) || !cb)
        return TD_ERR_INVALID;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(tape->db, tape->ropts, stream_cf(tape, kind));
    rocksdb_iter_seek_to_first(it);
    while (rc == TD_OK && rocksdb_iter_valid(it)) {
        size_t n;
        const char *k = rocksdb_iter_key(it, &n);
        const char *nul = memchr(k, 0x00, n < TD_SYMBOL_MAX + 1 ? n : TD_SYMBOL_MAX + 1);
        if (!nul || nul == k || n != (size_t)(nul - k) + 9) {
            rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "tape: stream key of %zu bytes without a valid symbol", n);
            break;
        }
        size_t symlen = (size_t)(nul - k);
        memcpy(symbol, k, symlen);
        symbol[symlen] = '\0';
        rc = cb(opaque, symbol);
        if (rc != TD_OK)
            break;
        symbol[symlen] = 0x01; /* skip the rest of this stream */
        rocksdb_iter_seek(it, symbol, symlen + 1);
    }
    if (rc == TD_OK) {
        rocksdb_iter_get_error(it, &err);
        if (err)
            rc = td_tape__store_err(errbuf, errlen, "listing symbols", err);
    }
    rocksdb_iter_destroy(it);
    return rc;
}

/* A name that does not fit the list's slots is refused, not cut: a cut name would be another
 * symbol (or the same as a listed one). */
td_err_t td_symbol_list_add(td_symbol_list_t *list, const char *symbol, char *errbuf, size_t errlen)
{
    size_t symlen = symbol_len(symbol);
    if (!symbol || !*symbol)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "symbol list: an empty symbol");
    if (!symlen)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "symbol list: symbol \"%.*s...\" is longer than %d bytes",
                          TD_SYMBOL_MAX, symbol, TD_SYMBOL_MAX);
    for (size_t i = 0; i < list->len; i++)
        if (strcmp(list->names[i], symbol) == 0)
            return TD_OK;
    void *p = realloc(list->names, (list->len + 1) * sizeof *list->names);
    if (!p)
        return td_err_set(errbuf, errlen, TD_ERR_NOMEM, "symbol list: out of memory");
    list->names = p;
    memcpy(list->names[list->len++], symbol, symlen + 1);
    return TD_OK;
}

static td_err_t symbol_list_cb(void *opaque, const char *symbol)
{
    return td_symbol_list_add(opaque, symbol, NULL, 0); /* td_tape_symbols checked the name */
}

td_err_t td_tape_symbol_list(td_tape_t *tape, td_stream_kind_t kind, td_symbol_list_t *list, char *errbuf,
                             size_t errlen)
{
    return td_tape_symbols(tape, kind, symbol_list_cb, list, errbuf, errlen);
}

void td_symbol_list_fini(td_symbol_list_t *list)
{
    free(list->names);
    list->names = NULL;
    list->len = 0;
}
