/* read_line.h - the unit tests' reader of a peer's lines on a socket (header-only). */
#ifndef TD_TEST_READ_LINE_H
#define TD_TEST_READ_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <unistd.h>

/* Reads one line from fd, one byte at a time (the test then never reads past the line), into buf
 * without its LF, cut to size - 1 bytes; false at the end of the stream or on an error. */
static inline bool test_read_line(int fd, char *buf, size_t size)
{
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t got = read(fd, &c, 1);
        if (got <= 0)
            return false;
        if (c == '\n')
            break;
        if (n + 1 < size)
            buf[n++] = c;
    }
    buf[n] = 0;
    return true;
}

#endif
