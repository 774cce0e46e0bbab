/* names.c - the shared name tables and their lookups (see names.h). */
#include "core/names.h"

#include <stdio.h>
#include <string.h>

#define TABLE(rows)                        \
    {                                      \
        rows, sizeof rows / sizeof rows[0] \
    }

static const td_name_t timeframes[] = {{"M1", 60},   {"M5", 300},   {"M15", 900}, {"M30", 1800},
                                       {"H1", 3600}, {"H4", 14400}, {"D1", 86400}};
static const td_name_t swap_modes[] = {{"disabled", TD_SWAP_DISABLED},
                                       {"points", TD_SWAP_POINTS},
                                       {"money", TD_SWAP_MONEY},
                                       {"interest", TD_SWAP_INTEREST}};
static const td_name_t sides[] = {{"buy", TD_SIDE_BUY}, {"sell", TD_SIDE_SELL}};
static const td_name_t directions[] = {{"flat", TD_DIR_FLAT}, {"long", TD_DIR_LONG}, {"short", TD_DIR_SHORT}};

const td_names_t td_timeframe_names = TABLE(timeframes);
const td_names_t td_swap_mode_names = TABLE(swap_modes);
const td_names_t td_side_names = TABLE(sides);
const td_names_t td_direction_names = TABLE(directions);

bool td_names_value(const td_names_t *names, const char *name, size_t len, int64_t *value)
{
    for (size_t i = 0; i < names->n; i++)
        if (strlen(names->rows[i].name) == len && memcmp(names->rows[i].name, name, len) == 0) {
            *value = names->rows[i].value;
            return true;
        }
    return false;
}

const char *td_names_name(const td_names_t *names, int64_t value)
{
    for (size_t i = 0; i < names->n; i++)
        if (names->rows[i].value == value)
            return names->rows[i].name;
    return NULL;
}

const char *td_names_join(const td_names_t *names, char *buf, size_t n)
{
    size_t used = 0;
    if (n == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < names->n && used < n; i++) {
        int w = snprintf(buf + used, n - used, "%s%s", i ? "|" : "", names->rows[i].name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

td_err_t td_timeframe_parse(const char *name, uint32_t *seconds)
{
    int64_t v = 0;
    if (!td_names_value(&td_timeframe_names, name, strlen(name), &v))
        return TD_ERR_INVALID;
    *seconds = (uint32_t)v;
    return TD_OK;
}

const char *td_timeframe_name(uint32_t seconds, char buf[16])
{
    const char *name = td_names_name(&td_timeframe_names, seconds);
    if (name)
        return name;
    snprintf(buf, 16, "S%u", seconds);
    return buf;
}

const char *td_side_name(td_side_t side)
{
    const char *name = td_names_name(&td_side_names, side);
    return name ? name : "none";
}

const char *td_direction_name(td_direction_t direction)
{
    const char *name = td_names_name(&td_direction_names, direction);
    return name ? name : "flat";
}

td_direction_t td_direction_of_volume(int64_t volume)
{
    return volume > 0 ? TD_DIR_LONG : volume < 0 ? TD_DIR_SHORT : TD_DIR_FLAT;
}

td_direction_t td_direction_of_side(td_side_t side)
{
    return side == TD_SIDE_BUY ? TD_DIR_LONG : TD_DIR_SHORT;
}

const char *td_swap_mode_name(td_swap_mode_t mode)
{
    const char *name = td_names_name(&td_swap_mode_names, mode);
    return name ? name : "?";
}
