/* seal.c - writing, verifying and reading sealed day files (see seal.h). The whole file is built in memory:
 * a day of one symbol is tens of megabytes at most, and one buffer keeps the checks simple. */
#include "core/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char magic[8] = {'T', 'D', 'S', 'E', 'A', 'L', '1', '\n'};

/* A sealed day larger than this (uncompressed) is refused as implausible before allocating. */
#define CONTENT_MAX (UINT64_C(16) << 30)

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

td_err_t td_seal_add_record(td_buf_t *content, int stream, uint64_t offset, td_slice_t bytes)
{
    TD_ASSERT(stream == 0 || stream == 1);
    TD_ASSERT(bytes.len <= UINT32_MAX);
    uint8_t head[13];
    head[0] = (uint8_t)stream;
    put64(head + 1, offset);
    put32(head + 9, (uint32_t)bytes.len);
    td_err_t rc = td_buf_append(content, head, sizeof head);
    if (rc == TD_OK)
        rc = td_buf_append(content, bytes.ptr, bytes.len);
    return rc;
}

static void put_range(uint8_t *p, const td_day_range_t *r)
{
    put64(p, r->first_offset);
    put64(p + 8, r->last_offset);
    put64(p + 16, r->count);
}

static void get_range(const uint8_t *p, uint32_t day, td_day_range_t *r)
{
    r->trading_day = day;
    r->first_offset = get64(p);
    r->last_offset = get64(p + 8);
    r->count = get64(p + 16);
}

static void encode_header(const td_seal_header_t *header, uint8_t out[TD_SEAL_HEADER_LEN])
{
    memset(out, 0, TD_SEAL_HEADER_LEN);
    memcpy(out, magic, sizeof magic);
    put32(out + 8, TD_SEAL_VERSION);
    memcpy(out + 12, header->symbol, strnlen(header->symbol, TD_SYMBOL_MAX));
    put32(out + 44, header->trading_day);
    put_range(out + 48, &header->inputs);
    put_range(out + 72, &header->outputs);
    memcpy(out + 96, header->day_digest, TD_SHA256_LEN);
    put64(out + 128, header->content_len);
    put64(out + 136, header->payload_len);
    memcpy(out + 144, header->content_sha256, TD_SHA256_LEN);
    td_sha256(out, 176, out + 176);
}

static td_err_t write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return TD_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return TD_OK;
}

/* fsyncs the folder holding path, so that a rename into it is durable. */
static td_err_t sync_parent(const char *path)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return TD_ERR_IO;
    int r = fsync(fd);
    close(fd);
    return r == 0 ? TD_OK : TD_ERR_IO;
}

/* xz of `in` into out[cap]: one thread, one block (lzma_easy_buffer_encode), or liblzma's
 * multi-threaded encoder, which cuts the input into blocks of 3 x the preset's dictionary and
 * compresses them in parallel. Its output depends on the preset and the block size only, not on
 * the thread count, so it is as reproducible as the single-threaded one. */
static lzma_ret xz_encode(int preset, unsigned threads, td_slice_t in, uint8_t *out, size_t *out_len, size_t cap)
{
    if (threads <= 1)
        return lzma_easy_buffer_encode((uint32_t)preset, LZMA_CHECK_CRC64, NULL, in.ptr, in.len, out, out_len, cap);
    lzma_mt mt = {.threads = threads, .preset = (uint32_t)preset, .check = LZMA_CHECK_CRC64};
    lzma_stream strm = LZMA_STREAM_INIT;
    lzma_ret lr = lzma_stream_encoder_mt(&strm, &mt);
    if (lr != LZMA_OK)
        return lr;
    strm.next_in = in.ptr;
    strm.avail_in = in.len;
    strm.next_out = out;
    strm.avail_out = cap;
    do
        lr = lzma_code(&strm, LZMA_FINISH);
    while (lr == LZMA_OK);
    *out_len = (size_t)strm.total_out;
    lzma_end(&strm);
    return lr == LZMA_STREAM_END ? LZMA_OK : lr;
}

td_err_t td_seal_write(const char *path, td_seal_header_t *header, td_slice_t content, int xz_preset,
                       unsigned xz_threads, uint64_t *file_bytes, uint8_t file_sha256[TD_SHA256_LEN], char *errbuf,
                       size_t errlen)
{
    TD_ASSERT(xz_preset >= 0 && xz_preset <= 9);
    if (access(path, F_OK) == 0)
        return td_err_set(errbuf, errlen, TD_ERR_EXISTS, "%s: a sealed file exists already", path);
    /* one block's bound, plus room for the headers and index of many blocks */
    size_t bound = lzma_stream_buffer_bound(content.len) + (content.len >> 10) + 4096;
    uint8_t *file = malloc(TD_SEAL_HEADER_LEN + bound);
    if (!file)
        return TD_ERR_NOMEM;
    size_t payload = 0;
    lzma_ret lr = xz_encode(xz_preset, xz_threads, content, file + TD_SEAL_HEADER_LEN, &payload, bound);
    if (lr != LZMA_OK) {
        free(file);
        return td_err_set(errbuf, errlen, lr == LZMA_MEM_ERROR ? TD_ERR_NOMEM : TD_ERR_STATE,
                          "%s: xz compression failed (liblzma code %d)", path, (int)lr);
    }
    header->content_len = content.len;
    header->payload_len = payload;
    td_sha256(content.ptr, content.len, header->content_sha256);
    encode_header(header, file);
    size_t total = TD_SEAL_HEADER_LEN + payload;
    td_sha256(file, total, file_sha256);
    *file_bytes = total;

    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    td_err_t rc = TD_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        rc = td_err_set(errbuf, errlen, TD_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    if (rc == TD_OK && write_all(fd, file, total) != TD_OK)
        rc = td_err_set(errbuf, errlen, TD_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
    if (rc == TD_OK && fsync(fd) != 0)
        rc = td_err_set(errbuf, errlen, TD_ERR_IO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (fd >= 0 && close(fd) != 0 && rc == TD_OK)
        rc = td_err_set(errbuf, errlen, TD_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
    if (rc == TD_OK && chmod(tmp, 0444) != 0)
        rc = td_err_set(errbuf, errlen, TD_ERR_IO, "%s: chmod failed: %s", tmp, strerror(errno));
    /* link() instead of rename(): it refuses to replace a file that appeared meanwhile */
    if (rc == TD_OK && link(tmp, path) != 0)
        rc = td_err_set(errbuf, errlen, errno == EEXIST ? TD_ERR_EXISTS : TD_ERR_IO, "%s: cannot link into place: %s",
                        path, strerror(errno));
    if (fd >= 0)
        unlink(tmp);
    if (rc == TD_OK && sync_parent(path) != TD_OK)
        rc = td_err_set(errbuf, errlen, TD_ERR_IO, "%s: fsync of the folder failed: %s", path, strerror(errno));
    free(file);
    return rc;
}

static td_err_t read_file(const char *path, td_buf_t *out, char *errbuf, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return td_err_set(errbuf, errlen, errno == ENOENT ? TD_ERR_NOT_FOUND : TD_ERR_IO, "%s: %s", path,
                          strerror(errno));
    struct stat st;
    td_err_t rc = fstat(fd, &st) == 0 ? TD_OK : TD_ERR_IO;
    if (rc == TD_OK)
        rc = td_buf_reserve(out, (size_t)st.st_size);
    while (rc == TD_OK && out->len < (size_t)st.st_size) {
        ssize_t r = read(fd, out->ptr + out->len, (size_t)st.st_size - out->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            rc = TD_ERR_IO;
        else
            out->len += (size_t)r;
    }
    close(fd);
    if (rc == TD_ERR_IO)
        return td_err_set(errbuf, errlen, rc, "%s: cannot read: %s", path, strerror(errno));
    return rc;
}

/* Verifies the file at path; on TD_OK *header is what it says and plain holds the content. */
static td_err_t verify_into(const char *path, td_seal_header_t *header, td_buf_t *plain, uint64_t *file_bytes,
                            uint8_t file_sha256[TD_SHA256_LEN], char *errbuf, size_t errlen)
{
    td_buf_t file;
    td_buf_init(&file);
    td_buf_reset(plain);
    td_err_t rc = read_file(path, &file, errbuf, errlen);
    const uint8_t *p = file.ptr;
    if (rc == TD_OK && (file.len < TD_SEAL_HEADER_LEN || memcmp(p, magic, sizeof magic) != 0))
        rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "%s: not a tapedeck sealed file (no TDSEAL1 header)", path);
    if (rc == TD_OK && get32(p + 8) != TD_SEAL_VERSION)
        rc = td_err_set(errbuf, errlen, TD_ERR_UNSUPPORTED, "%s: sealed-file format version %u (this build reads %u)",
                        path, get32(p + 8), TD_SEAL_VERSION);
    uint8_t sum[TD_SHA256_LEN];
    if (rc == TD_OK) {
        td_sha256(p, 176, sum);
        if (memcmp(sum, p + 176, TD_SHA256_LEN) != 0)
            rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "%s: damaged: the header's SHA-256 does not match", path);
    }
    if (rc == TD_OK) {
        memset(header, 0, sizeof *header);
        memcpy(header->symbol, p + 12, TD_SYMBOL_MAX);
        header->trading_day = get32(p + 44);
        get_range(p + 48, header->trading_day, &header->inputs);
        get_range(p + 72, header->trading_day, &header->outputs);
        memcpy(header->day_digest, p + 96, TD_SHA256_LEN);
        header->content_len = get64(p + 128);
        header->payload_len = get64(p + 136);
        memcpy(header->content_sha256, p + 144, TD_SHA256_LEN);
        if (header->payload_len != file.len - TD_SEAL_HEADER_LEN)
            rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT,
                            "%s: damaged: the header announces %llu payload bytes, the file holds %zu", path,
                            (unsigned long long)header->payload_len, file.len - TD_SEAL_HEADER_LEN);
        else if (header->content_len > CONTENT_MAX)
            rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "%s: implausible content length %llu", path,
                            (unsigned long long)header->content_len);
    }
    if (rc == TD_OK)
        rc = td_buf_reserve(plain, header->content_len ? (size_t)header->content_len : 1);
    if (rc == TD_OK) {
        uint64_t memlimit = UINT64_MAX;
        size_t in_pos = 0, out_pos = 0;
        lzma_ret lr =
            lzma_stream_buffer_decode(&memlimit, 0, NULL, p + TD_SEAL_HEADER_LEN, &in_pos, (size_t)header->payload_len,
                                      plain->ptr, &out_pos, (size_t)header->content_len);
        if (lr != LZMA_OK || in_pos != header->payload_len || out_pos != header->content_len)
            rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT,
                            "%s: damaged: the xz payload does not decode to the announced %llu bytes (liblzma code %d)",
                            path, (unsigned long long)header->content_len, (int)lr);
        else
            plain->len = out_pos;
    }
    if (rc == TD_OK) {
        td_sha256(plain->ptr, plain->len, sum);
        if (memcmp(sum, header->content_sha256, TD_SHA256_LEN) != 0)
            rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "%s: damaged: the content's SHA-256 does not match", path);
    }
    if (rc == TD_OK) {
        *file_bytes = file.len;
        td_sha256(file.ptr, file.len, file_sha256);
    } else {
        td_buf_reset(plain);
    }
    td_buf_fini(&file);
    return rc;
}

td_err_t td_seal_verify(const char *path, td_seal_header_t *header, td_buf_t *content, uint64_t *file_bytes,
                        uint8_t file_sha256[TD_SHA256_LEN], char *errbuf, size_t errlen)
{
    if (content)
        return verify_into(path, header, content, file_bytes, file_sha256, errbuf, errlen);
    td_buf_t plain;
    td_buf_init(&plain);
    td_err_t rc = verify_into(path, header, &plain, file_bytes, file_sha256, errbuf, errlen);
    td_buf_fini(&plain);
    return rc;
}

td_err_t td_seal_path(char *out, size_t cap, const char *data_dir, const char *symbol, uint32_t trading_day)
{
    if (!td_symbol_valid(symbol, strlen(symbol))) /* never a path from a name that could leave sealed/ */
        return TD_ERR_INVALID;
    int n = snprintf(out, cap, "%s/sealed/%s/%08" PRIu32 ".tdseal", data_dir, symbol, trading_day);
    return n < 0 || (size_t)n >= cap ? TD_ERR_INVALID : TD_OK;
}

/* --- reading a sealed day's events --- */

/* Indexes one stream's records starting at *pos: range->count records of `stream` at consecutive
 * offsets from range->first_offset. */
static td_err_t index_stream(const char *path, td_seal_day_t *day, int stream, const td_day_range_t *range, size_t *pos,
                             size_t *slot, char *errbuf, size_t errlen)
{
    const td_buf_t *c = &day->content;
    if (range->count && range->count != range->last_offset - range->first_offset + 1)
        return td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "%s: damaged: %s range %llu..%llu announces %llu events",
                          path, stream ? "output" : "input", (unsigned long long)range->first_offset,
                          (unsigned long long)range->last_offset, (unsigned long long)range->count);
    for (uint64_t i = 0; i < range->count; i++) {
        uint64_t want = range->first_offset + i;
        if (c->len - *pos < 13)
            return td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "%s: damaged: the content ends before %s offset %llu",
                              path, stream ? "output" : "input", (unsigned long long)want);
        const uint8_t *r = c->ptr + *pos;
        uint32_t len = get32(r + 9);
        if (r[0] != stream || get64(r + 1) != want || len > c->len - *pos - 13)
            return td_err_set(errbuf, errlen, TD_ERR_CORRUPT,
                              "%s: damaged: the record at content byte %zu is not %s offset %llu", path, *pos,
                              stream ? "output" : "input", (unsigned long long)want);
        day->at[(*slot)++] = *pos;
        *pos += 13 + (size_t)len;
    }
    return TD_OK;
}

td_err_t td_seal_day_load(const char *path, td_seal_day_t *day, char *errbuf, size_t errlen)
{
    memset(day, 0, sizeof *day);
    td_buf_init(&day->content);
    uint64_t file_bytes = 0;
    uint8_t file_sha[TD_SHA256_LEN];
    td_err_t rc = verify_into(path, &day->header, &day->content, &file_bytes, file_sha, errbuf, errlen);
    const td_seal_header_t *h = &day->header;
    uint64_t records = h->inputs.count + h->outputs.count;
    /* a record is at least 13 bytes: more records than that allows is a damaged header */
    if (rc == TD_OK && (records < h->inputs.count || records > day->content.len / 13))
        rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "%s: damaged: %llu records announced in %zu content bytes",
                        path, (unsigned long long)records, day->content.len);
    if (rc == TD_OK) {
        day->at = malloc((records ? (size_t)records : 1) * sizeof *day->at);
        if (!day->at)
            rc = TD_ERR_NOMEM;
    }
    size_t pos = 0, slot = 0;
    if (rc == TD_OK)
        rc = index_stream(path, day, 0, &h->inputs, &pos, &slot, errbuf, errlen);
    if (rc == TD_OK)
        rc = index_stream(path, day, 1, &h->outputs, &pos, &slot, errbuf, errlen);
    if (rc == TD_OK && pos != day->content.len)
        rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "%s: damaged: %zu content bytes after the last record", path,
                        day->content.len - pos);
    return rc;
}

void td_seal_day_fini(td_seal_day_t *day)
{
    if (!day)
        return;
    td_buf_fini(&day->content);
    free(day->at);
    day->at = NULL;
}

td_err_t td_seal_day_get(const td_seal_day_t *day, int stream, uint64_t offset, td_slice_t *bytes)
{
    const td_day_range_t *range = stream ? &day->header.outputs : &day->header.inputs;
    if (!range->count || offset < range->first_offset || offset > range->last_offset)
        return TD_ERR_NOT_FOUND;
    size_t slot = (size_t)(offset - range->first_offset) + (stream ? (size_t)day->header.inputs.count : 0);
    const uint8_t *r = day->content.ptr + day->at[slot];
    *bytes = (td_slice_t){r + 13, get32(r + 9)};
    return TD_OK;
}
