/* test_codec.c - core/codec.c: round trips of every body kind, canonical bytes, the digest and
 * no-offset forms, refusal of corrupt input, and the encode/decode speed (printed, not asserted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/codec.h"
#include "core/timeutil.h"

/* Fills a fixed string field with n copies of c (n < size). */
static void fill_str(char *dst, size_t size, char c, size_t n)
{
    assert_true(n < size);
    memset(dst, c, n);
    dst[n] = '\0';
}

#define FILL_MAX(field, c) fill_str((field), sizeof(field), (c), sizeof(field) - 1)

/* An event of `kind` with every header and body field set to a non-default value, strings at their
 * maximum length and signed values negative where the schema allows. */
static void make_event(td_event_t *ev, td_event_kind_t kind)
{
    memset(ev, 0, sizeof *ev);
    FILL_MAX(ev->symbol, 'S');
    ev->time_ms = -INT64_C(1234567890123);
    ev->offset = UINT64_MAX;
    FILL_MAX(ev->source, 'r');
    ev->schema_version = TD_SCHEMA_VERSION;
    ev->ingest_ms = INT64_C(1700000000123);
    ev->input_offset = UINT64_C(0x123456789abcdef0);
    ev->index = UINT32_MAX;
    ev->kind = kind;
    switch (kind) {
    case TD_EV_TICK:
        ev->u.tick = (td_tick_t){.bid = INT64_MIN, .ask = INT64_MAX, .last = -1, .volume = -100, .flags = 0x7e};
        break;
    case TD_EV_SYMBOL_SPEC:
        ev->u.spec = (td_symbol_spec_t){.digits = 5,
                                        .point = 1000,
                                        .contract_size = INT64_C(10000000000000),
                                        .tick_size = 1000,
                                        .tick_value = -100000000,
                                        .swap_long = -725000000,
                                        .swap_short = 123,
                                        .swap_mode = TD_SWAP_INTEREST,
                                        .triple_swap_weekday = 3,
                                        .volume_step = 1000000,
                                        .volume_min = 1000000,
                                        .volume_max = INT64_C(10000000000)};
        break;
    case TD_EV_EXEC_REPORT:
        FILL_MAX(ev->u.exec.intent_id, 'i');
        ev->u.exec.deal_id = UINT64_MAX;
        ev->u.exec.order_id = 7;
        ev->u.exec.position_id = 8;
        ev->u.exec.side = TD_SIDE_SELL;
        ev->u.exec.price = 114543000;
        ev->u.exec.volume = -10000000;
        ev->u.exec.commission = -700000000;
        ev->u.exec.swap = -1;
        ev->u.exec.profit = INT64_MIN;
        ev->u.exec.status = TD_EXEC_CANCELLED;
        FILL_MAX(ev->u.exec.reason, 'x');
        break;
    case TD_EV_PARAMS_CHANGED:
        FILL_MAX(ev->u.params.strategy, 'g');
        ev->u.params.version = 42;
        ev->u.params.n_values = TD_PARAMS_MAX;
        for (int i = 0; i < TD_PARAMS_MAX; i++) {
            FILL_MAX(ev->u.params.values[i].name, (char)('a' + i));
            FILL_MAX(ev->u.params.values[i].value, (char)('A' + i));
        }
        FILL_MAX(ev->u.params.author, 'u');
        FILL_MAX(ev->u.params.reason, 'y');
        break;
    case TD_EV_CLOCK: break;
    case TD_EV_SESSION_MARK:
        ev->u.session = (td_session_mark_t){.kind = TD_SESSION_DAY_END, .trading_day = 20240229};
        break;
    case TD_EV_BAR:
        ev->u.bar = (td_bar_t){.timeframe_s = 1800,
                               .open_time = -5,
                               .open = 1,
                               .high = 2,
                               .low = -3,
                               .close = 4,
                               .tick_volume = UINT64_MAX,
                               .spread_min = -6,
                               .spread_max = 7,
                               .spread_sum = INT64_MAX,
                               .late_ticks = 9};
        break;
    case TD_EV_SIGNAL:
        FILL_MAX(ev->u.signal.strategy, 'q');
        ev->u.signal.params_version = 3;
        ev->u.signal.direction = TD_DIR_SHORT;
        ev->u.signal.bar_time = -1800000;
        FILL_MAX(ev->u.signal.reason, 'w');
        break;
    case TD_EV_ORDER_INTENT:
        FILL_MAX(ev->u.intent.intent_id, 'k');
        ev->u.intent.side = TD_SIDE_BUY;
        ev->u.intent.volume = -20000000;
        ev->u.intent.type = 0; /* ORDER_MARKET is the only type, and the default */
        ev->u.intent.stop_loss = -1;
        ev->u.intent.take_profit = INT64_MAX;
        FILL_MAX(ev->u.intent.strategy, 'm');
        ev->u.intent.params_version = UINT32_MAX;
        FILL_MAX(ev->u.intent.reason, 'n');
        break;
    case TD_EV_POSITION_CHANGED:
        ev->u.position = (td_position_changed_t){
            .volume = -30000000, .avg_price = 5, .realized_pnl = -6, .commission = -7, .swap = -8, .deal_id = 9};
        FILL_MAX(ev->u.position.intent_id, 'p');
        break;
    case TD_EV_TRADE_CLOSED:
        ev->u.trade = (td_trade_closed_t){.side = TD_SIDE_SELL,
                                          .entry_time = -1,
                                          .entry_price = 2,
                                          .exit_time = 3,
                                          .exit_price = -4,
                                          .volume = 5,
                                          .pnl = INT64_MIN,
                                          .commission = -6,
                                          .swap = -7};
        break;
    case TD_EV_DAY_DIGEST:
        ev->u.digest.trading_day = 20240102;
        for (int i = 0; i < 32; i++)
            ev->u.digest.sha256[i] = (uint8_t)(0xa0 + i);
        ev->u.digest.first_offset = 1;
        ev->u.digest.last_offset = UINT64_MAX;
        ev->u.digest.inputs = 2;
        ev->u.digest.outputs = 3;
        ev->u.digest.trades = 4;
        ev->u.digest.wins = 5;
        ev->u.digest.realized_pnl = -6;
        ev->u.digest.max_drawdown = 7;
        ev->u.digest.late_ticks = 8;
        break;
    case TD_EV_NONE: fail();
    }
}

static const td_event_kind_t all_kinds[] = {
    TD_EV_TICK, TD_EV_SYMBOL_SPEC, TD_EV_EXEC_REPORT,  TD_EV_PARAMS_CHANGED,   TD_EV_CLOCK,        TD_EV_SESSION_MARK,
    TD_EV_BAR,  TD_EV_SIGNAL,      TD_EV_ORDER_INTENT, TD_EV_POSITION_CHANGED, TD_EV_TRADE_CLOSED, TD_EV_DAY_DIGEST,
};
#define N_KINDS (sizeof all_kinds / sizeof all_kinds[0])

static void encode_ok(const td_event_t *ev, unsigned flags, td_buf_t *out)
{
    td_buf_reset(out);
    assert_int_equal(td_codec_encode(ev, flags, out), TD_OK);
}

static void decode_ok(const td_buf_t *in, td_event_t *ev)
{
    char err[256] = "";
    td_err_t rc = td_codec_decode(in->ptr, in->len, ev, err, sizeof err);
    if (rc != TD_OK)
        print_error("decode: %s: %s\n", td_err_name(rc), err);
    assert_int_equal(rc, TD_OK);
}

static td_err_t decode_err(const uint8_t *p, size_t n, char *err, size_t errlen)
{
    td_event_t ev;
    err[0] = '\0';
    return td_codec_decode(p, n, &ev, err, errlen);
}

static void test_round_trip_every_kind(void **unused)
{
    (void)unused;
    td_buf_t a, b;
    td_buf_init(&a);
    td_buf_init(&b);
    for (size_t k = 0; k < N_KINDS; k++) {
        td_event_t ev, back;
        make_event(&ev, all_kinds[k]);
        encode_ok(&ev, TD_CODEC_DEFAULT, &a);
        decode_ok(&a, &back);
        /* every byte equal: strings were zero-padded the same way on both sides */
        assert_memory_equal(&ev, &back, sizeof ev);
        /* canonical: encode(decode(encode(x))) == encode(x) */
        encode_ok(&back, TD_CODEC_DEFAULT, &b);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.ptr, b.ptr, a.len);
    }
    td_buf_fini(&a);
    td_buf_fini(&b);
}

static void test_default_event_round_trip(void **unused)
{
    (void)unused;
    td_buf_t a;
    td_buf_init(&a);
    for (size_t k = 0; k < N_KINDS; k++) {
        td_event_t ev, back;
        assert_int_equal(td_event_init(&ev, all_kinds[k], "EURUSD", 0), TD_OK);
        encode_ok(&ev, TD_CODEC_DEFAULT, &a);
        decode_ok(&a, &back);
        assert_memory_equal(&ev, &back, sizeof ev);
    }
    td_buf_fini(&a);
}

static void test_encode_appends(void **unused)
{
    (void)unused;
    td_buf_t a, one;
    td_event_t ev;
    td_buf_init(&a);
    td_buf_init(&one);
    make_event(&ev, TD_EV_TICK);
    encode_ok(&ev, 0, &one);
    assert_int_equal(td_buf_append(&a, "xy", 2), TD_OK);
    assert_int_equal(td_codec_encode(&ev, 0, &a), TD_OK);
    assert_int_equal(a.len, 2 + one.len);
    assert_memory_equal(a.ptr, "xy", 2);
    assert_memory_equal(a.ptr + 2, one.ptr, one.len);
    td_buf_fini(&a);
    td_buf_fini(&one);
}

static void test_flags(void **unused)
{
    (void)unused;
    td_buf_t a;
    td_event_t ev, back;
    td_buf_init(&a);
    make_event(&ev, TD_EV_BAR);

    encode_ok(&ev, TD_CODEC_NO_OFFSET, &a);
    decode_ok(&a, &back);
    assert_int_equal(back.offset, 0);
    assert_int_equal(back.ingest_ms, ev.ingest_ms);
    back.offset = ev.offset;
    assert_memory_equal(&ev, &back, sizeof ev);

    encode_ok(&ev, TD_CODEC_FOR_DIGEST, &a);
    decode_ok(&a, &back);
    assert_int_equal(back.offset, 0);
    assert_int_equal(back.ingest_ms, 0);
    assert_int_equal(back.input_offset, ev.input_offset); /* outputs keep their deterministic id */
    back.offset = ev.offset;
    back.ingest_ms = ev.ingest_ms;
    assert_memory_equal(&ev, &back, sizeof ev);

    /* digest bytes do not depend on ingest time or offset */
    td_buf_t b;
    td_buf_init(&b);
    td_event_t ev2 = ev;
    ev2.ingest_ms = 1;
    ev2.offset = 2;
    encode_ok(&ev, TD_CODEC_FOR_DIGEST, &a);
    encode_ok(&ev2, TD_CODEC_FOR_DIGEST, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.ptr, b.ptr, a.len);
    encode_ok(&ev2, TD_CODEC_DEFAULT, &b);
    assert_true(b.len > a.len);
    td_buf_fini(&a);
    td_buf_fini(&b);
}

static void test_encode_invalid(void **unused)
{
    (void)unused;
    td_buf_t a;
    td_event_t ev;
    td_buf_init(&a);

    make_event(&ev, TD_EV_TICK);
    ev.kind = (td_event_kind_t)99;
    assert_int_equal(td_codec_encode(&ev, 0, &a), TD_ERR_INVALID);
    ev.kind = TD_EV_NONE;
    assert_int_equal(td_codec_encode(&ev, 0, &a), TD_ERR_INVALID);

    make_event(&ev, TD_EV_TICK);
    memset(ev.symbol, 'Z', sizeof ev.symbol); /* unterminated */
    assert_int_equal(td_codec_encode(&ev, 0, &a), TD_ERR_INVALID);

    make_event(&ev, TD_EV_PARAMS_CHANGED);
    ev.u.params.n_values = TD_PARAMS_MAX + 1;
    assert_int_equal(td_codec_encode(&ev, 0, &a), TD_ERR_INVALID);

    make_event(&ev, TD_EV_EXEC_REPORT);
    ev.u.exec.side = (td_side_t)7;
    assert_int_equal(td_codec_encode(&ev, 0, &a), TD_ERR_INVALID);
    assert_int_equal(a.len, 0); /* nothing appended on failure */
    td_buf_fini(&a);
}

static void test_truncated(void **unused)
{
    (void)unused;
    td_buf_t a;
    char err[256];
    td_buf_init(&a);
    for (size_t k = 0; k < N_KINDS; k++) {
        td_event_t ev;
        make_event(&ev, all_kinds[k]);
        encode_ok(&ev, 0, &a);
        /* the body is the last field, so every strict prefix lacks it or cuts it */
        for (size_t n = 0; n < a.len; n++) {
            td_err_t rc = decode_err(a.ptr, n, err, sizeof err);
            assert_int_equal(rc, TD_ERR_CORRUPT);
            assert_true(err[0] != '\0');
        }
    }
    td_buf_fini(&a);
}

static void test_trailing_and_repeated(void **unused)
{
    (void)unused;
    td_buf_t a;
    char err[256];
    td_event_t ev;
    td_buf_init(&a);
    make_event(&ev, TD_EV_TICK);
    encode_ok(&ev, 0, &a);
    size_t n = a.len;

    /* a second copy of the whole envelope: valid protobuf (a merge), but not canonical */
    assert_int_equal(td_buf_append(&a, a.ptr, n), TD_OK);
    assert_int_equal(decode_err(a.ptr, a.len, err, sizeof err), TD_ERR_CORRUPT);

    /* one zero byte after the message */
    a.len = n;
    assert_int_equal(td_buf_append(&a, "\0", 1), TD_OK);
    assert_int_equal(decode_err(a.ptr, a.len, err, sizeof err), TD_ERR_CORRUPT);

    /* an unknown field (number 99, varint) */
    a.len = n;
    const uint8_t unk[] = {0x98, 0x06, 0x01};
    assert_int_equal(td_buf_append(&a, unk, sizeof unk), TD_OK);
    assert_int_equal(decode_err(a.ptr, a.len, err, sizeof err), TD_ERR_CORRUPT);
    assert_non_null(strstr(err, "unknown"));
    td_buf_fini(&a);
}

static void test_unknown_body(void **unused)
{
    (void)unused;
    char err[256];
    /* symbol "A", then field 30 (an unknown body kind) as an empty message */
    const uint8_t unk[] = {0x0a, 0x01, 'A', 0xf2, 0x01, 0x00};
    assert_int_equal(decode_err(unk, sizeof unk, err, sizeof err), TD_ERR_CORRUPT);
    /* no body at all */
    const uint8_t none[] = {0x0a, 0x01, 'A'};
    assert_int_equal(decode_err(none, sizeof none, err, sizeof err), TD_ERR_CORRUPT);
    assert_non_null(strstr(err, "body"));
    /* empty input */
    assert_int_equal(decode_err(none, 0, err, sizeof err), TD_ERR_CORRUPT);
}

/* Hand-built envelopes: symbol of n bytes + a Clock body. */
static size_t clock_with_symbol(uint8_t *p, size_t n, char c)
{
    size_t at = 0;
    p[at++] = 0x0a;
    p[at++] = (uint8_t)n; /* n < 128 */
    memset(p + at, c, n);
    at += n;
    p[at++] = 0x72; /* field 14, length-delimited */
    p[at++] = 0x00;
    return at;
}

static void test_overlong_string(void **unused)
{
    (void)unused;
    uint8_t p[256];
    char err[256];
    td_event_t ev;
    size_t n = clock_with_symbol(p, TD_SYMBOL_MAX, 'E');
    assert_int_equal(td_codec_decode(p, n, &ev, err, sizeof err), TD_OK);
    assert_int_equal(strlen(ev.symbol), TD_SYMBOL_MAX);
    n = clock_with_symbol(p, TD_SYMBOL_MAX + 1, 'E');
    assert_int_equal(decode_err(p, n, err, sizeof err), TD_ERR_CORRUPT);
    assert_non_null(strstr(err, "symbol"));
    /* an embedded NUL would silently shorten the string: refused */
    n = clock_with_symbol(p, 4, 'E');
    p[3] = '\0';
    assert_int_equal(decode_err(p, n, err, sizeof err), TD_ERR_CORRUPT);
}

static void test_bad_digest_and_params(void **unused)
{
    (void)unused;
    char err[256];
    /* DayDigest (field 25) with a 3-byte sha256 */
    const uint8_t dg[] = {0xca, 0x01, 0x05, 0x12, 0x03, 1, 2, 3};
    assert_int_equal(decode_err(dg, sizeof dg, err, sizeof err), TD_ERR_CORRUPT);
    assert_non_null(strstr(err, "sha256"));

    /* ParamsChanged (field 13) with TD_PARAMS_MAX + 1 empty params */
    uint8_t pc[64];
    size_t at = 0;
    pc[at++] = 0x6a;
    pc[at++] = (uint8_t)(2 * (TD_PARAMS_MAX + 1));
    for (int i = 0; i < TD_PARAMS_MAX + 1; i++) {
        pc[at++] = 0x1a;
        pc[at++] = 0x00;
    }
    assert_int_equal(decode_err(pc, at, err, sizeof err), TD_ERR_CORRUPT);
    assert_non_null(strstr(err, "params"));

    /* an enum value the schema does not name: Tick is fine, SessionMark kind 9 is not */
    const uint8_t sm[] = {0x7a, 0x02, 0x08, 0x09};
    assert_int_equal(decode_err(sm, sizeof sm, err, sizeof err), TD_ERR_CORRUPT);
}

/* xorshift64: a seeded, reproducible byte source */
static uint64_t rnd_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_random_garbage(void **unused)
{
    (void)unused;
    uint64_t seed = UINT64_C(0x9e3779b97f4a7c15);
    uint8_t p[512];
    char err[256];
    size_t refused = 0, accepted = 0;
    td_buf_t again;
    td_buf_init(&again);
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(rnd_next(&seed) % sizeof p);
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)rnd_next(&seed);
        td_event_t ev;
        td_err_t rc = td_codec_decode(p, n, &ev, err, sizeof err);
        if (rc == TD_OK) {
            /* anything accepted must be canonical */
            encode_ok(&ev, 0, &again);
            assert_int_equal(again.len, n);
            assert_memory_equal(again.ptr, p, n);
            accepted++;
        } else {
            assert_int_equal(rc, TD_ERR_CORRUPT);
            refused++;
        }
    }
    /* mutate valid encodings: flip one byte each */
    td_buf_t a;
    td_buf_init(&a);
    for (size_t k = 0; k < N_KINDS; k++) {
        td_event_t ev;
        make_event(&ev, all_kinds[k]);
        encode_ok(&ev, 0, &a);
        for (int round = 0; round < 500; round++) {
            memcpy(p, a.ptr, a.len < sizeof p ? a.len : sizeof p);
            size_t n = a.len < sizeof p ? a.len : sizeof p;
            p[rnd_next(&seed) % n] ^= (uint8_t)(1 + rnd_next(&seed) % 255);
            td_event_t back;
            td_err_t rc = td_codec_decode(p, n, &back, err, sizeof err);
            if (rc == TD_OK) {
                encode_ok(&back, 0, &again);
                assert_int_equal(again.len, n);
                assert_memory_equal(again.ptr, p, n);
                accepted++;
            } else {
                assert_int_equal(rc, TD_ERR_CORRUPT);
                refused++;
            }
        }
    }
    print_message("garbage: %zu refused, %zu accepted (all canonical)\n", refused, accepted);
    td_buf_fini(&a);
    td_buf_fini(&again);
}

static void test_speed(void **unused)
{
    (void)unused;
    td_event_t ev, back;
    td_buf_t a;
    td_buf_init(&a);
    assert_int_equal(td_event_init(&ev, TD_EV_TICK, "EURUSD", INT64_C(1704067200123)), TD_OK);
    assert_int_equal(td_event_set_str(ev.source, sizeof ev.source, "dukascopy"), TD_OK);
    ev.ingest_ms = INT64_C(1704067200456);
    ev.u.tick = (td_tick_t){.bid = 110412000, .ask = 110414000, .volume = 150000000, .flags = 6};
    const int n = 1000000;
    uint64_t sink = 0;

    double t0 = td_mono_s();
    for (int i = 0; i < n; i++) {
        td_buf_reset(&a);
        ev.u.tick.bid += 1;
        assert_true(td_codec_encode(&ev, TD_CODEC_NO_OFFSET, &a) == TD_OK);
        sink += a.len;
    }
    double t1 = td_mono_s();
    for (int i = 0; i < n; i++) {
        assert_true(td_codec_decode(a.ptr, a.len, &back, NULL, 0) == TD_OK);
        sink += (uint64_t)back.u.tick.bid;
    }
    double t2 = td_mono_s();
    print_message("codec speed (tick envelope, %zu bytes): encode %.0f ns, decode %.0f ns per event (%llu)\n", a.len,
                  (t1 - t0) * 1e9 / n, (t2 - t1) * 1e9 / n, (unsigned long long)(sink & 1));
    td_buf_fini(&a);
}

/* The digest view of stored bytes (offset out, ingest time in) equals the FOR_DIGEST encoding,
 * for every kind, with and without an ingest time, a zero time and an empty source. */
static void test_digest_view(void **unused)
{
    (void)unused;
    for (size_t k = 0; k < N_KINDS; k++) {
        for (int variant = 0; variant < 4; variant++) {
            td_event_t ev;
            make_event(&ev, all_kinds[k]);
            if (variant & 1)
                ev.ingest_ms = 0;
            if (variant & 2) {
                ev.time_ms = 0;
                ev.source[0] = '\0';
                ev.offset = 0;
            }
            td_buf_t stored, digest;
            td_buf_init(&stored);
            td_buf_init(&digest);
            encode_ok(&ev, TD_CODEC_NO_OFFSET, &stored);
            encode_ok(&ev, TD_CODEC_FOR_DIGEST, &digest);
            td_slice_t parts[3];
            size_t n = 0;
            assert_int_equal(td_codec_digest_view(stored.ptr, stored.len, parts, &n), TD_OK);
            td_buf_t joined;
            td_buf_init(&joined);
            for (size_t i = 0; i < n; i++)
                assert_int_equal(td_buf_append(&joined, parts[i].ptr, parts[i].len), TD_OK);
            assert_int_equal(joined.len, digest.len);
            assert_memory_equal(joined.ptr, digest.ptr, digest.len);
            /* the full encoding (offset included) gives the same view */
            td_buf_reset(&stored);
            encode_ok(&ev, TD_CODEC_DEFAULT, &stored);
            assert_int_equal(td_codec_digest_view(stored.ptr, stored.len, parts, &n), TD_OK);
            td_buf_reset(&joined);
            for (size_t i = 0; i < n; i++)
                assert_int_equal(td_buf_append(&joined, parts[i].ptr, parts[i].len), TD_OK);
            assert_int_equal(joined.len, digest.len);
            assert_memory_equal(joined.ptr, digest.ptr, digest.len);
            td_buf_fini(&joined);
            td_buf_fini(&stored);
            td_buf_fini(&digest);
        }
    }
    const uint8_t truncated[] = {0x0a, 0x05, 'E', 'U'};
    td_slice_t parts[3];
    size_t n;
    assert_int_equal(td_codec_digest_view(truncated, sizeof truncated, parts, &n), TD_ERR_CORRUPT);
}

/* TRUSTED skips only the canonical check: a non-canonical but valid input decodes. */
static void test_trusted_decode(void **unused)
{
    (void)unused;
    td_event_t ev, back;
    make_event(&ev, TD_EV_CLOCK);
    td_buf_t b;
    td_buf_init(&b);
    encode_ok(&ev, TD_CODEC_DEFAULT, &b);
    /* append a second schema_version field (5): valid protobuf, not canonical */
    const uint8_t extra[] = {0x28, 0x01};
    assert_int_equal(td_buf_append(&b, extra, sizeof extra), TD_OK);
    char err[256];
    assert_int_equal(td_codec_decode(b.ptr, b.len, &back, err, sizeof err), TD_ERR_CORRUPT);
    assert_int_equal(td_codec_decode_ex(b.ptr, b.len, TD_CODEC_TRUSTED, &back, err, sizeof err), TD_OK);
    td_buf_fini(&b);
}

/* The same event as far as the fast path decodes one: header, and the tick or bar body. */
static void assert_same_fast(const td_event_t *a, const td_event_t *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_string_equal(a->symbol, b->symbol);
    assert_string_equal(a->source, b->source);
    assert_int_equal(a->time_ms, b->time_ms);
    assert_int_equal(a->offset, b->offset);
    assert_int_equal(a->schema_version, b->schema_version);
    assert_int_equal(a->ingest_ms, b->ingest_ms);
    assert_int_equal(a->input_offset, b->input_offset);
    assert_int_equal(a->index, b->index);
    if (a->kind == TD_EV_TICK) {
        assert_int_equal(a->u.tick.bid, b->u.tick.bid);
        assert_int_equal(a->u.tick.ask, b->u.tick.ask);
        assert_int_equal(a->u.tick.last, b->u.tick.last);
        assert_int_equal(a->u.tick.volume, b->u.tick.volume);
        assert_int_equal(a->u.tick.flags, b->u.tick.flags);
    } else {
        const td_bar_t *x = &a->u.bar, *y = &b->u.bar;
        assert_int_equal(x->timeframe_s, y->timeframe_s);
        assert_int_equal(x->open_time, y->open_time);
        assert_int_equal(x->open, y->open);
        assert_int_equal(x->high, y->high);
        assert_int_equal(x->low, y->low);
        assert_int_equal(x->close, y->close);
        assert_int_equal(x->tick_volume, y->tick_volume);
        assert_int_equal(x->spread_min, y->spread_min);
        assert_int_equal(x->spread_max, y->spread_max);
        assert_int_equal(x->spread_sum, y->spread_sum);
        assert_int_equal(x->late_ticks, y->late_ticks);
    }
}

/* A random value, negative when asked, of a random size (so varints of every length occur). */
static int64_t rnd_signed(uint64_t *seed, bool negative)
{
    uint64_t r = rnd_next(seed);
    int64_t v = (int64_t)(rnd_next(seed) >> (1 + r % 63));
    return negative ? -v : v;
}

/* A random valid tick or bar: every header field and body field zero or not, small or large. */
static void random_fast_event(uint64_t *seed, bool bar, td_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = bar ? TD_EV_BAR : TD_EV_TICK;
    uint64_t r = rnd_next(seed);
    fill_str(ev->symbol, sizeof ev->symbol, (char)('A' + r % 26), (size_t)(r % (TD_SYMBOL_MAX + 1)));
    fill_str(ev->source, sizeof ev->source, 's', (size_t)(r >> 8) % (TD_SOURCE_MAX + 1));
    ev->time_ms = (int64_t)(rnd_next(seed) % 4000000000000u) - (r & 1 ? 1000000 : 0);
    ev->offset = r & 2 ? rnd_next(seed) : 0;
    ev->schema_version = (uint32_t)(r >> 16) % 3;
    ev->ingest_ms = r & 4 ? (int64_t)(rnd_next(seed) >> 20) : 0;
    ev->input_offset = r & 64 ? rnd_next(seed) >> (r % 50) : 0;
    ev->index = (uint32_t)(r >> 24) % 4;
    if (bar) {
        td_bar_t *x = &ev->u.bar;
        x->timeframe_s = r & 128 ? (uint32_t)rnd_next(seed) : 60;
        x->open_time = rnd_signed(seed, r & 1);
        x->open = rnd_signed(seed, r & 8);
        x->high = rnd_signed(seed, false);
        x->low = rnd_signed(seed, r & 16);
        x->close = r & 32 ? rnd_signed(seed, r & 8) : 0;
        x->tick_volume = rnd_next(seed) >> (r % 64);
        x->spread_min = rnd_signed(seed, r & 256);
        x->spread_max = rnd_signed(seed, false);
        x->spread_sum = r & 512 ? rnd_signed(seed, r & 1024) : 0;
        x->late_ticks = r & 2048 ? rnd_next(seed) : 0;
    } else {
        ev->u.tick.bid = r & 4096 ? 0 : (int64_t)(rnd_next(seed) >> 1) * (r & 8 ? -1 : 1) / (int64_t)(1 + r % 1000);
        ev->u.tick.ask = rnd_signed(seed, r & 8192);
        ev->u.tick.last = r & 16 ? (int64_t)rnd_next(seed) : 0;
        ev->u.tick.volume = r & 32 ? -(int64_t)(rnd_next(seed) >> 3) : 0;
        ev->u.tick.flags = r & 16384 ? 0 : (uint32_t)rnd_next(seed) >> (r % 32);
    }
}

/* The tick encoder's fast path writes the bytes protobuf-c's pack does, under every flag, for
 * random ticks with any field zero or not; an unterminated string is refused by both. */
static void test_tick_encode_matches_generic(void **unused)
{
    (void)unused;
    uint64_t seed = 0x656e636f64657431u;
    td_buf_t fast, generic;
    td_buf_init(&fast);
    td_buf_init(&generic);
    const unsigned flags[] = {TD_CODEC_DEFAULT, TD_CODEC_NO_OFFSET, TD_CODEC_FOR_DIGEST};
    for (int round = 0; round < 20000; round++) {
        td_event_t ev;
        random_fast_event(&seed, false, &ev);
        for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
            td_buf_reset(&fast);
            td_buf_reset(&generic);
            assert_int_equal(td_codec_encode(&ev, flags[f], &fast), TD_OK);
            assert_int_equal(td_codec_encode(&ev, flags[f] | TD_CODEC__GENERIC, &generic), TD_OK);
            assert_int_equal(fast.len, generic.len);
            assert_memory_equal(fast.ptr, generic.ptr, fast.len);
        }
    }
    td_event_t ev;
    random_fast_event(&seed, false, &ev);
    memset(ev.source, 'x', sizeof ev.source); /* no NUL */
    assert_int_equal(td_codec_encode(&ev, TD_CODEC_DEFAULT, &fast), TD_ERR_INVALID);
    assert_int_equal(td_codec_encode(&ev, TD_CODEC__GENERIC, &generic), TD_ERR_INVALID);
    td_buf_fini(&fast);
    td_buf_fini(&generic);
}

/* Differential: the trusted fast path and protobuf-c's generic path agree on random valid ticks
 * and bars and on every single-bit change and truncation of them (accept/refuse and the result). */
static void test_fast_path_matches_generic(void **unused)
{
    (void)unused;
    uint64_t seed = 0x7461706564656b31u;
    td_buf_t b;
    td_buf_init(&b);
    char err[256];
    uint64_t agreed = 0, fast_ok[2] = {0, 0};
    for (int round = 0; round < 6000; round++) {
        td_event_t ev;
        random_fast_event(&seed, round % 2 == 1, &ev);
    td_buf_reset(&b);
        encode_ok(&ev, TD_CODEC_DEFAULT, &b);
        for (size_t variant = 0; variant <= b.len + 1; variant++) {
            uint8_t copy[512];
            size_t n = b.len;
            assert_true(n <= sizeof copy);
            memcpy(copy, b.ptr, n);
            if (variant < b.len)
                copy[variant] ^= (uint8_t)(1u << (rnd_next(&seed) % 8)); /* one bit flipped */
            else if (variant == b.len)
                n = (size_t)(rnd_next(&seed) % (b.len + 1)); /* truncated */
            td_event_t fast, generic;
            td_err_t rf = td_codec_decode_ex(copy, n, TD_CODEC_TRUSTED, &fast, err, sizeof err);
            td_err_t rg = td_codec_decode_ex(copy, n, TD_CODEC_TRUSTED | TD_CODEC__GENERIC, &generic, err, sizeof err);
            assert_int_equal(rf, rg);
            if (rf == TD_OK) {
                assert_same_fast(&fast, &generic);
                fast_ok[fast.kind == TD_EV_BAR]++;
            }
            agreed++;
        }
    }
    /* the flips and cuts must leave plenty of both kinds decodable, or the test shows little */
    assert_true(fast_ok[0] > 10000 && fast_ok[1] > 10000);
    printf("fast path: %llu inputs agreed with the generic path, %llu ticks and %llu bars decoded\n",
           (unsigned long long)agreed, (unsigned long long)fast_ok[0], (unsigned long long)fast_ok[1]);
    td_buf_fini(&b);
}

/* td_codec_peek_kind agrees with a full decode on every kind (stored and full encodings), refuses
 * a missing, cut or unknown body, and never reads past the bytes (ASan) on garbage. */
static void test_peek_kind(void **unused)
{
    (void)unused;
    td_buf_t a;
    td_buf_init(&a);
    td_event_kind_t kind;
    for (size_t k = 0; k < N_KINDS; k++) {
        td_event_t ev, back;
        make_event(&ev, all_kinds[k]);
        for (unsigned flags = 0; flags <= TD_CODEC_NO_OFFSET; flags += TD_CODEC_NO_OFFSET) {
            encode_ok(&ev, flags, &a);
            decode_ok(&a, &back);
            assert_int_equal(td_codec_peek_kind(a.ptr, a.len, &kind), TD_OK);
            assert_int_equal(kind, back.kind);
            assert_int_equal(kind, all_kinds[k]);
            /* a strict prefix lacks the body or cuts it */
            for (size_t n = 0; n < a.len; n++)
                assert_int_equal(td_codec_peek_kind(a.ptr, n, &kind), TD_ERR_CORRUPT);
        }
    }
    const uint8_t unk[] = {0x0a, 0x01, 'A', 0xf2, 0x01, 0x00};   /* field 30: no such kind */
    const uint8_t none[] = {0x0a, 0x01, 'A'};                    /* no body */
    const uint8_t fixed[] = {0x0a, 0x01, 'A', 0x11, 0, 0, 0, 0}; /* field 2 as a fixed64 */
    const uint8_t varint_body[] = {0x0a, 0x01, 'A', 0x70, 0x00}; /* field 14 as a varint */
    assert_int_equal(td_codec_peek_kind(unk, sizeof unk, &kind), TD_ERR_CORRUPT);
    assert_int_equal(td_codec_peek_kind(none, sizeof none, &kind), TD_ERR_CORRUPT);
    assert_int_equal(td_codec_peek_kind(fixed, sizeof fixed, &kind), TD_ERR_CORRUPT);
    assert_int_equal(td_codec_peek_kind(varint_body, sizeof varint_body, &kind), TD_ERR_CORRUPT);
    assert_int_equal(td_codec_peek_kind(none, 0, &kind), TD_ERR_CORRUPT);
    /* whatever garbage the peek accepts names a kind the decoder knows */
    uint64_t seed = UINT64_C(0x2545f4914f6cdd1d);
    uint8_t p[64];
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(rnd_next(&seed) % sizeof p);
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)rnd_next(&seed);
        if (td_codec_peek_kind(p, n, &kind) == TD_OK)
            assert_string_not_equal(td_event_kind_name(kind), "none");
    }
    td_buf_fini(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_kind),
        cmocka_unit_test(test_default_event_round_trip),
        cmocka_unit_test(test_encode_appends),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_encode_invalid),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_trailing_and_repeated),
        cmocka_unit_test(test_unknown_body),
        cmocka_unit_test(test_overlong_string),
        cmocka_unit_test(test_bad_digest_and_params),
        cmocka_unit_test(test_random_garbage),
        cmocka_unit_test(test_speed),
        cmocka_unit_test(test_digest_view),
        cmocka_unit_test(test_trusted_decode),
        cmocka_unit_test(test_tick_encode_matches_generic),
        cmocka_unit_test(test_fast_path_matches_generic),
        cmocka_unit_test(test_peek_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
