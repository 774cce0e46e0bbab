/* config.c - the key table, YAML loading (libyaml event parser) and typed reads.
 *
 * Values are kept as validated text plus their parsed integer, one slot per table entry for the
 * global keys and one slot array per symbol section. Reads of a key that is not in the table are
 * programming errors and assert.
 */
#include "core/config.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/address.h"
#include "core/fixed.h"
#include "core/names.h"

/* K_STR: max > 0 bounds its length in bytes; K_ADDR: an IPv4 "HOST:PORT", port 0..65535; K_ACCOUNT:
 * empty or what an EA's HELLO can name (printable ASCII without TAB, at most max bytes), so that an
 * account no EA can log in as is refused here rather than leaving its symbols' orders unsent. */
typedef enum key_type { K_INT, K_DECIMAL, K_BOOL, K_ENUM, K_NAMED, K_STR, K_ADDR, K_ACCOUNT } key_type_t;

typedef struct key_def {
    const char *key; /* global: "tape.sync"; per symbol: "symbol.digits" */
    key_type_t type;
    const char *def;     /* default, as text */
    int64_t min, max;    /* K_INT: range; K_DECIMAL: range scaled by 1e8 */
    const char *choices; /* K_ENUM: "a|b|c", the value is the index of the choice */
    const char *doc;
    const td_names_t *names; /* K_NAMED: the value is the named row's value */
} key_def_t;

#define DEC(x) ((int64_t)(x)*TD_FX_SCALE)

static const key_def_t keys[] = {
    {"tape.sync", K_ENUM, "commit", 0, 0, "none|commit",
     "commit: fsync the tape's write-ahead log on every commit (survives power loss); none: survives a process crash "
     "only"},
    {"tape.batch_events", K_INT, "4096", 1, 1000000, NULL,
     "input events the processor host applies between two commits of state, offsets and outputs"},
    {"session.day_offset_minutes", K_INT, "0", -720, 720, NULL,
     "trading-day roll: a trading day starts at 00:00 UTC minus this many minutes (420 = 17:00 New York in winter)"},
    {"session.tz_offset_minutes", K_INT, "0", -720, 720, NULL,
     "time zone (UTC+minutes) of trading-hours windows and weekday masks of strategies"},
    {"bars.timeframe", K_NAMED, "M30", 0, 0, NULL, "timeframe of the bars the strategies run on", &td_timeframe_names},
    {"broker.mode", K_ENUM, "paper", 0, 0, "paper|external",
     "paper: the processor host fills order intents with the fill model; external: fills arrive as execution reports "
     "on the stream"},
    {"broker.slippage_points", K_INT, "0", 0, 100000, NULL, "paper fills: slippage against the order, in points"},
    {"broker.commission_per_lot", K_DECIMAL, "0", 0, DEC(100000), NULL,
     "paper fills: commission per lot per side, money"},
    {"warehouse.uri", K_STR, "", 0, 0, NULL,
     "PostgreSQL connection URI or key=value string; empty = the libpq environment (PGHOST, PGPORT, PGDATABASE, "
     "PGUSER)"},
    {"warehouse.enabled", K_BOOL, "false", 0, 0, NULL,
     "tapedeck run (all roles) also runs the warehouse sink, in its own thread, into warehouse.uri"},
    {"warehouse.batch_rows", K_INT, "10000", 1, 1000000, NULL,
     "sink: output events per SQL transaction (binary COPY into staging, upsert, the new offset)"},
    {"warehouse.sessions", K_INT, "2", 1, 16, NULL,
     "sink: PostgreSQL sessions writing at once, each in its own thread over its own symbols (a symbol's streams are "
     "written by one session at a time)"},
    {"warehouse.direct_copy", K_BOOL, "true", 0, 0, NULL,
     "sink: COPY a batch straight into its table, falling back to staging + upsert when a key exists; false = always "
     "staging + upsert"},
    {"warehouse.poll_ms", K_INT, "1000", 10, 600000, NULL,
     "sink: how often a running sink looks for new outputs on the tape"},
    {"warehouse.retry_max_ms", K_INT, "5000", 100, 600000, NULL,
     "sink: longest wait between two attempts to reach PostgreSQL (the wait doubles from 100 ms)"},
    {"warehouse.give_up_s", K_INT, "0", 0, 604800, NULL,
     "sink: stop with exit 3 after PostgreSQL has been unreachable this long; 0 = keep trying"},
    {"compact.retain_raw_days", K_INT, "0", 0, 36500, NULL,
     "compact: trading days whose raw events the tape keeps, the compacted day included; older sealed days are read "
     "from their sealed files and their raw events deleted from the tape (a stream's newest day stays); 0 = keep every "
     "raw event"},
    {"compact.retain_m1_days", K_INT, "0", 0, 36500, NULL,
     "compact: trading days of M1 bars the warehouse keeps, the compacted day included; M1 bars of older sealed days "
     "are deleted (M30 and longer stay); 0 = keep every M1 bar"},
    {"compact.xz_preset", K_INT, "0", 0, 9, NULL,
     "compact: xz compression preset of sealed day files (0 fastest .. 9 smallest; 0 costs about a third less "
     "time than 1 for 3 % larger files)"},
    {"compact.xz_threads", K_INT, "2", 1, 64, NULL,
     "compact: threads compressing a sealed day file (1 = one xz block; more = blocks in parallel, the same bytes "
     "for any count > 1)"},
    {"gateway.listen", K_ADDR, "127.0.0.1:7878", 0, 0, NULL,
     "HOST:PORT the gateway listens on for the EA (an IPv4 address or localhost; port 0 = any free port, printed at "
     "startup)"},
    {"gateway.token", K_STR, "", 0, 127, NULL,
     "shared secret the EA sends in HELLO, compared in constant time; required by tapedeck run --role gateway"},
    {"gateway.max_connections", K_INT, "16", 1, 1024, NULL,
     "authenticated EA sessions served at once; one more HELLO gets BYE (connections awaiting HELLO count apart, "
     "gateway.max_unauthenticated)"},
    {"gateway.max_unauthenticated", K_INT, "4", 1, 1024, NULL,
     "connections that have not said HELLO yet, at once; one more closes the oldest of them with BYE, so idle "
     "sockets cannot keep an EA out"},
    {"gateway.max_line", K_INT, "4096", 64, 4096, NULL,
     "longest line from the EA, bytes with its LF; a longer one gets ERR and is counted"},
    {"gateway.auth_timeout_ms", K_INT, "3000", 10, 600000, NULL,
     "a connection that sends no valid HELLO within this time is closed"},
    {"gateway.auth_max_failures", K_INT, "5", 1, 1000, NULL,
     "failed logins (a wrong or missing token, another line than HELLO first) from one address within "
     "gateway.auth_failure_window_ms that block the address for gateway.auth_cooldown_ms"},
    {"gateway.auth_failure_window_ms", K_INT, "60000", 10, 86400000, NULL,
     "the window in which gateway.auth_max_failures failed logins from one address block it"},
    {"gateway.auth_cooldown_ms", K_INT, "60000", 10, 86400000, NULL,
     "how long an address is blocked after too many failed logins: its connections get BYE at once (a fixed "
     "table of 64 addresses)"},
    {"gateway.idle_timeout_ms", K_INT, "60000", 10, 3600000, NULL,
     "a connection that completes no line for this long is closed (heartbeats keep an EA alive)"},
    {"gateway.max_errors", K_INT, "10", 0, 1000000, NULL,
     "malformed lines tolerated per connection; one more closes it with BYE"},
    {"gateway.max_ahead_ms", K_INT, "10000", 1, 86400000, NULL,
     "a line whose time is more than this ahead of the gateway's clock gets ERR and is not appended (a future "
     "time would close trading days early)"},
    {"gateway.account", K_ACCOUNT, "", 0, 31, NULL,
     "the MT5 account (its login, as the EA's HELLO names it) that trades every symbol without symbols.<SYMBOL>."
     "account: their orders go only to its session, and their TICK, SPEC and EXEC lines are accepted only from it; "
     "empty = none: such a symbol's lines are accepted from any account and its orders are never sent (they expire)"},
    {"router.max_age_ms", K_INT, "5000", 1, 86400000, NULL,
     "an order intent not sent to the EA this long after its input arrived is not sent: it is recorded as "
     "expired; one sent but not answered by the EA is resent to a new session only within this age"},
    {"router.interval_ms", K_INT, "50", 1, 60000, NULL,
     "tapedeck run: how often the processor and the router look at the tape besides after each gateway commit"},
    {"backtest.pbo_blocks", K_INT, "16", 2, 20, NULL,
     "backtest: blocks S of the PBO's combinatorially symmetric cross-validation (even; C(S, S/2) splits)"},
    {"backtest.wf_metric", K_ENUM, "sharpe", 0, 0, "sharpe|sortino|calmar|net_pnl|profit_factor",
     "backtest --walk-forward: the in-sample metric that chooses each window's parameter set"},
    {"params.min_dsr", K_DECIMAL, "0.95", 0, DEC(1), NULL,
     "params propose: lowest Deflated Sharpe Ratio of the proposed set"},
    {"params.max_pbo", K_DECIMAL, "0.5", 0, DEC(1), NULL,
     "params propose: highest Probability of Backtest Overfitting of the grid"},
    {"params.min_oos_trades", K_INT, "30", 0, 100000000, NULL,
     "params propose: fewest walk-forward out-of-sample trades"},
    {"params.min_oos_sharpe", K_DECIMAL, "0", -DEC(100), DEC(100), NULL,
     "params propose: lowest walk-forward out-of-sample Sharpe ratio (annualised)"},
    {"journal.mode", K_ENUM, "tape", 0, 0, "tape|kafka",
     "tapedeck run: tape: every role on the local tape of one process; kafka: the input and output topics of "
     "kafka.* join the roles, one per process (docs/OPERATIONS.md)"},
    {"kafka.brokers", K_STR, "127.0.0.1:9092", 0, 0, NULL, "journal.mode kafka: bootstrap servers, HOST:PORT[,...]"},
    {"kafka.input_topic", K_STR, "tapedeck.input", 0, 0, NULL,
     "journal.mode kafka: topic of the EA's ticks, symbol specs and execution reports (key = symbol)"},
    {"kafka.output_topic", K_STR, "tapedeck.output", 0, 0, NULL,
     "journal.mode kafka: topic of the processor's outputs and state records (key = symbol)"},
    {"kafka.partitions", K_INT, "6", 1, 10000, NULL,
     "journal.mode kafka: partitions of each topic (checked at startup); a symbol's partition is FNV-1a-32(symbol) "
     "mod this - changing it moves symbols: never change it on a live cluster"},
    {"kafka.linger_ms", K_INT, "5", 0, 1000, NULL,
     "journal.mode kafka: the processor's producer batching delay (linger.ms); it batches a cycle's outputs, and "
     "costs no latency: every wait for delivery flushes at once. The gateway's producer sends at once (linger 0): it "
     "does not wait for delivery, so nothing would flush it"},
    {"kafka.max_in_flight", K_INT, "5", 1, 5, NULL,
     "journal.mode kafka: produce requests in flight per broker connection (max.in.flight.requests.per.connection; "
     "at most 5 with the idempotent producer, which keeps each partition's order on real brokers). librdkafka's "
     "mock cluster does not check the sequence numbers of a non-transactional producer, so a request it fails by "
     "injected error can land after a later one: set 1 there when injecting errors"},
    {"kafka.delivery_timeout_ms", K_INT, "300000", 1000, 86400000, NULL,
     "journal.mode kafka: a message not acknowledged by the brokers within this time fails the role (exit 3; "
     "nothing acknowledged is lost, the restart resends)"},
    {"kafka.fetch_wait_ms", K_INT, "100", 1, 10000, NULL,
     "journal.mode kafka: longest wait of a consumer's fetch for new data (fetch.wait.max.ms); brokers answer as soon "
     "as data arrives, but librdkafka's mock cluster only when the wait ends: set 1 there"},
    {"kafka.state_interval_ms", K_INT, "1000", 0, 3600000, NULL,
     "journal.mode kafka: the processor produces a symbol's state record (proc/<SYMBOL>) to the output topic at "
     "most this often while its input moves, and at shutdown; 0 = after every input batch. Outputs and day-start "
     "snapshots go out at once regardless"},
    {"kafka.batch_messages", K_INT, "5000", 1, 1000000, NULL,
     "journal.mode kafka: consumed messages per local tape commit (archiver, processor)"},
    {"log.level", K_ENUM, "info", 0, 0, "debug|info|warn|error", "least severe level written to stderr"},
    {"log.format", K_ENUM, "text", 0, 0, "text|json", "text: key=value lines; json: one JSON object per line"},
    {"symbol.digits", K_INT, "5", 0, 8, NULL, "decimal places of a price (point = 10^-digits)"},
    {"symbol.contract_size", K_DECIMAL, "100000", 1, DEC(100000000), NULL, "units of the base per lot"},
    {"symbol.tick_size", K_DECIMAL, "0", 0, DEC(100000), NULL, "smallest price change; 0 = one point"},
    {"symbol.tick_value", K_DECIMAL, "0", 0, DEC(100000000), NULL,
     "money per tick per lot; 0 = tick_size x contract_size"},
    {"symbol.swap_mode", K_NAMED, "points", 0, 0, NULL, "how swap_long and swap_short are expressed",
     &td_swap_mode_names},
    {"symbol.swap_long", K_DECIMAL, "0", -DEC(1000000), DEC(1000000), NULL,
     "swap of a long position per day, unit per swap_mode"},
    {"symbol.swap_short", K_DECIMAL, "0", -DEC(1000000), DEC(1000000), NULL,
     "swap of a short position per day, unit per swap_mode"},
    {"symbol.triple_swap_weekday", K_INT, "3", 0, 6, NULL,
     "weekday (0 = Sunday) whose rollover charges three days of swap"},
    {"symbol.volume_step", K_DECIMAL, "0.01", 1, DEC(1000), NULL, "lot step"},
    {"symbol.volume_min", K_DECIMAL, "0.01", 1, DEC(1000), NULL, "smallest order, lots"},
    {"symbol.volume_max", K_DECIMAL, "100", 1, DEC(1000000), NULL, "largest order, lots"},
    {"symbol.account", K_ACCOUNT, "", 0, 31, NULL,
     "the MT5 account that trades this symbol (its orders go only to that account's session; its lines are "
     "accepted only from it); empty = gateway.account"},
};

#define N_KEYS (sizeof keys / sizeof keys[0])

typedef struct slot {
    char *text; /* NULL = default */
    int64_t num;
    unsigned line;
    unsigned load; /* the td_config_load() that set it (1, 2, ...); 0 = td_config_set */
} slot_t;

typedef struct symbol_section {
    char name[TD_SYMBOL_MAX + 1];
    slot_t slots[N_KEYS];
} symbol_section_t;

struct td_config {
    slot_t slots[N_KEYS];
    symbol_section_t *symbols;
    size_t n_symbols;
    int64_t defaults[N_KEYS];
    unsigned load; /* td_config_load() calls so far: a key may appear once per file */
};

static bool is_symbol_key(const key_def_t *k)
{
    return strncmp(k->key, "symbol.", 7) == 0;
}

static int find_key(const char *key, bool per_symbol)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (is_symbol_key(&keys[i]) != per_symbol)
            continue;
        const char *name = per_symbol ? keys[i].key + 7 : keys[i].key;
        if (strcmp(name, key) == 0)
            return (int)i;
    }
    return -1;
}

static bool enum_index(const char *choices, const char *value, int64_t *idx)
{
    size_t vlen = strlen(value);
    int64_t i = 0;
    for (const char *p = choices; *p; i++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == vlen && strncmp(p, value, n) == 0) {
            *idx = i;
            return true;
        }
        if (!bar)
            break;
        p = bar + 1;
    }
    return false;
}

/* Parses value for key k into *num; TD_ERR_CONFIG with "WHERE: KEY: expected ..." on failure. */
static td_err_t parse_value(const key_def_t *k, const char *shown_key, const char *value, const char *where,
                            int64_t *num, char *errbuf, size_t errlen)
{
    switch (k->type) {
    case K_INT: {
        char *end = NULL;
        long long v = strtoll(value, &end, 10);
        if (!*value || *end || v < k->min || v > k->max)
            return td_err_set(errbuf, errlen, TD_ERR_CONFIG, "%s: %s: expected an integer in %lld..%lld, found '%s'",
                              where, shown_key, (long long)k->min, (long long)k->max, value);
        *num = v;
        return TD_OK;
    }
    case K_DECIMAL: {
        int64_t v = 0;
        if (td_fx_parse(value, strlen(value), &v, NULL) != TD_OK || v < k->min || v > k->max) {
            char lo[40], hi[40];
            td_fx_format(k->min, 8, lo, sizeof lo);
            td_fx_format(k->max, 8, hi, sizeof hi);
            return td_err_set(errbuf, errlen, TD_ERR_CONFIG, "%s: %s: expected a decimal in %s..%s, found '%s'", where,
                              shown_key, lo, hi, value);
        }
        *num = v;
        return TD_OK;
    }
    case K_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
            *num = value[0] == 't';
            return TD_OK;
        }
        return td_err_set(errbuf, errlen, TD_ERR_CONFIG, "%s: %s: expected true or false, found '%s'", where, shown_key,
                          value);
    case K_ENUM:
        if (enum_index(k->choices, value, num))
            return TD_OK;
        return td_err_set(errbuf, errlen, TD_ERR_CONFIG, "%s: %s: expected one of %s, found '%s'", where, shown_key,
                          k->choices, value);
    case K_NAMED: {
        if (td_names_value(k->names, value, strlen(value), num))
            return TD_OK;
        char choices[96];
        return td_err_set(errbuf, errlen, TD_ERR_CONFIG, "%s: %s: expected one of %s, found '%s'", where, shown_key,
                          td_names_join(k->names, choices, sizeof choices), value);
    }
    case K_STR:
        *num = 0;
        if (k->max > 0 && strlen(value) > (size_t)k->max)
            return td_err_set(errbuf, errlen, TD_ERR_CONFIG, "%s: %s: expected at most %lld characters, found %zu",
                              where, shown_key, (long long)k->max, strlen(value));
        return TD_OK;
    case K_ACCOUNT: {
        *num = 0;
        size_t len = strlen(value), i = 0;
        while (i < len && value[i] >= 0x20 && value[i] <= 0x7e)
            i++;
        if (i < len || len > (size_t)k->max)
            return td_err_set(errbuf, errlen, TD_ERR_CONFIG,
                              "%s: %s: expected an account as the EA's HELLO names it (printable ASCII, at most %lld "
                              "characters) or nothing, found '%s'",
                              where, shown_key, (long long)k->max, value);
        return TD_OK;
    }
    case K_ADDR:
        *num = 0;
        if (td_address_parse(value, NULL, NULL, 0) != TD_OK)
            return td_err_set(
                errbuf, errlen, TD_ERR_CONFIG,
                "%s: %s: expected an IPv4 address or localhost and a port 0..65535 (HOST:PORT), found '%s'", where,
                shown_key, value);
        return TD_OK;
    }
    return TD_ERR_CONFIG;
}

td_config_t *td_config_new(void)
{
    td_config_t *config = calloc(1, sizeof *config);
    if (!config)
        return NULL;
    for (size_t i = 0; i < N_KEYS; i++) {
        td_err_t rc = parse_value(&keys[i], keys[i].key, keys[i].def, "default", &config->defaults[i], NULL, 0);
        TD_ASSERT(rc == TD_OK);
    }
    return config;
}

static void slots_free(slot_t *slots)
{
    for (size_t i = 0; i < N_KEYS; i++)
        free(slots[i].text);
}

void td_config_destroy(td_config_t *config)
{
    if (!config)
        return;
    slots_free(config->slots);
    for (size_t i = 0; i < config->n_symbols; i++)
        slots_free(config->symbols[i].slots);
    free(config->symbols);
    free(config);
}

static symbol_section_t *section_get(td_config_t *config, const char *symbol, bool create)
{
    for (size_t i = 0; i < config->n_symbols; i++)
        if (strcmp(config->symbols[i].name, symbol) == 0)
            return &config->symbols[i];
    if (!create || strlen(symbol) > TD_SYMBOL_MAX)
        return NULL;
    symbol_section_t *p = realloc(config->symbols, (config->n_symbols + 1) * sizeof *p);
    if (!p)
        return NULL;
    config->symbols = p;
    symbol_section_t *s = &p[config->n_symbols++];
    memset(s, 0, sizeof *s);
    memcpy(s->name, symbol, strlen(symbol) + 1);
    return s;
}

static td_err_t set_slot(slot_t *slot, const key_def_t *k, const char *shown_key, const char *value, const char *where,
                         unsigned line, unsigned load, char *errbuf, size_t errlen)
{
    if (load != 0 && slot->load == load) /* a file may name a key once: the last would win silently */
        return td_err_set(errbuf, errlen, TD_ERR_CONFIG, "%s: %s: set twice (first at line %u); a key may appear once",
                          where, shown_key, slot->line);
    int64_t num = 0;
    td_err_t rc = parse_value(k, shown_key, value, where, &num, errbuf, errlen);
    if (rc != TD_OK)
        return rc;
    char *text = strdup(value);
    if (!text)
        return TD_ERR_NOMEM;
    free(slot->text);
    slot->text = text;
    slot->num = num;
    slot->line = line;
    slot->load = load;
    return TD_OK;
}

/* Sets one key; line and load name the file line and td_config_load() call it comes from (0, 0
 * for td_config_set). */
static td_err_t set_at(td_config_t *config, const char *key, const char *value, const char *where, unsigned line,
                       unsigned load, char *errbuf, size_t errlen)
{
    if (strncmp(key, "symbols.", 8) == 0) {
        const char *sym = key + 8;
        const char *dot = strchr(sym, '.');
        if (!dot || dot == sym)
            return td_err_set(errbuf, errlen, TD_ERR_CONFIG, "%s: %s: expected symbols.<SYMBOL>.<key>", where, key);
        if (!td_symbol_valid(sym, (size_t)(dot - sym)))
            return td_err_set(errbuf, errlen, TD_ERR_CONFIG, "%s: %s: expected a symbol of %s, found '%.*s'", where,
                              key, TD_SYMBOL_RULE, (int)(dot - sym), sym);
        char name[TD_SYMBOL_MAX + 1];
        memcpy(name, sym, (size_t)(dot - sym));
        name[dot - sym] = '\0';
        int i = find_key(dot + 1, true);
        if (i < 0)
            return td_err_set(errbuf, errlen, TD_ERR_CONFIG,
                              "%s: %s: unknown per-symbol key '%s' (see tapedeck config --reference)", where, key,
                              dot + 1);
        symbol_section_t *s = section_get(config, name, true);
        if (!s)
            return TD_ERR_NOMEM;
        return set_slot(&s->slots[i], &keys[i], key, value, where, line, load, errbuf, errlen);
    }
    int i = find_key(key, false);
    if (i < 0)
        return td_err_set(errbuf, errlen, TD_ERR_CONFIG, "%s: %s: unknown key (see tapedeck config --reference)", where,
                          key);
    return set_slot(&config->slots[i], &keys[i], key, value, where, line, load, errbuf, errlen);
}

td_err_t td_config_set(td_config_t *config, const char *key, const char *value, const char *where, char *errbuf,
                       size_t errlen)
{
    return set_at(config, key, value, where, 0, 0, errbuf, errlen);
}

/* The YAML walk: a stack of mapping keys; a scalar in value position completes "a.b.c". */
#define MAX_DEPTH 8

td_err_t td_config_load(td_config_t *config, const char *path, char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return td_err_set(errbuf, errlen, TD_ERR_CONFIG, "%s: cannot open config file: %m", path);
    unsigned load = ++config->load;
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);

    char *stack[MAX_DEPTH] = {0};
    int depth = 0; /* open mappings */
    bool want_key[MAX_DEPTH + 1] = {true};
    td_err_t rc = TD_OK;
    bool done = false;
    while (rc == TD_OK && !done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = td_err_set(errbuf, errlen, TD_ERR_CONFIG, "%s:%zu: YAML: %s", path, parser.problem_mark.line + 1,
                            parser.problem ? parser.problem : "syntax error");
            break;
        }
        unsigned line = (unsigned)ev.start_mark.line + 1;
        char where[512];
        snprintf(where, sizeof where, "%s:%u", path, line);
        switch (ev.type) {
        case YAML_STREAM_END_EVENT: done = true; break;
        case YAML_MAPPING_START_EVENT:
            if (depth > 0 && want_key[depth]) {
                rc = td_err_set(errbuf, errlen, TD_ERR_CONFIG, "%s: expected a key, found a mapping", where);
            } else if (depth >= MAX_DEPTH) {
                rc = td_err_set(errbuf, errlen, TD_ERR_CONFIG, "%s: nesting deeper than %d levels", where, MAX_DEPTH);
            } else {
                depth++;
                want_key[depth] = true;
            }
            break;
        case YAML_MAPPING_END_EVENT:
            free(stack[depth - 1]);
            stack[depth - 1] = NULL;
            depth--;
            if (depth > 0) {
                free(stack[depth - 1]);
                stack[depth - 1] = NULL;
                want_key[depth] = true;
            }
            break;
        case YAML_SCALAR_EVENT: {
            const char *text = (const char *)ev.data.scalar.value;
            if (depth == 0) {
                if (ev.data.scalar.length)
                    rc = td_err_set(errbuf, errlen, TD_ERR_CONFIG, "%s: expected a mapping of keys, found '%s'", where,
                                    text);
            } else if (want_key[depth]) {
                stack[depth - 1] = strdup(text);
                if (!stack[depth - 1])
                    rc = TD_ERR_NOMEM;
                want_key[depth] = false;
            } else {
                char key[256] = "";
                for (int i = 0; i < depth; i++) {
                    if (i)
                        strncat(key, ".", sizeof key - strlen(key) - 1);
                    strncat(key, stack[i], sizeof key - strlen(key) - 1);
                }
                rc = set_at(config, key, text, where, line, load, errbuf, errlen);
                free(stack[depth - 1]);
                stack[depth - 1] = NULL;
                want_key[depth] = true;
            }
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
            rc = td_err_set(errbuf, errlen, TD_ERR_CONFIG, "%s: lists are not used in tapedeck config", where);
            break;
        case YAML_ALIAS_EVENT:
            rc = td_err_set(errbuf, errlen, TD_ERR_CONFIG, "%s: YAML aliases are not supported", where);
            break;
        default: break;
        }
        yaml_event_delete(&ev);
    }
    for (int i = 0; i < MAX_DEPTH; i++)
        free(stack[i]);
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}

static int key_index(const char *key, bool per_symbol)
{
    int i = find_key(key, per_symbol);
    TD_ASSERT(i >= 0);
    return i;
}

static const slot_t *global_slot(const td_config_t *config, const char *key, int *idx)
{
    *idx = key_index(key, false);
    return &config->slots[*idx];
}

int64_t td_config_int(const td_config_t *config, const char *key)
{
    int i;
    const slot_t *s = global_slot(config, key, &i);
    TD_ASSERT(keys[i].type == K_INT || keys[i].type == K_BOOL || keys[i].type == K_ENUM || keys[i].type == K_NAMED);
    return s->text ? s->num : config->defaults[i];
}

int64_t td_config_decimal(const td_config_t *config, const char *key)
{
    int i;
    const slot_t *s = global_slot(config, key, &i);
    TD_ASSERT(keys[i].type == K_DECIMAL);
    return s->text ? s->num : config->defaults[i];
}

bool td_config_bool(const td_config_t *config, const char *key)
{
    return td_config_int(config, key) != 0;
}

const char *td_config_str(const td_config_t *config, const char *key)
{
    int i;
    const slot_t *s = global_slot(config, key, &i);
    return s->text ? s->text : keys[i].def;
}

static const slot_t *symbol_slot(const td_config_t *config, const char *symbol, const char *key, int *idx)
{
    *idx = key_index(key, true);
    for (size_t j = 0; j < config->n_symbols; j++)
        if (strcmp(config->symbols[j].name, symbol) == 0)
            return &config->symbols[j].slots[*idx];
    return NULL;
}

int64_t td_config_symbol_int(const td_config_t *config, const char *symbol, const char *key)
{
    int i;
    const slot_t *s = symbol_slot(config, symbol, key, &i);
    return s && s->text ? s->num : config->defaults[i];
}

int64_t td_config_symbol_decimal(const td_config_t *config, const char *symbol, const char *key)
{
    return td_config_symbol_int(config, symbol, key);
}

const char *td_config_symbol_str(const td_config_t *config, const char *symbol, const char *key)
{
    int i;
    const slot_t *s = symbol_slot(config, symbol, key, &i);
    return s && s->text ? s->text : keys[i].def;
}

const char *td_config_symbol_account(const td_config_t *config, const char *symbol)
{
    const char *account = td_config_symbol_str(config, symbol, "account");
    return *account ? account : td_config_str(config, "gateway.account");
}

bool td_config_has_symbol(const td_config_t *config, const char *symbol)
{
    for (size_t j = 0; j < config->n_symbols; j++)
        if (strcmp(config->symbols[j].name, symbol) == 0)
            return true;
    return false;
}

void td_config_symbol_spec(const td_config_t *config, const char *symbol, td_symbol_spec_t *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->digits = (uint32_t)td_config_symbol_int(config, symbol, "digits");
    spec->point = td_fx_point(spec->digits);
    spec->contract_size = td_config_symbol_decimal(config, symbol, "contract_size");
    spec->tick_size = td_config_symbol_decimal(config, symbol, "tick_size");
    if (spec->tick_size == 0)
        spec->tick_size = spec->point;
    spec->tick_value = td_config_symbol_decimal(config, symbol, "tick_value");
    if (spec->tick_value == 0) {
        /* tick_size (price) x contract_size (units) = money per tick per lot */
        td_err_t rc = td_fx_mul(spec->tick_size, spec->contract_size, &spec->tick_value);
        TD_ASSERT(rc == TD_OK); /* both ranges are bounded by the key table */
    }
    spec->swap_mode = (td_swap_mode_t)td_config_symbol_int(config, symbol, "swap_mode");
    spec->swap_long = td_config_symbol_decimal(config, symbol, "swap_long");
    spec->swap_short = td_config_symbol_decimal(config, symbol, "swap_short");
    spec->triple_swap_weekday = (uint32_t)td_config_symbol_int(config, symbol, "triple_swap_weekday");
    spec->volume_step = td_config_symbol_decimal(config, symbol, "volume_step");
    spec->volume_min = td_config_symbol_decimal(config, symbol, "volume_min");
    spec->volume_max = td_config_symbol_decimal(config, symbol, "volume_max");
}

static const char *type_name(key_type_t t)
{
    switch (t) {
    case K_INT: return "integer";
    case K_DECIMAL: return "decimal";
    case K_BOOL: return "boolean";
    case K_ENUM:
    case K_NAMED: return "enum";
    case K_STR:
    case K_ACCOUNT: return "string";
    case K_ADDR: return "address";
    }
    return "?";
}

static void range_text(const key_def_t *k, char *buf, size_t n)
{
    char lo[40], hi[40];
    switch (k->type) {
    case K_INT: snprintf(buf, n, "%lld..%lld", (long long)k->min, (long long)k->max); return;
    case K_DECIMAL:
        td_fx_format(k->min, 8, lo, sizeof lo);
        td_fx_format(k->max, 8, hi, sizeof hi);
        snprintf(buf, n, "%s..%s", lo, hi);
        return;
    case K_ENUM: snprintf(buf, n, "%s", k->choices); return;
    case K_NAMED: td_names_join(k->names, buf, n); return;
    case K_STR:
        if (k->max > 0) {
            snprintf(buf, n, "at most %lld characters", (long long)k->max);
            return;
        }
        snprintf(buf, n, "-");
        return;
    case K_ADDR: snprintf(buf, n, "IPv4:0..65535"); return;
    case K_ACCOUNT: snprintf(buf, n, "printable ASCII, at most %lld characters", (long long)k->max); return;
    default: snprintf(buf, n, "-");
    }
}

void td_config_write_reference(FILE *out)
{
    fprintf(out, "| key | type | default | range | meaning |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < N_KEYS; i++) {
        char range[96];
        range_text(&keys[i], range, sizeof range);
        const char *name = keys[i].key;
        fprintf(out, "| `%s%s` | %s | `%s` | %s | %s |\n", is_symbol_key(&keys[i]) ? "symbols.<SYMBOL>." : "",
                is_symbol_key(&keys[i]) ? name + 7 : name, type_name(keys[i].type), keys[i].def, range, keys[i].doc);
    }
}

void td_config_write_example(FILE *out)
{
    fprintf(out, "# tapedeck configuration: every key with its default (tapedeck config --example).\n");
    const char *section = "";
    size_t section_len = 0;
    for (size_t i = 0; i < N_KEYS; i++) {
        if (is_symbol_key(&keys[i]))
            continue;
        const char *dot = strchr(keys[i].key, '.');
        size_t len = (size_t)(dot - keys[i].key);
        if (len != section_len || strncmp(section, keys[i].key, len) != 0) {
            fprintf(out, "%.*s:\n", (int)len, keys[i].key);
            section = keys[i].key;
            section_len = len;
        }
        fprintf(out, "  # %s\n  %s: %s\n", keys[i].doc, dot + 1, keys[i].def);
    }
    fprintf(out, "symbols:\n  EURUSD:\n");
    for (size_t i = 0; i < N_KEYS; i++)
        if (is_symbol_key(&keys[i]))
            fprintf(out, "    # %s\n    %s: %s\n", keys[i].doc, keys[i].key + 7, keys[i].def);
}
