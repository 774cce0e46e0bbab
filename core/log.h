/* log.h - structured logging to stderr.
 *
 * One line per record: text `2026-11-24T08:00:00.000Z level=info module=host rc=TD_OK msg="..."`
 * or JSON `{"ts":...,"level":"info","module":"host","rc":"TD_OK","msg":"..."}`. The logger is an
 * explicit handle; processors never log (they are pure) - the host logs what they report.
 */
#ifndef TD_LOG_H
#define TD_LOG_H

#include <stdio.h>

#include "core/err.h"

typedef enum td_log_level { TD_LOG_DEBUG = 0, TD_LOG_INFO = 1, TD_LOG_WARN = 2, TD_LOG_ERROR = 3 } td_log_level_t;

typedef struct td_log {
    FILE *out;
    td_log_level_t level;
    int json;
} td_log_t;

/* level and format as the config's log.level / log.format enum indexes. */
void td_log_init(td_log_t *log, FILE *out, td_log_level_t level, int json);

void td_log_write(td_log_t *log, td_log_level_t level, const char *module, td_err_t rc, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
