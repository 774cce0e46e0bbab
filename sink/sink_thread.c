/* sink_thread.c - the warehouse sink in its own thread of tapedeck run (see sink_thread.h). */
#include "sink/sink_thread.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct td_sink_thread {
    pthread_t thread;
    td_sink_opts_t opts;
    volatile sig_atomic_t stop;
    td_sink_stats_t total; /* summed over the runs of td_sink_run; read after the join */
    uint64_t restarts;
};

bool td_sink_enabled(const td_config_t *config)
{
    return td_config_bool(config, "warehouse.enabled");
}

void td_sink_config(const td_config_t *config, td_sink_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->uri = td_config_str(config, "warehouse.uri");
    opts->tape_opts.day_offset_minutes = (int)td_config_int(config, "session.day_offset_minutes");
    opts->tape_opts.read_only = true;
    opts->batch_rows = (uint32_t)td_config_int(config, "warehouse.batch_rows");
    opts->sessions = (uint32_t)td_config_int(config, "warehouse.sessions");
    opts->poll_ms = (uint32_t)td_config_int(config, "warehouse.poll_ms");
    opts->retry_max_ms = (uint32_t)td_config_int(config, "warehouse.retry_max_ms");
    opts->give_up_s = (uint32_t)td_config_int(config, "warehouse.give_up_s");
    opts->direct_copy = td_config_bool(config, "warehouse.direct_copy");
}

/* Sleeps ms in 50 ms steps; false as soon as a stop is asked. */
static bool wait_ms(const td_sink_thread_t *thread, uint32_t ms)
{
    for (uint32_t slept = 0; slept < ms && !thread->stop; slept += 50) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return !thread->stop;
}

static void *sink_main(void *arg)
{
    td_sink_thread_t *thread = arg;
    while (!thread->stop) {
        char err[1536] = "";
        td_sink_stats_t run;
        td_err_t rc = td_sink_run(&thread->opts, &run, err, sizeof err);
        td_sink_stats_add(&thread->total, &run);
        if (rc == TD_OK || thread->stop)
            break;
        thread->restarts++;
        if (thread->opts.log)
            td_log_write(thread->opts.log, TD_LOG_ERROR, "sink", rc,
                         "the warehouse sink stopped: %s; the pipeline goes on, the sink starts over in %u ms",
                         err[0] ? err : td_err_name(rc), thread->opts.retry_max_ms);
        if (!wait_ms(thread, thread->opts.retry_max_ms))
            break;
    }
    return NULL;
}

td_err_t td_sink_thread_start(const td_sink_opts_t *opts, td_sink_thread_t **out, char *errbuf, size_t errlen)
{
    TD_ASSERT(opts->tape);
    *out = NULL;
    td_sink_thread_t *thread = calloc(1, sizeof *thread);
    if (!thread)
        return td_err_set(errbuf, errlen, TD_ERR_NOMEM, "sink: out of memory for its thread");
    thread->opts = *opts;
    thread->opts.once = false;
    thread->opts.stop = &thread->stop;
    /* the thread inherits this mask: signals stay with the gateway's loop */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&thread->thread, NULL, sink_main, thread);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        free(thread);
        return td_err_set(errbuf, errlen, TD_ERR_IO, "sink: cannot start its thread: %s", strerror(e));
    }
    *out = thread;
    return TD_OK;
}

void td_sink_thread_stop(td_sink_thread_t *thread, td_sink_stats_t *stats)
{
    if (!thread)
        return;
    thread->stop = 1;
    pthread_join(thread->thread, NULL);
    if (stats)
        td_sink_stats_add(stats, &thread->total);
    free(thread);
}
