/* test_into_tape.c - import/into_tape.c: small Dukascopy CSV files this test writes, imported
 * into a scratch tape: the events in order behind the SymbolSpec with a day-end mark where the
 * file covers the day, the registry's refusal of a repeat (and --force), the time-order refusal
 * that leaves the tape unchanged, an empty file that appends and registers nothing, and bars on
 * their history stream SYMBOL@TF.
 */
#include "import_test_util.h"

#include "../scratch_tape.h"
#include "core/timeutil.h"
#include "import/into_tape.h"

#define HDR "time_utc,bid,ask,bid_volume,ask_volume\n"
/* two trading days (UTC, the scratch tape's roll is midnight): the first is followed by the second
 * in the file, so it is covered to its end and closed */
#define TWO_DAYS                                        \
    HDR "2019-02-04 10:00:00.000,1.14543,1.14545,1,1\n" \
        "2019-02-04 23:59:59.500,1.14550,1.14552,1,1\n" \
        "2019-02-05 00:00:01.000,1.14560,1.14562,1,1\n"

static td_symbol_spec_t eurusd_spec(void)
{
    td_symbol_spec_t spec;
    memset(&spec, 0, sizeof spec);
    spec.digits = 5;
    return spec;
}

static td_import_opts_t csv_opts(void)
{
    return opts_for(TD_FMT_DUKASCOPY_CSV, "EURUSD");
}

/* Imports path as EURUSD ticks (dukascopy-csv, digits 5); err gets the message. */
static td_err_t into(td_tape_t *tape, const char *path, td_import_day_end_t day_end, bool force,
                     td_import_result_t *res, char err[1024])
{
    td_import_opts_t opts = csv_opts();
    td_symbol_spec_t spec = eurusd_spec();
    err[0] = '\0';
    td_err_t rc = td_import_into_tape(tape, path, &opts, &spec, day_end, force, res, err, 1024);
    printf("  %s -> %s%s%s\n", strrchr(path, '/') + 1, td_err_name(rc), err[0] ? ": " : "", err);
    return rc;
}

static void read_at(td_tape_t *tape, uint64_t offset, td_event_t *ev)
{
    char err[256] = "";
    assert_int_equal(td_tape_read(tape, TD_STREAM_INPUT, "EURUSD", offset, ev, err, sizeof err), TD_OK);
}

static void must_contain(const char *err, const char *want)
{
    if (!strstr(err, want))
        fail_msg("message '%s' lacks '%s'", err, want);
}

static void imports_events_in_order_with_day_end(void **state)
{
    (void)state;
    char dir[1024], path[1024], err[1024] = "";
    td_tape_t *tape;
    scratch_tape_open(dir, sizeof dir, "into-tape-order", &tape);
    write_tmp_str(path, sizeof path, "into_two_days.csv", TWO_DAYS);
    td_import_result_t res;
    assert_int_equal(into(tape, path, TD_IMPORT_DAY_END_AUTO, false, &res, err), TD_OK);
    assert_true(res.appended);
    assert_false(res.bars);
    assert_string_equal(res.stream, "EURUSD");
    assert_int_equal(res.events, 3);
    assert_int_equal(res.marks, 1);
    assert_int_equal(res.first_offset, 0);
    assert_int_equal(res.last_offset, 4); /* spec, two ticks, the mark, a tick */
    assert_int_equal(res.first_ms, td_time_ms_from_civil(2019, 2, 4, 10, 0, 0, 0));
    assert_int_equal(res.last_ms, td_time_ms_from_civil(2019, 2, 5, 0, 0, 1, 0));
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "EURUSD"), 5);

    td_event_t ev;
    read_at(tape, 0, &ev);
    assert_int_equal(ev.kind, TD_EV_SYMBOL_SPEC);
    assert_int_equal(ev.u.spec.digits, 5);
    read_at(tape, 1, &ev);
    assert_int_equal(ev.kind, TD_EV_TICK);
    assert_int_equal(ev.time_ms, res.first_ms);
    read_at(tape, 2, &ev);
    assert_int_equal(ev.kind, TD_EV_TICK);
    assert_int_equal(ev.time_ms, td_time_ms_from_civil(2019, 2, 4, 23, 59, 59, 500));
    read_at(tape, 3, &ev);
    assert_int_equal(ev.kind, TD_EV_SESSION_MARK);
    assert_int_equal(ev.u.session.kind, TD_SESSION_DAY_END);
    assert_int_equal(ev.u.session.trading_day, 20190204);
    assert_int_equal(ev.time_ms, td_time_ms_from_civil(2019, 2, 5, 0, 0, 0, 0));
    read_at(tape, 4, &ev);
    assert_int_equal(ev.kind, TD_EV_TICK);
    assert_int_equal(ev.time_ms, res.last_ms);
    scratch_tape_remove(dir, tape);
}

static void repeat_refused_unless_forced(void **state)
{
    (void)state;
    char dir[1024], path[1024], err[1024] = "";
    td_tape_t *tape;
    scratch_tape_open(dir, sizeof dir, "into-tape-repeat", &tape);
    /* every tick at one instant: the forced repeat does not go back in time */
    write_tmp_str(path, sizeof path, "into_one_instant.csv",
                  HDR "2019-02-04 10:00:00.000,1.14543,1.14545,1,1\n"
                      "2019-02-04 10:00:00.000,1.14544,1.14546,1,1\n");
    td_import_result_t res;
    assert_int_equal(into(tape, path, TD_IMPORT_DAY_END_AUTO, false, &res, err), TD_OK);
    assert_int_equal(res.events, 2);
    assert_int_equal(res.marks, 0); /* the day is not covered to its end */
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "EURUSD"), 3);

    td_err_t rc = into(tape, path, TD_IMPORT_DAY_END_AUTO, false, &res, err);
    assert_int_equal(rc, TD_ERR_EXISTS);
    must_contain(err, path);
    must_contain(err, ": already imported (");
    must_contain(err, "as EURUSD, dukascopy-csv, offsets 0..2, 2 events");
    must_contain(err, "); --force imports it again");
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "EURUSD"), 3);

    assert_int_equal(into(tape, path, TD_IMPORT_DAY_END_AUTO, true, &res, err), TD_OK);
    assert_true(res.appended);
    assert_int_equal(res.events, 2);
    assert_int_equal(res.first_offset, 3); /* the spec is unchanged: not appended again */
    assert_int_equal(res.last_offset, 4);
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "EURUSD"), 5);
    td_event_t ev;
    read_at(tape, 3, &ev);
    assert_int_equal(ev.kind, TD_EV_TICK);
    scratch_tape_remove(dir, tape);
}

static void earlier_file_refused_tape_unchanged(void **state)
{
    (void)state;
    char dir[1024], path[1024], early[1024], err[1024] = "";
    td_tape_t *tape;
    scratch_tape_open(dir, sizeof dir, "into-tape-early", &tape);
    write_tmp_str(path, sizeof path, "into_two_days_b.csv", TWO_DAYS);
    td_import_result_t res;
    assert_int_equal(into(tape, path, TD_IMPORT_DAY_END_AUTO, false, &res, err), TD_OK);
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "EURUSD"), 5);

    write_tmp_str(early, sizeof early, "into_early.csv",
                  HDR "2019-02-04 12:00:00.000,1.14543,1.14545,1,1\n"
                      "2019-02-06 12:00:00.000,1.14543,1.14545,1,1\n");
    for (int attempt = 0; attempt < 2; attempt++) { /* refused files are not registered: same answer */
        td_err_t rc = into(tape, early, TD_IMPORT_DAY_END_LAST, attempt == 1, &res, err);
        assert_int_equal(rc, TD_ERR_ORDER);
        must_contain(err, early);
        must_contain(err, ": starts at 2019-02-04T12:00:00.000Z, before the last event of stream EURUSD at "
                          "2019-02-05T00:00:01.000Z (offset 4); import files in time order");
        assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "EURUSD"), 5);
    }
    scratch_tape_remove(dir, tape);
}

static void empty_file_appends_nothing(void **state)
{
    (void)state;
    char dir[1024], path[1024], err[1024] = "";
    td_tape_t *tape;
    scratch_tape_open(dir, sizeof dir, "into-tape-empty", &tape);
    write_tmp_str(path, sizeof path, "into_empty.csv", HDR);
    td_import_result_t res;
    for (int attempt = 0; attempt < 2; attempt++) { /* not registered: the repeat is no EXISTS */
        assert_int_equal(into(tape, path, TD_IMPORT_DAY_END_LAST, false, &res, err), TD_OK);
        assert_false(res.appended);
        assert_int_equal(res.events, 0);
        assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "EURUSD"), 0);
    }
    scratch_tape_remove(dir, tape);
}

static void bars_go_to_their_history_stream(void **state)
{
    (void)state;
    char dir[1024], path[1024], err[1024] = "";
    td_tape_t *tape;
    scratch_tape_open(dir, sizeof dir, "into-tape-bars", &tape);
    write_tmp_str(path, sizeof path, "into_bars.txt",
                  "Time\tOpen\tHigh\tLow\tClose\tVolume\n"
                  "2019-02-04 22:00:00\t1.1454\t1.1460\t1.1450\t1.1455\t10\n"
                  "2019-02-04 23:00:00\t1.1455\t1.1461\t1.1451\t1.1456\t10\n"
                  "2019-02-05 00:00:00\t1.1456\t1.1462\t1.1452\t1.1457\t10\n");
    td_import_opts_t opts = opts_for(TD_FMT_DUKASCOPY_BARS, "EURUSD");
    td_symbol_spec_t spec = eurusd_spec();
    td_import_result_t res;
    assert_int_equal(
        td_import_into_tape(tape, path, &opts, &spec, TD_IMPORT_DAY_END_LAST, false, &res, err, sizeof err), TD_OK);
    assert_true(res.bars);
    assert_string_equal(res.stream, "EURUSD@H1");
    assert_int_equal(res.events, 3);
    assert_int_equal(res.marks, 0); /* day-end marks belong to input streams; no spec either */
    assert_int_equal(res.last_offset, 2);
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_HISTORY, "EURUSD@H1"), 3);
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "EURUSD"), 0);
    td_event_t ev;
    assert_int_equal(td_tape_read(tape, TD_STREAM_HISTORY, "EURUSD@H1", 0, &ev, err, sizeof err), TD_OK);
    assert_int_equal(ev.kind, TD_EV_BAR);
    assert_string_equal(ev.symbol, "EURUSD@H1");
    scratch_tape_remove(dir, tape);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(imports_events_in_order_with_day_end), cmocka_unit_test(repeat_refused_unless_forced),
        cmocka_unit_test(earlier_file_refused_tape_unchanged),  cmocka_unit_test(empty_file_appends_nothing),
        cmocka_unit_test(bars_go_to_their_history_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
