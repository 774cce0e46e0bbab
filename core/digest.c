/* digest.c - SHA-256 through OpenSSL's EVP interface; the day-digest chain. */
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

void td_digest_chain_start(uint8_t h[TD_SHA256_LEN], const char *symbol, uint32_t trading_day,
                           const uint8_t prev[TD_SHA256_LEN])
{
    static const char tag[] = "tapedeck-day-v1";
    uint8_t day[4];
    put_be32(day, trading_day);
    uint8_t symlen[4];
    put_be32(symlen, (uint32_t)strlen(symbol));
    td_sha256_parts(h, tag, sizeof tag - 1, symlen, sizeof symlen, symbol, strlen(symbol), day, sizeof day,
                    prev, (size_t)TD_SHA256_LEN, NULL);
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

/* h = SHA-256(h | tag | u32 length | bytes) */
static void chain_step(td_hasher_t *hasher, uint8_t h[TD_SHA256_LEN], const char *tag, const uint8_t *bytes, size_t n)
{
    uint8_t len[4];
    put_be32(len, (uint32_t)n);
    if (!hasher) {
        uint8_t prev[TD_SHA256_LEN];
        memcpy(prev, h, TD_SHA256_LEN);
        td_sha256_parts(h, prev, (size_t)TD_SHA256_LEN, tag, strlen(tag), len, sizeof len, bytes, n, NULL);
        return;
    }
    unsigned out_len = 0;
    TD_ASSERT(EVP_DigestInit_ex2(hasher->ctx, hasher->md, NULL) == 1);
    TD_ASSERT(EVP_DigestUpdate(hasher->ctx, h, TD_SHA256_LEN) == 1);
    TD_ASSERT(EVP_DigestUpdate(hasher->ctx, tag, strlen(tag)) == 1);
    TD_ASSERT(EVP_DigestUpdate(hasher->ctx, len, sizeof len) == 1);
    TD_ASSERT(EVP_DigestUpdate(hasher->ctx, bytes, n) == 1);
    TD_ASSERT(EVP_DigestFinal_ex(hasher->ctx, h, &out_len) == 1 && out_len == TD_SHA256_LEN);
}

void td_digest_chain_add(td_hasher_t *hasher, uint8_t h[TD_SHA256_LEN], const uint8_t *bytes, size_t n)
{
    chain_step(hasher, h, "", bytes, n);
}

void td_digest_chain_add_parts(td_hasher_t *hasher, uint8_t h[TD_SHA256_LEN], const td_slice_t *parts, size_t n)
{
    td_hasher_t *own = hasher ? NULL : td_hasher_new();
    td_hasher_t *use = hasher ? hasher : own;
    TD_ASSERT(use != NULL);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += parts[i].len;
    uint8_t len[4];
    put_be32(len, (uint32_t)total);
    unsigned out_len = 0;
    TD_ASSERT(EVP_DigestInit_ex2(use->ctx, use->md, NULL) == 1);
    TD_ASSERT(EVP_DigestUpdate(use->ctx, h, TD_SHA256_LEN) == 1);
    TD_ASSERT(EVP_DigestUpdate(use->ctx, len, sizeof len) == 1);
    for (size_t i = 0; i < n; i++)
        TD_ASSERT(EVP_DigestUpdate(use->ctx, parts[i].ptr, parts[i].len) == 1);
    TD_ASSERT(EVP_DigestFinal_ex(use->ctx, h, &out_len) == 1 && out_len == TD_SHA256_LEN);
    td_hasher_destroy(own);
}

void td_digest_chain_state(td_hasher_t *hasher, uint8_t h[TD_SHA256_LEN], const uint8_t *state, size_t n)
{
    chain_step(hasher, h, "state", state, n);
}
