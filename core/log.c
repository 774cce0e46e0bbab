/* log.c - structured log lines with the wall-clock time (logs are not part of any digest). */
#include "core/log.h"

#include <stdarg.h>
#include <time.h>

#include "core/buf.h"
#include "core/event_json.h"
#include "core/timeutil.h"

static const char *level_name(td_log_level_t level)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    return level <= TD_LOG_ERROR ? names[level] : "error";
}

void td_log_init(td_log_t *log, FILE *out, td_log_level_t level, int json)
{
    log->out = out;
    log->level = level;
    log->json = json;
}

void td_log_write(td_log_t *log, td_log_level_t level, const char *module, td_err_t rc, const char *fmt, ...)
{
    if (!log || level < log->level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char when[32];
    td_time_format_iso((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, when);

    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    td_buf_t line;
    td_buf_init(&line);
    td_err_t wrc;
    if (log->json)
        wrc = td_buf_printf(&line, "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":\"%s\",\"rc\":\"%s\",\"msg\":", when,
                            level_name(level), module, td_err_name(rc));
    else
        wrc =
            td_buf_printf(&line, "%s level=%s module=%s rc=%s msg=", when, level_name(level), module, td_err_name(rc));
    if (wrc == TD_OK)
        wrc = td_json_string(&line, msg); /* the message quoted and escaped as JSON, in both formats */
    if (wrc == TD_OK)
        wrc = td_buf_printf(&line, log->json ? "}\n" : "\n");
    if (wrc == TD_OK)
        fwrite(line.ptr, 1, line.len, log->out);
    else
        fprintf(log->out, "%s level=error module=log msg=\"out of memory writing a log line\"\n", when);
    fflush(log->out);
    td_buf_fini(&line);
}
