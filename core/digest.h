/* digest.h - SHA-256 (OpenSSL libcrypto) and the chained day digest.
 *
 * The day digest of a symbol is a chain (td_chain_t below): it starts from the symbol, the day and
 * the previous day's digest, takes every item of the day in order (the pipeline adds each input,
 * then that input's outputs) in blocks of TD_CHAIN_BLOCK_ITEMS, and ends with the end-of-day
 * state. Lengths are big-endian u32.
 */
#ifndef TD_DIGEST_H
#define TD_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define TD_SHA256_LEN 32

/* One-shot SHA-256 of n bytes. */
void td_sha256(const void *data, size_t n, uint8_t out[TD_SHA256_LEN]);

/* Incremental SHA-256 over several pieces: td_sha256_parts(out, p1, n1, p2, n2, ..., NULL). */
void td_sha256_parts(uint8_t out[TD_SHA256_LEN], const void *p, size_t n, ...);

/* SHA-256 of a whole file; TD_ERR_IO with detail when it cannot be read. */
td_err_t td_sha256_file(const char *path, uint8_t out[TD_SHA256_LEN], char *errbuf, size_t errlen) TD_WUR;

/* Lower-case hex of a digest into hex[65]. */
void td_digest_hex(const uint8_t digest[TD_SHA256_LEN], char hex[65]);

/* A reusable SHA-256 context for hot loops: it saves the allocation and algorithm lookup of a
 * fresh context per digest. Owned by one thread. */
typedef struct td_hasher td_hasher_t;
td_hasher_t *td_hasher_new(void);
void td_hasher_destroy(td_hasher_t *hasher);

/* The day chain. Items (u32 length | bytes) collect in an open block; every TD_CHAIN_BLOCK_ITEMS
 * items the block is folded in, h = SHA-256(h | block), so the chain costs one SHA-256
 * finalisation per block, not per event. The open block is part of a processor's state (a commit
 * or a snapshot may fall anywhere), so where blocks end depends only on the item count. */
#define TD_CHAIN_BLOCK_ITEMS 256

typedef struct td_chain {
    uint8_t h[TD_SHA256_LEN];
    td_buf_t block; /* the open block's items */
    uint32_t items; /* items in the open block */
} td_chain_t;

/* h = SHA-256("tapedeck-day-v1" | u32 symbol length | symbol | u32 day | prev); the block emptied.
 * The chain's buffer must have been zeroed or td_buf_init'ed once before the first start. */
td_err_t td_chain_start(td_chain_t *chain, td_hasher_t *hasher, const char *symbol, uint32_t trading_day,
                        const uint8_t prev[TD_SHA256_LEN]) TD_WUR;
/* Appends one item whose bytes are the concatenation of n parts. */
td_err_t td_chain_add(td_chain_t *chain, td_hasher_t *hasher, const td_slice_t *parts, size_t n) TD_WUR;
/* Ends the day: folds the open block, then h = SHA-256(h | "state" | u32 length | state) into out.
 * The chain itself is left as it was (so the state encoded before the call stays valid). */
void td_chain_finish(const td_chain_t *chain, td_hasher_t *hasher, const uint8_t *state, size_t n,
                     uint8_t out[TD_SHA256_LEN]);
void td_chain_fini(td_chain_t *chain);

#endif
