/* digest.h - SHA-256 (OpenSSL libcrypto) and the chained day digest.
 *
 * The day digest of a symbol is a chain: start = SHA-256("tapedeck-day-v1" | u32 symbol length |
 * symbol | u32 day | the previous day's digest), then for every item of the day in order (the
 * pipeline adds each input, then that input's outputs)
 * h = SHA-256(h | u32 length | the output's canonical bytes), and finally
 * h = SHA-256(h | "state" | u32 length | the end-of-day state bytes). Lengths are big-endian.
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

/* A reusable SHA-256 context for hot loops (the chain takes one step per event): it saves the
 * allocation and algorithm lookup of a fresh context per digest. Owned by one thread. */
typedef struct td_hasher td_hasher_t;
td_hasher_t *td_hasher_new(void);
void td_hasher_destroy(td_hasher_t *hasher);

/* The chain steps described above; h is updated in place. hasher may be NULL (a temporary one). */
void td_digest_chain_start(uint8_t h[TD_SHA256_LEN], const char *symbol, uint32_t trading_day,
                           const uint8_t prev[TD_SHA256_LEN]);
void td_digest_chain_add(td_hasher_t *hasher, uint8_t h[TD_SHA256_LEN], const uint8_t *bytes, size_t n);
void td_digest_chain_state(td_hasher_t *hasher, uint8_t h[TD_SHA256_LEN], const uint8_t *state, size_t n);
/* td_digest_chain_add over the concatenation of n parts (no copy). */
void td_digest_chain_add_parts(td_hasher_t *hasher, uint8_t h[TD_SHA256_LEN], const td_slice_t *parts, size_t n);

#endif
