/* fuzz_protocol.c - td_gw_parse_line() on arbitrary bytes: the EA's lines are outside bytes that
 * reach the gateway first. Any verdict is fine as long as a refusal says why; an accepted line must
 * give a well-formed message (a known verb, seq >= 1, an event whose kind matches the verb, a tick
 * with 0 < bid <= ask). Crashes, leaks and sanitizer reports are findings. */
#include <string.h>

#include "gateway/protocol.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    td_gw_msg_t msg;
    char err[256] = "";
    td_err_t rc = td_gw_parse_line((const char *)data, size, &msg, err, sizeof err);
    if (rc != TD_OK) {
        FUZZ_REQUIRE(rc == TD_ERR_PARSE && err[0] != '\0');
        return 0;
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
    return 0;
}
