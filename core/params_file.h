/* params_file.h - the versioned parameter file of one symbol, as `tapedeck params propose` writes it
 * and `params validate --file` / `params push --file` read it:
 *
 *   # evidence lines (comments, ignored when read)
 *   symbol: EURUSD
 *   strategy: sma_cross
 *   version: 2               # this file's version: 1 + the version of the file it replaced
 *   previous_version: 1      # 0 for the first
 *   reason: "DSR 0.97 PBO 0.21 ..."   # the default reason of `params push --file`
 *   params:
 *     fast: "15"
 *     slow: "100"
 *
 * Reading checks the shape and lengths only; the strategy checks the values (td_strategy_new).
 * Errors are TD_ERR_INVALID "FILE:LINE: field: expected ..." (TD_ERR_IO: cannot open).
 *
 * Threading: plain functions; any thread.
 */
#ifndef TD_PARAMS_FILE_H
#define TD_PARAMS_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/event.h"

typedef struct td_params_file {
    char symbol[TD_SYMBOL_MAX + 1];
    uint32_t version, previous_version;
    char reason[TD_TEXT_MAX + 1];
    td_params_changed_t params; /* strategy and values sorted by name; version left 0 */
} td_params_file_t;

td_err_t td_params_file_load(const char *path, td_params_file_t *file, char *errbuf, size_t errlen) TD_WUR;

#endif
