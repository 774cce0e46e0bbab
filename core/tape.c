/* tape.c - the local tape on RocksDB (core/tape.h). The only file that talks to RocksDB.
 *
 * Layout: one DB at DIR/tape with column families
 *   default  "tapedeck.tape.format" -> "1"      refuses a tape written by a future layout
 *   input    symbol 0x00 offset(8, BE)    -> codec bytes without offset (TD_CODEC_NO_OFFSET)
 *   output   same, for output streams
 *   day      kind(1) symbol 0x00 day(4, BE) -> first(8, BE) last(8, BE)
 *   state    key bytes -> opaque value
 *   meta     key bytes -> opaque value; and "tapedeck.retired" 0x00 kind(1) symbol 0x00 day(4, BE)
 *            -> first(8, BE) last(8, BE): a retired day, whose stream keys are deleted and whose
 *            events are read from its sealed file (td_tape_retire_day, "retired days" below)
 * Big-endian numbers make byte order equal numeric order, so a stream iterates in offset order and
 * a symbol's keys form one contiguous range ending before symbol 0x01. A symbol never contains 0x00.
 *
 * In memory the tape keeps, per (kind, symbol) stream, the committed next offset, the last trading
 * day and that day's first offset; each is loaded on first use with a reverse seek. A batch keeps
 * its own pending copies and writes the day index entries it changed when it is committed; the
 * tape's copies change only after RocksDB accepted the write, so a failed commit leaves nothing to
 * undo (and makes the tape refuse further commits: its state on disk is then unknown).
 *
 * Threads: open/close, batches and td_tape_next_offset belong to the writer's thread (the stream
 * map is not locked; td_tape_known_symbols reads it). td_tape_read, td_tape_stream_end, td_tape_symbols, the
 * state/meta/day getters and iterators only use RocksDB's thread-safe reads and may run in any thread.
 * td_tape_last_error is locked.
 */
#include "core/tape.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <rocksdb/c.h>

#include "core/codec.h"
#include "core/seal.h"
#include "core/timeutil.h"

enum { CF_DEFAULT, CF_INPUT, CF_OUTPUT, CF_DAY, CF_STATE, CF_META, CF_HISTORY, CF_COUNT };
static const char *const cf_names[CF_COUNT] = {"default", "input", "output", "day", "state", "meta", "history"};

#define FORMAT_KEY "tapedeck.tape.format"
#define FORMAT_VALUE "1"
/* The trading-day roll the day index was built with: fixed when the tape is created. */
#define DAY_OFFSET_KEY "tapedeck.tape.day_offset_minutes"

#define STREAM_KEY_MAX (TD_SYMBOL_MAX + 1 + 8)
#define DAY_KEY_MAX (1 + TD_SYMBOL_MAX + 1 + 4)
/* retired-day markers in the meta family (see "retired days" below) */
#define RETIRED_PREFIX "tapedeck.retired"
#define RETIRED_KEY_MAX (sizeof RETIRED_PREFIX + 1 + TD_SYMBOL_MAX + 1 + 4)

/* Event times the day arithmetic accepts: 1900-01-01 .. 2200-01-01 UTC. Far outside any market
 * data, and far from int64 overflow once the day offset is added. */
#define TIME_MIN (-INT64_C(2208988800000))
#define TIME_MAX INT64_C(7258118400000)

/* Where a stream ends, as of some batch. */
typedef struct stream_pos {
    uint64_t next;      /* next offset */
    uint32_t last_day;  /* 0: the stream has no events */
    uint64_t day_first; /* first offset of last_day */
    uint32_t floor_day; /* the earliest day the next event can belong to (td_event_day) */
} stream_pos_t;

typedef struct stream {
    td_stream_kind_t kind;
    size_t symlen;
    char symbol[TD_SYMBOL_MAX + 1];
    stream_pos_t done;    /* as committed: what readers see */
    stream_pos_t tail;    /* after every sealed batch too: where the next batch starts */
    uint64_t hint_serial; /* the batch that last looked this stream up, and its slot there */
    size_t hint_slot;
} stream_t;

struct td_tape {
    rocksdb_t *db;
    rocksdb_options_t *options;
    rocksdb_column_family_handle_t *cf[CF_COUNT];
    rocksdb_readoptions_t *ropts;
    rocksdb_writeoptions_t *wopts;
    td_tape_opts_t opts;
    td_err_t sticky;       /* TD_OK, or TD_ERR_STATE after a failed commit */
    uint64_t batch_serial; /* serial of the last batch created; 0 is never used */

    stream_t **streams; /* owned, pointers stable */
    size_t n_streams, cap_streams;
    uint32_t *index;  /* open addressing: stream index + 1, 0 empty */
    size_t index_cap; /* power of two */

    pthread_mutex_t err_lock;
    char err[1024];

    char *dir; /* the data folder: sealed day files are under DIR/sealed */
    /* whether any day is retired: read at open, set by td_tape_retire_day (only the writer
     * retires, and a read-only handle sees the tape as of its open); false spares every iterator
     * and every missing offset the look-up of retired days */
    atomic_bool has_retired;
    /* the sealed day loaded last (retired offsets), shared by td_tape_read and the iterators */
    pthread_mutex_t seal_lock;
    struct sealed_ref *seal_last;
};

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

/* A verified sealed day in memory, shared (reference counted under the tape's seal_lock) by
 * td_tape_read and the iterators that read its day; the tape holds one reference to the day it
 * loaded last, so a run of reads or a second iterator over the same day does not load it again. */
typedef struct sealed_ref {
    td_seal_day_t day;
    char symbol[TD_SYMBOL_MAX + 1];
    uint32_t trading_day;
    unsigned refs;
} sealed_ref_t;

static void sealed_release(td_tape_t *tape, sealed_ref_t *ref);

/* ---------------------------------------------------------------------------------------------
 * small helpers
 */

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Records detail for td_tape_last_error and returns rc. */
static td_err_t tape_err(td_tape_t *tape, td_err_t rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static td_err_t tape_err(td_tape_t *tape, td_err_t rc, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&tape->err_lock);
    va_start(ap, fmt);
    vsnprintf(tape->err, sizeof tape->err, fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&tape->err_lock);
    return rc;
}

/* Translates a RocksDB error (taking and freeing err) into TD_ERR_STORE with detail. */
static td_err_t store_err(td_tape_t *tape, const char *what, char *err)
{
    td_err_t rc = tape_err(tape, TD_ERR_STORE, "tape: %s: %s", what, err ? err : "unknown RocksDB error");
    rocksdb_free(err);
    return rc;
}

/* Length of a valid symbol (1..TD_SYMBOL_MAX bytes, no 0x00 inside), or 0. */
static size_t symbol_len(const char *symbol)
{
    if (!symbol)
        return 0;
    size_t n = strnlen(symbol, TD_SYMBOL_MAX + 1);
    return n > TD_SYMBOL_MAX ? 0 : n;
}

static size_t stream_key(uint8_t *key, const char *symbol, size_t symlen, uint64_t offset)
{
    memcpy(key, symbol, symlen);
    key[symlen] = 0x00;
    put_be64(key + symlen + 1, offset);
    return symlen + 9;
}

static size_t day_key(uint8_t *key, td_stream_kind_t kind, const char *symbol, size_t symlen, uint32_t day)
{
    key[0] = (uint8_t)kind;
    memcpy(key + 1, symbol, symlen);
    key[1 + symlen] = 0x00;
    put_be32(key + symlen + 2, day);
    return symlen + 6;
}

static rocksdb_column_family_handle_t *stream_cf(td_tape_t *tape, td_stream_kind_t kind)
{
    return tape->cf[kind == TD_STREAM_INPUT ? CF_INPUT : kind == TD_STREAM_OUTPUT ? CF_OUTPUT : CF_HISTORY];
}

static const char *kind_name(td_stream_kind_t kind)
{
    return kind == TD_STREAM_INPUT ? "input" : kind == TD_STREAM_OUTPUT ? "output" : "history";
}

static bool kind_ok(td_stream_kind_t kind)
{
    return kind == TD_STREAM_INPUT || kind == TD_STREAM_OUTPUT || kind == TD_STREAM_HISTORY;
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

static td_err_t stream_insert(td_tape_t *tape, stream_t *stream)
{
    if (tape->n_streams == tape->cap_streams) {
        size_t cap = tape->cap_streams ? tape->cap_streams * 2 : 16;
        stream_t **p = realloc(tape->streams, cap * sizeof *p);
        if (!p)
            return tape_err(tape, TD_ERR_NOMEM, "tape: out of memory for the stream map");
        tape->streams = p;
        tape->cap_streams = cap;
    }
    if ((tape->n_streams + 1) * 2 > tape->index_cap) {
        size_t cap = tape->index_cap ? tape->index_cap * 2 : 64;
        uint32_t *idx = calloc(cap, sizeof *idx);
        if (!idx)
            return tape_err(tape, TD_ERR_NOMEM, "tape: out of memory for the stream map");
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
                                 size_t plen, bool *found, uint8_t *key_out, uint8_t *val, size_t *vlen)
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
                rc = tape_err(tape, TD_ERR_CORRUPT, "tape: key of %zu bytes under a %zu-byte stream prefix", n, plen);
                goto done;
            }
            memcpy(key_out, k, n);
            if (val) {
                const char *v = rocksdb_iter_value(it, &n);
                if (n > *vlen) {
                    rc = tape_err(tape, TD_ERR_CORRUPT, "tape: day index value of %zu bytes", n);
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
            rc = store_err(tape, "reverse seek", err);
    }
done:
    rocksdb_iter_destroy(it);
    return rc;
}

/* The floor after the stream's last event: a DAY_END mark or a DayDigest closes its day. */
static td_err_t load_floor(td_tape_t *tape, stream_t *stream)
{
    uint8_t key[STREAM_KEY_MAX];
    size_t klen = stream_key(key, stream->symbol, stream->symlen, stream->done.next - 1);
    char *err = NULL;
    size_t vlen = 0;
    char *v =
        rocksdb_get_cf(tape->db, tape->ropts, stream_cf(tape, stream->kind), (const char *)key, klen, &vlen, &err);
    if (err)
        return store_err(tape, "read", err);
    if (!v)
        return tape_err(tape, TD_ERR_CORRUPT, "tape: %s: last offset %llu missing", stream->symbol,
                        (unsigned long long)(stream->done.next - 1));
    td_event_t *ev = malloc(sizeof *ev);
    char detail[256] = "";
    td_err_t rc = ev ? td_codec_decode((const uint8_t *)v, vlen, ev, detail, sizeof detail) : TD_ERR_NOMEM;
    if (rc == TD_OK)
        stream->done.floor_day = td_event_floor_after(ev, stream->done.last_day);
    else
        rc = tape_err(tape, rc, "tape: %s: last event does not decode: %s", stream->symbol, detail);
    free(ev);
    rocksdb_free(v);
    return rc;
}

/* Finds the stream, loading its next offset and last day from the DB on first use. */
static td_err_t stream_get(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, size_t symlen, stream_t **out)
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
        return tape_err(tape, TD_ERR_NOMEM, "tape: out of memory for a stream");
    stream->kind = kind;
    stream->symlen = symlen;
    memcpy(stream->symbol, symbol, symlen);

    size_t klen = stream_key(probe, symbol, symlen, UINT64_MAX);
    rc = last_with_prefix(tape, stream_cf(tape, kind), probe, klen, symlen + 1, &found, key, NULL, NULL);
    if (rc == TD_OK && found)
        stream->done.next = get_be64(key + symlen + 1) + 1;

    if (rc == TD_OK) {
        size_t vlen = sizeof val;
        klen = day_key(probe, kind, symbol, symlen, UINT32_MAX);
        rc = last_with_prefix(tape, tape->cf[CF_DAY], probe, klen, symlen + 2, &found, key, val, &vlen);
        if (rc == TD_OK && found && vlen != 16)
            rc = tape_err(tape, TD_ERR_CORRUPT, "tape: %s: day index value of %zu bytes", stream->symbol, vlen);
        if (rc == TD_OK && found) {
            stream->done.last_day = get_be32(key + symlen + 2);
            stream->done.day_first = get_be64(val);
            if (get_be64(val + 8) + 1 != stream->done.next || stream->done.day_first > get_be64(val + 8))
                rc = tape_err(tape, TD_ERR_CORRUPT,
                              "tape: %s: day %u ends at offset %llu but the stream's next offset is %llu",
                              stream->symbol, stream->done.last_day, (unsigned long long)get_be64(val + 8),
                              (unsigned long long)stream->done.next);
        } else if (rc == TD_OK && stream->done.next > 0) {
            rc = tape_err(tape, TD_ERR_CORRUPT, "tape: %s: %llu events and no day index", stream->symbol,
                          (unsigned long long)stream->done.next);
        }
    }
    stream->done.floor_day = stream->done.last_day;
    if (rc == TD_OK && stream->done.next > 0)
        rc = load_floor(tape, stream);
    stream->tail = stream->done;
    if (rc == TD_OK)
        rc = stream_insert(tape, stream);
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

/* Sets has_retired when the meta family holds any retired-day marker. */
static td_err_t probe_retired(td_tape_t *tape, const char *path, char *errbuf, size_t errlen)
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
    pthread_mutex_init(&tape->err_lock, NULL);
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
    rc = probe_retired(tape, (const char *)path.ptr, errbuf, errlen);
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
    sealed_release(tape, tape->seal_last);
    free(tape->dir);
    pthread_mutex_destroy(&tape->seal_lock);
    pthread_mutex_destroy(&tape->err_lock);
    free(tape);
}

int td_tape_day_offset_minutes(const td_tape_t *tape)
{
    return tape->opts.day_offset_minutes;
}

void td_tape_last_error(td_tape_t *tape, char *errbuf, size_t errlen)
{
    if (!errbuf || !errlen)
        return;
    if (!tape) {
        errbuf[0] = '\0';
        return;
    }
    pthread_mutex_lock(&tape->err_lock);
    snprintf(errbuf, errlen, "%s", tape->err);
    pthread_mutex_unlock(&tape->err_lock);
}

const char *td_tape_explain(td_tape_t *tape, td_err_t rc, char *buf, size_t len)
{
    if (!buf || !len)
        return "";
    buf[0] = '\0';
    if (rc == TD_ERR_CORRUPT || rc == TD_ERR_STORE)
        td_tape_last_error(tape, buf, len);
    if (!buf[0])
        snprintf(buf, len, "%s", td_err_name(rc));
    return buf;
}

uint64_t td_tape_next_offset(td_tape_t *tape, td_stream_kind_t kind, const char *symbol)
{
    size_t symlen = symbol_len(symbol);
    stream_t *stream = NULL;
    if (!tape || !kind_ok(kind) || !symlen)
        return 0;
    /* a load failure leaves its detail in td_tape_last_error; the append that follows reports it */
    if (stream_get(tape, kind, symbol, symlen, &stream) != TD_OK)
        return 0;
    return stream->done.next;
}

td_err_t td_tape_stream_end(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, uint64_t *end)
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
    td_err_t rc = last_with_prefix(tape, stream_cf(tape, kind), probe, klen, symlen + 1, &found, key, NULL, NULL);
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
                         void *opaque)
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
            rc = tape_err(tape, TD_ERR_CORRUPT, "tape: stream key of %zu bytes without a valid symbol", n);
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
            rc = store_err(tape, "listing symbols", err);
    }
    rocksdb_iter_destroy(it);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * batches
 */

td_err_t td_tape_batch_new(td_tape_t *tape, td_tape_batch_t **out)
{
    td_tape_batch_t *batch = NULL;
    if (!out)
        return TD_ERR_INVALID;
    *out = NULL;
    if (!tape)
        return TD_ERR_INVALID;
    if (tape->opts.read_only)
        return tape_err(tape, TD_ERR_STATE, "tape: opened read-only: no batches");
    if (tape->sticky != TD_OK)
        return tape_err(tape, tape->sticky, "tape: a commit failed earlier: reopen the tape");
    batch = calloc(1, sizeof *batch);
    if (!batch)
        return tape_err(tape, TD_ERR_NOMEM, "tape: out of memory for a batch");
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
                            pending_t **out)
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
    rc = stream_get(tape, kind, symbol, symlen, &stream);
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
                return tape_err(tape, TD_ERR_NOMEM, "tape: out of memory for a batch");
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
static td_err_t append_in_day(td_tape_batch_t *batch, td_stream_kind_t kind, td_event_t *ev, uint32_t forced_day)
{
    pending_t *p = NULL;
    td_err_t rc = TD_OK;
    uint8_t key[STREAM_KEY_MAX];

    if (!batch || !ev || !kind_ok(kind) || batch->sealed)
        return TD_ERR_INVALID;
    td_tape_t *tape = batch->tape;
    size_t symlen = symbol_len(ev->symbol);
    if (!symlen)
        return tape_err(tape, TD_ERR_INVALID, "tape: append: symbol empty or longer than %d bytes", TD_SYMBOL_MAX);
    /* paper fills (ExecutionReports made by the fill model) are outputs too */
    bool fits = kind == TD_STREAM_OUTPUT    ? td_event_is_output(ev->kind) || ev->kind == TD_EV_EXEC_REPORT
                : kind == TD_STREAM_HISTORY ? ev->kind == TD_EV_BAR
                                            : !td_event_is_output(ev->kind);
    if (ev->kind == TD_EV_NONE || !fits)
        return tape_err(tape, TD_ERR_INVALID, "tape: append: a %s event does not belong in an %s stream",
                        td_event_kind_name(ev->kind), kind_name(kind));
    if (ev->kind == TD_EV_SESSION_MARK && ev->u.session.kind != TD_SESSION_NONE &&
        !td_time_valid_yyyymmdd(ev->u.session.trading_day))
        return tape_err(tape, TD_ERR_INVALID, "tape: append: %s: session mark for trading day %u, not a calendar date",
                        ev->symbol, ev->u.session.trading_day);
    if (ev->time_ms < TIME_MIN || ev->time_ms >= TIME_MAX)
        return tape_err(tape, TD_ERR_INVALID, "tape: append: %s: time %lld ms outside 1900..2200", ev->symbol,
                        (long long)ev->time_ms);

    rc = pending_get(batch, kind, ev->symbol, symlen, &p);
    if (rc != TD_OK)
        return rc;
    if (ev->ingest_ms == 0)
        ev->ingest_ms = batch->ingest_ms; /* the record of when it arrived; no digest covers it */
    td_buf_reset(&batch->val);
    rc = td_codec_encode(ev, TD_CODEC_NO_OFFSET, &batch->val);
    if (rc != TD_OK)
        return tape_err(tape, rc, "tape: append: %s: the %s event does not encode", ev->symbol,
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

td_err_t td_tape_batch_append(td_tape_batch_t *batch, td_stream_kind_t kind, td_event_t *ev)
{
    return append_in_day(batch, kind, ev, 0);
}

td_err_t td_tape_batch_append_in_day(td_tape_batch_t *batch, td_stream_kind_t kind, td_event_t *ev, uint32_t day)
{
    if (!day)
        return TD_ERR_INVALID;
    return append_in_day(batch, kind, ev, day);
}

static td_err_t put_kv(td_tape_batch_t *batch, int cf, const char *what, const char *key, const void *val, size_t len)
{
    if (!batch || !key || (!val && len) || batch->sealed)
        return TD_ERR_INVALID;
    size_t klen = strlen(key);
    if (!klen)
        return tape_err(batch->tape, TD_ERR_INVALID, "tape: %s: empty key", what);
    rocksdb_writebatch_put_cf(batch->wb, batch->tape->cf[cf], key, klen, val ? (const char *)val : "", len);
    return TD_OK;
}

td_err_t td_tape_batch_put_state(td_tape_batch_t *batch, const char *key, const void *val, size_t len)
{
    return put_kv(batch, CF_STATE, "put_state", key, val, len);
}

td_err_t td_tape_batch_put_meta(td_tape_batch_t *batch, const char *key, const void *val, size_t len)
{
    return put_kv(batch, CF_META, "put_meta", key, val, len);
}

/* The stream position a pending record ends at. */
static stream_pos_t pending_end(const pending_t *p)
{
    return (stream_pos_t){.next = p->next, .last_day = p->day, .day_first = p->day_first, .floor_day = p->floor_day};
}

td_err_t td_tape_seal(td_tape_t *tape, td_tape_batch_t *batch)
{
    td_err_t rc = TD_OK;
    if (!tape || !batch || batch->tape != tape || batch->sealed) {
        rc = TD_ERR_INVALID;
        goto fail;
    }
    if (tape->sticky != TD_OK) {
        rc = tape_err(tape, tape->sticky, "tape: a commit failed earlier: reopen the tape");
        goto fail;
    }
    /* two batches appending to one stream would both claim its next offsets */
    for (size_t i = 0; i < batch->n_pending; i++) {
        const pending_t *p = &batch->pending[i];
        if (p->stream->tail.next != p->base_next) {
            rc = tape_err(tape, TD_ERR_ORDER,
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

td_err_t td_tape_settle(td_tape_t *tape, td_tape_batch_t *batch)
{
    td_err_t rc = TD_OK;
    if (!tape || !batch || batch->tape != tape || !batch->sealed) {
        rc = TD_ERR_INVALID;
    } else if (!batch->written || batch->write_err) {
        batch->sealed = false; /* settled */
        if (batch->write_err) {
            rc = store_err(tape, "commit", batch->write_err);
            batch->write_err = NULL; /* store_err frees it */
        } else if (tape->sticky != TD_OK) {
            rc = tape->sticky; /* skipped behind an earlier failure: its message stays */
        } else {
            rc = tape_err(tape, TD_ERR_STATE, "tape: commit: the batch was sealed but never written");
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

td_err_t td_tape_commit(td_tape_t *tape, td_tape_batch_t *batch)
{
    td_err_t rc = td_tape_seal(tape, batch); /* consumes the batch when it fails */
    if (rc != TD_OK)
        return rc;
    (void)td_tape_write(batch); /* its result is the batch's, for settle */
    return td_tape_settle(tape, batch);
}

/* ---------------------------------------------------------------------------------------------
 * reading
 */

static td_err_t get_kv(td_tape_t *tape, int cf, const char *what, const char *key, td_buf_t *out)
{
    char *err = NULL;
    td_err_t rc = TD_OK;
    if (!tape || !key || !out)
        return TD_ERR_INVALID;
    td_buf_reset(out);
    rocksdb_pinnableslice_t *ps = rocksdb_get_pinned_cf(tape->db, tape->ropts, tape->cf[cf], key, strlen(key), &err);
    if (err)
        return store_err(tape, what, err);
    if (!ps)
        return TD_ERR_NOT_FOUND;
    size_t n;
    const char *v = rocksdb_pinnableslice_value(ps, &n);
    rc = td_buf_append(out, v, n);
    rocksdb_pinnableslice_destroy(ps);
    return rc;
}

td_err_t td_tape_get_state(td_tape_t *tape, const char *key, td_buf_t *out)
{
    return get_kv(tape, CF_STATE, "get_state", key, out);
}

td_err_t td_tape_get_meta(td_tape_t *tape, const char *key, td_buf_t *out)
{
    return get_kv(tape, CF_META, "get_meta", key, out);
}

td_err_t td_tape_state_keys(td_tape_t *tape, const char *prefix, td_err_t (*cb)(void *opaque, const char *key),
                            void *opaque)
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
            rc = store_err(tape, "listing state keys", err);
    }
    rocksdb_iter_destroy(it);
    td_buf_fini(&key);
    return rc;
}

/* Decodes a stored value into ev for (symbol, offset), with the detail of any failure. */
static td_err_t decode_stored(td_tape_t *tape, const char *symbol, uint64_t offset, const char *v, size_t n,
                              td_event_t *ev)
{
    char detail[256];
    td_err_t rc = td_codec_decode_ex((const uint8_t *)v, n, TD_CODEC_TRUSTED, ev, detail, sizeof detail);
    if (rc != TD_OK)
        return tape_err(tape, TD_ERR_CORRUPT, "tape: %s@%llu: %s", symbol, (unsigned long long)offset, detail);
    if (strcmp(ev->symbol, symbol) != 0)
        return tape_err(tape, TD_ERR_CORRUPT, "tape: %s@%llu: the stored event is for symbol %s", symbol,
                        (unsigned long long)offset, ev->symbol);
    ev->offset = offset;
    return TD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * retired days: raw events replaced by the day's sealed file (td_tape_retire_day)
 *
 * A retired day of a stream has a marker in the meta column family,
 *   "tapedeck.retired" 0x00 kind(1) symbol 0x00 day(4, BE) -> first(8, BE) last(8, BE),
 * written in the same WriteBatch that deletes the day's stream keys. Readers list a stream's markers
 * and read offsets inside them from DIR/sealed/<SYMBOL>/<YYYYMMDD>.tdseal, verified on every load.
 * String keys of td_tape_batch_put_meta never contain 0x00, so they cannot collide with these.
 */

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
static td_err_t retired_list(td_tape_t *tape, const rocksdb_readoptions_t *ropts, td_stream_kind_t kind,
                             const char *symbol, size_t symlen, td_day_range_t **out, size_t *n_out)
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
            rc = tape_err(tape, TD_ERR_CORRUPT, "tape: %s: a retired-day record of %zu/%zu bytes", symbol, kn, vn);
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            td_day_range_t *p = realloc(v, cap * sizeof *p);
            if (!p) {
                rc = tape_err(tape, TD_ERR_NOMEM, "tape: out of memory for the retired days");
                break;
            }
            v = p;
        }
        td_day_range_t *r = &v[n++];
        r->trading_day = get_be32((const uint8_t *)k + plen);
        r->first_offset = get_be64((const uint8_t *)val);
        r->last_offset = get_be64((const uint8_t *)val + 8);
        if (r->last_offset < r->first_offset)
            rc = tape_err(tape, TD_ERR_CORRUPT, "tape: %s day %u: retired range ends before it starts", symbol,
                          r->trading_day);
        r->count = r->last_offset - r->first_offset + 1;
    }
    if (rc == TD_OK) {
        rocksdb_iter_get_error(it, &err);
        if (err)
            rc = store_err(tape, "listing retired days", err);
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
                             const td_seal_day_t *sealed)
{
    char path[4200];
    if (td_seal_path(path, sizeof path, tape->dir, symbol, range->trading_day) != TD_OK)
        return tape_err(tape, TD_ERR_INVALID, "tape: %s: the sealed file's path is too long", tape->dir);
    const td_seal_header_t *h = &sealed->header;
    const td_day_range_t *have = kind == TD_STREAM_OUTPUT ? &h->outputs : &h->inputs;
    if (strcmp(h->symbol, symbol) != 0 || h->trading_day != range->trading_day ||
        have->first_offset != range->first_offset || have->last_offset != range->last_offset ||
        have->count != range->count)
        return tape_err(tape, TD_ERR_CORRUPT,
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
                            td_seal_day_t *sealed)
{
    char path[4200], detail[1024] = "";
    memset(sealed, 0, sizeof *sealed);
    if (td_seal_path(path, sizeof path, tape->dir, symbol, range->trading_day) != TD_OK)
        return tape_err(tape, TD_ERR_INVALID, "tape: %s: the sealed file's path is too long", tape->dir);
    td_err_t rc = td_seal_day_load(path, sealed, detail, sizeof detail);
    if (rc == TD_ERR_NOT_FOUND)
        return tape_err(tape, TD_ERR_CORRUPT,
                        "tape: %s day %u: its raw events were removed by retention and its sealed file %s is missing",
                        symbol, range->trading_day, path);
    if (rc != TD_OK)
        return tape_err(tape, rc, "tape: %s day %u (raw events removed by retention): %s", symbol, range->trading_day,
                        detail);
    return sealed_check(tape, kind, symbol, range, sealed);
}

static void sealed_release(td_tape_t *tape, sealed_ref_t *ref)
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
 * tape's last). The caller releases it with sealed_release. Any thread. */
static td_err_t sealed_acquire(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, const td_day_range_t *range,
                               sealed_ref_t **out)
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
        rc = sealed_check(tape, kind, symbol, range, &ref->day);
        if (rc != TD_OK)
            sealed_release(tape, ref);
        else
            *out = ref;
        return rc;
    }
    /* loaded outside the lock: two threads may load one day at once, which costs time, not sense */
    ref = calloc(1, sizeof *ref);
    if (!ref)
        return tape_err(tape, TD_ERR_NOMEM, "tape: out of memory for a sealed day");
    rc = sealed_load(tape, kind, symbol, range, &ref->day);
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
    sealed_release(tape, old);
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
static td_err_t read_retired(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, size_t symlen, uint64_t offset,
                             td_event_t *ev)
{
    if (kind == TD_STREAM_HISTORY || !atomic_load(&tape->has_retired))
        return TD_ERR_NOT_FOUND;
    td_day_range_t *v = NULL;
    size_t n = 0;
    td_err_t rc = retired_list(tape, tape->ropts, kind, symbol, symlen, &v, &n);
    const td_day_range_t *range = rc == TD_OK ? range_holding(v, n, offset) : NULL;
    if (rc == TD_OK && !range)
        rc = TD_ERR_NOT_FOUND;
    sealed_ref_t *ref = NULL;
    if (rc == TD_OK)
        rc = sealed_acquire(tape, kind, symbol, range, &ref);
    td_slice_t bytes = {NULL, 0};
    if (rc == TD_OK && td_seal_day_get(&ref->day, kind == TD_STREAM_OUTPUT, offset, &bytes) != TD_OK)
        rc = tape_err(tape, TD_ERR_CORRUPT, "tape: %s@%llu: not in the sealed file of day %u", symbol,
                      (unsigned long long)offset, range->trading_day);
    if (rc == TD_OK)
        rc = decode_stored(tape, symbol, offset, (const char *)bytes.ptr, bytes.len, ev);
    sealed_release(tape, ref);
    free(v);
    return rc;
}

td_err_t td_tape_read(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, uint64_t offset, td_event_t *ev)
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
        return store_err(tape, "read", err);
    if (!ps)
        return read_retired(tape, kind, symbol, symlen, offset, ev);
    size_t n;
    const char *v = rocksdb_pinnableslice_value(ps, &n);
    td_err_t rc = decode_stored(tape, symbol, offset, v, n, ev);
    rocksdb_pinnableslice_destroy(ps);
    return rc;
}

td_err_t td_tape_iter_new(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, uint64_t from_offset,
                          td_tape_iter_t **out)
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
        return tape_err(tape, TD_ERR_NOMEM, "tape: out of memory for an iterator");
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
        td_err_t rc = retired_list(tape, meta, kind, symbol, symlen, &iter->retired, &iter->n_retired);
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

/* decode_stored, or for a kind outside iter->decode_kinds only the kind and the offset. */
static td_err_t decode_iter(td_tape_iter_t *iter, uint64_t offset, const char *v, size_t n, td_event_t *ev)
{
    if (iter->decode_kinds) {
        td_event_kind_t kind;
        if (td_codec_peek_kind((const uint8_t *)v, n, &kind) != TD_OK)
            return tape_err(iter->tape, TD_ERR_CORRUPT, "tape: %s@%llu: the stored bytes name no event kind",
                            iter->symbol, (unsigned long long)offset);
        if (!(iter->decode_kinds & TD_TAPE_KIND_BIT(kind))) {
            ev->kind = kind;
            ev->offset = offset;
            return TD_OK;
        }
    }
    return decode_stored(iter->tape, iter->symbol, offset, v, n, ev);
}

/* The event at iter->expect, inside the retired day `range`, from the day's sealed file. */
static td_err_t next_retired(td_tape_iter_t *iter, const td_day_range_t *range, td_event_t *ev)
{
    td_tape_t *tape = iter->tape;
    td_err_t rc = TD_OK;
    if (!iter->sealed || iter->sealed->trading_day != range->trading_day) {
        sealed_release(tape, iter->sealed);
        iter->sealed = NULL;
        rc = sealed_acquire(tape, iter->kind, iter->symbol, range, &iter->sealed);
        if (rc != TD_OK)
            return rc;
    }
    td_slice_t bytes = {NULL, 0};
    if (td_seal_day_get(&iter->sealed->day, iter->kind == TD_STREAM_OUTPUT, iter->expect, &bytes) != TD_OK)
        return tape_err(tape, TD_ERR_CORRUPT, "tape: %s@%llu: not in the sealed file of day %u", iter->symbol,
                        (unsigned long long)iter->expect, range->trading_day);
    rc = decode_iter(iter, iter->expect, (const char *)bytes.ptr, bytes.len, ev);
    if (rc == TD_OK) {
        iter->raw = bytes;
        iter->expect++;
        iter->reseek = true; /* RocksDB's iterator does not know about this event */
    }
    return rc;
}

td_err_t td_tape_iter_next(td_tape_iter_t *iter, td_event_t *ev)
{
    char *err = NULL;
    td_err_t rc = TD_OK;
    if (!iter || !ev)
        return TD_ERR_INVALID;
    if (iter->final != TD_OK)
        return iter->final;
    td_tape_t *tape = iter->tape;
    iter->raw = (td_slice_t){NULL, 0};
    /* a retired day: its events come from its sealed file */
    while (iter->next_retired < iter->n_retired && iter->retired[iter->next_retired].last_offset < iter->expect)
        iter->next_retired++;
    if (iter->next_retired < iter->n_retired && iter->retired[iter->next_retired].first_offset <= iter->expect) {
        rc = next_retired(iter, &iter->retired[iter->next_retired], ev);
        goto done;
    }
    if (iter->reseek) {
        sealed_release(iter->tape, iter->sealed); /* past the retired days in front of expect */
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
        rc = err ? store_err(tape, "iterate", err) : TD_ERR_END;
        goto done;
    }
    size_t n, vn;
    const char *k = rocksdb_iter_key(iter->it, &n);
    if (n != iter->symlen + 9 || memcmp(k, iter->symbol, iter->symlen) != 0 || k[iter->symlen] != 0x00) {
        rc = tape_err(tape, TD_ERR_CORRUPT, "tape: %s: a key of %zu bytes inside the stream", iter->symbol, n);
        goto done;
    }
    uint64_t offset = get_be64((const uint8_t *)k + iter->symlen + 1);
    if (offset != iter->expect) {
        rc = tape_err(tape, TD_ERR_CORRUPT, "tape: %s: offset gap: expected %llu, found %llu", iter->symbol,
                      (unsigned long long)iter->expect, (unsigned long long)offset);
        goto done;
    }
    const char *v = rocksdb_iter_value(iter->it, &vn);
    rc = decode_iter(iter, offset, v, vn, ev);
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
    sealed_release(iter->tape, iter->sealed);
    free(iter->retired);
    rocksdb_iter_destroy(iter->it);
    rocksdb_readoptions_destroy(iter->ropts);
    rocksdb_release_snapshot(iter->tape->db, iter->snap);
    free(iter);
}

/* ---------------------------------------------------------------------------------------------
 * the day index
 */

static td_err_t day_value(td_tape_t *tape, const char *symbol, uint32_t day, const char *v, size_t n,
                          td_day_range_t *range)
{
    if (n != 16)
        return tape_err(tape, TD_ERR_CORRUPT, "tape: %s day %u: index value of %zu bytes", symbol, day, n);
    range->trading_day = day;
    range->first_offset = get_be64((const uint8_t *)v);
    range->last_offset = get_be64((const uint8_t *)v + 8);
    if (range->last_offset < range->first_offset)
        return tape_err(tape, TD_ERR_CORRUPT, "tape: %s day %u: last offset before the first", symbol, day);
    range->count = range->last_offset - range->first_offset + 1;
    return TD_OK;
}

td_err_t td_tape_day_get(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, uint32_t trading_day,
                         td_day_range_t *range)
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
        return store_err(tape, "day_get", err);
    if (!ps)
        return TD_ERR_NOT_FOUND;
    size_t n;
    const char *v = rocksdb_pinnableslice_value(ps, &n);
    td_err_t rc = day_value(tape, symbol, trading_day, v, n, range);
    rocksdb_pinnableslice_destroy(ps);
    return rc;
}

td_err_t td_tape_days(td_tape_t *tape, td_stream_kind_t kind, const char *symbol,
                      td_err_t (*cb)(void *opaque, const td_day_range_t *range), void *opaque)
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
            rc = tape_err(tape, TD_ERR_CORRUPT, "tape: %s: day key of %zu bytes", symbol, n);
            break;
        }
        const char *v = rocksdb_iter_value(it, &vn);
        td_day_range_t range;
        rc = day_value(tape, symbol, get_be32((const uint8_t *)k + plen), v, vn, &range);
        if (rc == TD_OK)
            rc = cb(opaque, &range);
    }
    if (rc == TD_OK) {
        rocksdb_iter_get_error(it, &err);
        if (err)
            rc = store_err(tape, "listing days", err);
    }
    rocksdb_iter_destroy(it);
    return rc;
}

td_err_t td_symbol_list_add(td_symbol_list_t *list, const char *symbol)
{
    for (size_t i = 0; i < list->len; i++)
        if (strcmp(list->names[i], symbol) == 0)
            return TD_OK;
    void *p = realloc(list->names, (list->len + 1) * sizeof *list->names);
    if (!p)
        return TD_ERR_NOMEM;
    list->names = p;
    snprintf(list->names[list->len++], TD_SYMBOL_MAX + 1, "%s", symbol);
    return TD_OK;
}

static td_err_t symbol_list_cb(void *opaque, const char *symbol)
{
    return td_symbol_list_add(opaque, symbol);
}

td_err_t td_tape_symbol_list(td_tape_t *tape, td_stream_kind_t kind, td_symbol_list_t *list)
{
    return td_tape_symbols(tape, kind, symbol_list_cb, list);
}

void td_symbol_list_fini(td_symbol_list_t *list)
{
    free(list->names);
    list->names = NULL;
    list->len = 0;
}

/* ---------------------------------------------------------------------------------------------
 * retention
 */

/* TD_OK with *found when the marker of (kind, symbol, day) exists. */
static td_err_t retired_get(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, size_t symlen, uint32_t day,
                            bool *found)
{
    uint8_t key[RETIRED_KEY_MAX];
    char *err = NULL;
    size_t klen = retired_key(key, kind, symbol, symlen, day);
    rocksdb_pinnableslice_t *ps =
        rocksdb_get_pinned_cf(tape->db, tape->ropts, tape->cf[CF_META], (const char *)key, klen, &err);
    if (err)
        return store_err(tape, "reading a retired-day record", err);
    *found = ps != NULL;
    rocksdb_pinnableslice_destroy(ps);
    return TD_OK;
}

/* Checks that the tape's events of `range` are byte for byte the sealed file's. */
static td_err_t same_bytes(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, const td_day_range_t *range,
                           const td_seal_day_t *sealed, td_event_t *ev)
{
    td_tape_iter_t *iter = NULL;
    td_err_t rc = td_tape_iter_new(tape, kind, symbol, range->first_offset, &iter);
    for (uint64_t i = 0; rc == TD_OK && i < range->count; i++) {
        uint64_t offset = range->first_offset + i;
        rc = td_tape_iter_next(iter, ev);
        if (rc == TD_ERR_END)
            rc = tape_err(tape, TD_ERR_CORRUPT, "tape: %s: the %s stream ends at offset %llu, inside day %u", symbol,
                          kind_name(kind), (unsigned long long)offset, range->trading_day);
        if (rc != TD_OK)
            break;
        td_slice_t want = {NULL, 0}, have = td_tape_iter_raw(iter);
        if (td_seal_day_get(sealed, kind == TD_STREAM_OUTPUT, offset, &want) != TD_OK || want.len != have.len ||
            memcmp(want.ptr, have.ptr, have.len) != 0)
            rc = tape_err(tape, TD_ERR_MISMATCH,
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
        rc = td_tape_day_get(tape, (td_stream_kind_t)k, symbol, trading_day, &range[k]);
        if (rc == TD_ERR_NOT_FOUND && k == 1) {
            has[1] = false;
            rc = TD_OK;
        } else if (rc == TD_ERR_NOT_FOUND) {
            rc = tape_err(tape, TD_ERR_NOT_FOUND, "tape: %s has no inputs on day %u", symbol, trading_day);
        }
        if (rc == TD_OK && has[k])
            rc = retired_get(tape, (td_stream_kind_t)k, symbol, symlen, trading_day, &done[k]);
    }
    if (rc == TD_OK && done[0] && (done[1] || !has[1]))
        goto done; /* retired by an earlier run */
    if (rc == TD_OK && (done[0] || done[1]))
        rc = tape_err(tape, TD_ERR_CORRUPT, "tape: %s day %u: retired for one stream only", symbol, trading_day);
    /* a stream's newest day keeps its events: the next offset and the day roll are read from them */
    for (int k = 0; rc == TD_OK && k < 2; k++) {
        stream_t *stream = NULL;
        if (has[k])
            rc = stream_get(tape, (td_stream_kind_t)k, symbol, symlen, &stream);
        if (rc == TD_OK && has[k] && stream->done.last_day <= trading_day)
            rc = tape_err(tape, TD_ERR_STATE, "tape: %s day %u is the newest day of its %s stream: it keeps its events",
                          symbol, trading_day, kind_name((td_stream_kind_t)k));
    }
    /* the sealed file: verified (checksums, records) and equal to the tape, byte for byte */
    if (rc == TD_OK)
        rc = sealed_load(tape, TD_STREAM_INPUT, symbol, &range[0], &sealed);
    if (rc == TD_OK) {
        const td_day_range_t *o = &sealed.header.outputs;
        bool same = has[1] ? o->count == range[1].count && o->first_offset == range[1].first_offset &&
                                 o->last_offset == range[1].last_offset
                           : o->count == 0;
        if (!same)
            rc = tape_err(tape, TD_ERR_MISMATCH, "tape: %s day %u: the sealed file's outputs are not the tape's",
                          symbol, trading_day);
    }
    if (rc == TD_OK && !(ev = malloc(sizeof *ev)))
        rc = tape_err(tape, TD_ERR_NOMEM, "tape: out of memory");
    for (int k = 0; rc == TD_OK && k < 2; k++)
        if (has[k])
            rc = same_bytes(tape, (td_stream_kind_t)k, symbol, &range[k], &sealed, ev);

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
            rc = store_err(tape, "retire", err);
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
    if (rc != TD_OK) {
        char detail[1024];
        td_tape_last_error(tape, detail, sizeof detail);
        td_err_set(errbuf, errlen, rc, "%s", detail);
    }
    return rc;
}

td_err_t td_tape_day_retired(td_tape_t *tape, const char *symbol, uint32_t trading_day, bool *retired)
{
    size_t symlen = symbol_len(symbol);
    if (!tape || !symlen || !retired)
        return TD_ERR_INVALID;
    return retired_get(tape, TD_STREAM_INPUT, symbol, symlen, trading_day, retired);
}
