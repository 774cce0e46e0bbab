/* service.c - the service's steps (service.h): the role's checks, the tape, the stop request; the
 * roles themselves are in local.c (the local tape) and kafka.c (Kafka), the sink alone in local.c. */
#include "service/service.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "service/internal.h"
#include "service/kafka.h"

static const struct {
    const char *name;
    td_service_role_t role;
} roles[] = {
    {"all", TD_SERVICE_ALL},       {"gateway", TD_SERVICE_GATEWAY},   {"processor", TD_SERVICE_PROCESSOR},
    {"router", TD_SERVICE_ROUTER}, {"archiver", TD_SERVICE_ARCHIVER}, {"sink", TD_SERVICE_SINK},
};

bool td_service_role_parse(const char *name, td_service_role_t *role)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(roles[i].name, name) == 0) {
            *role = roles[i].role;
            return true;
        }
    return false;
}

static const char *role_name(td_service_role_t role)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (roles[i].role == role)
            return roles[i].name;
    return "?";
}

td_err_t td_service_new(const td_service_opts_t *opts, td_service_t **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    bool kafka = td_config_int(opts->config, "journal.mode") == 1;
    td_service_role_t r = opts->role;
    if (kafka ? r == TD_SERVICE_ALL || r == TD_SERVICE_ROUTER
              : r == TD_SERVICE_PROCESSOR || r == TD_SERVICE_ROUTER || r == TD_SERVICE_ARCHIVER)
        return td_err_set(errbuf, errlen, TD_ERR_UNSUPPORTED, "role %s is not built with journal.mode %s", role_name(r),
                          kafka ? "kafka" : "local");
    td_service_t *service = calloc(1, sizeof *service);
    if (!service)
        return TD_ERR_NOMEM;
    service->opts = *opts;
    service->kafka = kafka;
    service->stop = opts->stop ? opts->stop : &service->own_stop;
    pthread_mutex_init(&service->lock, NULL);
    td_follow_init(&service->follow);
    *out = service;
    return TD_OK;
}

td_err_t td_service_start(td_service_t *service, char *errbuf, size_t errlen)
{
    TD_ASSERT(!service->started);
    service->started = true;
    /* the sink alone reads a running writer's tape (a new read-only handle at every pass) */
    if (service->opts.role == TD_SERVICE_SINK)
        return TD_OK;
    td_err_t rc =
        td_service_open_tape(service->opts.config, service->opts.data_dir, false, &service->tape, errbuf, errlen);
    if (rc == TD_OK)
        rc = service->kafka ? td_service__kafka_start(service, errbuf, errlen)
                            : td_service__local_start(service, errbuf, errlen);
    return rc;
}

td_err_t td_service_run(td_service_t *service, char *errbuf, size_t errlen)
{
    TD_ASSERT(service->started);
    if (service->opts.role == TD_SERVICE_SINK)
        return td_service__sink_run(service, errbuf, errlen);
    return service->kafka ? td_service__kafka_run(service, errbuf, errlen)
                          : td_service__local_run(service, errbuf, errlen);
}

void td_service_address(const td_service_t *service, char *buf, size_t len)
{
    if (service->server && !service->kafka)
        td_gw_server_address(service->server, buf, len);
    else if (len)
        buf[0] = '\0';
}

void td_service_stop(td_service_t *service)
{
    pthread_mutex_lock(&service->lock);
    service->stopping = true;
    *service->stop = 1;
    if (service->server)
        td_gw_server_stop(service->server);
    pthread_mutex_unlock(&service->lock);
}

void td_service__set_server(td_service_t *service, td_gw_server_t *server)
{
    pthread_mutex_lock(&service->lock);
    service->server = server;
    if (server && service->stopping)
        td_gw_server_stop(server);
    pthread_mutex_unlock(&service->lock);
}

void td_service_destroy(td_service_t *service)
{
    if (!service)
        return;
    if (service->kafka)
        td_service__kafka_fini(service);
    else
        td_service__local_fini(service);
    td_tape_close(service->tape);
    pthread_mutex_destroy(&service->lock);
    free(service);
}

void td_service__say(td_service_t *service, const char *fmt, ...)
{
    if (!service->opts.out)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(service->opts.out, fmt, ap);
    va_end(ap);
}

void td_service__flush(td_service_t *service)
{
    if (service->opts.out)
        fflush(service->opts.out);
}

void td_service__gateway_opts(const td_config_t *config, td_gw_server_opts_t *opts)
{
    td_gw_server_opts_from_config(config, opts);
    td_pipeline_config_t clock_cfg; /* heartbeats close bars of the pipeline's timeframe */
    td_host_pipeline_config(config, &clock_cfg);
    opts->clock_timeframe_ms = (int64_t)clock_cfg.timeframe_s * 1000;
    opts->clock_align_minutes = clock_cfg.day_offset_minutes;
}

void td_service__say_gateway(td_service_t *service, const td_gw_server_t *server, const char *events)
{
    td_gw_stats_t st;
    td_gw_server_stats(server, &st);
    td_service__say(service,
                    "tapedeck run: gateway stopped: %" PRIu64 " connection(s), %" PRIu64 " refused (%" PRIu64
                    " throttled), %" PRIu64 " auth failure(s), %" PRIu64 " line(s), %" PRIu64 " event(s) %s, %" PRIu64
                    " duplicate(s) dropped, %" PRIu64 " error(s) (%" PRIu64 " ahead of the clock, %" PRIu64
                    " sequence gap(s), %" PRIu64 " of another account's symbol), %" PRIu64 " commit(s)\n",
                    st.connections, st.refused, st.throttled, st.auth_failures, st.lines, st.events, events,
                    st.duplicates, st.errors, st.ahead, st.gaps, st.foreign, st.commits);
}

void td_service__say_router(td_service_t *service, td_router_t *router)
{
    td_router_stats_t rs;
    td_router_stats(router, &rs);
    td_service__say(
        service,
        "tapedeck run: router: %" PRIu64 " order(s) sent, %" PRIu64 " expired, %" PRIu64
        " lost (a write cut off: resent), %" PRIu64 " resent to a new session; tick-to-order latency over %" PRIu64
        " order(s): p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
        rs.sent, rs.expired, rs.lost, rs.resent, rs.latency_n, rs.latency_p50_ms, rs.latency_p99_ms, rs.latency_max_ms);
}

static int mkdir_p(const char *path)
{
    char tmp[4096];
    if (strlen(path) >= sizeof tmp)
        return -1;
    strcpy(tmp, path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

td_err_t td_service_open_tape(const td_config_t *config, const char *data_dir, bool read_only, td_tape_t **tape,
                              char *errbuf, size_t errlen)
{
    if (!read_only && mkdir_p(data_dir) != 0)
        return td_err_set(errbuf, errlen, TD_ERR_IO, "%s: cannot create the data directory: %s", data_dir,
                          strerror(errno));
    td_tape_opts_t opts = {
        .sync = td_config_int(config, "tape.sync") == 1 ? TD_SYNC_COMMIT : TD_SYNC_NONE,
        .day_offset_minutes = (int)td_config_int(config, "session.day_offset_minutes"),
        .read_only = read_only,
    };
    return td_tape_open(data_dir, &opts, tape, errbuf, errlen);
}
