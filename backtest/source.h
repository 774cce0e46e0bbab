/* source.h - where a backtest reads its bars: a file, the tape or the warehouse.
 *
 *   --data FILE       a bar file in --format (mt5-bars, dukascopy-bars, lean-bars), read by the
 *                     importers: the timeframe is inferred and checked line by line;
 *   --data tape       the symbol's bars on the local tape of data_dir (opened read-only): the history stream
 *                     SYMBOL@TF imported with `tapedeck import` (TF from --timeframe, default the
 *                     only one there, M30 when several), else the Bar outputs the processor host
 *                     built (bars.timeframe);
 *   --data warehouse  the bars table of PostgreSQL (warehouse.uri or the libpq environment) for the
 *                     symbol and --timeframe (default bars.timeframe), in time order.
 * Every source hands the bars to sink in time order; a bar whose open time is not after the one
 * before, or whose timeframe differs from the first one's, is refused (TD_ERR_PARSE) naming the
 * source and the bar's time, so a daily bar among M30 ones is an error wherever it comes from.
 */
#ifndef TD_BACKTEST_SOURCE_H
#define TD_BACKTEST_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"
#include "import/import.h"

typedef enum td_bt_source_kind { TD_BT_FILE = 0, TD_BT_TAPE = 1, TD_BT_WAREHOUSE = 2 } td_bt_source_kind_t;

/* The kind of a --data value: "tape", "warehouse", anything else a file. */
td_bt_source_kind_t td_bt_source_kind(const char *data);

/* Reads the bars of symbol from data (see above); config gives bars.timeframe, warehouse.uri and
 * the tape's options, data_dir the tape. iopts is used for files only (its format required);
 * timeframe_s 0 = the default of the source. sink gets TD_EV_BAR events. *described gets a short
 * text of where the bars came from ("tape history stream XAUUSD@M30"). Threading: the caller's. */
td_err_t td_bt_source_read(const td_config_t *config, const char *data_dir, const char *data, const char *symbol,
                           uint32_t timeframe_s, const td_import_opts_t *iopts,
                           td_err_t (*sink)(void *opaque, const td_event_t *ev), void *opaque, char *described,
                           size_t described_len, char *errbuf, size_t errlen) TD_WUR;

#endif
