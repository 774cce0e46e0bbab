/* tape_tamper.c - a test tool that damages a tape ON PURPOSE, the way corruption or tampering would,
 * so that tests can prove replay notices. It writes RocksDB directly, bypassing td_tape (which never
 * rewrites an offset). Never part of the product.
 *
 *   tape_tamper DIR alter  input|output SYMBOL OFFSET   shift the event's time by +1 ms
 *   tape_tamper DIR swap   input|output SYMBOL A B      exchange the events at offsets A and B
 *   tape_tamper DIR delete input|output SYMBOL OFFSET   remove the event: a gap in the stream
 */
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/codec.h"

static size_t key_of(char *key, const char *symbol, unsigned long long offset)
{
    size_t n = strlen(symbol);
    memcpy(key, symbol, n);
    key[n] = 0;
    for (int i = 0; i < 8; i++)
        key[n + 1 + i] = (char)(offset >> (56 - 8 * i));
    return n + 9;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: tape_tamper DIR alter|swap|delete input|output SYMBOL OFFSET [OFFSET2]\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/tape", argv[1]);
    char *err = NULL;
    rocksdb_options_t *opts = rocksdb_options_create();
    size_t n_cf = 0;
    char **names = rocksdb_list_column_families(opts, path, &n_cf, &err);
    if (err) {
        fprintf(stderr, "tape_tamper: %s\n", err);
        return 3;
    }
    const rocksdb_options_t **cf_opts = calloc(n_cf, sizeof *cf_opts);
    rocksdb_column_family_handle_t **cf = calloc(n_cf, sizeof *cf);
    for (size_t i = 0; i < n_cf; i++)
        cf_opts[i] = opts;
    rocksdb_t *db = rocksdb_open_column_families(opts, path, (int)n_cf, (const char *const *)names, cf_opts, cf, &err);
    if (err) {
        fprintf(stderr, "tape_tamper: %s\n", err);
        return 3;
    }
    rocksdb_column_family_handle_t *h = NULL;
    for (size_t i = 0; i < n_cf; i++)
        if (strcmp(names[i], argv[3]) == 0)
            h = cf[i];
    if (!h) {
        fprintf(stderr, "tape_tamper: no column family %s\n", argv[3]);
        return 2;
    }
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(wo, 1);
    char ka[64], kb[64];
    size_t la = key_of(ka, argv[4], strtoull(argv[5], NULL, 10));
    size_t va_len = 0;
    char *va = rocksdb_get_cf(db, ro, h, ka, la, &va_len, &err);
    int code = 0;
    if (err || !va) {
        fprintf(stderr, "tape_tamper: offset %s not found\n", argv[5]);
        code = 2;
    } else if (strcmp(argv[2], "alter") == 0) {
        td_event_t ev;
        char e[256];
        td_buf_t out;
        td_buf_init(&out);
        if (td_codec_decode((const uint8_t *)va, va_len, &ev, e, sizeof e) != TD_OK ||
            td_codec_encode(&ev, TD_CODEC_NO_OFFSET, &out) != TD_OK) {
            fprintf(stderr, "tape_tamper: %s\n", e);
            code = 3;
        } else {
            ev.time_ms += 1;
            td_buf_reset(&out);
            if (td_codec_encode(&ev, TD_CODEC_NO_OFFSET, &out) != TD_OK)
                code = 3;
            else
                rocksdb_put_cf(db, wo, h, ka, la, (const char *)out.ptr, out.len, &err);
        }
        td_buf_fini(&out);
    } else if (strcmp(argv[2], "delete") == 0) {
        rocksdb_delete_cf(db, wo, h, ka, la, &err);
    } else if (strcmp(argv[2], "swap") == 0 && argc == 7) {
        size_t lb = key_of(kb, argv[4], strtoull(argv[6], NULL, 10));
        size_t vb_len = 0;
        char *vb = rocksdb_get_cf(db, ro, h, kb, lb, &vb_len, &err);
        if (err || !vb) {
            fprintf(stderr, "tape_tamper: offset %s not found\n", argv[6]);
            code = 2;
        } else {
            rocksdb_put_cf(db, wo, h, ka, la, vb, vb_len, &err);
            if (!err)
                rocksdb_put_cf(db, wo, h, kb, lb, va, va_len, &err);
        }
        rocksdb_free(vb);
    } else {
        fprintf(stderr, "tape_tamper: unknown action %s\n", argv[2]);
        code = 2;
    }
    if (err) {
        fprintf(stderr, "tape_tamper: %s\n", err);
        code = 3;
    }
    rocksdb_free(va);
    for (size_t i = 0; i < n_cf; i++)
        rocksdb_column_family_handle_destroy(cf[i]);
    rocksdb_close(db);
    rocksdb_list_column_families_destroy(names, n_cf);
    rocksdb_readoptions_destroy(ro);
    rocksdb_writeoptions_destroy(wo);
    rocksdb_options_destroy(opts);
    free(cf);
    free(cf_opts);
    return code;
}
