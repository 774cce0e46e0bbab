/* against_report.h - how `tapedeck replay --against backtest` shows a td_against_result_t. */
#ifndef TD_REPLAY_AGAINST_REPORT_H
#define TD_REPLAY_AGAINST_REPORT_H

#include "core/buf.h"
#include "core/err.h"
#include "replay/against.h"

/* The trade-by-trade table, the fill slippage and the verdict, for a terminal. */
void td_against_print(const td_against_result_t *r, const char *date);
/* One result as a JSON object appended to out. */
td_err_t td_against_json(td_buf_t *out, const td_against_result_t *r) TD_WUR;

#endif
