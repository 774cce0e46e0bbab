/* format.c - names of the import formats (the --format values of `tapedeck import`). */
#include "import/import.h"

#include <string.h>

static const struct {
    td_import_format_t format;
    const char *name;
    const char *doc;
} formats[] = {
    {TD_FMT_DUKASCOPY_CSV, "dukascopy-csv", "Dukascopy ticks, CSV: time_utc,bid,ask,bid_volume,ask_volume"},
    {TD_FMT_DUKASCOPY_BI5, "dukascopy-bi5", "Dukascopy raw hourly tick files (LZMA, big-endian records)"},
    {TD_FMT_LEAN_TICKS, "lean-ticks",
     "QuantConnect Lean tick quotes: ms_since_midnight,bid,ask; date from the file name"},
    {TD_FMT_MT5_TICKS, "mt5-ticks", "MT5 Export Ticks: TAB, <DATE> <TIME> <BID> <ASK> <LAST> <VOLUME> <FLAGS>"},
    {TD_FMT_MT5_BARS, "mt5-bars",
     "MT5 Export Bars: TAB, <DATE> <TIME> <OPEN> <HIGH> <LOW> <CLOSE> <TICKVOL> <VOL> <SPREAD>"},
    {TD_FMT_DUKASCOPY_BARS, "dukascopy-bars", "Dukascopy bars: TAB, Time Open High Low Close Volume"},
    {TD_FMT_LEAN_BARS, "lean-bars", "Lean bid+ask bars: YYYYMMDD HH:mm,bidO,bidH,bidL,bidC,bidSize,askO,..."},
};

td_err_t td_import_format_parse(const char *name, td_import_format_t *format)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if (strcmp(formats[i].name, name) == 0) {
            *format = formats[i].format;
            return TD_OK;
        }
    }
    return TD_ERR_INVALID;
}

const char *td_import_format_name(td_import_format_t format)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (formats[i].format == format)
            return formats[i].name;
    return "unknown";
}

const char *td_import_format_doc(td_import_format_t format)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (formats[i].format == format)
            return formats[i].doc;
    return "";
}

bool td_import_format_is_bars(td_import_format_t format)
{
    return format == TD_FMT_MT5_BARS || format == TD_FMT_DUKASCOPY_BARS || format == TD_FMT_LEAN_BARS;
}
