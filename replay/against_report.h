/* against_report.h - the text and JSON of a `replay --against backtest` result (against.h).
 *
 * Both append to a td_buf_t with the sticky text writers (core/buf.h): check td_buf_error() once.
 * Prices and P&L print with 8 decimals in JSON, P&L with 2 in the text; points and slippage are
 * derived doubles.
 *
 * Threading: plain functions; any thread.
 */
#ifndef TD_REPLAY_AGAINST_REPORT_H
#define TD_REPLAY_AGAINST_REPORT_H

#include "core/buf.h"
#include "replay/against.h"

/* The trade-by-trade table, the fill slippage and the verdict, for a terminal; date as given. */
void td_against_text(td_buf_t *buf, const td_against_result_t *r, const char *date);
/* One result as a JSON object. */
void td_against_json(td_buf_t *buf, const td_against_result_t *r);

#endif
