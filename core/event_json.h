/* event_json.h - one event as a JSON object, for `dump --json`, `replay --json` and messages.
 *
 * Prices, volumes and money print as exact decimals (the 1e8-scaled integers, trailing zeros
 * trimmed), times as ISO-8601 UTC strings plus the raw milliseconds.
 */
#ifndef TD_EVENT_JSON_H
#define TD_EVENT_JSON_H

#include <stdbool.h>

#include "core/buf.h"
#include "core/event.h"

/* Appends {"symbol":...,"offset":...,"kind":...,...} to out; from_output_stream adds the
 * output's input_offset and index. */
td_err_t td_event_to_json(const td_event_t *ev, bool from_output_stream, td_buf_t *out) TD_WUR;

/* Appends s as a JSON string literal (quotes included). */
td_err_t td_json_string(td_buf_t *out, const char *s) TD_WUR;

/* Appends a 1e8-scaled value as an exact JSON number ("1.14543", "-7.25", "2"). */
td_err_t td_json_fixed(td_buf_t *out, int64_t v) TD_WUR;

#endif
