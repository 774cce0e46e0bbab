/* import.h - parsers of outside history files into tapedeck events.
 *
 * One call parses one whole file and hands every event to a sink, in file order. Nothing is
 * written anywhere by this module: the caller collects the events and appends them to the tape in
 * one batch only when td_import_file() returned TD_OK, so an import is all of a file or none.
 *
 * Validation (each failure is TD_ERR_PARSE with "FILE:LINE: FIELD: what was expected, what was
 * found" in errbuf; LINE is 1-based, a record number for binary files):
 *   - a line with too few or too many fields (truncated lines)
 *   - a field that is not a number where a price, volume or time is expected
 *   - bid > ask (unless opts.keep_crossed), a price <= 0, a negative volume
 *   - event time going backwards (equal times are fine)
 *   - a file whose encoding is not the format's (UTF-16 where UTF-8 is expected and the reverse,
 *     NUL bytes, invalid UTF-8)
 *   - bar files: high < max(open, close) or low > min(open, close); a bar whose spacing does not
 *     match the file's timeframe (daily bars inside an M30 file) is reported, not guessed
 * Prices are parsed with td_fx_parse(); float noise beyond 8 decimals is rounded and counted in
 * td_import_stats_t.rounded. Fractions of a millisecond are floored.
 */
#ifndef TD_IMPORT_H
#define TD_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/event.h"

typedef enum td_import_format {
    TD_FMT_DUKASCOPY_CSV = 1,  /* ticks: time_utc,bid,ask,bid_volume,ask_volume (header line) */
    TD_FMT_DUKASCOPY_BI5 = 2,  /* ticks: raw LZMA .bi5 hour file, name gives symbol date hour */
    TD_FMT_LEAN_TICKS = 3,     /* ticks: ms_since_midnight,bid,ask; date from file name YYYYMMDD_... */
    TD_FMT_MT5_TICKS = 4,      /* ticks: MT5 Export Ticks, TAB, UTF-8 or UTF-16LE with BOM, CRLF */
    TD_FMT_MT5_BARS = 5,       /* bars: MT5 Export Bars, TAB */
    TD_FMT_DUKASCOPY_BARS = 6, /* bars: TAB "Time Open High Low Close Volume" */
    TD_FMT_LEAN_BARS = 7,      /* bars: YYYYMMDD HH:mm,bidO,bidH,bidL,bidC,bidSize,askO,askH,askL,askC,askSize */
} td_import_format_t;

typedef struct td_import_opts {
    td_import_format_t format;
    const char *symbol;            /* stream name for the events (required) */
    const char *source;            /* envelope source; NULL = the format's family ("dukascopy") */
    int tz_offset_minutes;         /* the file's time zone: UTC+offset (FXCM: -300); converted to UTC */
    unsigned price_divisor_digits; /* the symbol's digits: bi5 prices are integers / 10^digits (5 for
                                    * EURUSD, required); mt5-bars converts SPREAD points with it
                                    * (0 = unknown: spread left 0); other formats ignore it */
    uint32_t timeframe_s;          /* bar formats: expected timeframe; 0 = infer from the first bars */
    bool keep_crossed;             /* ticks: keep quotes with bid > ask as they are (counted in
                                      stats.crossed) instead of refusing the file; off by default */
    uint64_t max_file_bytes;       /* a longer file (or a device such as /dev/zero) is refused;
                                      0 = TD_IMPORT_FILE_MAX */
} td_import_opts_t;

/* The default bound on one file: twenty years of M1 bars in one CSV are about 450 MB. */
#define TD_IMPORT_FILE_MAX (UINT64_C(1) << 30)

typedef struct td_import_stats {
    uint64_t lines;     /* lines or records read, header included */
    uint64_t events;    /* events handed to the sink */
    uint64_t rounded;   /* prices or volumes whose float noise was rounded */
    uint64_t unchanged; /* MT5 ticks: empty fields filled from the previous tick */
    uint64_t crossed;   /* ticks kept with bid > ask (opts.keep_crossed) */
    int64_t first_ms, last_ms;
} td_import_stats_t;

/* Receives each parsed event. A non-TD_OK return stops the import with that code. */
typedef td_err_t (*td_import_sink_fn)(void *opaque, const td_event_t *ev);

/* Parses `path` in opts->format and calls sink for each event (Tick for tick formats, Bar for bar
 * formats, with symbol, time and source set). Returns TD_OK, TD_ERR_PARSE for bad content,
 * TD_ERR_IO when the file cannot be read, TD_ERR_UNSUPPORTED for a format this build cannot read,
 * or the sink's code. Detail in errbuf. */
td_err_t td_import_file(const char *path, const td_import_opts_t *opts, td_import_sink_fn sink, void *opaque,
                        td_import_stats_t *stats, char *errbuf, size_t errlen) TD_WUR;

/* --format names: "dukascopy-csv", "dukascopy-bi5", "lean-ticks", "mt5-ticks", "mt5-bars",
 * "dukascopy-bars", "lean-bars". TD_ERR_INVALID for an unknown name. */
td_err_t td_import_format_parse(const char *name, td_import_format_t *format) TD_WUR;
const char *td_import_format_name(td_import_format_t format);
const char *td_import_format_doc(td_import_format_t format);
bool td_import_format_is_bars(td_import_format_t format);

#endif
