/* codec.h - td_event_t <-> canonical protobuf bytes (proto/events.proto Envelope).
 *
 * The encoding is canonical: one event has one byte string (protobuf-c packs in field-number order,
 * proto3 omits defaults, no unknown fields are kept). Decoding refuses unknown body kinds, strings
 * longer than td_event_t's fields, and trailing garbage with TD_ERR_CORRUPT.
 */
#ifndef TD_CODEC_H
#define TD_CODEC_H

#include "core/buf.h"
#include "core/err.h"
#include "core/event.h"

typedef enum td_codec_flags {
    TD_CODEC_DEFAULT = 0,
    TD_CODEC_NO_OFFSET = 1,      /* leave out the stream offset (the tape stores it in the key) */
    TD_CODEC_FOR_DIGEST = 2,     /* leave out ingest time and offset: the bytes a digest covers */
} td_codec_flags_t;

/* Appends the encoding of ev to out. TD_ERR_INVALID for an event whose kind is unknown. */
td_err_t td_codec_encode(const td_event_t *ev, unsigned flags, td_buf_t *out) TD_WUR;

/* Decodes len bytes into ev (fully overwritten). TD_ERR_CORRUPT with detail in errbuf when the
 * bytes are not a valid tapedeck envelope. */
td_err_t td_codec_decode(const uint8_t *data, size_t len, td_event_t *ev, char *errbuf, size_t errlen) TD_WUR;

#endif
