/* fuzz_codec.c - td_codec_decode() on arbitrary bytes (tape records and Kafka messages are outside
 * bytes). Any verdict is fine; when the decoder accepts, the encoding is canonical, so encoding
 * the decoded event again must give back exactly the input bytes, and td_codec_digest_view (the
 * pipeline's cut of stored bytes) must give exactly the TD_CODEC_FOR_DIGEST encoding. The view
 * also runs on every input, accepted or not: it must never need more than its 3 slices. The kind
 * peek (td_codec_peek_kind) runs on every input too, and on accepted bytes names the decoded kind.
 *
 * Seeds: one envelope of every body kind, generated here with td_codec_encode() (no binary files
 * in the repository; `fuzz_codec --write-seeds DIR` writes them for a libFuzzer corpus). */
#include <stdbool.h>
#include <string.h>

#include "core/codec.h"
#include "tests/fuzz/fuzz.h"

/* td_codec_digest_view on the same bytes: at most 3 slices whatever the input (a local array of
 * exactly 3, so ASan sees a write past it); returns whether it accepted them. */
static bool digest_view(const uint8_t *data, size_t size, td_buf_t *joined)
{
    td_slice_t parts[3];
    size_t n = 0;
    if (td_codec_digest_view(data, size, parts, &n) != TD_OK)
        return false;
    FUZZ_REQUIRE(n <= 3);
    for (size_t i = 0; i < n; i++)
        FUZZ_REQUIRE(td_buf_append(joined, parts[i].ptr, parts[i].len) == TD_OK);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    td_event_t ev;
    char err[256];
    td_buf_t view;
    td_buf_init(&view);
    bool viewed = digest_view(data, size, &view);
    td_event_kind_t kind;
    bool peeked = td_codec_peek_kind(data, size, &kind) == TD_OK;
    if (td_codec_decode(data, size, &ev, err, sizeof err) != TD_OK) {
        td_buf_fini(&view);
        return 0;
    }
    td_buf_t again;
    td_buf_init(&again);
    FUZZ_REQUIRE(td_codec_encode(&ev, TD_CODEC_DEFAULT, &again) == TD_OK);
    FUZZ_REQUIRE(again.len == size);
    FUZZ_REQUIRE(size == 0 || memcmp(again.ptr, data, size) == 0);
    FUZZ_REQUIRE(peeked && kind == ev.kind);
    /* the digest form of an accepted event encodes too, and decodes to the same event without
     * offset and ingest time */
    td_buf_reset(&again);
    FUZZ_REQUIRE(td_codec_encode(&ev, TD_CODEC_FOR_DIGEST, &again) == TD_OK);
    /* the view of canonical bytes is exactly the digest form */
    FUZZ_REQUIRE(viewed);
    FUZZ_REQUIRE(view.len == again.len && (view.len == 0 || memcmp(view.ptr, again.ptr, view.len) == 0));
    td_event_t back;
    FUZZ_REQUIRE(td_codec_decode(again.ptr, again.len, &back, err, sizeof err) == TD_OK);
    ev.offset = 0;
    ev.ingest_ms = 0;
    FUZZ_REQUIRE(memcmp(&back, &ev, sizeof ev) == 0);
    td_buf_fini(&again);
    td_buf_fini(&view);
    return 0;
}

static void seed(td_fuzz_add_fn add, void *opaque, const td_event_t *ev)
{
    td_buf_t buf;
    td_buf_init(&buf);
    if (td_codec_encode(ev, TD_CODEC_DEFAULT, &buf) == TD_OK) {
        char name[64];
        snprintf(name, sizeof name, "envelope-%s", td_event_kind_name(ev->kind));
        add(opaque, name, buf.ptr, buf.len);
    }
    td_buf_fini(&buf);
}

static void set(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src);
}

void td_fuzz_seeds(td_fuzz_add_fn add, void *opaque)
{
    /* regression: fields 1, 3, 2, 3, 5, 6, 5 - the digest view cut it into 4 slices of 3 */
    static const uint8_t repeated[] = {0x0a, 1, 'A', 0x18, 1, 0x12, 1, 'B', 0x18, 1, 0x28, 1, 0x30, 1, 0x28, 1};
    add(opaque, "regression-digest-view-repeated-offset", repeated, sizeof repeated);

    static const td_event_kind_t kinds[] = {
        TD_EV_TICK,         TD_EV_SYMBOL_SPEC,      TD_EV_EXEC_REPORT,  TD_EV_PARAMS_CHANGED,
        TD_EV_CLOCK,        TD_EV_SESSION_MARK,     TD_EV_BAR,          TD_EV_SIGNAL,
        TD_EV_ORDER_INTENT, TD_EV_POSITION_CHANGED, TD_EV_TRADE_CLOSED, TD_EV_DAY_DIGEST,
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        td_event_t ev;
        memset(&ev, 0, sizeof ev);
        set(ev.symbol, sizeof ev.symbol, "EURUSD");
        set(ev.source, sizeof ev.source, td_event_is_output(kinds[k]) ? "processor" : "mt5");
        ev.kind = kinds[k];
        ev.time_ms = INT64_C(1549238400994);
        ev.offset = 42 + k;
        ev.schema_version = 1;
        ev.ingest_ms = INT64_C(1549238401000);
        if (td_event_is_output(kinds[k])) {
            ev.input_offset = 41;
            ev.index = (uint32_t)k % 3;
        }
        switch (kinds[k]) {
        case TD_EV_TICK:
            ev.u.tick = (td_tick_t){.bid = 114543000, .ask = 114545000, .volume = 306000000, .flags = 6};
            break;
        case TD_EV_SYMBOL_SPEC:
            ev.u.spec = (td_symbol_spec_t){.digits = 5,
                                           .point = 1000,
                                           .contract_size = INT64_C(10000000000000),
                                           .tick_size = 1000,
                                           .tick_value = 100000000,
                                           .swap_long = -650000000,
                                           .swap_short = 120000000,
                                           .swap_mode = TD_SWAP_POINTS,
                                           .triple_swap_weekday = 3,
                                           .volume_step = 1000000,
                                           .volume_min = 1000000,
                                           .volume_max = INT64_C(10000000000)};
            break;
        case TD_EV_EXEC_REPORT:
            set(ev.u.exec.intent_id, sizeof ev.u.exec.intent_id, "EURUSD-17-2");
            ev.u.exec.deal_id = 1001;
            ev.u.exec.order_id = 1001;
            ev.u.exec.position_id = 1001;
            ev.u.exec.side = TD_SIDE_SELL;
            ev.u.exec.price = 114540000;
            ev.u.exec.volume = 100000000;
            ev.u.exec.commission = -350000000;
            ev.u.exec.profit = 1234000000;
            ev.u.exec.status = TD_EXEC_FILLED;
            set(ev.u.exec.reason, sizeof ev.u.exec.reason, "market");
            break;
        case TD_EV_PARAMS_CHANGED: {
            td_params_changed_t *p = &ev.u.params;
            set(p->strategy, sizeof p->strategy, "sma_cross");
            p->version = 3;
            static const char *const kv[][2] = {{"direction", "both"}, {"fast", "3"}, {"slow", "8"}, {"volume", "1"}};
            for (size_t i = 0; i < 4; i++) {
                set(p->values[i].name, sizeof p->values[i].name, kv[i][0]);
                set(p->values[i].value, sizeof p->values[i].value, kv[i][1]);
            }
            p->n_values = 4;
            set(p->author, sizeof p->author, "trader");
            set(p->reason, sizeof p->reason, "faster");
            break;
        }
        case TD_EV_SESSION_MARK:
            ev.u.session = (td_session_mark_t){.kind = TD_SESSION_DAY_END, .trading_day = 20190204};
            break;
        case TD_EV_BAR:
            ev.u.bar = (td_bar_t){.timeframe_s = 1800,
                                  .open_time = INT64_C(1549238400000),
                                  .open = 114543000,
                                  .high = 114600000,
                                  .low = 114500000,
                                  .close = 114560000,
                                  .tick_volume = 120,
                                  .spread_min = 1000,
                                  .spread_max = 9000,
                                  .spread_sum = 360000,
                                  .late_ticks = 1};
            break;
        case TD_EV_SIGNAL:
            set(ev.u.signal.strategy, sizeof ev.u.signal.strategy, "sma_cross");
            ev.u.signal.params_version = 3;
            ev.u.signal.direction = TD_DIR_SHORT;
            ev.u.signal.bar_time = INT64_C(1549238400000);
            set(ev.u.signal.reason, sizeof ev.u.signal.reason, "cross_down");
            break;
        case TD_EV_ORDER_INTENT:
            set(ev.u.intent.intent_id, sizeof ev.u.intent.intent_id, "EURUSD-41-1");
            ev.u.intent.side = TD_SIDE_BUY;
            ev.u.intent.volume = 200000000;
            ev.u.intent.stop_loss = 114000000;
            ev.u.intent.take_profit = 115000000;
            set(ev.u.intent.strategy, sizeof ev.u.intent.strategy, "sma_cross");
            ev.u.intent.params_version = 3;
            set(ev.u.intent.reason, sizeof ev.u.intent.reason, "cross_up");
            break;
        case TD_EV_POSITION_CHANGED:
            ev.u.position = (td_position_changed_t){.volume = -100000000,
                                                    .avg_price = 114540000,
                                                    .realized_pnl = 1234000000,
                                                    .commission = -700000000,
                                                    .swap = -65000000,
                                                    .deal_id = 1002};
            set(ev.u.position.intent_id, sizeof ev.u.position.intent_id, "EURUSD-41-1");
            break;
        case TD_EV_TRADE_CLOSED:
            ev.u.trade = (td_trade_closed_t){.side = TD_SIDE_BUY,
                                             .entry_time = INT64_C(1549238400000),
                                             .entry_price = 114540000,
                                             .exit_time = INT64_C(1549242000000),
                                             .exit_price = 114600000,
                                             .volume = 100000000,
                                             .pnl = 600000000,
                                             .commission = -700000000,
                                             .swap = 0};
            break;
        case TD_EV_DAY_DIGEST:
            ev.u.digest.trading_day = 20190204;
            for (size_t i = 0; i < sizeof ev.u.digest.sha256; i++)
                ev.u.digest.sha256[i] = (uint8_t)(i * 37 + 11);
            ev.u.digest.first_offset = 0;
            ev.u.digest.last_offset = 290;
            ev.u.digest.inputs = 291;
            ev.u.digest.outputs = 75;
            ev.u.digest.trades = 4;
            ev.u.digest.wins = 1;
            ev.u.digest.realized_pnl = -2000000000;
            ev.u.digest.max_drawdown = 3000000000;
            break;
        default: break;
        }
        seed(add, opaque, &ev);
    }
}
