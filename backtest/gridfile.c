/* gridfile.c - the YAML grid file (format and contract in gridfile.h), read with libyaml's
 * document loader: the file is small, and a tree gives every node's line for the messages. */
#include "backtest/gridfile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "backtest/grid.h"

typedef struct ctx {
    const char *path;
    yaml_document_t *doc;
    char *errbuf;
    size_t errlen;
} ctx_t;

static td_err_t bad(const ctx_t *ctx, const yaml_node_t *node, const char *what)
{
    return td_err_set(ctx->errbuf, ctx->errlen, TD_ERR_INVALID, "%s:%zu: %s", ctx->path,
                      node ? node->start_mark.line + 1 : 1, what);
}

static const char *scalar(const yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

/* Copies the scalar node into dst[size]; names the field in the error. */
static td_err_t copy_scalar(const ctx_t *ctx, const yaml_node_t *node, const char *field, char *dst, size_t size)
{
    const char *s = scalar(node);
    char msg[160];
    if (!s || !*s) {
        snprintf(msg, sizeof msg, "%s: expected a non-empty value", field);
        return bad(ctx, node, msg);
    }
    if (strlen(s) >= size) {
        snprintf(msg, sizeof msg, "%s: longer than %zu characters", field, size - 1);
        return bad(ctx, node, msg);
    }
    memcpy(dst, s, strlen(s) + 1);
    return TD_OK;
}

static td_err_t append(const ctx_t *ctx, const yaml_node_t *node, char *spec, const char *text)
{
    size_t len = strlen(spec), add = strlen(text);
    if (len + add + 1 > TD_GRIDFILE_SPEC_MAX)
        return bad(ctx, node, "grid: longer than the longest grid spec");
    memcpy(spec + len, text, add + 1);
    return TD_OK;
}

/* Checks one item ("name=values", as grid.h reads it) where the file gives it, so a bad value
 * is refused with its line; what needs the whole grid (a name given twice, the number of
 * combinations) is checked when the spec is parsed. */
static td_err_t check_item(const ctx_t *ctx, const yaml_node_t *node, const char *item)
{
    td_grid_t *grid = NULL;
    char err[400] = "";
    td_err_t rc = td_grid_parse(item, &grid, err, sizeof err);
    td_grid_destroy(grid);
    if (rc == TD_ERR_NOMEM)
        return td_err_set(ctx->errbuf, ctx->errlen, rc, "%s: out of memory", ctx->path);
    return rc == TD_OK ? TD_OK : bad(ctx, node, err);
}

static td_err_t read_grid(const ctx_t *ctx, const yaml_node_t *map, td_gridfile_t *file)
{
    if (map->type != YAML_MAPPING_NODE || map->data.mapping.pairs.start == map->data.mapping.pairs.top)
        return bad(ctx, map, "grid: expected a mapping of parameter: values (fast: 5:50:5)");
    td_err_t rc = TD_OK;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; rc == TD_OK && p < map->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(ctx->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(ctx->doc, p->value);
        const char *name = scalar(k);
        if (!name || !*name || strchr(name, '=') || strchr(name, ','))
            return bad(ctx, k, "grid: expected a parameter name");
        if (file->grid[0])
            rc = append(ctx, k, file->grid, ",");
        size_t start = strlen(file->grid);
        if (rc == TD_OK)
            rc = append(ctx, k, file->grid, name);
        if (rc == TD_OK)
            rc = append(ctx, k, file->grid, "=");
        if (rc == TD_OK && v->type == YAML_SEQUENCE_NODE) {
            if (v->data.sequence.items.start == v->data.sequence.items.top)
                return bad(ctx, v, "grid: an empty list of values gives no combinations");
            for (yaml_node_item_t *it = v->data.sequence.items.start; rc == TD_OK && it < v->data.sequence.items.top;
                 it++) {
                const yaml_node_t *item = yaml_document_get_node(ctx->doc, *it);
                const char *s = scalar(item);
                if (!s || !*s || strchr(s, '|') || strchr(s, ','))
                    return bad(ctx, item, "grid: expected a plain value in the list");
                if (it != v->data.sequence.items.start)
                    rc = append(ctx, item, file->grid, "|");
                if (rc == TD_OK)
                    rc = append(ctx, item, file->grid, s);
            }
        } else if (rc == TD_OK) {
            const char *s = scalar(v);
            if (!s || !*s || strchr(s, ','))
                return bad(ctx, v, "grid: expected LO:HI:STEP, V1|V2|..., a value or a list of values");
            rc = append(ctx, v, file->grid, s);
        }
        if (rc == TD_OK)
            rc = check_item(ctx, v, file->grid + start);
    }
    return rc;
}

static td_err_t read_symbol(const ctx_t *ctx, const yaml_node_t *key, const yaml_node_t *map, td_gridfile_symbol_t *sym)
{
    memset(sym, 0, sizeof *sym);
    td_err_t rc = copy_scalar(ctx, key, "symbols: the symbol name", sym->symbol, sizeof sym->symbol);
    if (rc != TD_OK)
        return rc;
    sym->line = (unsigned)key->start_mark.line + 1;
    if (map->type != YAML_MAPPING_NODE)
        return bad(ctx, map, "symbols: expected data: FILE and format: FORMAT under the symbol");
    bool have_data = false, have_format = false, have_timeframe = false;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; rc == TD_OK && p < map->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(ctx->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(ctx->doc, p->value);
        const char *name = scalar(k);
        if (name && strcmp(name, "data") == 0) {
            rc = copy_scalar(ctx, v, "data", sym->data, sizeof sym->data);
            have_data = true;
        } else if (name && strcmp(name, "format") == 0) {
            rc = copy_scalar(ctx, v, "format", sym->format, sizeof sym->format);
            have_format = true;
        } else if (name && strcmp(name, "timeframe") == 0) {
            rc = copy_scalar(ctx, v, "timeframe", sym->timeframe, sizeof sym->timeframe);
            have_timeframe = true;
        } else if (name && strcmp(name, "tz_offset") == 0) {
            const char *s = scalar(v);
            char *end = NULL;
            long tz = s ? strtol(s, &end, 10) : 0;
            if (!s || !*s || *end || tz < -720 || tz > 720)
                return bad(ctx, v, "tz_offset: expected minutes in -720..720");
            sym->tz_offset_minutes = (int)tz;
        } else {
            char msg[160];
            snprintf(msg, sizeof msg, "symbols.%s: unknown key '%s' (expected data, format, timeframe, tz_offset)",
                     sym->symbol, name ? name : "?");
            return bad(ctx, k, msg);
        }
    }
    bool stored = have_data && (strcmp(sym->data, "tape") == 0 || strcmp(sym->data, "warehouse") == 0);
    char msg[200];
    if (rc == TD_OK && (!have_data || (!stored && !have_format))) {
        snprintf(msg, sizeof msg, "symbols.%s: expected data: FILE with format: FORMAT, or data: tape|warehouse",
                 sym->symbol);
        rc = bad(ctx, key, msg);
    } else if (rc == TD_OK && stored && have_format) {
        snprintf(msg, sizeof msg, "symbols.%s: format is for files; data: %.16s reads bars already imported",
                 sym->symbol, sym->data);
        rc = bad(ctx, key, msg);
    } else if (rc == TD_OK && !stored && have_timeframe) {
        snprintf(msg, sizeof msg, "symbols.%s: timeframe is for data: tape or warehouse; a file's is read from it",
                 sym->symbol);
        rc = bad(ctx, key, msg);
    }
    return rc;
}

/* A relative data path is taken from the grid file's folder. */
static td_err_t resolve(const ctx_t *ctx, const char *path, td_gridfile_symbol_t *sym)
{
    if (sym->data[0] == '/' || !sym->format[0]) /* absolute, or tape / warehouse */
        return TD_OK;
    const char *slash = strrchr(path, '/');
    if (!slash)
        return TD_OK;
    char joined[TD_GRIDFILE_PATH_MAX];
    int len = snprintf(joined, sizeof joined, "%.*s/%s", (int)(slash - path), path, sym->data);
    if (len < 0 || (size_t)len >= sizeof joined)
        return td_err_set(ctx->errbuf, ctx->errlen, TD_ERR_INVALID, "%s:%u: symbols.%s: data: path too long", path,
                          sym->line, sym->symbol);
    memcpy(sym->data, joined, (size_t)len + 1);
    return TD_OK;
}

static td_err_t read_root(const ctx_t *ctx, const yaml_node_t *root, td_gridfile_t *file)
{
    if (!root || root->type != YAML_MAPPING_NODE)
        return bad(ctx, root, "expected a mapping with strategy, grid and symbols");
    td_err_t rc = TD_OK;
    const yaml_node_t *grid = NULL, *symbols = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; rc == TD_OK && p < root->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(ctx->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(ctx->doc, p->value);
        const char *name = scalar(k);
        if (name && strcmp(name, "strategy") == 0)
            rc = copy_scalar(ctx, v, "strategy", file->strategy, sizeof file->strategy);
        else if (name && strcmp(name, "grid") == 0)
            grid = v;
        else if (name && strcmp(name, "symbols") == 0)
            symbols = v;
        else if (name && strcmp(name, "walk_forward") == 0)
            rc = copy_scalar(ctx, v, "walk_forward", file->walk_forward, sizeof file->walk_forward);
        else if (name && strcmp(name, "wf_metric") == 0)
            rc = copy_scalar(ctx, v, "wf_metric", file->wf_metric, sizeof file->wf_metric);
        else {
            char msg[160];
            snprintf(msg, sizeof msg, "unknown key '%s' (expected strategy, grid, symbols, walk_forward, wf_metric)",
                     name ? name : "?");
            return bad(ctx, k, msg);
        }
    }
    if (rc == TD_OK && !file->strategy[0])
        rc = bad(ctx, root, "strategy: missing (sma_cross or breakout)");
    if (rc == TD_OK && !grid)
        rc = bad(ctx, root, "grid: missing");
    if (rc == TD_OK)
        rc = read_grid(ctx, grid, file);
    if (rc == TD_OK && !symbols)
        rc = bad(ctx, root, "symbols: missing (one or more SYMBOL: {data: FILE, format: FORMAT})");
    if (rc == TD_OK &&
        (symbols->type != YAML_MAPPING_NODE || symbols->data.mapping.pairs.start == symbols->data.mapping.pairs.top))
        rc = bad(ctx, symbols, "symbols: expected one or more SYMBOL: {data: FILE, format: FORMAT}");
    for (yaml_node_pair_t *p = rc == TD_OK ? symbols->data.mapping.pairs.start : NULL;
         rc == TD_OK && p < symbols->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(ctx->doc, p->key);
        if (file->n_symbols == TD_GRIDFILE_MAX_SYMBOLS)
            return bad(ctx, k, "symbols: more than 64");
        td_gridfile_symbol_t *sym = &file->symbols[file->n_symbols];
        rc = read_symbol(ctx, k, yaml_document_get_node(ctx->doc, p->value), sym);
        for (size_t i = 0; rc == TD_OK && i < file->n_symbols; i++)
            if (strcmp(file->symbols[i].symbol, sym->symbol) == 0)
                rc = bad(ctx, k, "symbols: a symbol given twice");
        if (rc == TD_OK)
            rc = resolve(ctx, ctx->path, sym);
        if (rc == TD_OK)
            file->n_symbols++;
    }
    return rc;
}

td_err_t td_gridfile_load(const char *path, td_gridfile_t *file, char *errbuf, size_t errlen)
{
    memset(file, 0, sizeof *file);
    FILE *f = fopen(path, "rb");
    if (!f)
        return td_err_set(errbuf, errlen, TD_ERR_IO, "%s: cannot open the grid file: %s", path, strerror(errno));
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    td_err_t rc = TD_OK;
    if (!yaml_parser_load(&parser, &doc)) {
        rc = td_err_set(errbuf, errlen, TD_ERR_INVALID, "%s:%zu: YAML: %s", path, parser.problem_mark.line + 1,
                        parser.problem ? parser.problem : "syntax error");
    } else {
        ctx_t ctx = {path, &doc, errbuf, errlen};
        rc = read_root(&ctx, yaml_document_get_root_node(&doc), file);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}
