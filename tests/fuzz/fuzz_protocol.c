/* fuzz_protocol.c - both parsers of the EA line protocol on arbitrary bytes: td_gw_parse_line()
 * (the EA's lines reach the gateway first) and td_gw_parse_reply() (the gateway's lines reach the
 * EA's side, tapedeck feed). Any verdict is fine as long as a refusal says why; an accepted line
 * must give a well-formed message (a known verb of its direction, seq >= 1 for the EA's, an event
 * whose kind matches the verb, a tick with 0 < bid <= ask), and formatting it again must give a
 * line that parses back to the same message. Crashes, leaks and sanitizer reports are findings. */
#include <string.h>

#include "gateway/protocol.h"
#include "tests/fuzz/fuzz.h"

/* Parses line with the EA-side parser; on success, formats and parses it back. */
static void ea_line(const uint8_t *data, size_t size)
{
    static td_gw_msg_t msg, back; /* static: both sides are memset by the parser */
    char err[256] = "";
    td_err_t rc = td_gw_parse_line((const char *)data, size, &msg, err, sizeof err);
    if (rc != TD_OK) {
        FUZZ_REQUIRE(rc == TD_ERR_PARSE && err[0] != '\0');
        return;
    }
    FUZZ_REQUIRE(msg.seq >= 1);
    FUZZ_REQUIRE(msg.verb >= TD_GW_HELLO && msg.verb <= TD_GW_HEARTBEAT);
    if (msg.verb == TD_GW_TICK) {
        FUZZ_REQUIRE(msg.ev.kind == TD_EV_TICK && msg.ev.symbol[0]);
        FUZZ_REQUIRE(msg.ev.u.tick.bid > 0 && msg.ev.u.tick.bid <= msg.ev.u.tick.ask);
    }
    if (msg.verb == TD_GW_SPEC)
        FUZZ_REQUIRE(msg.ev.kind == TD_EV_SYMBOL_SPEC && msg.ev.u.spec.digits <= 8);
    if (msg.verb == TD_GW_EXEC)
        FUZZ_REQUIRE(msg.ev.kind == TD_EV_EXEC_REPORT);

    td_buf_t line;
    td_buf_init(&line);
    FUZZ_REQUIRE(td_gw_format_msg(&line, &msg) == TD_OK);
    FUZZ_REQUIRE(line.len > 0 && line.ptr[line.len - 1] == '\n');
    rc = td_gw_parse_line((const char *)line.ptr, line.len - 1, &back, err, sizeof err);
    if (rc != TD_OK)
        fprintf(stderr, "formatted again: '%.*s' refused: %s\n", (int)line.len - 1, (const char *)line.ptr, err);
    FUZZ_REQUIRE(rc == TD_OK);
    FUZZ_REQUIRE(memcmp(&msg, &back, sizeof msg) == 0);
    td_buf_fini(&line);
}

/* Parses line with the gateway-side parser; on success, formats and parses it back. */
static void gateway_line(const uint8_t *data, size_t size)
{
    static td_gw_reply_t reply, back;
    char err[256] = "";
    td_err_t rc = td_gw_parse_reply((const char *)data, size, &reply, err, sizeof err);
    if (rc != TD_OK) {
        FUZZ_REQUIRE(rc == TD_ERR_PARSE && err[0] != '\0');
        return;
    }
    FUZZ_REQUIRE(reply.verb >= TD_GW_WELCOME && reply.verb <= TD_GW_BYE);

    td_buf_t line;
    td_buf_init(&line);
    switch (reply.verb) {
    case TD_GW_WELCOME: rc = td_gw_format_welcome(&line, reply.acked); break;
    case TD_GW_ACK: rc = td_gw_format_ack(&line, reply.seq); break;
    case TD_GW_ERR: rc = td_gw_format_err(&line, reply.seq, reply.text); break;
    case TD_GW_ORDER: rc = td_gw_format_order(&line, reply.symbol, &reply.intent, 8); break; /* 8: every decimal */
    case TD_GW_BYE: rc = td_gw_format_bye(&line, reply.text); break;
    default: rc = TD_ERR_INVALID; break;
    }
    FUZZ_REQUIRE(rc == TD_OK);
    FUZZ_REQUIRE(line.len > 0 && line.ptr[line.len - 1] == '\n');
    rc = td_gw_parse_reply((const char *)line.ptr, line.len - 1, &back, err, sizeof err);
    if (rc != TD_OK)
        fprintf(stderr, "formatted again: '%.*s' refused: %s\n", (int)line.len - 1, (const char *)line.ptr, err);
    FUZZ_REQUIRE(rc == TD_OK);
    FUZZ_REQUIRE(memcmp(&reply, &back, sizeof reply) == 0);
    td_buf_fini(&line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ea_line(data, size);
    gateway_line(data, size);
    return 0;
}
