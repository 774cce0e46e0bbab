/* tape_writer.c - the tape's commits on a second thread (see tape_writer.h).
 *
 * Jobs form one FIFO from head (oldest, not settled) to tail (newest). `cursor` is the first job
 * the thread has not finished; everything before it is finished, written or (after a failure)
 * skipped. The mutex guards the list, the cursor and the flags; in_flight is changed (under it)
 * only by the owner's calls. A batch belongs to the thread from the moment the cursor reaches it
 * until its job is marked finished.
 */
#include "core/tape_writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef struct job {
    td_tape_batch_t *batch;
    void *tag;
    bool finished;
    struct job *next;
} job_t;

struct td_tape_writer {
    td_tape_t *tape;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work;     /* the thread waits for a job or stop */
    pthread_cond_t finished; /* the owner waits for a job to finish */
    job_t *head, *tail, *cursor;
    size_t in_flight;
    bool stop;
    int efd;
    td_err_t (*write)(td_tape_batch_t *batch); /* td_tape_write, or a test's */
};

static void notify(int efd)
{
    uint64_t one = 1;
    ssize_t n;
    do
        n = write(efd, &one, sizeof one);
    while (n < 0 && errno == EINTR);
    /* EAGAIN: the counter is full, so the fd is readable anyway */
}

static void *writer_main(void *arg)
{
    td_tape_writer_t *w = arg;
    bool failed = false;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->cursor && !w->stop)
            pthread_cond_wait(&w->work, &w->mu);
        job_t *job = w->cursor;
        if (!job)
            break; /* stopped, and the queue is written */
        pthread_mutex_unlock(&w->mu);
        /* after a failure the rest continue offsets that never landed: they are skipped */
        if (!failed)
            failed = w->write(job->batch) != TD_OK;
        pthread_mutex_lock(&w->mu);
        job->finished = true;
        w->cursor = job->next;
        pthread_cond_broadcast(&w->finished);
        notify(w->efd);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

td_err_t td_tape_writer_new(td_tape_t *tape, td_tape_writer_t **out, char *errbuf, size_t errlen)
{
    if (!out)
        return TD_ERR_INVALID;
    *out = NULL;
    if (!tape)
        return TD_ERR_INVALID;
    td_tape_writer_t *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(errbuf, errlen, "tape writer: out of memory");
        return TD_ERR_NOMEM;
    }
    w->tape = tape;
    w->write = td_tape_write;
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd < 0) {
        snprintf(errbuf, errlen, "tape writer: eventfd: %s", strerror(errno));
        free(w);
        return TD_ERR_IO;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->finished, NULL);
    int e = pthread_create(&w->thread, NULL, writer_main, w);
    if (e != 0) {
        snprintf(errbuf, errlen, "tape writer: cannot start its thread: %s", strerror(e));
        pthread_cond_destroy(&w->finished);
        pthread_cond_destroy(&w->work);
        pthread_mutex_destroy(&w->mu);
        close(w->efd);
        free(w);
        return TD_ERR_STATE;
    }
    *out = w;
    return TD_OK;
}

void td_tape_writer_destroy(td_tape_writer_t *w, td_tape_settled_fn settled, void *ctx)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL); /* the queue is finished: settle below never waits */
    td_err_t rc = td_tape_writer_settle(w, 0, settled, ctx, NULL, 0); /* a failure is the tape's, sticky there */
    (void)rc;
    pthread_cond_destroy(&w->finished);
    pthread_cond_destroy(&w->work);
    pthread_mutex_destroy(&w->mu);
    close(w->efd);
    free(w);
}

td_err_t td_tape_writer_submit(td_tape_writer_t *w, td_tape_batch_t *batch, void *tag, char *errbuf, size_t errlen)
{
    if (!w || !batch) {
        td_tape_batch_destroy(batch);
        return TD_ERR_INVALID;
    }
    job_t *job = calloc(1, sizeof *job);
    if (!job) {
        td_tape_batch_destroy(batch);
        return td_err_set(errbuf, errlen, TD_ERR_NOMEM, "tape writer: out of memory for a batch");
    }
    td_err_t rc = td_tape_seal(w->tape, batch, errbuf, errlen); /* consumes the batch when it fails */
    if (rc != TD_OK) {
        free(job);
        return rc;
    }
    job->batch = batch;
    job->tag = tag;
    pthread_mutex_lock(&w->mu);
    if (w->tail)
        w->tail->next = job;
    else
        w->head = job;
    w->tail = job;
    if (!w->cursor)
        w->cursor = job;
    w->in_flight++;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    return TD_OK;
}

/* The oldest job once it is finished, unlinked; with more than keep in flight, waits for it. */
static job_t *next_finished(td_tape_writer_t *w, size_t keep)
{
    pthread_mutex_lock(&w->mu);
    while (w->head && !w->head->finished && w->in_flight > keep)
        pthread_cond_wait(&w->finished, &w->mu);
    job_t *job = w->head && w->head->finished ? w->head : NULL;
    if (job) {
        w->head = job->next;
        if (!w->head)
            w->tail = NULL;
        w->in_flight--;
    }
    pthread_mutex_unlock(&w->mu);
    return job;
}

td_err_t td_tape_writer_settle(td_tape_writer_t *w, size_t keep, td_tape_settled_fn settled, void *ctx, char *errbuf,
                               size_t errlen)
{
    if (!w)
        return TD_ERR_INVALID;
    uint64_t count;
    while (read(w->efd, &count, sizeof count) < 0 && errno == EINTR)
        ; /* drained: a job finished after this wakes the loop again */
    td_err_t first = TD_OK;
    job_t *job;
    while ((job = next_finished(w, keep)) != NULL) {
        td_err_t rc = td_tape_settle(w->tape, job->batch, errbuf, errlen);
        if (rc != TD_OK && first == TD_OK)
            first = rc;
        if (settled)
            settled(ctx, job->tag, rc);
        free(job);
    }
    return first;
}

void td_tape_writer_set_write_fn(td_tape_writer_t *w, td_err_t (*fn)(td_tape_batch_t *batch))
{
    if (w && fn)
        w->write = fn;
}

size_t td_tape_writer_in_flight(const td_tape_writer_t *w)
{
    return w ? w->in_flight : 0; /* only the owner's calls change it */
}

int td_tape_writer_fd(const td_tape_writer_t *w)
{
    return w ? w->efd : -1;
}
