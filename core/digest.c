/* digest.c - SHA-256 through OpenSSL's EVP interface; the blocked day-digest chain. */
#include "core/digest.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sha256_pieces(uint8_t out[TD_SHA256_LEN], const void *p, size_t n, va_list ap)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    TD_ASSERT(md != NULL);
    TD_ASSERT(EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1);
    while (p) {
        TD_ASSERT(EVP_DigestUpdate(md, p, n) == 1);
        p = va_arg(ap, const void *);
        if (p)
            n = va_arg(ap, size_t);
    }
    unsigned len = 0;
    TD_ASSERT(EVP_DigestFinal_ex(md, out, &len) == 1 && len == TD_SHA256_LEN);
    EVP_MD_CTX_free(md);
}

void td_sha256_parts(uint8_t out[TD_SHA256_LEN], const void *p, size_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    sha256_pieces(out, p, n, ap);
    va_end(ap);
}

void td_sha256(const void *data, size_t n, uint8_t out[TD_SHA256_LEN])
{
    td_sha256_parts(out, data, n, NULL);
}

td_err_t td_sha256_file(const char *path, uint8_t out[TD_SHA256_LEN], char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return td_err_set(errbuf, errlen, TD_ERR_IO, "%s: cannot open: %m", path);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    TD_ASSERT(md != NULL);
    TD_ASSERT(EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1);
    uint8_t buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        TD_ASSERT(EVP_DigestUpdate(md, buf, n) == 1);
    td_err_t rc = ferror(f) ? td_err_set(errbuf, errlen, TD_ERR_IO, "%s: read error", path) : TD_OK;
    unsigned len = 0;
    TD_ASSERT(EVP_DigestFinal_ex(md, out, &len) == 1);
    EVP_MD_CTX_free(md);
    fclose(f);
    return rc;
}

void td_digest_hex(const uint8_t digest[TD_SHA256_LEN], char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < TD_SHA256_LEN; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[64] = '\0';
}

static void put_be32(uint8_t b[4], uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

struct td_hasher {
    EVP_MD *md; /* fetched once */
    EVP_MD_CTX *ctx;
};

td_hasher_t *td_hasher_new(void)
{
    td_hasher_t *hasher = calloc(1, sizeof *hasher);
    if (!hasher)
        return NULL;
    hasher->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    hasher->ctx = EVP_MD_CTX_new();
    if (!hasher->md || !hasher->ctx) {
        td_hasher_destroy(hasher);
        return NULL;
    }
    return hasher;
}

void td_hasher_destroy(td_hasher_t *hasher)
{
    if (!hasher)
        return;
    EVP_MD_CTX_free(hasher->ctx);
    EVP_MD_free(hasher->md);
    free(hasher);
}

/* h = SHA-256(p1 | p2 | ... ) over n parts with a reusable or temporary context */
static void sha256_slices(td_hasher_t *hasher, const td_slice_t *parts, size_t n, uint8_t out[TD_SHA256_LEN])
{
    td_hasher_t *own = hasher ? NULL : td_hasher_new();
    td_hasher_t *use = hasher ? hasher : own;
    TD_ASSERT(use != NULL);
    unsigned out_len = 0;
    TD_ASSERT(EVP_DigestInit_ex2(use->ctx, use->md, NULL) == 1);
    for (size_t i = 0; i < n; i++)
        TD_ASSERT(EVP_DigestUpdate(use->ctx, parts[i].ptr, parts[i].len) == 1);
    TD_ASSERT(EVP_DigestFinal_ex(use->ctx, out, &out_len) == 1 && out_len == TD_SHA256_LEN);
    td_hasher_destroy(own);
}

td_err_t td_chain_start(td_chain_t *chain, td_hasher_t *hasher, const char *symbol, uint32_t trading_day,
                        const uint8_t prev[TD_SHA256_LEN])
{
    static const char tag[] = "tapedeck-day-v1";
    uint8_t day[4], symlen[4];
    put_be32(day, trading_day);
    put_be32(symlen, (uint32_t)strlen(symbol));
    td_slice_t parts[] = {{(const uint8_t *)tag, sizeof tag - 1},
                          {symlen, sizeof symlen},
                          {(const uint8_t *)symbol, strlen(symbol)},
                          {day, sizeof day},
                          {prev, TD_SHA256_LEN}};
    sha256_slices(hasher, parts, sizeof parts / sizeof parts[0], chain->h);
    td_buf_reset(&chain->block);
    chain->items = 0;
    return TD_OK;
}

/* h = SHA-256(h | block); the block emptied */
static void fold(const uint8_t h_in[TD_SHA256_LEN], const td_buf_t *block, td_hasher_t *hasher,
                 uint8_t h_out[TD_SHA256_LEN])
{
    uint8_t prev[TD_SHA256_LEN];
    memcpy(prev, h_in, TD_SHA256_LEN);
    td_slice_t parts[] = {{prev, TD_SHA256_LEN}, {block->ptr, block->len}};
    sha256_slices(hasher, parts, 2, h_out);
}

td_err_t td_chain_add(td_chain_t *chain, td_hasher_t *hasher, const td_slice_t *parts, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += parts[i].len;
    uint8_t len[4];
    put_be32(len, (uint32_t)total);
    td_err_t rc = td_buf_reserve(&chain->block, total + sizeof len);
    if (rc != TD_OK)
        return rc;
    memcpy(chain->block.ptr + chain->block.len, len, sizeof len);
    chain->block.len += sizeof len;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].len)
            memcpy(chain->block.ptr + chain->block.len, parts[i].ptr, parts[i].len);
        chain->block.len += parts[i].len;
    }
    if (++chain->items == TD_CHAIN_BLOCK_ITEMS) {
        fold(chain->h, &chain->block, hasher, chain->h);
        td_buf_reset(&chain->block);
        chain->items = 0;
    }
    return TD_OK;
}

void td_chain_finish(const td_chain_t *chain, td_hasher_t *hasher, const uint8_t *state, size_t n,
                     uint8_t out[TD_SHA256_LEN])
{
    static const char tag[] = "state";
    uint8_t h[TD_SHA256_LEN];
    if (chain->items)
        fold(chain->h, &chain->block, hasher, h);
    else
        memcpy(h, chain->h, TD_SHA256_LEN);
    uint8_t len[4];
    put_be32(len, (uint32_t)n);
    td_slice_t parts[] = {{h, TD_SHA256_LEN}, {(const uint8_t *)tag, sizeof tag - 1}, {len, sizeof len}, {state, n}};
    sha256_slices(hasher, parts, sizeof parts / sizeof parts[0], out);
}

void td_chain_fini(td_chain_t *chain)
{
    if (chain)
        td_buf_fini(&chain->block);
}
