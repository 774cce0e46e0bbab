/* fixed.c - decimal parsing, formatting and checked arithmetic on scaled int64 values. */
#include "core/fixed.h"

#include <stdio.h>

td_err_t td_fx_parse(const char *s, size_t len, int64_t *out, int *rounded)
{
    size_t i = 0;
    int neg = 0;
    if (rounded)
        *rounded = 0;
    if (len && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i >= len)
        return TD_ERR_PARSE;
    __int128 acc = 0;
    int int_digits = 0, frac_digits = 0, seen_dot = 0, round_up = 0, dropped = 0;
    for (; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            if (seen_dot)
                return TD_ERR_PARSE;
            seen_dot = 1;
            continue;
        }
        if (c < '0' || c > '9')
            return TD_ERR_PARSE;
        if (!seen_dot) {
            acc = acc * 10 + (c - '0');
            int_digits++;
            if (acc > (__int128)INT64_MAX)
                return TD_ERR_OVERFLOW;
        } else if (frac_digits < TD_FX_DECIMALS) {
            acc = acc * 10 + (c - '0');
            frac_digits++;
        } else {
            if (frac_digits == TD_FX_DECIMALS && !dropped)
                round_up = c >= '5';
            if (c != '0')
                dropped = 1;
            frac_digits++;
        }
    }
    if (int_digits == 0 && (frac_digits == 0))
        return TD_ERR_PARSE;
    if (seen_dot && frac_digits == 0) /* "7.": a number cut after its dot (a truncated file) */
        return TD_ERR_PARSE;
    for (int k = frac_digits < TD_FX_DECIMALS ? frac_digits : TD_FX_DECIMALS; k < TD_FX_DECIMALS; k++)
        acc *= 10;
    if (round_up)
        acc += 1;
    if (neg)
        acc = -acc;
    if (acc > INT64_MAX || acc < INT64_MIN)
        return TD_ERR_OVERFLOW;
    if (rounded)
        *rounded = dropped;
    *out = (int64_t)acc;
    return TD_OK;
}

int td_fx_format(int64_t v, int decimals, char *buf, size_t buflen)
{
    if (decimals < 0)
        decimals = 0;
    if (decimals > TD_FX_DECIMALS)
        decimals = TD_FX_DECIMALS;
    unsigned __int128 mag = v < 0 ? (unsigned __int128)(-(__int128)v) : (unsigned __int128)v;
    uint64_t ip = (uint64_t)(mag / TD_FX_SCALE);
    uint64_t fp = (uint64_t)(mag % TD_FX_SCALE);
    for (int k = decimals; k < TD_FX_DECIMALS; k++)
        fp /= 10;
    if (decimals == 0)
        return snprintf(buf, buflen, "%s%llu", v < 0 ? "-" : "", (unsigned long long)ip);
    return snprintf(buf, buflen, "%s%llu.%0*llu", v < 0 ? "-" : "", (unsigned long long)ip, decimals,
                    (unsigned long long)fp);
}

td_err_t td_fx_add(int64_t a, int64_t b, int64_t *out)
{
    if (__builtin_add_overflow(a, b, out))
        return TD_ERR_OVERFLOW;
    return TD_OK;
}

td_err_t td_fx_sub(int64_t a, int64_t b, int64_t *out)
{
    if (__builtin_sub_overflow(a, b, out))
        return TD_ERR_OVERFLOW;
    return TD_OK;
}

td_err_t td_fx_muldiv(int64_t a, int64_t b, int64_t c, int64_t *out)
{
    TD_ASSERT(c != 0);
    __int128 p = (__int128)a * b;
    __int128 q = p / c, r = p % c;
    /* round half away from zero */
    __int128 r2 = r < 0 ? -r : r;
    __int128 c2 = c < 0 ? -(__int128)c : c;
    if (2 * r2 >= c2)
        q += ((p < 0) != (c < 0)) ? -1 : 1;
    if (q > INT64_MAX || q < INT64_MIN)
        return TD_ERR_OVERFLOW;
    *out = (int64_t)q;
    return TD_OK;
}

td_err_t td_fx_mul(int64_t a, int64_t b, int64_t *out)
{
    return td_fx_muldiv(a, b, TD_FX_SCALE, out);
}

int64_t td_fx_point(unsigned digits)
{
    TD_ASSERT(digits <= TD_FX_DECIMALS);
    int64_t p = TD_FX_SCALE;
    for (unsigned k = 0; k < digits; k++)
        p /= 10;
    return p;
}
