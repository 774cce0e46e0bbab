/* seal.h - the sealed day file: one symbol's trading day of tape events, compressed, checksummed,
 * written once and never rewritten. compact writes it (td_seal_write); the tape reads a day from it
 * (td_seal_day_load) once retention has removed the day's raw events (core/tape.h).
 *
 * Layout of DATA_DIR/sealed/<SYMBOL>/<YYYYMMDD>.tdseal (format version 1, integers big-endian):
 *
 *   off  len  field
 *     0    8  magic "TDSEAL1\n"
 *     8    4  format version (1)
 *    12   32  symbol, NUL padded
 *    44    4  trading day YYYYMMDD
 *    48   24  input stream: first offset, last offset, count (u64 each)
 *    72   24  output stream: first offset, last offset, count
 *    96   32  the day digest (the recorded DayDigest's SHA-256)
 *   128    8  content length (bytes, uncompressed)
 *   136    8  payload length (bytes of the xz stream that follows the header)
 *   144   32  SHA-256 of the content (uncompressed)
 *   176   32  SHA-256 of header bytes 0..175
 *   208    -  payload: the content as one xz stream (liblzma, CRC64 check)
 *
 * The content is the day's input events then its output events, each as a record
 * { u8 stream (0 input, 1 output), u64 offset, u32 length, the tape's stored bytes }, in offset
 * order: exactly the bytes the tape holds, so a sealed day can be replayed or re-imported without
 * the tape. A damaged byte anywhere is caught: in the header by its SHA-256, in the payload by the
 * xz CRC64 and the content's SHA-256.
 *
 * A file is written to a temporary name in the same folder, fsynced, renamed into place, the
 * folder fsynced, and made read-only (0444). An existing file is only ever verified.
 *
 * Thread: any; no shared state.
 */
#ifndef TD_SEAL_H
#define TD_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/digest.h"
#include "core/err.h"
#include "core/event.h"
#include "core/tape.h"

#define TD_SEAL_VERSION 1u
#define TD_SEAL_HEADER_LEN 208u

/* What a sealed file says about its day. */
typedef struct td_seal_header {
    char symbol[TD_SYMBOL_MAX + 1];
    uint32_t trading_day;
    td_day_range_t inputs, outputs;
    uint8_t day_digest[TD_SHA256_LEN];
    uint64_t content_len, payload_len;
    uint8_t content_sha256[TD_SHA256_LEN];
} td_seal_header_t;

/* Appends one record (see above) to content. TD_ERR_NOMEM leaves content as it was or longer. */
td_err_t td_seal_add_record(td_buf_t *content, int stream, uint64_t offset, td_slice_t bytes) TD_WUR;

/* Writes a new sealed file at path (which must not exist): header from *header (content_len,
 * payload_len and content_sha256 are filled in here), the content compressed with xz preset
 * xz_preset (0..9), by xz_threads threads (1: one xz block; more: blocks compressed in parallel,
 * the same bytes for any count > 1). *file_bytes and file_sha256 get the size and SHA-256 of the
 * whole file.
 * TD_ERR_EXISTS when path exists; TD_ERR_IO with detail on a failed write (nothing is left
 * under path). */
td_err_t td_seal_write(const char *path, td_seal_header_t *header, td_slice_t content, int xz_preset,
                       unsigned xz_threads, uint64_t *file_bytes, uint8_t file_sha256[TD_SHA256_LEN], char *errbuf,
                       size_t errlen) TD_WUR;

/* Reads and verifies the sealed file at path: magic, version, header checksum, payload length,
 * xz integrity and the content's SHA-256. On TD_OK *header is what the file says, and content
 * (may be NULL) holds the decompressed content. TD_ERR_NOT_FOUND when absent; TD_ERR_CORRUPT
 * (naming the file and the check that failed) when damaged; TD_ERR_UNSUPPORTED for another format
 * version; TD_ERR_IO when unreadable. */
td_err_t td_seal_verify(const char *path, td_seal_header_t *header, td_buf_t *content, uint64_t *file_bytes,
                        uint8_t file_sha256[TD_SHA256_LEN], char *errbuf, size_t errlen) TD_WUR;

/* The one place the file's name is made: DATA_DIR/sealed/<SYMBOL>/<YYYYMMDD>.tdseal into out[cap].
 * TD_ERR_INVALID when it does not fit or the symbol breaks td_symbol_valid()'s rule (a tape written
 * before the rule may hold such a stream: it is never sealed). */
td_err_t td_seal_path(char *out, size_t cap, const char *data_dir, const char *symbol, uint32_t trading_day) TD_WUR;

/* --- reading a sealed day's events --- */

/* A verified sealed file in memory with an index of its records: the same events, at the same
 * offsets, with the same stored bytes as the tape held. Owned by the caller (_load / _fini). */
typedef struct td_seal_day {
    td_seal_header_t header;
    td_buf_t content;
    size_t *at; /* content position of each record: the inputs' then the outputs' */
} td_seal_day_t;

/* Reads and verifies the file at path (td_seal_verify's checks), then checks that its records are
 * exactly the header's: inputs.count input records at first..last, then outputs.count output
 * records, each inside the content, nothing after them. *day is initialised here whatever the
 * result (td_seal_day_fini frees it). TD_ERR_NOT_FOUND, TD_ERR_CORRUPT (naming the file and the
 * check that failed), TD_ERR_UNSUPPORTED, TD_ERR_IO, TD_ERR_NOMEM, as td_seal_verify. */
td_err_t td_seal_day_load(const char *path, td_seal_day_t *day, char *errbuf, size_t errlen) TD_WUR;
void td_seal_day_fini(td_seal_day_t *day);

/* The stored bytes of the event at offset of stream 0 (inputs) or 1 (outputs), pointing into day
 * (valid until td_seal_day_fini). TD_ERR_NOT_FOUND outside the stream's range of the day. */
td_err_t td_seal_day_get(const td_seal_day_t *day, int stream, uint64_t offset, td_slice_t *bytes) TD_WUR;

#endif
