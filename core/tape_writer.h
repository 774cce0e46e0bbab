/* tape_writer.h - commits to the local tape on a second thread, so that its owner builds the next
 * batch while RocksDB writes (and, with tape.sync commit, fsyncs) this one.
 *
 * The owner hands each finished batch to td_tape_writer_submit, which seals it on the owner's
 * thread (td_tape_seal: the next batch continues its offsets) and queues it. The writer's thread
 * writes the queued batches one after another, in submit order (td_tape_write). The owner settles
 * them with td_tape_writer_settle, again in submit order: each written batch becomes committed on
 * the tape (td_tape_settle) and its tag is handed to the owner's callback - only then may the owner
 * tell anyone that the batch is durable. A failed write makes the tape's failure sticky; the batches
 * queued behind it are not written (they continue its offsets) and are settled as failed too.
 *
 * The event fd becomes readable when a batch was written since the last settle: a loop watches it
 * and settles.
 *
 * Threads: every function but the thread's own work runs on the tape's owner thread.
 */
#ifndef TD_TAPE_WRITER_H
#define TD_TAPE_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/tape.h"

typedef struct td_tape_writer td_tape_writer_t;

/* Called by settle for each settled batch, in submit order, with its submit tag: rc TD_OK, the
 * batch is committed; otherwise it is not, and the tape refuses further commits. Every tag comes
 * back exactly once. */
typedef void (*td_tape_settled_fn)(void *ctx, void *tag, td_err_t rc);

td_err_t td_tape_writer_new(td_tape_t *tape, td_tape_writer_t **writer, char *errbuf, size_t errlen) TD_WUR;
/* Waits for the thread to write the queue, settles all of it (settled may be NULL), stops the
 * thread and frees the writer. The tape stays open. */
void td_tape_writer_destroy(td_tape_writer_t *writer, td_tape_settled_fn settled, void *ctx);

/* Seals batch and queues it; the writer owns it from here, also on failure (a seal that fails
 * consumes the batch, errbuf says why). */
td_err_t td_tape_writer_submit(td_tape_writer_t *writer, td_tape_batch_t *batch, void *tag, char *errbuf,
                               size_t errlen) TD_WUR;

/* Settles every written batch, calling settled for each (it may be NULL); then, while more than
 * `keep` batches are submitted and not settled, waits for the next one and settles it. keep 0
 * waits for everything; SIZE_MAX never waits. Returns the first failure of a settled batch
 * (its detail in errbuf; the batches skipped behind it leave that detail as it is). */
td_err_t td_tape_writer_settle(td_tape_writer_t *writer, size_t keep, td_tape_settled_fn settled, void *ctx,
                               char *errbuf, size_t errlen) TD_WUR;

/* Tests only: the thread writes with fn instead of td_tape_write (to make a write fail). Call it
 * before the first submit. */
void td_tape_writer_set_write_fn(td_tape_writer_t *writer, td_err_t (*fn)(td_tape_batch_t *batch));

/* Batches submitted and not yet settled. */
size_t td_tape_writer_in_flight(const td_tape_writer_t *writer);

/* Readable when settle has news (an eventfd; settle drains it). */
int td_tape_writer_fd(const td_tape_writer_t *writer);

#endif
