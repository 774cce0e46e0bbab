/* td_mock_hop.c - the Kafka part of the tick-to-order path with nothing of tapedeck in it: the
 * floor that the cluster (librdkafka's mock cluster, in bench/kafka.sh) sets under the pipeline's
 * Kafka latency.
 *
 *   td_mock_hop BOOTSTRAP PARTITIONS RATE SECONDS [EVERY [FETCH_WAIT_MS]]
 *
 * Against running brokers with topics hop.a and hop.b of PARTITIONS partitions each, three
 * threads stand for the three processes on the path. Their clients are configured as tapedeck's
 * (core/kafka.c): idempotent producers, acks=all, linger.ms 0; consumers on manually assigned
 * partitions with fetch.wait.max.ms FETCH_WAIT_MS (default 1, as in bench/kafka.sh); Nagle off.
 *   source  produces RATE messages a second for SECONDS to hop.a, round-robin over 18 keys, each
 *           key always to one partition (the gateway);
 *   relay   consumes hop.a and produces every EVERY-th message (default 100) to hop.b at once
 *           (the processor turning a tick into an intent);
 *   sink    consumes hop.b (the router).
 * Each message carries the monotonic time at which the source produced it. Prints p50, p90, p99
 * and max of one hop (source -> relay) over all messages and of two hops (source -> sink) over the
 * relayed ones, leaving out the first 2 seconds (the clients' first metadata and offset requests).
 * Exit 0; 1 when messages went missing; 2 on bad usage or a client error. A benchmark tool, not a
 * test.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEYS 18
#define PAYLOAD 96  /* about a tick's canonical bytes */
#define WARMUP_S 2. /* seconds of messages left out of the figures */

typedef struct sample {
    uint64_t seq;
    int64_t sent_ns;
} sample_t;

typedef struct samples {
    double *ms;
    size_t n, cap;
} samples_t;

typedef struct hop {
    const char *bootstrap;
    int partitions;
    double rate;
    uint64_t total, every;
    const char *fetch_wait_ms;
    atomic_bool source_done;
    samples_t one, two;           /* relay's and sink's */
    uint64_t got_one, got_two;    /* messages that reached them */
    _Atomic(const char *) failed; /* the first client error, NULL if none (any thread sets it) */
} hop_t;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool add(samples_t *s, double ms)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        double *p = realloc(s->ms, cap * sizeof *p);
        if (!p)
            return false;
        s->ms = p;
        s->cap = cap;
    }
    s->ms[s->n++] = ms;
    return true;
}

/* Sets n name/value pairs on conf; false (detail filled) at the first refused one. */
static bool conf_pairs(rd_kafka_conf_t *conf, const char *pairs[][2], size_t n, char *detail, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (rd_kafka_conf_set(conf, pairs[i][0], pairs[i][1], detail, len) != RD_KAFKA_CONF_OK)
            return false;
    return true;
}

static rd_kafka_t *client(const hop_t *hop, rd_kafka_type_t type, const char *group)
{
    const char *common[][2] = {
        {"bootstrap.servers", hop->bootstrap}, {"socket.nagle.disable", "true"}, {"reconnect.backoff.max.ms", "1000"}};
    const char *producer[][2] = {{"enable.idempotence", "true"}, {"acks", "all"}, {"linger.ms", "0"}};
    /* assign() wants a group id; it is never joined */
    const char *consumer[][2] = {
        {"enable.auto.commit", "false"}, {"fetch.wait.max.ms", hop->fetch_wait_ms}, {"group.id", group}};
    char detail[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    bool ok = conf_pairs(conf, common, sizeof common / sizeof common[0], detail, sizeof detail);
    if (ok && type == RD_KAFKA_PRODUCER)
        ok = conf_pairs(conf, producer, sizeof producer / sizeof producer[0], detail, sizeof detail);
    if (ok && type == RD_KAFKA_CONSUMER)
        ok = conf_pairs(conf, consumer, sizeof consumer / sizeof consumer[0], detail, sizeof detail);
    rd_kafka_t *rk = ok ? rd_kafka_new(type, conf, detail, sizeof detail) : NULL;
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "td_mock_hop: cannot create a client: %s\n", detail);
    }
    return rk;
}

/* A consumer of every partition of topic from its beginning (the topics are new). */
static rd_kafka_t *consumer(const hop_t *hop, const char *topic)
{
    rd_kafka_t *rk = client(hop, RD_KAFKA_CONSUMER, topic);
    if (!rk)
        return NULL;
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(hop->partitions);
    for (int p = 0; p < hop->partitions; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t err = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (err) {
        fprintf(stderr, "td_mock_hop: assign %s: %s\n", topic, rd_kafka_err2str(err));
        rd_kafka_destroy(rk);
        return NULL;
    }
    return rk;
}

static bool produce(rd_kafka_t *rk, const char *topic, int partitions, const sample_t *s)
{
    char value[PAYLOAD] = {0};
    memcpy(value, s, sizeof *s);
    char key[8];
    int k = (int)(s->seq % KEYS);
    snprintf(key, sizeof key, "K%02d", k);
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(k % partitions), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(value, sizeof value), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return err == RD_KAFKA_RESP_ERR_NO_ERROR;
        rd_kafka_poll(rk, 10);
    }
}

static void fail(hop_t *hop, const char *what)
{
    const char *none = NULL;
    atomic_compare_exchange_strong(&hop->failed, &none, what);
}

/* The gateway: RATE messages a second, paced on the monotonic clock. */
static void *source(void *arg)
{
    hop_t *hop = arg;
    rd_kafka_t *rk = client(hop, RD_KAFKA_PRODUCER, NULL);
    if (!rk) {
        fail(hop, "source client");
        atomic_store(&hop->source_done, true);
        return NULL;
    }
    int64_t start = now_ns() + 500000000; /* half a second for the consumers' first fetches */
    for (uint64_t i = 0; i < hop->total && !atomic_load(&hop->failed); i++) {
        int64_t due = start + (int64_t)((double)i * 1e9 / hop->rate);
        struct timespec ts = {.tv_sec = due / 1000000000, .tv_nsec = due % 1000000000};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        sample_t s = {.seq = i, .sent_ns = now_ns()};
        if (!produce(rk, "hop.a", hop->partitions, &s))
            fail(hop, "source produce");
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 10000);
    rd_kafka_destroy(rk);
    atomic_store(&hop->source_done, true);
    return NULL;
}

/* Consumes topic until want messages arrived, or 10 s after the source ended; each after the
 * warm-up adds a sample to *into; with relay, every EVERY-th goes on to hop.b. Returns how many
 * arrived. */
static uint64_t consume(hop_t *hop, const char *topic, uint64_t want, samples_t *into, rd_kafka_t *relay)
{
    rd_kafka_t *rk = consumer(hop, topic);
    if (!rk) {
        fail(hop, "consumer");
        return 0;
    }
    int64_t give_up = 0;
    uint64_t got = 0;
    while (got < want && !atomic_load(&hop->failed)) {
        if (atomic_load(&hop->source_done) && !give_up)
            give_up = now_ns() + 10000000000;
        if (give_up && now_ns() > give_up)
            break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (!m->err && m->len >= sizeof(sample_t)) {
            sample_t s;
            memcpy(&s, m->payload, sizeof s);
            if ((double)s.seq >= hop->rate * WARMUP_S && !add(into, (double)(now_ns() - s.sent_ns) / 1e6))
                fail(hop, "out of memory");
            got++;
            if (relay && s.seq % hop->every == 0 && !produce(relay, "hop.b", hop->partitions, &s))
                fail(hop, "relay produce");
        }
        if (relay)
            rd_kafka_poll(relay, 0);
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return got;
}

/* The processor: consumes hop.a, relays every EVERY-th message. */
static void *relay(void *arg)
{
    hop_t *hop = arg;
    rd_kafka_t *rk = client(hop, RD_KAFKA_PRODUCER, NULL);
    if (!rk) {
        fail(hop, "relay client");
        return NULL;
    }
    hop->got_one = consume(hop, "hop.a", hop->total, &hop->one, rk);
    rd_kafka_flush(rk, 10000);
    rd_kafka_destroy(rk);
    return NULL;
}

/* How many messages the relay sends on: seq 0, EVERY, 2 EVERY, ... below total. */
static uint64_t relayed(const hop_t *hop)
{
    return (hop->total + hop->every - 1) / hop->every;
}

/* The router: consumes hop.b. */
static void *sink(void *arg)
{
    hop_t *hop = arg;
    hop->got_two = consume(hop, "hop.b", relayed(hop), &hop->two, NULL);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, samples_t *s)
{
    if (!s->n) {
        printf("%s: no message\n", what);
        return;
    }
    qsort(s->ms, s->n, sizeof *s->ms, cmp_double);
    printf("%s over %zu message(s), ms: p50 %.3f, p90 %.3f, p99 %.3f, max %.3f\n", what, s->n, s->ms[s->n / 2],
           s->ms[(size_t)((double)(s->n - 1) * 0.9)], s->ms[(size_t)((double)(s->n - 1) * 0.99)], s->ms[s->n - 1]);
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 7) {
        fprintf(stderr, "usage: td_mock_hop BOOTSTRAP PARTITIONS RATE SECONDS [EVERY [FETCH_WAIT_MS]]\n");
        return 2;
    }
    hop_t hop = {.bootstrap = argv[1],
                 .partitions = atoi(argv[2]),
                 .rate = atof(argv[3]),
                 .every = 100,
                 .fetch_wait_ms = argc == 7 ? argv[6] : "1"};
    double seconds = atof(argv[4]);
    if (argc >= 6)
        hop.every = strtoull(argv[5], NULL, 10);
    if (hop.partitions < 1 || hop.rate <= 0 || seconds <= 0 || hop.every < 1) {
        fprintf(stderr, "td_mock_hop: PARTITIONS, RATE, SECONDS and EVERY must be positive\n");
        return 2;
    }
    hop.total = (uint64_t)(hop.rate * seconds);
    pthread_t t[3];
    void *(*fn[3])(void *) = {sink, relay, source};
    for (int i = 0; i < 3; i++)
        if (pthread_create(&t[i], NULL, fn[i], &hop) != 0) {
            fprintf(stderr, "td_mock_hop: cannot start a thread\n");
            return 2;
        }
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    const char *failed = atomic_load(&hop.failed);
    if (failed) {
        fprintf(stderr, "td_mock_hop: %s failed\n", failed);
        return 2;
    }
    report("one hop (source -> relay)", &hop.one);
    report("two hops (source -> relay -> sink)", &hop.two);
    bool missing = hop.got_one != hop.total || hop.got_two != relayed(&hop);
    if (missing)
        printf("missing: %" PRIu64 " of %" PRIu64 " reached the relay, %" PRIu64 " of %" PRIu64 " the sink\n",
               hop.got_one, hop.total, hop.got_two, relayed(&hop));
    free(hop.one.ms);
    free(hop.two.ms);
    return missing ? 1 : 0;
}
