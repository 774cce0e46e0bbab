/* tape_internal.h - what the files of the local tape share (core/tape*.c); not for other modules.
 *
 * Layout: one DB at DIR/tape with column families
 *   default  "tapedeck.tape.format" -> "1"      refuses a tape written by a future layout
 *   input    symbol 0x00 offset(8, BE)    -> codec bytes without offset (TD_CODEC_NO_OFFSET)
 *   output   same, for output streams
 *   day      kind(1) symbol 0x00 day(4, BE) -> first(8, BE) last(8, BE)
 *   state    key bytes -> opaque value
 *   meta     key bytes -> opaque value; and "tapedeck.retired" 0x00 kind(1) symbol 0x00 day(4, BE)
 *            -> first(8, BE) last(8, BE): a retired day, whose stream keys are deleted and whose
 *            events are read from its sealed file (td_tape_retire_day, tape_sealed.c)
 * Big-endian numbers make byte order equal numeric order, so a stream iterates in offset order and
 * a symbol's keys form one contiguous range ending before symbol 0x01. A symbol never contains 0x00.
 *
 * In memory the tape keeps, per (kind, symbol) stream, the committed next offset, the last trading
 * day and that day's first offset; each is loaded on first use with a reverse seek. A batch keeps
 * its own pending copies and writes the day index entries it changed when it is committed; the
 * tape's copies change only after RocksDB accepted the write, so a failed commit leaves nothing to
 * undo (and makes the tape refuse further commits: its state on disk is then unknown).
 *
 * The tape's files, one job each:
 *   tape.c         open/close, the stream map (next offsets, day roll), stream listings, errors
 *   tape_batch.c   batches: appends, state/meta puts, seal/write/settle/commit
 *   tape_kv.c      the state store and meta space: reads and key listings
 *   tape_iter.c    reading events: td_tape_read and iterators
 *   tape_days.c    the trading-day index
 *   tape_sealed.c  retired days: the markers, the sealed-file cache, retirement
 * Only these files talk to RocksDB for the tape. The small static inline helpers below are
 * file-local in each file that includes this header, so they keep the short names of statics.
 */
#ifndef TD_TAPE_INTERNAL_H
#define TD_TAPE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rocksdb/c.h>

#include "core/seal.h"
#include "core/tape.h"

enum { CF_DEFAULT, CF_INPUT, CF_OUTPUT, CF_DAY, CF_STATE, CF_META, CF_HISTORY, CF_COUNT };

#define STREAM_KEY_MAX (TD_SYMBOL_MAX + 1 + 8)
#define DAY_KEY_MAX (1 + TD_SYMBOL_MAX + 1 + 4)
/* retired-day markers in the meta family (tape_sealed.c) */
#define RETIRED_PREFIX "tapedeck.retired"
#define RETIRED_KEY_MAX (sizeof RETIRED_PREFIX + 1 + TD_SYMBOL_MAX + 1 + 4)

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

    char *dir; /* the data folder: sealed day files are under DIR/sealed */
    /* whether any day is retired: read at open, set by td_tape_retire_day (only the writer
     * retires, and a read-only handle sees the tape as of its open); false spares every iterator
     * and every missing offset the look-up of retired days */
    atomic_bool has_retired;
    /* the sealed day loaded last (retired offsets), shared by td_tape_read and the iterators */
    pthread_mutex_t seal_lock;
    struct sealed_ref *seal_last;
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

static inline void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Length of a valid symbol (1..TD_SYMBOL_MAX bytes, no 0x00 inside), or 0. */
static inline size_t symbol_len(const char *symbol)
{
    if (!symbol)
        return 0;
    size_t n = strnlen(symbol, TD_SYMBOL_MAX + 1);
    return n > TD_SYMBOL_MAX ? 0 : n;
}

static inline size_t stream_key(uint8_t *key, const char *symbol, size_t symlen, uint64_t offset)
{
    memcpy(key, symbol, symlen);
    key[symlen] = 0x00;
    put_be64(key + symlen + 1, offset);
    return symlen + 9;
}

static inline size_t day_key(uint8_t *key, td_stream_kind_t kind, const char *symbol, size_t symlen, uint32_t day)
{
    key[0] = (uint8_t)kind;
    memcpy(key + 1, symbol, symlen);
    key[1 + symlen] = 0x00;
    put_be32(key + symlen + 2, day);
    return symlen + 6;
}

static inline rocksdb_column_family_handle_t *stream_cf(td_tape_t *tape, td_stream_kind_t kind)
{
    return tape->cf[kind == TD_STREAM_INPUT ? CF_INPUT : kind == TD_STREAM_OUTPUT ? CF_OUTPUT : CF_HISTORY];
}

static inline const char *kind_name(td_stream_kind_t kind)
{
    return kind == TD_STREAM_INPUT ? "input" : kind == TD_STREAM_OUTPUT ? "output" : "history";
}

static inline bool kind_ok(td_stream_kind_t kind)
{
    return kind == TD_STREAM_INPUT || kind == TD_STREAM_OUTPUT || kind == TD_STREAM_HISTORY;
}

/* Translates a RocksDB error (taking and freeing err) into TD_ERR_STORE with detail in errbuf. */
td_err_t td_tape__store_err(char *errbuf, size_t errlen, const char *what, char *err) TD_WUR;

/* tape.c: finds the stream, loading its next offset and last day from the DB on first use.
 * The writer's thread. */
td_err_t td_tape__stream_get(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, size_t symlen, stream_t **out,
                             char *errbuf, size_t errlen) TD_WUR;

/* tape_iter.c: decodes a stored value into ev for (symbol, offset), with the detail of any failure. */
td_err_t td_tape__decode_stored(const char *symbol, uint64_t offset, const char *v, size_t n, td_event_t *ev,
                                char *errbuf, size_t errlen) TD_WUR;

/* tape_sealed.c: sets tape->has_retired when the meta family holds any retired-day marker (open). */
td_err_t td_tape__probe_retired(td_tape_t *tape, const char *path, char *errbuf, size_t errlen) TD_WUR;
/* tape_sealed.c: the retired days of (kind, symbol) as ropts sees the tape, increasing, into a heap
 * array *out (NULL when there are none). Any thread. */
td_err_t td_tape__retired_list(td_tape_t *tape, const rocksdb_readoptions_t *ropts, td_stream_kind_t kind,
                               const char *symbol, size_t symlen, td_day_range_t **out, size_t *n_out, char *errbuf,
                               size_t errlen) TD_WUR;
/* tape_sealed.c: a reference to the sealed day holding `range` of the kind's stream, from the
 * tape's cache or loaded and verified now; released with td_tape__sealed_release. Any thread. */
td_err_t td_tape__sealed_acquire(td_tape_t *tape, td_stream_kind_t kind, const char *symbol,
                                 const td_day_range_t *range, sealed_ref_t **out, char *errbuf, size_t errlen) TD_WUR;
/* tape_sealed.c: drops a reference (NULL is a no-op); the last one frees the day. Any thread. */
void td_tape__sealed_release(td_tape_t *tape, sealed_ref_t *ref);
/* tape_sealed.c: td_tape_read of an offset RocksDB does not hold: from its sealed file when its
 * day is retired, else TD_ERR_NOT_FOUND. Any thread. */
td_err_t td_tape__read_retired(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, size_t symlen,
                               uint64_t offset, td_event_t *ev, char *errbuf, size_t errlen) TD_WUR;

#endif
