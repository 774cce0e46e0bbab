/* config.h - tapedeck's configuration: one YAML file, one key table.
 *
 * Every key has a type, a default, a range and a one-line doc in the table in config.c; parsing,
 * validation, `tapedeck config --reference` and docs/CONFIG.md all come from that table, so a
 * command runs without any file. Nested YAML maps flatten to dotted keys:
 *
 *   tape:
 *     sync: commit                   -> "tape.sync"
 *   symbols:
 *     EURUSD:
 *       digits: 5                    -> per-symbol key "digits" of EURUSD
 *
 * Keys under `symbols.<NAME>.` are per-symbol; a symbol without a section gets the `symbol.*`
 * defaults of the table. Unknown keys, wrong types and out-of-range values are refused with
 * TD_ERR_CONFIG and "FILE:LINE: KEY: expected ..., found '...'".
 */
#ifndef TD_CONFIG_H
#define TD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/event.h"

typedef struct td_config td_config_t;

/* A config with every default. NULL on allocation failure. */
td_config_t *td_config_new(void);
void td_config_destroy(td_config_t *config);

/* Reads a YAML file over the defaults. */
td_err_t td_config_load(td_config_t *config, const char *path, char *errbuf, size_t errlen) TD_WUR;

/* Sets one key from text ("tape.sync", "none"; per-symbol: "symbols.EURUSD.digits", "5"), validated
 * as a file value would be. `where` names the origin for messages ("--set"). */
td_err_t td_config_set(td_config_t *config, const char *key, const char *value, const char *where, char *errbuf,
                       size_t errlen) TD_WUR;

/* Typed reads of a global key. The key must be in the table with that type (asserted). */
int64_t td_config_int(const td_config_t *config, const char *key);
const char *td_config_str(const td_config_t *config, const char *key);
bool td_config_bool(const td_config_t *config, const char *key);
/* Decimal keys come back scaled by 1e8 (core/fixed.h). */
int64_t td_config_decimal(const td_config_t *config, const char *key);

/* Per-symbol reads ("digits", "contract_size", ...): the symbol's section, else the default. */
int64_t td_config_symbol_int(const td_config_t *config, const char *symbol, const char *key);
const char *td_config_symbol_str(const td_config_t *config, const char *symbol, const char *key);
int64_t td_config_symbol_decimal(const td_config_t *config, const char *symbol, const char *key);
/* The MT5 account that trades symbol: symbols.<SYMBOL>.account, else gateway.account; "" when
 * neither is set (the symbol is not traded: the router never sends its orders). */
const char *td_config_symbol_account(const td_config_t *config, const char *symbol);
/* True when the file has a section for symbol. */
bool td_config_has_symbol(const td_config_t *config, const char *symbol);

/* The SymbolSpec of a symbol from its section (digits, point, contract size, ...). */
void td_config_symbol_spec(const td_config_t *config, const char *symbol, td_symbol_spec_t *spec);

/* Writes the reference of every key (markdown table) or an example YAML file with the defaults. */
void td_config_write_reference(FILE *out);
void td_config_write_example(FILE *out);

#endif
