/* td_bench.c - runs one command and reports its wall time and peak resident memory.
 *
 *   td_bench LABEL EVENTS -- COMMAND ARGS...
 *
 * prints "LABEL: EVENTS events in S s = R events/s, peak RSS M MiB" (and the command's exit code
 * when it is not 0). A benchmark tool, not a test: nothing here asserts a figure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: td_bench LABEL EVENTS -- COMMAND ARGS...\n");
        return 2;
    }
    double events = strtod(argv[2], NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 3;
    }
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execvp(argv[4], argv + 4);
        perror(argv[4]);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("wait4");
        return 3;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("%-28s %10.0f events %8.3f s %12.0f events/s  peak RSS %6.1f MiB%s\n", argv[1], events, s,
           s > 0 ? events / s : 0.0, (double)ru.ru_maxrss / 1024.0, code ? "  (command FAILED)" : "");
    return code;
}
