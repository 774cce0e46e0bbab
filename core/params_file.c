/* params_file.c - reading the parameter file (format and contract in params_file.h). */
#include "core/params_file.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static const char *scalar(const yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

static td_err_t bad(const char *path, const yaml_node_t *node, const char *field, const char *what, char *errbuf,
                    size_t errlen)
{
    return td_err_set(errbuf, errlen, TD_ERR_INVALID, "%s:%zu: %s: %s", path, node ? node->start_mark.line + 1 : 1,
                      field, what);
}

static int cmp_param(const void *a, const void *b)
{
    return strcmp(((const td_param_t *)a)->name, ((const td_param_t *)b)->name);
}

static td_err_t read_version(const char *path, const yaml_node_t *v, const char *field, uint32_t *out, char *errbuf,
                             size_t errlen)
{
    const char *s = scalar(v);
    char *end = NULL;
    unsigned long x = s ? strtoul(s, &end, 10) : 0;
    if (!s || !*s || *end || x > 1000000000ul || (s[0] < '0' || s[0] > '9'))
        return bad(path, v, field, "expected a whole number", errbuf, errlen);
    *out = (uint32_t)x;
    return TD_OK;
}

static td_err_t read_root(const char *path, yaml_document_t *doc, td_params_file_t *file, char *errbuf, size_t errlen)
{
    const yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root || root->type != YAML_MAPPING_NODE)
        return bad(path, root, "file", "expected a mapping with symbol, strategy, version and params", errbuf, errlen);
    bool have_version = false, have_params = false;
    td_err_t rc = TD_OK;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; rc == TD_OK && p < root->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(doc, p->key), *v = yaml_document_get_node(doc, p->value);
        const char *name = scalar(k), *s = scalar(v);
        if (!name)
            return bad(path, k, "key", "expected a name", errbuf, errlen);
        if (strcmp(name, "symbol") == 0) {
            if (!s || !*s || td_event_set_str(file->symbol, sizeof file->symbol, s) != TD_OK)
                rc = bad(path, v, name, "expected a symbol name of at most 31 characters", errbuf, errlen);
        } else if (strcmp(name, "strategy") == 0) {
            if (!s || !*s || td_event_set_str(file->params.strategy, sizeof file->params.strategy, s) != TD_OK)
                rc = bad(path, v, name, "expected a strategy name", errbuf, errlen);
        } else if (strcmp(name, "reason") == 0) {
            if (!s || td_event_set_str(file->reason, sizeof file->reason, s) != TD_OK)
                rc = bad(path, v, name, "expected a text of at most 127 characters", errbuf, errlen);
        } else if (strcmp(name, "version") == 0) {
            rc = read_version(path, v, name, &file->version, errbuf, errlen);
            have_version = true;
        } else if (strcmp(name, "previous_version") == 0) {
            rc = read_version(path, v, name, &file->previous_version, errbuf, errlen);
        } else if (strcmp(name, "params") == 0) {
            have_params = true;
            if (v->type != YAML_MAPPING_NODE || v->data.mapping.pairs.start == v->data.mapping.pairs.top)
                return bad(path, v, name, "expected a mapping of NAME: VALUE", errbuf, errlen);
            for (yaml_node_pair_t *q = v->data.mapping.pairs.start; rc == TD_OK && q < v->data.mapping.pairs.top; q++) {
                const yaml_node_t *pk = yaml_document_get_node(doc, q->key),
                                  *pv = yaml_document_get_node(doc, q->value);
                const char *pn = scalar(pk), *ps = scalar(pv);
                if (file->params.n_values == TD_PARAMS_MAX)
                    return bad(path, pk, "params", "more than 16 parameters", errbuf, errlen);
                td_param_t *param = &file->params.values[file->params.n_values];
                if (!pn || !*pn || td_event_set_str(param->name, sizeof param->name, pn) != TD_OK)
                    return bad(path, pk, "params", "expected a parameter name of at most 23 characters", errbuf,
                               errlen);
                if (!ps || !*ps || td_event_set_str(param->value, sizeof param->value, ps) != TD_OK)
                    return bad(path, pv, pn, "expected a value of at most 31 characters", errbuf, errlen);
                for (uint32_t i = 0; i < file->params.n_values; i++)
                    if (strcmp(file->params.values[i].name, pn) == 0)
                        return bad(path, pk, pn, "given twice", errbuf, errlen);
                file->params.n_values++;
            }
        } else {
            char what[128];
            snprintf(what, sizeof what,
                     "unknown key (expected symbol, strategy, version, previous_version, reason, "
                     "params)");
            rc = bad(path, k, name, what, errbuf, errlen);
        }
    }
    if (rc == TD_OK && !file->symbol[0])
        rc = bad(path, root, "symbol", "missing", errbuf, errlen);
    if (rc == TD_OK && !file->params.strategy[0])
        rc = bad(path, root, "strategy", "missing", errbuf, errlen);
    if (rc == TD_OK && (!have_version || file->version == 0))
        rc = bad(path, root, "version", "missing or 0 (versions start at 1)", errbuf, errlen);
    if (rc == TD_OK && !have_params)
        rc = bad(path, root, "params", "missing", errbuf, errlen);
    if (rc == TD_OK)
        qsort(file->params.values, file->params.n_values, sizeof file->params.values[0], cmp_param);
    return rc;
}

td_err_t td_params_file_load(const char *path, td_params_file_t *file, char *errbuf, size_t errlen)
{
    memset(file, 0, sizeof *file);
    FILE *f = fopen(path, "rb");
    if (!f)
        return td_err_set(errbuf, errlen, TD_ERR_IO, "%s: cannot open the parameter file: %s", path, strerror(errno));
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    td_err_t rc;
    if (!yaml_parser_load(&parser, &doc)) {
        rc = td_err_set(errbuf, errlen, TD_ERR_INVALID, "%s:%zu: YAML: %s", path, parser.problem_mark.line + 1,
                        parser.problem ? parser.problem : "syntax error");
    } else {
        rc = read_root(path, &doc, file, errbuf, errlen);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}
