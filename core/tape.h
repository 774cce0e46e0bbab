/* tape.h - the local tape: tapedeck's durable, ordered record of every event, on RocksDB.
 *
 * One RocksDB database per data directory (DIR/tape) holds:
 *   - input streams, one per symbol: every Tick, SymbolSpec, ExecutionReport, ParamsChanged, Clock,
 *     SessionMark, at offsets 0, 1, 2, ... without gaps;
 *   - output streams, one per symbol: what the processor host produced, at their own offsets;
 *   - the trading-day index: for (stream kind, symbol, trading day) the first and last offset;
 *     a day's range is contiguous because an event belongs to max(its own day, the stream's last
 *     day) - a late event stays in the day that was open when it arrived;
 *   - the state store: opaque values under string keys (processor state, consumed offsets,
 *     day-start snapshots) and meta records (import registry).
 * Retention (td_tape_retire_day) may replace the raw events of an old, sealed trading day by its
 * sealed file (core/seal.h): reads of those offsets (td_tape_read, iterators) then come from the
 * file, verified when loaded, with the same offsets and stored bytes; the day index, the offsets
 * and every later offset stay as they were.
 * Offsets are assigned by the tape, in append order, and written into the appended events.
 * Everything put into one batch becomes visible and durable together or not at all (one RocksDB
 * WriteBatch): a processor's new state, its consumed input offset and its outputs are one commit.
 *
 * Threads: one writer per tape (RocksDB's lock file refuses a second process); readers (iterators)
 * may run in the writer's thread or others. Offsets appended in a batch are visible to readers only
 * after td_tape_commit (or td_tape_settle). Only td_tape_write may run on another thread than the
 * writer's.
 *
 * Errors: a function returns its td_err_t and writes the detail of a failure (RocksDB's message,
 * the corrupt key, the offset gap, the damaged sealed file) into the caller's errbuf/errlen (NULL,
 * 0: no detail wanted). A getter's TD_ERR_NOT_FOUND and an iterator's TD_ERR_END are answers, not
 * failures: they leave errbuf as it was. td_tape_write leaves its detail with the batch, for
 * td_tape_settle.
 */
#ifndef TD_TAPE_H
#define TD_TAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/event.h"

/* INPUT and OUTPUT streams are named by symbol; HISTORY streams hold imported bars (Bar events
 * only), named "<SYMBOL>@<TIMEFRAME>" ("EURUSD@H1"), for research over long histories. */
typedef enum td_stream_kind { TD_STREAM_INPUT = 0, TD_STREAM_OUTPUT = 1, TD_STREAM_HISTORY = 2 } td_stream_kind_t;

typedef enum td_sync_policy {
    TD_SYNC_NONE = 0,   /* RocksDB WAL without fsync: survives a process crash, not a power loss */
    TD_SYNC_COMMIT = 1, /* fsync the WAL on every commit: survives a power loss */
} td_sync_policy_t;

typedef struct td_tape_opts {
    td_sync_policy_t sync;
    int day_offset_minutes; /* trading-day roll, see core/timeutil.h */
    bool read_only;         /* open without the writer lock (replay, dump, bars next to a writer) */
} td_tape_opts_t;

typedef struct td_tape td_tape_t;
typedef struct td_tape_batch td_tape_batch_t;
typedef struct td_tape_iter td_tape_iter_t;

typedef struct td_day_range {
    uint32_t trading_day; /* YYYYMMDD */
    uint64_t first_offset;
    uint64_t last_offset; /* inclusive */
    uint64_t count;       /* last - first + 1 */
} td_day_range_t;

/* Opens (creating if needed, unless read_only) the tape under dir. */
td_err_t td_tape_open(const char *dir, const td_tape_opts_t *opts, td_tape_t **tape, char *errbuf,
                      size_t errlen) TD_WUR;
/* Closes and frees; NULL is a no-op. Uncommitted batches and iterators must be destroyed first. */
void td_tape_close(td_tape_t *tape);

/* The next offset an append to (kind, symbol) would get; 0 for a stream that does not exist. */
uint64_t td_tape_next_offset(td_tape_t *tape, td_stream_kind_t kind, const char *symbol);

/* The same as committed in the database now, read with a reverse seek instead of the writer's
 * stream map: for readers in other threads (the sink inside tapedeck run). *end = 0 for a stream
 * that does not exist. Any thread. */
td_err_t td_tape_stream_end(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, uint64_t *end, char *errbuf,
                            size_t errlen) TD_WUR;

/* Lists the symbols that have a stream of `kind`, in byte order of the name. The callback's
 * non-TD_OK return stops the listing with that code. Any thread. */
td_err_t td_tape_symbols(td_tape_t *tape, td_stream_kind_t kind, td_err_t (*cb)(void *opaque, const char *symbol),
                         void *opaque, char *errbuf, size_t errlen) TD_WUR;

/* Lists the non-empty streams of `kind` this handle has appended to or looked up since it opened
 * (td_tape_next_offset loads one), in the order first seen - from memory, without reading RocksDB.
 * For the writer, after one td_tape_symbols pass that looked every stream up, this is every stream
 * of the tape: only the writer adds streams. The writer's thread only (the stream map is its own). */
td_err_t td_tape_known_symbols(td_tape_t *tape, td_stream_kind_t kind, td_err_t (*cb)(void *opaque, const char *symbol),
                               void *opaque) TD_WUR;

/* A list of stream names in the order added, each once (heap; td_symbol_list_fini frees it). */
typedef struct td_symbol_list {
    char (*names)[TD_SYMBOL_MAX + 1];
    size_t len;
} td_symbol_list_t;

/* Appends symbol unless the list already holds it. TD_ERR_INVALID (detail in errbuf) for a symbol
 * that is empty or longer than TD_SYMBOL_MAX bytes; TD_ERR_NOMEM. */
td_err_t td_symbol_list_add(td_symbol_list_t *list, const char *symbol, char *errbuf, size_t errlen) TD_WUR;
/* Appends the symbols that have a stream of `kind` (byte order), skipping those already listed. */
td_err_t td_tape_symbol_list(td_tape_t *tape, td_stream_kind_t kind, td_symbol_list_t *list, char *errbuf,
                             size_t errlen) TD_WUR;
void td_symbol_list_fini(td_symbol_list_t *list);

/* --- writing: batches --- */
td_err_t td_tape_batch_new(td_tape_t *tape, td_tape_batch_t **batch, char *errbuf, size_t errlen) TD_WUR;
void td_tape_batch_destroy(td_tape_batch_t *batch);
/* Encodes ev, gives it the stream's next offset (written to ev->offset), its ingest time (the wall
 * clock at td_tape_batch_new, when ev->ingest_ms is 0; never part of a digest) and updates the day index;
 * nothing is visible until commit. Input events must not go back in time by more than the stream's
 * day (the day index uses max(day, last day)); times are not otherwise checked here. */
td_err_t td_tape_batch_append(td_tape_batch_t *batch, td_stream_kind_t kind, td_event_t *ev, char *errbuf,
                              size_t errlen) TD_WUR;
/* The same with the trading day given: the processor host places each output in the day of the
 * input that produced it (an output's time is its input's, and a DAY_END mark's time is already
 * the next day's first instant). A day before the stream's current day is taken as the current one. */
td_err_t td_tape_batch_append_in_day(td_tape_batch_t *batch, td_stream_kind_t kind, td_event_t *ev,
                                     uint32_t trading_day, char *errbuf, size_t errlen) TD_WUR;
/* Puts an opaque value under key in the state store / meta space, in the same batch. */
td_err_t td_tape_batch_put_state(td_tape_batch_t *batch, const char *key, const void *val, size_t len, char *errbuf,
                                 size_t errlen) TD_WUR;
td_err_t td_tape_batch_put_meta(td_tape_batch_t *batch, const char *key, const void *val, size_t len, char *errbuf,
                                size_t errlen) TD_WUR;
/* Number of events appended to the batch so far. */
size_t td_tape_batch_events(const td_tape_batch_t *batch);
/* Writes the batch atomically (sync per the tape's policy). On failure nothing of it is visible,
 * the tape's next offsets are as before, and the tape refuses further commits (sticky
 * TD_ERR_STATE) - reopen it. The batch is consumed (destroyed) either way.
 * It is td_tape_seal, td_tape_write and td_tape_settle in a row. */
td_err_t td_tape_commit(td_tape_t *tape, td_tape_batch_t *batch, char *errbuf, size_t errlen) TD_WUR;

/* The three halves of a commit, for a writer that builds the next batch while RocksDB writes
 * this one (core/tape_writer.h):
 *   td_tape_seal (the tape's thread) checks the batch as td_tape_commit does and hands its
 *     offsets on: a batch begun after it continues where it ends. Nothing more can be added to it,
 *     and nothing of it is visible yet (td_tape_next_offset does not count it). On failure the
 *     batch is consumed and nothing changed.
 *   td_tape_write (any ONE thread at a time, sealed batches in seal order) is the RocksDB write and
 *     touches nothing else of the tape. Its result stays with the batch.
 *   td_tape_settle (the tape's thread, in seal order) consumes the batch: written, its offsets
 *     count as committed; not written or failed, the tape refuses further commits (sticky
 *     TD_ERR_STATE), as the sealed batches after it continue its offsets. So does destroying a
 *     sealed batch that was not settled. */
td_err_t td_tape_seal(td_tape_t *tape, td_tape_batch_t *batch, char *errbuf, size_t errlen) TD_WUR;
td_err_t td_tape_write(td_tape_batch_t *batch);
td_err_t td_tape_settle(td_tape_t *tape, td_tape_batch_t *batch, char *errbuf, size_t errlen) TD_WUR;

/* --- reading --- */
/* The value under key, copied into out (out reset first). TD_ERR_NOT_FOUND if absent. */
td_err_t td_tape_get_state(td_tape_t *tape, const char *key, td_buf_t *out, char *errbuf, size_t errlen) TD_WUR;
td_err_t td_tape_get_meta(td_tape_t *tape, const char *key, td_buf_t *out, char *errbuf, size_t errlen) TD_WUR;
/* Lists state keys starting with prefix, in byte order. */
td_err_t td_tape_state_keys(td_tape_t *tape, const char *prefix, td_err_t (*cb)(void *opaque, const char *key),
                            void *opaque, char *errbuf, size_t errlen) TD_WUR;

/* One event at an offset (of a retired day: from its sealed file, which the tape keeps loaded for
 * the next read). TD_ERR_NOT_FOUND past the end. */
td_err_t td_tape_read(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, uint64_t offset, td_event_t *ev,
                      char *errbuf, size_t errlen) TD_WUR;

/* Iterates (kind, symbol) from from_offset up to the end as of the iterator's creation (a
 * snapshot). td_tape_iter_next fills ev (with its offset) and returns TD_OK, or TD_ERR_END after
 * the last one, or TD_ERR_CORRUPT for bytes that do not decode or an offset gap. Offsets of retired
 * days come from their sealed files (loaded and verified when the iterator reaches them, or shared
 * with another reader of the same day; a missing or damaged file is TD_ERR_CORRUPT naming it), the
 * raw bytes too. */
td_err_t td_tape_iter_new(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, uint64_t from_offset,
                          td_tape_iter_t **iter, char *errbuf, size_t errlen) TD_WUR;
/* Once next() failed (or ended), every further call returns the same code and leaves errbuf alone. */
td_err_t td_tape_iter_next(td_tape_iter_t *iter, td_event_t *ev, char *errbuf, size_t errlen) TD_WUR;
/* Lets td_tape_iter_next skip the decoding of events whose kind is not in `kinds` (a set of
 * TD_TAPE_KIND_BIT(kind); 0, the default, decodes every event): for those only ev->kind and
 * ev->offset are set, the kind read from the envelope's framing (td_codec_peek_kind) without
 * checking the body or the symbol; the rest of ev is left as it was. For a reader that keeps a
 * few kinds out of a stream of ticks (the warehouse sink's input scan). Call before the first
 * next(); the iterator's thread. */
#define TD_TAPE_KIND_BIT(kind) (UINT64_C(1) << (kind))
void td_tape_iter_decode_only(td_tape_iter_t *iter, uint64_t kinds);
/* The raw stored bytes of the event the last next() returned (valid until the next call). */
td_slice_t td_tape_iter_raw(td_tape_iter_t *iter);
void td_tape_iter_destroy(td_tape_iter_t *iter);

/* --- the trading-day index --- */
td_err_t td_tape_day_get(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, uint32_t trading_day,
                         td_day_range_t *range, char *errbuf, size_t errlen) TD_WUR;
/* Lists the days of (kind, symbol) in increasing order. */
td_err_t td_tape_days(td_tape_t *tape, td_stream_kind_t kind, const char *symbol,
                      td_err_t (*cb)(void *opaque, const td_day_range_t *range), void *opaque, char *errbuf,
                      size_t errlen) TD_WUR;

int td_tape_day_offset_minutes(const td_tape_t *tape);

/* --- retention: raw events of a sealed day replaced by its sealed file --- */

/* Retires (symbol, trading_day): its input and output events leave RocksDB, and from then on every
 * read of their offsets comes from DATA_DIR/sealed/<SYMBOL>/<YYYYMMDD>.tdseal (DATA_DIR = the
 * folder the tape was opened in). *retired_now says whether this call removed them; a day retired
 * earlier is TD_OK with *retired_now false (idempotent).
 * Order, so that a crash at any instant loses nothing:
 *   1. the sealed file is read back and verified (header and content SHA-256, xz CRC, every
 *      record where the header says), its ranges must equal the day index's, and every record's
 *      bytes must equal the tape's stored bytes - else nothing is removed (TD_ERR_CORRUPT,
 *      TD_ERR_MISMATCH with detail);
 *   2. one synced RocksDB WriteBatch deletes the day's input and output key ranges and writes the
 *      day's retired markers (meta): a crash before it leaves the day whole on the tape, a crash
 *      after it leaves it retired; there is no state in between, so re-running is always safe;
 *   3. a manual compaction of the deleted ranges returns their disk space (a crash here only
 *      delays that: RocksDB's own compactions finish it).
 * The day index is not touched, nor any other offset. A stream's newest day is never retired
 * (TD_ERR_STATE): the tape reads its next offset and day roll from it. The sealed file must stay:
 * reads of the day fail with TD_ERR_CORRUPT, naming it, when it is missing or damaged.
 * Writer's thread; the tape open for writing. */
td_err_t td_tape_retire_day(td_tape_t *tape, const char *symbol, uint32_t trading_day, bool *retired_now, char *errbuf,
                            size_t errlen) TD_WUR;

/* *retired = whether (symbol, trading_day)'s raw events have been retired. Any thread. */
td_err_t td_tape_day_retired(td_tape_t *tape, const char *symbol, uint32_t trading_day, bool *retired, char *errbuf,
                             size_t errlen) TD_WUR;

/* What went wrong, for a message about rc that a tape call returned with `detail` in its errbuf:
 * the detail (the corrupt key, the damaged sealed file and the check that failed, RocksDB's own
 * message) when rc is a failure of the tape itself (TD_ERR_CORRUPT, TD_ERR_STORE) and detail says
 * something, else td_err_name(rc). Returns detail or a static string. Any thread. */
const char *td_tape_explain(td_err_t rc, const char *detail);

#endif
