/* td_kafka_mock.c - librdkafka's mock Kafka cluster as a process, for multi-process tests.
 *
 *   td_kafka_mock [--brokers N] [--topic NAME:PARTITIONS]...
 *
 * Starts the mock cluster (real Kafka protocol, in memory; N brokers, default 3), creates the
 * topics (replication factor min(3, N)), prints "bootstrap HOST:PORT,..." on stdout and then
 * reads one command per line on stdin, answering "ok <command>" or "error <why>" on stdout:
 *   down N            broker N (1-based) stops answering (rd_kafka_mock_broker_set_down)
 *   up N              broker N answers again
 *   rtt N MS          broker N delays every answer by MS ms
 *   err APIKEY CODE [CODE...]   the next requests of that API (Produce, Fetch, Metadata or a
 *                     number) get these error codes (numbers or NOT_LEADER_FOR_PARTITION,
 *                     NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT, LEADER_NOT_AVAILABLE), one per request
 *   quit              stops (as end of input does)
 * Limits of the 2.0.2 mock (from its source): ~5 MiB or 100k message sets kept per partition.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int api_key(const char *s)
{
    if (strcmp(s, "Produce") == 0)
        return 0;
    if (strcmp(s, "Fetch") == 0)
        return 1;
    if (strcmp(s, "ListOffsets") == 0)
        return 2;
    if (strcmp(s, "Metadata") == 0)
        return 3;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    return *s && !*end && v >= 0 && v < 100 ? (int)v : -1;
}

static int error_code(const char *s)
{
    static const struct {
        const char *name;
        rd_kafka_resp_err_t err;
    } names[] = {
        {"NOT_LEADER_FOR_PARTITION", RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION},
        {"NOT_ENOUGH_REPLICAS", RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS},
        {"REQUEST_TIMED_OUT", RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT},
        {"LEADER_NOT_AVAILABLE", RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE},
        {"NOT_ENOUGH_REPLICAS_AFTER_APPEND", RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0)
            return names[i].err;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    return *s && !*end && v > 0 && v < 1000 ? (int)v : -1;
}

int main(int argc, char **argv)
{
    int brokers = 3;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc)
            brokers = atoi(argv[++i]);
        else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc)
            i++;
        else {
            fprintf(stderr, "usage: td_kafka_mock [--brokers N] [--topic NAME:PARTITIONS]...\n");
            return 2;
        }
    if (brokers < 1 || brokers > 16) {
        fprintf(stderr, "td_kafka_mock: --brokers: expected 1..16\n");
        return 2;
    }
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    /* the brokers' sockets take this client's settings: without it a small response can wait for
     * the peer's delayed TCP ACK (~40 ms), which real brokers (TCP_NODELAY) never do */
    rd_kafka_conf_set(conf, "socket.nagle.disable", "true", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "td_kafka_mock: %s\n", errstr);
        return 3;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "td_kafka_mock: cannot start the mock cluster\n");
        rd_kafka_destroy(rk);
        return 3;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--topic") != 0)
            continue;
        char name[256];
        snprintf(name, sizeof name, "%s", argv[++i]);
        char *colon = strrchr(name, ':');
        int parts = colon ? atoi(colon + 1) : 0;
        if (!colon || parts < 1) {
            fprintf(stderr, "td_kafka_mock: --topic: expected NAME:PARTITIONS, found '%s'\n", argv[i]);
            return 2;
        }
        *colon = '\0';
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, name, parts, brokers < 3 ? brokers : 3);
        if (err) {
            fprintf(stderr, "td_kafka_mock: topic %s: %s\n", name, rd_kafka_err2str(err));
            return 3;
        }
    }
    printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    char line[1024];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *words[40];
        int n = 0;
        for (char *tok = strtok(line, " \t"); tok && n < 40; tok = strtok(NULL, " \t"))
            words[n++] = tok;
        if (n == 0)
            continue;
        const char *bad = NULL;
        if (strcmp(words[0], "quit") == 0)
            break;
        if ((strcmp(words[0], "down") == 0 || strcmp(words[0], "up") == 0) && n == 2) {
            int id = atoi(words[1]);
            if (id < 1 || id > brokers)
                bad = "no such broker";
            else if (words[0][0] == 'd')
                rd_kafka_mock_broker_set_down(mc, id);
            else
                rd_kafka_mock_broker_set_up(mc, id);
        } else if (strcmp(words[0], "rtt") == 0 && n == 3) {
            int id = atoi(words[1]);
            if (id < 1 || id > brokers)
                bad = "no such broker";
            else
                rd_kafka_mock_broker_set_rtt(mc, id, atoi(words[2]));
        } else if (strcmp(words[0], "err") == 0 && n >= 3) {
            int key = api_key(words[1]);
            rd_kafka_resp_err_t errs[38];
            size_t cnt = 0;
            for (int i = 2; i < n && !bad; i++) {
                int code = error_code(words[i]);
                if (code < 0)
                    bad = "unknown error code";
                else
                    errs[cnt++] = (rd_kafka_resp_err_t)code;
            }
            if (key < 0)
                bad = "unknown API key";
            if (!bad)
                rd_kafka_mock_push_request_errors_array(mc, (int16_t)key, cnt, errs);
        } else {
            bad = "unknown command (down N, up N, rtt N MS, err APIKEY CODE..., quit)";
        }
        if (bad)
            printf("error %s\n", bad);
        else
            printf("ok %s\n", words[0]);
        fflush(stdout);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
