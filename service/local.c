/* local.c - `tapedeck run` on the local tape (service.h): all roles in one process, the gateway
 * alone, or the warehouse sink alone.
 *
 * All roles (the default): the gateway's libev loop is the only thread that writes and the tape's
 * single writer; after each committed burst of the EA's lines (and every router.interval_ms) its
 * hook runs the processor host over the tape (td_follow_process: the input streams that grew, to
 * their end) and then the order router (gateway/router.h), which sends new OrderIntents to the EA's
 * session. With warehouse.enabled the warehouse sink runs in its own thread (sink/sink_thread.h),
 * reading the writer's tape handle. The sink alone follows the tape of a running `run`, opening it
 * read-only at every pass (sink/sink.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"
#include "service/internal.h"

/* The gateway's hook (its loop thread, the tape's writer): process the tape to its end, then
 * route; an expiry appends reports, which are processed at once so the strategy sees them. */
static td_err_t live_hook(void *opaque, double burst_start, char *errbuf, size_t errlen)
{
    td_service_t *service = opaque;
    td_err_t rc = TD_OK;
    for (int round = 0; rc == TD_OK && round < 4; round++) {
        td_host_stats_t st;
        rc = td_follow_process(&service->follow, service->tape, &service->host, &st, errbuf, errlen);
        if (rc != TD_OK)
            break;
        service->host_runs++;
        service->host_inputs += st.inputs;
        service->host_outputs += st.outputs;
        uint64_t expired = 0;
        if (service->router)
            rc = td_router_run(service->router, service->tape, service->server, burst_start, &expired, errbuf, errlen);
        if (expired == 0)
            break;
    }
    return rc;
}

/* The threads beside the gateway's loop, started once the tape is open: the sink (its own
 * thread, reading the writer's tape handle). Another thread of the process (the monitor's desk)
 * starts here too, and stops in stop_threads. */
static td_err_t start_threads(td_service_t *service, char *errbuf, size_t errlen)
{
    if (!td_sink_enabled(service->opts.config))
        return TD_OK;
    td_sink_opts_t opts;
    td_sink_config(service->opts.config, &opts);
    opts.tape = service->tape;
    opts.log = service->opts.log;
    return td_sink_thread_start(&opts, &service->sink, errbuf, errlen);
}

/* Stops them after the last burst was processed (the sink finishes its batch) and writes their
 * totals. */
static void stop_threads(td_service_t *service)
{
    if (!service->sink)
        return;
    td_sink_stats_t st = {0};
    td_sink_thread_stop(service->sink, &st);
    service->sink = NULL;
    td_service__say(service,
                    "tapedeck run: sink: %" PRIu64 " row(s) in %" PRIu64 " transaction(s), %" PRIu64 " retry(ies)\n",
                    st.rows, st.batches, st.retries);
}

td_err_t td_service__local_start(td_service_t *service, char *errbuf, size_t errlen)
{
    const td_config_t *config = service->opts.config;
    bool all = service->opts.role == TD_SERVICE_ALL;
    td_gw_server_opts_t opts;
    td_service__gateway_opts(config, &opts);
    if (all) {
        td_host_pipeline_config(config, &service->host.pipeline);
        service->host.batch_events = (uint32_t)td_config_int(config, "tape.batch_events");
        service->host.log = service->opts.log;
        opts.hook = live_hook;
        opts.hook_opaque = service;
        opts.hook_interval_ms = td_config_int(config, "router.interval_ms");
    }
    td_err_t rc = TD_OK;
    if (all)
        rc = td_host_check_config(service->tape, &service->host.pipeline, errbuf, errlen);
    if (rc == TD_OK && all && !service->host.pipeline.paper)
        rc = td_router_new(config, td_config_int(config, "router.max_age_ms"), service->opts.log, &service->router);
    if (rc == TD_OK && all)
        rc = start_threads(service, errbuf, errlen);
    td_gw_server_t *server = NULL;
    if (rc == TD_OK)
        rc = td_gw_server_new(&opts, service->tape, service->opts.log, &server, errbuf, errlen);
    if (rc == TD_OK)
        td_service__set_server(service, server);
    if (rc == TD_OK) {
        char addr[64];
        td_gw_server_address(server, addr, sizeof addr);
        td_service__say(service,
                        "tapedeck run: gateway listening on %s, writing to the local tape in %s (tape.sync=%s)", addr,
                        service->opts.data_dir, td_config_str(config, "tape.sync"));
        if (all)
            td_service__say(service, "; processor%s%s",
                            service->router ? " and order router (broker.mode external)"
                                            : " with the paper broker (broker.mode paper; no order router)",
                            service->sink ? "; warehouse sink" : "");
        td_service__say(service, "\n");
        td_service__flush(service);
    }
    return rc;
}

td_err_t td_service__local_run(td_service_t *service, char *errbuf, size_t errlen)
{
    bool all = service->opts.role == TD_SERVICE_ALL;
    td_err_t rc = td_gw_server_run(service->server, errbuf, errlen);
    if (rc == TD_OK && all) /* what the last burst brought, processed and routed before leaving */
        rc = live_hook(service, 0, errbuf, errlen);
    td_service__say_gateway(service, service->server, "appended");
    if (all)
        td_service__say(service,
                        "tapedeck run: processor: %" PRIu64 " run(s), %" PRIu64 " input(s), %" PRIu64 " output(s)\n",
                        service->host_runs, service->host_inputs, service->host_outputs);
    if (service->router)
        td_service__say_router(service, service->router);
    stop_threads(service);
    td_service__flush(service);
    return rc;
}

void td_service__local_fini(td_service_t *service)
{
    stop_threads(service); /* a start that failed after the sink started */
    td_gw_server_t *server = service->server;
    td_service__set_server(service, NULL);
    td_gw_server_destroy(server);
    td_router_destroy(service->router);
    service->router = NULL;
    td_follow_fini(&service->follow);
}

td_err_t td_service__sink_run(td_service_t *service, char *errbuf, size_t errlen)
{
    td_sink_opts_t opts;
    td_sink_config(service->opts.config, &opts);
    opts.tape_dir = service->opts.data_dir;
    opts.log = service->opts.log;
    opts.stop = service->stop;
    td_sink_stats_t stats;
    double t0 = td_mono_s();
    td_err_t rc = td_sink_run(&opts, &stats, errbuf, errlen);
    if (rc == TD_OK && service->opts.out)
        td_sink_stats_print(service->opts.out, &stats, td_mono_s() - t0);
    if (rc != TD_OK && errbuf && errlen && !errbuf[0])
        td_err_set(errbuf, errlen, rc, "the sink failed");
    return rc;
}
