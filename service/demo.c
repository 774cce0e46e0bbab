/* demo.c - the steps of `tapedeck demo` (demo.h): the data directory and its config, the parameter
 * sets, the service and feed as child processes, the tape's summary, the replays. */
#include "service/demo.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "service/service.h"

#define START_TIMEOUT_S 30
#define FEED_TIMEOUT_S 300
#define STOP_TIMEOUT_S 30
#define REPLAY_TIMEOUT_S 120

/* ---- children ---- */

/* Starts this binary with args; stdout to out_fd (or /dev/null), stderr to the file err_path. */
static pid_t spawn(char *const args[], int out_fd, const char *err_path)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int err_fd = open(err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd < 0)
        out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (err_fd < 0 || out_fd < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        _exit(127);
    execv("/proc/self/exe", args);
    _exit(127);
}

/* Waits up to timeout_s for pid; its exit code, or -1 when it did not end (it is then killed). */
static int wait_child(pid_t pid, double timeout_s)
{
    for (double waited = 0;; waited += 0.01) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        if (r < 0)
            return -1;
        if (waited >= timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Reads what the service printed so far (non-blocking); true at end of file. */
static bool read_run_output(td_demo_t *demo)
{
    for (;;) {
        if (demo->run_len + 1 >= sizeof demo->run_text)
            return false;
        ssize_t n = read(demo->run_out, demo->run_text + demo->run_len, sizeof demo->run_text - demo->run_len - 1);
        if (n > 0) {
            demo->run_len += (size_t)n;
            demo->run_text[demo->run_len] = '\0';
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n == 0;
    }
}

void td_demo_init(td_demo_t *demo)
{
    memset(demo, 0, sizeof *demo);
    demo->run_out = -1;
}

void td_demo_fini(td_demo_t *demo)
{
    if (demo->run_pid > 0) {
        kill(demo->run_pid, SIGKILL);
        waitpid(demo->run_pid, NULL, 0);
        demo->run_pid = 0;
    }
    if (demo->run_out >= 0)
        close(demo->run_out);
    demo->run_out = -1;
}

td_err_t td_demo_start_run(td_demo_t *demo, char *errbuf, size_t errlen)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return td_err_set(errbuf, errlen, TD_ERR_IO, "pipe: %s", strerror(errno));
    char log[4200];
    snprintf(log, sizeof log, "%s/run.log", demo->dir);
    char *args[] = {"tapedeck", "--data-dir", demo->dir, "--config", demo->config_path, "run", NULL};
    demo->run_pid = spawn(args, fds[1], log);
    close(fds[1]);
    demo->run_out = fds[0];
    fcntl(demo->run_out, F_SETFL, fcntl(demo->run_out, F_GETFL) | O_NONBLOCK);
    if (demo->run_pid < 0) {
        demo->run_pid = 0;
        return td_err_set(errbuf, errlen, TD_ERR_IO, "fork: %s", strerror(errno));
    }
    for (int i = 0; i < START_TIMEOUT_S * 100; i++) {
        bool eof = read_run_output(demo);
        const char *p = strstr(demo->run_text, "listening on 127.0.0.1:");
        if (p) {
            p += strlen("listening on 127.0.0.1:");
            size_t n = strspn(p, "0123456789");
            if (n > 0 && n < sizeof demo->port && p[n] != '\0') {
                memcpy(demo->port, p, n);
                demo->port[n] = '\0';
                return TD_OK;
            }
        }
        if (eof)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(demo->run_pid, SIGKILL);
    waitpid(demo->run_pid, NULL, 0);
    demo->run_pid = 0;
    return td_err_set(errbuf, errlen, TD_ERR_IO, "tapedeck run did not start; see %s", log);
}

td_err_t td_demo_feed(td_demo_t *demo, const char *const data[], char *errbuf, size_t errlen)
{
    char gateway[64], out_path[4200], log[4200], state[4200], hb[] = "60";
    snprintf(gateway, sizeof gateway, "127.0.0.1:%s", demo->port);
    snprintf(out_path, sizeof out_path, "%s/feed.out", demo->dir);
    snprintf(log, sizeof log, "%s/feed.log", demo->dir);
    snprintf(state, sizeof state, "%s/feed.state", demo->dir);
    char *args[64] = {"tapedeck",  "--data-dir",  demo->dir,       "--config",  demo->config_path, "feed",
                      "--gateway", gateway,       "--token",       demo->token, "--account",       "demo",
                      "--fast",    "--sync-bars", "--heartbeat-s", hb,          "--state",         state};
    int n = 18;
    for (size_t i = 0; data[i] && n < 62; i++)
        args[n++] = (char *)data[i];
    args[n] = NULL;
    int out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_t pid = out_fd >= 0 ? spawn(args, out_fd, log) : -1;
    if (out_fd >= 0)
        close(out_fd);
    if (pid < 0)
        return td_err_set(errbuf, errlen, TD_ERR_IO, "cannot start tapedeck feed: %s", strerror(errno));
    int code = wait_child(pid, FEED_TIMEOUT_S);
    if (code != 0)
        return td_err_set(errbuf, errlen, TD_ERR_IO, "tapedeck feed %s; see %s and %s",
                          code < 0 ? "did not finish in time" : "failed", out_path, log);
    return TD_OK;
}

td_err_t td_demo_stop_run(td_demo_t *demo, char *errbuf, size_t errlen)
{
    kill(demo->run_pid, SIGTERM);
    int code = wait_child(demo->run_pid, STOP_TIMEOUT_S);
    demo->run_pid = 0;
    read_run_output(demo);
    close(demo->run_out);
    demo->run_out = -1;
    if (code != 0)
        return td_err_set(errbuf, errlen, TD_ERR_IO, "tapedeck run exited %d on SIGTERM; see %s/run.log", code,
                          demo->dir);
    return TD_OK;
}

/* ---- setup ---- */

td_err_t td_demo_setup(td_demo_t *demo, const char *parent, td_config_t *config, char *errbuf, size_t errlen)
{
    mkdir(parent, 0755);
    snprintf(demo->dir, sizeof demo->dir, "%s/demo-XXXXXX", parent);
    if (!mkdtemp(demo->dir))
        return td_err_set(errbuf, errlen, TD_ERR_IO, "%s: cannot create a demo directory: %s", demo->dir,
                          strerror(errno));
    uint8_t rnd[12] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, rnd, sizeof rnd) != (ssize_t)sizeof rnd) {
        if (fd >= 0)
            close(fd);
        return td_err_set(errbuf, errlen, TD_ERR_IO, "/dev/urandom: cannot read a token");
    }
    close(fd);
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(demo->token + 2 * i, 3, "%02x", rnd[i]);
    snprintf(demo->config_path, sizeof demo->config_path, "%s/demo.yaml", demo->dir);
    FILE *f = fopen(demo->config_path, "w");
    if (!f)
        return td_err_set(errbuf, errlen, TD_ERR_IO, "%s: %s", demo->config_path, strerror(errno));
    fprintf(f,
            "# written by tapedeck demo: the live pipeline on this machine\n"
            "gateway:\n  listen: 127.0.0.1:0\n  token: %s\n  account: demo\n"
            "broker:\n  mode: external\n"
            "router:\n  max_age_ms: 60000\n"
            "symbols:\n",
            demo->token);
    for (size_t i = 0; i < demo->n_syms; i++)
        fprintf(f, "  %s:\n    digits: %d\n    contract_size: %s\n", demo->syms[i].name, demo->syms[i].digits,
                demo->syms[i].contract_size);
    if (fclose(f) != 0)
        return td_err_set(errbuf, errlen, TD_ERR_IO, "%s: cannot write", demo->config_path);
    if (td_config_load(config, demo->config_path, errbuf, errlen) != TD_OK)
        return TD_ERR_CONFIG;
    return TD_OK;
}

td_err_t td_demo_push_params(const td_demo_t *demo, const td_config_t *config, int64_t at, char *errbuf, size_t errlen)
{
    td_tape_t *tape = NULL;
    td_tape_batch_t *batch = NULL;
    td_event_t *ev = malloc(sizeof *ev);
    td_err_t rc = ev ? td_service_open_tape(config, demo->dir, false, &tape, errbuf, errlen) : TD_ERR_NOMEM;
    if (rc == TD_OK)
        rc = td_tape_batch_new(tape, &batch, errbuf, errlen);
    for (size_t i = 0; rc == TD_OK && i < demo->n_syms; i++) {
        const td_demo_symbol_t *sym = &demo->syms[i];
        rc = td_event_init(ev, TD_EV_PARAMS_CHANGED, sym->name, at);
        if (rc != TD_OK)
            break;
        td_params_changed_t *p = &ev->u.params;
        snprintf(ev->source, sizeof ev->source, "params");
        snprintf(p->strategy, sizeof p->strategy, "%s", sym->strategy);
        p->version = 1;
        snprintf(p->author, sizeof p->author, "demo");
        snprintf(p->reason, sizeof p->reason, "demo parameter set");
        const char *s = sym->params; /* already sorted by name */
        while (*s && p->n_values < TD_PARAMS_MAX) {
            const char *comma = strchr(s, ',');
            size_t len = comma ? (size_t)(comma - s) : strlen(s);
            const char *eq = memchr(s, '=', len);
            TD_ASSERT(eq != NULL);
            td_param_t *v = &p->values[p->n_values++];
            snprintf(v->name, sizeof v->name, "%.*s", (int)(eq - s), s);
            snprintf(v->value, sizeof v->value, "%.*s", (int)(len - (size_t)(eq - s) - 1), eq + 1);
            s += len + (comma ? 1 : 0);
        }
        rc = td_tape_batch_append(batch, TD_STREAM_INPUT, ev, errbuf, errlen);
    }
    if (rc == TD_OK) {
        rc = td_tape_commit(tape, batch, errbuf, errlen);
        batch = NULL;
    }
    if (rc != TD_OK && errbuf && errlen && !errbuf[0])
        td_err_set(errbuf, errlen, rc, "cannot put the parameter sets on the tape");
    td_tape_batch_destroy(batch);
    td_tape_close(tape);
    free(ev);
    return rc;
}

/* ---- what the tape holds ---- */

td_err_t td_demo_summarise(td_tape_t *tape, const char *symbol, td_demo_summary_t *s)
{
    memset(s, 0, sizeof *s);
    td_tape_iter_t *iter = NULL;
    td_event_t *ev = malloc(sizeof *ev);
    td_err_t rc = ev ? td_tape_iter_new(tape, TD_STREAM_INPUT, symbol, 0, &iter, NULL, 0) : TD_ERR_NOMEM;
    while (rc == TD_OK && (rc = td_tape_iter_next(iter, ev, NULL, 0)) == TD_OK) {
        s->inputs++;
        s->ticks += ev->kind == TD_EV_TICK;
        s->clocks += ev->kind == TD_EV_CLOCK;
        if (ev->kind == TD_EV_EXEC_REPORT) {
            s->execs++;
            s->fills += ev->u.exec.status == TD_EXEC_FILLED && strncmp(ev->u.exec.intent_id, "sl:", 3) != 0 &&
                        strncmp(ev->u.exec.intent_id, "tp:", 3) != 0;
        }
    }
    td_tape_iter_destroy(iter);
    iter = NULL;
    if (rc == TD_ERR_END)
        rc = td_tape_iter_new(tape, TD_STREAM_OUTPUT, symbol, 0, &iter, NULL, 0);
    while (rc == TD_OK && (rc = td_tape_iter_next(iter, ev, NULL, 0)) == TD_OK) {
        switch (ev->kind) {
        case TD_EV_BAR: s->bars++; break;
        case TD_EV_ORDER_INTENT: s->intents++; break;
        case TD_EV_TRADE_CLOSED: s->trades++; break;
        case TD_EV_POSITION_CHANGED:
            s->last_volume = ev->u.position.volume;
            s->realized = ev->u.position.realized_pnl;
            s->commission = ev->u.position.commission;
            s->swap = ev->u.position.swap;
            break;
        case TD_EV_DAY_DIGEST:
            memcpy(s->digest, ev->u.digest.sha256, TD_SHA256_LEN);
            s->has_digest = true;
            break;
        default: break;
        }
    }
    if (rc == TD_ERR_END)
        rc = TD_OK;
    td_tape_iter_destroy(iter);
    free(ev);
    return rc;
}

typedef struct days {
    uint32_t *day;
    size_t n;
} days_t;

static td_err_t add_day(void *opaque, const td_day_range_t *range)
{
    days_t *days = opaque;
    if (range->trading_day <= 19700101 || range->count <= 1) /* not the Clock's next day */
        return TD_OK;
    size_t i = 0; /* days of all symbols, once each, in order */
    while (i < days->n && days->day[i] < range->trading_day)
        i++;
    if ((i < days->n && days->day[i] == range->trading_day) || days->n == TD_DEMO_DAYS_MAX)
        return TD_OK;
    memmove(&days->day[i + 1], &days->day[i], (days->n - i) * sizeof days->day[0]);
    days->day[i] = range->trading_day;
    days->n++;
    return TD_OK;
}

td_err_t td_demo_days(const td_demo_t *demo, const td_config_t *config, uint32_t day[TD_DEMO_DAYS_MAX], size_t *n,
                      char *errbuf, size_t errlen)
{
    days_t days = {.day = day};
    td_tape_t *tape = NULL;
    td_err_t rc = td_service_open_tape(config, demo->dir, true, &tape, errbuf, errlen);
    for (size_t i = 0; rc == TD_OK && i < demo->n_syms; i++)
        rc = td_tape_days(tape, TD_STREAM_INPUT, demo->syms[i].name, add_day, &days, errbuf, errlen);
    td_tape_close(tape);
    *n = days.n;
    return rc;
}

td_err_t td_demo_replay(const td_demo_t *demo, const char *date, char *errbuf, size_t errlen)
{
    char out_path[4200], log[4200], day[16];
    snprintf(out_path, sizeof out_path, "%s/replay.out", demo->dir);
    snprintf(log, sizeof log, "%s/replay.log", demo->dir);
    snprintf(day, sizeof day, "%s", date);
    char *args[] = {
        "tapedeck", "--data-dir", (char *)demo->dir, "--config", (char *)demo->config_path, "replay", "--date",
        day,        NULL};
    int out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_t pid = out_fd >= 0 ? spawn(args, out_fd, log) : -1;
    if (out_fd >= 0)
        close(out_fd);
    int code = pid > 0 ? wait_child(pid, REPLAY_TIMEOUT_S) : -1;
    if (code == 0)
        return TD_OK;
    if (code == 1)
        return TD_ERR_MISMATCH;
    return td_err_set(errbuf, errlen, TD_ERR_IO, "replay failed (exit %d); see %s", code, log);
}
