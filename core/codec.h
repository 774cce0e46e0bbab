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
    TD_CODEC_NO_OFFSET = 1,  /* leave out the stream offset (the tape stores it in the key) */
    TD_CODEC_FOR_DIGEST = 2, /* leave out ingest time and offset: the bytes a digest covers */
    TD_CODEC_TRUSTED = 4,    /* decode: bytes this codec wrote and a checksummed store kept
                                (the tape): skip the canonical re-pack check */
    TD_CODEC__GENERIC = 8,   /* for tests: no fast path (trusted decode of ticks and bars, encode of ticks) */
} td_codec_flags_t;

/* Appends the encoding of ev to out. TD_ERR_INVALID for an event whose kind is unknown. */
td_err_t td_codec_encode(const td_event_t *ev, unsigned flags, td_buf_t *out) TD_WUR;

/* Decodes len bytes into ev (fully overwritten). TD_ERR_CORRUPT with detail in errbuf when the
 * bytes are not a valid tapedeck envelope. */
td_err_t td_codec_decode(const uint8_t *data, size_t len, td_event_t *ev, char *errbuf, size_t errlen) TD_WUR;

/* td_codec_decode with flags (TD_CODEC_TRUSTED). Every other check still applies. */
td_err_t td_codec_decode_ex(const uint8_t *data, size_t len, unsigned flags, td_event_t *ev, char *errbuf,
                            size_t errlen) TD_WUR;

/* The digest bytes of a stored event without re-encoding it: given canonical bytes (as the tape
 * stores them, offset left out, ingest time in), fills parts[] with at most 3 slices of `data`
 * whose concatenation equals td_codec_encode(event, TD_CODEC_FOR_DIGEST). TD_ERR_CORRUPT when the
 * top-level fields do not parse. */
td_err_t td_codec_digest_view(const uint8_t *data, size_t len, td_slice_t parts[3], size_t *n_parts) TD_WUR;

/* The kind of a stored event without decoding it: the field number of the envelope's body, found
 * by skipping the top-level fields in front of it (canonical bytes put the body last). Only the
 * envelope's framing is checked - the body and the strings are not - so this is for bytes this
 * codec wrote and a checksummed store kept (the tape), to skip the events a reader has no use for.
 * TD_ERR_CORRUPT when the framing does not parse or the body is missing or of an unknown kind. */
td_err_t td_codec_peek_kind(const uint8_t *data, size_t len, td_event_kind_t *kind) TD_WUR;

#endif
