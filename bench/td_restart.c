/* td_restart.c - the restart benchmark: how long from exec of a (re)started `tapedeck run` until it
 * processes again.
 *
 *   td_restart PORT TOKEN ACCOUNT SYMBOL TIME_MS BID ASK -- COMMAND ARGS...
 *
 * Starts COMMAND (the service, typically right after the previous one was SIGKILLed), then acts as
 * the EA: connects to 127.0.0.1:PORT as soon as it can (retrying every millisecond), sends HELLO,
 * reads WELCOME acked=N, sends one TICK (sequence N + 1) and waits for its ACK. The gateway writes
 * an ACK after the burst is on the tape AND the processors and the router have run over it
 * (gateway/server.h), so the ACK is the first processed event. Prints
 *   "restart: exec -> connected A ms, -> WELCOME B ms, -> first ACK (processed) C ms, pid P"
 * and leaves the service running (pid P). A benchmark tool, not a test: nothing here asserts a figure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Reads until a whole line starting with prefix arrived; copies it to line. False on EOF/timeout. */
static int read_line(int fd, const char *prefix, char *line, size_t len, double deadline)
{
    static char buf[65536];
    static size_t have;
    while (now_ms() < deadline) {
        char *lf;
        while ((lf = memchr(buf, '\n', have)) != NULL) {
            size_t n = (size_t)(lf - buf);
            int match = strncmp(buf, prefix, strlen(prefix)) == 0;
            if (match) {
                snprintf(line, len, "%.*s", (int)n, buf);
            }
            memmove(buf, lf + 1, have - n - 1);
            have -= n + 1;
            if (match)
                return 1;
        }
        ssize_t r = read(fd, buf + have, sizeof buf - have - 1);
        if (r <= 0 && !(r < 0 && errno == EINTR))
            return 0;
        if (r > 0)
            have += (size_t)r;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 10 || strcmp(argv[8], "--") != 0) {
        fprintf(stderr, "usage: td_restart PORT TOKEN ACCOUNT SYMBOL TIME_MS BID ASK -- COMMAND ARGS...\n");
        return 2;
    }
    int port = atoi(argv[1]);
    const char *token = argv[2], *account = argv[3], *symbol = argv[4], *time_ms = argv[5], *bid = argv[6],
               *ask = argv[7];
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 3;
    }
    if (pid == 0) {
        dup2(2, 1); /* the service outlives us: it must not hold our stdout open */
        execvp(argv[9], argv + 9);
        perror(argv[9]);
        _exit(127);
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    int fd = -1;
    double deadline = t0 + 30000;
    while (now_ms() < deadline) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0)
            break;
        close(fd);
        fd = -1;
        usleep(1000);
    }
    if (fd < 0) {
        fprintf(stderr, "td_restart: the service did not listen within 30 s\n");
        return 3;
    }
    double t_conn = now_ms();
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char line[4096];
    int n =
        snprintf(line, sizeof line, "HELLO\t1\tversion=1\taccount=%s\tterminal=td_restart\ttoken=%s\n", account, token);
    if (write(fd, line, (size_t)n) != n || !read_line(fd, "WELCOME", line, sizeof line, deadline)) {
        fprintf(stderr, "td_restart: no WELCOME\n");
        return 3;
    }
    double t_welcome = now_ms();
    const char *p = strstr(line, "acked=");
    uint64_t acked = p ? strtoull(p + 6, NULL, 10) : 0;
    n = snprintf(line, sizeof line, "TICK\t%" PRIu64 "\tsymbol=%s\ttime=%s\tbid=%s\task=%s\n", acked + 1, symbol,
                 time_ms, bid, ask);
    char want[64];
    snprintf(want, sizeof want, "ACK\t%" PRIu64, acked + 1);
    if (write(fd, line, (size_t)n) != n || !read_line(fd, want, line, sizeof line, deadline)) {
        fprintf(stderr, "td_restart: no ACK for the tick\n");
        return 3;
    }
    double t_ack = now_ms();
    printf("restart: exec -> connected %.1f ms, -> WELCOME %.1f ms, -> first ACK (processed) %.1f ms, pid %d\n",
           t_conn - t0, t_welcome - t0, t_ack - t0, (int)pid);
    close(fd);
    return 0;
}
