/* positions.c - the netting position keeper of one symbol (contract in positions.h).
 *
 * Every step works on a copy of the state and commits it only when the whole report was applied
 * and its outputs were appended, so no report is ever half applied. 128-bit arithmetic is used for
 * every product of two scaled values; every narrowing to int64 is checked.
 */
#include "processors/positions.h"

#include <stdio.h>
#include <string.h>

#include "state_positions.pb-c.h"

#define SCALE2 ((__int128)TD_FX_SCALE * TD_FX_SCALE) /* 1e16: price x volume */

/* num / den rounded half away from zero; den != 0. Cannot overflow for den != -1 (callers pass
 * den > 0). */
static __int128 div_round(__int128 num, __int128 den)
{
    TD_ASSERT(den > 0);
    __int128 q = num / den, r = num % den;
    __int128 r2 = r < 0 ? -r : r;
    if (2 * r2 >= den)
        q += num < 0 ? -1 : 1;
    return q;
}

/* a x b / c rounded half away from zero, in 128 bits; c > 0. */
static td_err_t muldiv128(__int128 a, int64_t b, int64_t c, __int128 *out)
{
    __int128 p;
    if (__builtin_mul_overflow(a, (__int128)b, &p))
        return TD_ERR_OVERFLOW;
    *out = div_round(p, c);
    return TD_OK;
}

static td_err_t narrow(__int128 v, int64_t *out)
{
    if (v > INT64_MAX || v < INT64_MIN)
        return TD_ERR_OVERFLOW;
    *out = (int64_t)v;
    return TD_OK;
}

td_err_t td_positions__money(__int128 pv, td_volume_t contract_size, td_money_t *out)
{
    TD_ASSERT(contract_size > 0);
    /* pv x cs / 1e16 split as q x cs + r x cs / 1e16 with pv = q x 1e16 + r: q and r share pv's
     * sign and cs > 0, so rounding only the second term rounds the exact total; |r x cs| <
     * 1e16 x 2^63 fits in 128 bits. */
    __int128 q = pv / SCALE2, r = pv % SCALE2, hi;
    if (__builtin_mul_overflow(q, (__int128)contract_size, &hi))
        return TD_ERR_OVERFLOW;
    __int128 lo = div_round(r * contract_size, SCALE2), sum;
    if (__builtin_add_overflow(hi, lo, &sum))
        return TD_ERR_OVERFLOW;
    return narrow(sum, out);
}

void td_positions_init(td_positions_t *positions)
{
    memset(positions, 0, sizeof *positions);
}

void td_positions_set_spec(td_positions_t *positions, const td_symbol_spec_t *spec)
{
    positions->contract_size = spec->contract_size > 0 ? spec->contract_size : 0;
}

td_volume_t td_positions_volume(const td_positions_t *positions)
{
    return positions->volume;
}

static td_price_t avg_of(__int128 cost, td_volume_t volume)
{
    if (volume == 0)
        return 0;
    /* a volume-weighted mean of int64 prices lies between them: always fits */
    return (td_price_t)div_round(cost, volume < 0 ? -(__int128)volume : volume);
}

td_price_t td_positions_avg_price(const td_positions_t *positions)
{
    return avg_of(positions->cost, positions->volume);
}

const char *td_positions_error(const td_positions_t *positions)
{
    return positions->errmsg;
}

/* Is deal_id one we already applied (or assume so, see the header)? */
static int is_duplicate(const td_positions_t *positions, uint64_t deal_id)
{
    if (deal_id > positions->max_deal_id)
        return 0;
    uint64_t oldest = UINT64_MAX;
    for (uint32_t i = 0; i < positions->n_recent; i++) {
        if (positions->recent[i] == deal_id)
            return 1;
        if (positions->recent[i] < oldest)
            oldest = positions->recent[i];
    }
    return positions->n_recent == TD_POSITIONS_DEAL_WINDOW && deal_id < oldest;
}

static void remember_deal(td_positions_t *positions, uint64_t deal_id)
{
    if (positions->n_recent == TD_POSITIONS_DEAL_WINDOW) {
        memmove(positions->recent, positions->recent + 1, (TD_POSITIONS_DEAL_WINDOW - 1) * sizeof positions->recent[0]);
        positions->n_recent--;
    }
    positions->recent[positions->n_recent++] = deal_id;
    if (deal_id > positions->max_deal_id)
        positions->max_deal_id = deal_id;
}

/* Adds volume v (> 0) at price in direction dir (+1 / -1) to a flat or same-direction position. */
static td_err_t open_or_add(td_positions_t *next, int64_t time_ms, int dir, td_price_t price, td_volume_t v)
{
    __int128 cost;
    if (__builtin_add_overflow(next->cost, (__int128)price * v, &cost))
        return TD_ERR_OVERFLOW;
    td_volume_t volume;
    if (__builtin_add_overflow(next->volume, dir > 0 ? v : -v, &volume) || volume == INT64_MIN)
        return TD_ERR_OVERFLOW;
    if (next->volume == 0)
        next->entry_time = time_ms;
    next->cost = cost;
    next->volume = volume;
    return TD_OK;
}

/* The step on a copy; outputs appended to out (if any). */
static td_err_t apply_fill(td_positions_t *next, int64_t time_ms, const td_exec_report_t *exec, td_outbuf_t *out)
{
    td_err_t rc = TD_OK;
    td_money_t deal_comm = exec->commission;
    int dir = exec->side == TD_SIDE_BUY ? 1 : -1;
    td_volume_t v = exec->volume;

    rc = td_fx_add(next->commission, exec->commission, &next->commission);
    if (rc == TD_OK)
        rc = td_fx_add(next->swap, exec->swap, &next->swap);
    if (rc != TD_OK)
        return rc;

    int closing = v > 0 && next->volume != 0 && ((next->volume > 0) != (dir > 0));
    if (!closing) {
        if (v > 0)
            rc = open_or_add(next, time_ms, dir, exec->price, v);
        if (rc == TD_OK)
            rc = td_fx_add(next->open_commission, deal_comm, &next->open_commission);
        if (rc == TD_OK)
            rc = td_fx_add(next->open_swap, exec->swap, &next->open_swap);
    } else {
        int was_long = next->volume > 0;
        td_volume_t pos = was_long ? next->volume : -next->volume;
        td_volume_t closed = v < pos ? v : pos;
        td_volume_t remainder = v - closed;
        td_price_t entry_price = avg_of(next->cost, next->volume);

        /* the closing share of the deal's commission; the rest opens the reversed position */
        td_money_t close_comm = deal_comm;
        if (remainder > 0)
            rc = td_fx_muldiv(deal_comm, closed, v, &close_comm);
        __int128 closed_cost = next->cost;
        td_money_t part_comm = next->open_commission, part_swap = next->open_swap;
        if (rc == TD_OK && closed < pos) {
            rc = muldiv128(next->cost, closed, pos, &closed_cost);
            if (rc == TD_OK)
                rc = td_fx_muldiv(next->open_commission, closed, pos, &part_comm);
            if (rc == TD_OK)
                rc = td_fx_muldiv(next->open_swap, closed, pos, &part_swap);
        }
        __int128 exit_value = (__int128)exec->price * closed;
        __int128 pv = was_long ? exit_value - closed_cost : closed_cost - exit_value;
        td_money_t pnl = 0, trade_comm = 0, trade_swap = 0;
        if (rc == TD_OK)
            rc = td_positions__money(pv, next->contract_size, &pnl);
        if (rc == TD_OK)
            rc = td_fx_add(next->realized_pnl, pnl, &next->realized_pnl);
        if (rc == TD_OK)
            rc = td_fx_add(close_comm, part_comm, &trade_comm);
        if (rc == TD_OK)
            rc = td_fx_add(exec->swap, part_swap, &trade_swap);
        if (rc != TD_OK)
            return rc;

        if (out) {
            td_event_t *ev = td_outbuf_add(out, TD_EV_TRADE_CLOSED);
            if (!ev)
                return TD_ERR_NOMEM;
            td_trade_closed_t *trade = &ev->u.trade;
            trade->side = was_long ? TD_SIDE_BUY : TD_SIDE_SELL;
            trade->entry_time = next->entry_time;
            trade->entry_price = entry_price;
            trade->exit_time = time_ms;
            trade->exit_price = exec->price;
            trade->volume = closed;
            trade->pnl = pnl;
            trade->commission = trade_comm;
            trade->swap = trade_swap;
        }

        next->cost -= closed_cost;
        next->open_commission -= part_comm;
        next->open_swap -= part_swap;
        next->volume += was_long ? -closed : closed;
        if (next->volume == 0) {
            TD_ASSERT(next->cost == 0 && next->open_commission == 0 && next->open_swap == 0);
            next->entry_time = 0;
        }
        if (remainder > 0) {
            rc = open_or_add(next, time_ms, dir, exec->price, remainder);
            next->open_commission = deal_comm - close_comm; /* same sign, |.| <= |deal_comm| */
        }
    }
    if (rc != TD_OK)
        return rc;

    if (out) {
        td_event_t *ev = td_outbuf_add(out, TD_EV_POSITION_CHANGED);
        if (!ev)
            return TD_ERR_NOMEM;
        td_position_changed_t *pc = &ev->u.position;
        pc->volume = next->volume;
        pc->avg_price = avg_of(next->cost, next->volume);
        pc->realized_pnl = next->realized_pnl;
        pc->commission = next->commission;
        pc->swap = next->swap;
        pc->deal_id = exec->deal_id;
        memcpy(pc->intent_id, exec->intent_id, sizeof pc->intent_id);
        pc->intent_id[sizeof pc->intent_id - 1] = '\0';
    }
    remember_deal(next, exec->deal_id);
    return TD_OK;
}

td_err_t td_positions_apply(td_positions_t *positions, int64_t time_ms, const td_exec_report_t *exec, td_outbuf_t *out)
{
    if (exec->status != TD_EXEC_FILLED && exec->status != TD_EXEC_PARTIAL)
        return TD_OK;
    if (exec->volume < 0 || (exec->volume > 0 && exec->side != TD_SIDE_BUY && exec->side != TD_SIDE_SELL) ||
        exec->deal_id == 0) {
        snprintf(positions->errmsg, sizeof positions->errmsg,
                 "execution report deal %llu: volume %lld, side %d, deal id must be > 0 with a side",
                 (unsigned long long)exec->deal_id, (long long)exec->volume, (int)exec->side);
        return TD_ERR_INVALID;
    }
    if (is_duplicate(positions, exec->deal_id))
        return TD_OK;
    if (exec->volume > 0 && positions->contract_size <= 0) {
        snprintf(positions->errmsg, sizeof positions->errmsg,
                 "fill of deal %llu before any SymbolSpec: the symbol needs a spec with contract_size > 0",
                 (unsigned long long)exec->deal_id);
        return TD_ERR_STATE;
    }

    size_t start = out ? out->len : 0;
    td_positions_t next = *positions;
    td_err_t rc = apply_fill(&next, time_ms, exec, out);
    if (rc != TD_OK) {
        if (out)
            out->len = start;
        if (rc == TD_ERR_OVERFLOW) /* refused: the position stays as it was (invariant 9) */
            snprintf(positions->errmsg, sizeof positions->errmsg,
                     "deal %llu: price %lld x volume %lld would take a position value out of the int64 range",
                     (unsigned long long)exec->deal_id, (long long)exec->price, (long long)exec->volume);
        return rc;
    }
    next.errmsg[0] = '\0';
    *positions = next;
    return TD_OK;
}

/* ---- state encoding ---- */

void td_positions__to_msg(const td_positions_t *positions, struct Td__PositionsState *msg,
                          uint64_t ids[TD_POSITIONS_DEAL_WINDOW])
{
    msg->contract_size = positions->contract_size;
    msg->volume = positions->volume;
    unsigned __int128 u = (unsigned __int128)positions->cost;
    msg->cost_hi = (int64_t)(uint64_t)(u >> 64);
    msg->cost_lo = (uint64_t)u;
    msg->entry_time = positions->entry_time;
    msg->realized_pnl = positions->realized_pnl;
    msg->commission = positions->commission;
    msg->swap = positions->swap;
    msg->open_commission = positions->open_commission;
    msg->open_swap = positions->open_swap;
    msg->max_deal_id = positions->max_deal_id;
    memcpy(ids, positions->recent, positions->n_recent * sizeof ids[0]);
    msg->n_recent_deal_ids = positions->n_recent;
    msg->recent_deal_ids = positions->n_recent ? ids : NULL;
}

td_err_t td_positions__from_msg(const struct Td__PositionsState *msg, td_positions_t *positions)
{
    td_positions_t tmp;
    td_positions_init(&tmp);
    if (msg->base.n_unknown_fields != 0 || msg->failed > 0 || msg->failed < TD_ERR_END)
        return TD_ERR_CORRUPT;
    if (msg->contract_size < 0 || msg->volume == INT64_MIN || msg->n_recent_deal_ids > TD_POSITIONS_DEAL_WINDOW)
        return TD_ERR_CORRUPT;
    /* `failed`: the sticky code of older versions, ignored (a refused input never changed the state) */
    tmp.contract_size = msg->contract_size;
    tmp.volume = msg->volume;
    tmp.cost = (__int128)(((unsigned __int128)(uint64_t)msg->cost_hi << 64) | msg->cost_lo);
    tmp.entry_time = msg->entry_time;
    tmp.realized_pnl = msg->realized_pnl;
    tmp.commission = msg->commission;
    tmp.swap = msg->swap;
    tmp.open_commission = msg->open_commission;
    tmp.open_swap = msg->open_swap;
    tmp.max_deal_id = msg->max_deal_id;
    tmp.n_recent = (uint32_t)msg->n_recent_deal_ids;
    for (uint32_t i = 0; i < tmp.n_recent; i++) {
        tmp.recent[i] = msg->recent_deal_ids[i];
        if (tmp.recent[i] == 0 || tmp.recent[i] > tmp.max_deal_id)
            return TD_ERR_CORRUPT;
    }
    if ((tmp.max_deal_id == 0) != (tmp.n_recent == 0))
        return TD_ERR_CORRUPT;
    if (tmp.volume == 0 && (tmp.cost != 0 || tmp.entry_time != 0))
        return TD_ERR_CORRUPT;
    if (tmp.volume != 0) {
        __int128 mag = tmp.volume < 0 ? -(__int128)tmp.volume : tmp.volume;
        __int128 avg = div_round(tmp.cost, mag);
        if (avg > INT64_MAX || avg < INT64_MIN)
            return TD_ERR_CORRUPT;
    }
    *positions = tmp;
    return TD_OK;
}

td_err_t td_positions_encode(const td_positions_t *positions, td_buf_t *out)
{
    Td__PositionsState msg = TD__POSITIONS_STATE__INIT;
    uint64_t ids[TD_POSITIONS_DEAL_WINDOW];
    td_positions__to_msg(positions, &msg, ids);
    size_t n = td__positions_state__get_packed_size(&msg);
    td_err_t rc = td_buf_reserve(out, n);
    if (rc != TD_OK)
        return rc;
    size_t w = td__positions_state__pack(&msg, out->ptr + out->len);
    TD_ASSERT(w == n);
    out->len += n;
    return TD_OK;
}

td_err_t td_positions_decode(td_positions_t *positions, const uint8_t *p, size_t n)
{
    Td__PositionsState *msg = td__positions_state__unpack(NULL, n, p);
    if (!msg)
        return TD_ERR_CORRUPT;
    td_positions_t tmp;
    td_err_t rc = td_positions__from_msg(msg, &tmp);
    td__positions_state__free_unpacked(msg, NULL);
    if (rc == TD_OK) {
        /* canonical check: the bytes must be exactly what td_positions_encode() writes */
        td_buf_t again;
        td_buf_init(&again);
        rc = td_positions_encode(&tmp, &again);
        if (rc == TD_OK && (again.len != n || (n && memcmp(again.ptr, p, n) != 0)))
            rc = TD_ERR_CORRUPT;
        td_buf_fini(&again);
    }
    if (rc == TD_OK)
        *positions = tmp;
    return rc;
}
