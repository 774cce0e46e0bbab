/* test_against_report.c - replay/against_report.c: the text and JSON of a result with a matched,
 * a missing and an extra trade. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "replay/against_report.h"

#define PX(units) ((int64_t)(units)*100000000)

static td_trade_closed_t trade(td_side_t side, int64_t entry_ms, int64_t entry_px, int64_t exit_ms, int64_t exit_px)
{
    td_trade_closed_t t;
    memset(&t, 0, sizeof t);
    t.side = side;
    t.entry_time = entry_ms;
    t.entry_price = entry_px;
    t.exit_time = exit_ms;
    t.exit_price = exit_px;
    t.pnl = exit_px - entry_px;
    return t;
}

/* matched (long, live 250 ms late), missing (short: the model only), extra (long: live only) */
static void make_result(td_against_result_t *r, td_against_row_t rows[3])
{
    memset(r, 0, sizeof *r);
    memset(rows, 0, 3 * sizeof rows[0]);
    snprintf(r->symbol, sizeof r->symbol, "XAUUSD");
    rows[0] = (td_against_row_t){.status = TD_AGAINST_MATCHED, .has_live = true, .has_model = true};
    rows[0].live = trade(TD_SIDE_BUY, 86400250, PX(1300), 90000000, PX(1302));
    rows[0].model = trade(TD_SIDE_BUY, 86400000, PX(1300), 90000000, PX(1302));
    rows[0].entry_delay_ms = 250;
    rows[0].entry_diff_points = 1.5;
    rows[1] = (td_against_row_t){.status = TD_AGAINST_MISSING, .has_model = true};
    rows[1].model = trade(TD_SIDE_SELL, 93600000, PX(1301), 97200000, PX(1299));
    rows[2] = (td_against_row_t){.status = TD_AGAINST_EXTRA, .has_live = true};
    rows[2].live = trade(TD_SIDE_BUY, 100800000, PX(1298), 104400000, PX(1297));
    r->rows = rows;
    r->n_rows = 3;
    r->trades_live = 2;
    r->trades_model = 2;
    r->matched = r->missing = r->extra = 1;
    r->pnl_live = PX(1);
    r->pnl_model = PX(4);
    r->inputs = 100;
    r->live_paper = true;
}

static void test_text(void **unused)
{
    (void)unused;
    td_against_result_t r;
    td_against_row_t rows[3];
    make_result(&r, rows);
    td_buf_t buf;
    td_buf_init(&buf);
    td_against_text(&buf, &r, "1970-01-02");
    assert_int_equal(td_buf_error(&buf), TD_OK);
    const char *text = td_buf_cstr(&buf);
    assert_non_null(strstr(text, "replay 1970-01-02 XAUUSD against backtest: DIVERGED - live (paper broker) 2 "
                                 "trade(s) P&L 1.00; the fill model over the same 100 inputs 2 trade(s) P&L 4.00\n"));
    assert_non_null(strstr(text, "  matched long  live 1970-01-02T00:00:00.250Z @ 1300.00000000 -> "
                                 "1970-01-02T01:00:00.000Z @ 1302.00000000; vs model: entry +250 ms +1.5 pt"));
    assert_non_null(strstr(text, "  missing short model 1970-01-02T02:00:00.000Z @ 1301.00000000 -> "
                                 "1970-01-02T03:00:00.000Z @ 1299.00000000 (the model traded, live did not)\n"));
    assert_non_null(strstr(text, "  extra   long  live 1970-01-02T04:00:00.000Z"));
    assert_non_null(strstr(text, "(live traded, the model did not)\n"));
    assert_null(strstr(text, "slippage in points")); /* no fill matched */
    td_buf_fini(&buf);
}

static void test_json(void **unused)
{
    (void)unused;
    td_against_result_t r;
    td_against_row_t rows[3];
    make_result(&r, rows);
    r.consistent = true;
    td_buf_t buf;
    td_buf_init(&buf);
    td_against_json(&buf, &r);
    assert_int_equal(td_buf_error(&buf), TD_OK);
    const char *json = td_buf_cstr(&buf);
    assert_true(strncmp(json, "{\"symbol\":\"XAUUSD\",\"verdict\":\"consistent\",\"live_broker\":\"paper\",", 64) == 0);
    assert_non_null(strstr(json, "\"pnl_live\":1.00000000,\"pnl_model\":4.00000000,"));
    assert_non_null(strstr(json, "\"trades\":[{\"status\":\"matched\",\"side\":\"long\",\"live\":{\"entry_time\":"
                                 "\"1970-01-02T00:00:00.250Z\",\"entry_price\":1300.00000000,"));
    assert_non_null(strstr(json, "\"entry_delay_ms\":250,\"entry_diff_points\":1.500000,"));
    assert_non_null(strstr(json, "},{\"status\":\"missing\",\"side\":\"short\",\"live\":null,\"model\":{"));
    assert_non_null(strstr(json, "},{\"status\":\"extra\",\"side\":\"long\",\"live\":{"));
    assert_int_equal(json[buf.len - 1], '}');
    assert_int_equal(json[buf.len - 2], ']');
    td_buf_fini(&buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
