/* driver.c - a plain, deterministic stand-in for libFuzzer, so that every fuzz target builds and
 * runs as an ordinary CTest test with any C compiler (and under the ASan/UBSan build).
 *
 *   fuzz_<name> [--runs N] [--seed S] [--max-len L] [--dump K FILE] [--write-seeds DIR] [DIR|FILE]...
 *
 * It runs LLVMFuzzerTestOneInput over every file of the given corpus directories (sorted by name)
 * and the target's generated seeds, then over N pseudo-random inputs: input K is a function of
 * (seed, K) and the corpus only - fresh bytes, or a corpus entry with a few mutations (bit flips,
 * interesting bytes, digits and separators, inserted, deleted, repeated or spliced ranges) - so a
 * failure is reproduced by its number: `--dump K FILE` writes input K, and the file can be fed to
 * this driver or to the libFuzzer build. `--write-seeds DIR` writes the generated seeds as files
 * (to start a libFuzzer corpus). On a crash the signal handler names the input being run.
 *
 * Not a coverage-guided fuzzer: it is a bounded regression run in CI. Long runs use the
 * <name>_libfuzzer targets (tests/fuzz/CMakeLists.txt).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "tests/fuzz/fuzz.h"

typedef struct input {
    char *name;
    uint8_t *data;
    size_t size;
} input_t;

typedef struct corpus {
    input_t *in;
    size_t len, cap;
} corpus_t;

/* What is running now, for the crash message (read from a signal handler). */
static volatile sig_atomic_t current_kind; /* 0 none, 1 corpus entry, 2 generated input */
static volatile size_t current_index;
static const char *current_name;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz driver: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(2);
}

static void corpus_add(void *opaque, const char *name, const uint8_t *data, size_t size)
{
    corpus_t *corpus = opaque;
    if (corpus->len == corpus->cap) {
        corpus->cap = corpus->cap ? 2 * corpus->cap : 64;
        corpus->in = realloc(corpus->in, corpus->cap * sizeof *corpus->in);
        if (!corpus->in)
            die("out of memory", NULL);
    }
    input_t *in = &corpus->in[corpus->len++];
    in->name = strdup(name);
    in->data = malloc(size ? size : 1);
    if (!in->name || !in->data)
        die("out of memory", NULL);
    memcpy(in->data, data, size);
    in->size = size;
}

static void add_file(corpus_t *corpus, const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        die("cannot open", path);
    uint8_t *data = NULL;
    size_t size = 0, cap = 0;
    for (;;) {
        if (size == cap) {
            cap = cap ? 2 * cap : 4096;
            data = realloc(data, cap);
            if (!data)
                die("out of memory", NULL);
        }
        size_t got = fread(data + size, 1, cap - size, fp);
        size += got;
        if (got == 0)
            break;
    }
    if (ferror(fp))
        die("cannot read", path);
    fclose(fp);
    corpus_add(corpus, path, data, size);
    free(data);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the regular files of dir in name order (readdir's order is the file system's). */
static void add_dir(corpus_t *corpus, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOTDIR) {
            add_file(corpus, dir);
            return;
        }
        die("cannot open corpus", dir);
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            names = realloc(names, cap * sizeof *names);
            if (!names)
                die("out of memory", NULL);
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        if (!names[n])
            die("out of memory", NULL);
        snprintf(names[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        add_file(corpus, names[i]);
        free(names[i]);
    }
    free(names);
}

/* splitmix64: the generator of input K is seeded from (seed, K) alone. */
static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static size_t below(uint64_t *s, size_t n)
{
    return n ? (size_t)(next(s) % n) : 0;
}

static const uint8_t interesting[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x08, 0x0a, 0x12, 0x1a, 0x22, 0x2a,
                                      '\t', '\n', '\r', ' ',  ',',  '.',  ':',  '-',  '+',  'e',  'E',  '0',
                                      '9',  '<',  '>',  '#',  '&',  '*',  '?',  '{',  '[',  '\'', '"',  '!'};

/* Writes input K into buf (capacity max_len) and returns its size. */
static size_t make_input(const corpus_t *corpus, uint64_t seed, size_t k, uint8_t *buf, size_t max_len)
{
    uint64_t s = seed ^ (UINT64_C(0xd1b54a32d192ed03) * (k + 1));
    size_t size;
    if (corpus->len == 0 || below(&s, 8) == 0) {
        size = below(&s, below(&s, 4) == 0 ? max_len + 1 : 65);
        for (size_t i = 0; i < size; i++)
            buf[i] = (uint8_t)next(&s);
        return size;
    }
    const input_t *base = &corpus->in[below(&s, corpus->len)];
    size = base->size < max_len ? base->size : max_len;
    memcpy(buf, base->data, size);
    for (size_t m = 1 + below(&s, 8); m > 0; m--) {
        size_t at = below(&s, size + 1), n;
        switch (below(&s, 10)) {
        case 0: /* flip a bit */
            if (size)
                buf[below(&s, size)] ^= (uint8_t)(1u << below(&s, 8));
            break;
        case 1: /* an interesting byte */
            if (size)
                buf[below(&s, size)] = interesting[below(&s, sizeof interesting)];
            break;
        case 2: /* a digit */
            if (size)
                buf[below(&s, size)] = (uint8_t)('0' + below(&s, 10));
            break;
        case 3: /* a random byte */
            if (size)
                buf[below(&s, size)] = (uint8_t)next(&s);
            break;
        case 4: /* insert interesting bytes */
            n = 1 + below(&s, 4);
            if (size + n <= max_len) {
                memmove(buf + at + n, buf + at, size - at);
                for (size_t i = 0; i < n; i++)
                    buf[at + i] = interesting[below(&s, sizeof interesting)];
                size += n;
            }
            break;
        case 5: /* delete a range */
            n = below(&s, size - at + 1) % 16;
            memmove(buf + at, buf + at + n, size - at - n);
            size -= n;
            break;
        case 6: /* repeat a range */
            n = below(&s, size - at + 1) % 64;
            if (size + n <= max_len) {
                memmove(buf + at + n, buf + at, size - at);
                size += n;
            }
            break;
        case 7: /* truncate */ size = at; break;
        case 8: { /* splice in part of another entry */
            const input_t *other = &corpus->in[below(&s, corpus->len)];
            size_t from = below(&s, other->size + 1);
            n = below(&s, other->size - from + 1);
            if (at + n > max_len)
                n = max_len - at;
            memcpy(buf + at, other->data + from, n);
            if (at + n > size)
                size = at + n;
            break;
        }
        default: /* swap two bytes */
            if (size > 1) {
                size_t i = below(&s, size), j = below(&s, size);
                uint8_t t = buf[i];
                buf[i] = buf[j];
                buf[j] = t;
            }
            break;
        }
    }
    return size;
}

static void put(const char *s)
{
    ssize_t r = write(2, s, strlen(s));
    (void)r;
}

static void on_death(void)
{
    char num[32];
    size_t i = current_index, n = 0;
    char rev[32];
    do {
        rev[n++] = (char)('0' + i % 10);
        i /= 10;
    } while (i && n < sizeof rev);
    for (size_t j = 0; j < n; j++)
        num[j] = rev[n - 1 - j];
    num[n] = '\0';
    if (current_kind == 1) {
        put("fuzz driver: failed on corpus entry ");
        put(current_name ? current_name : "?");
        put("\n");
    } else if (current_kind == 2) {
        put("fuzz driver: failed on generated input #");
        put(num);
        put(" (rerun with the same --seed and --dump ");
        put(num);
        put(" FILE to get its bytes)\n");
    }
}

static void on_signal(int sig)
{
    on_death();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* The sanitizers' own reports end in _exit(), not a signal: they call this hook first. */
void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static void write_bytes(const char *path, const uint8_t *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(data, 1, size, fp) != size || fclose(fp) != 0)
        die("cannot write", path);
}

int main(int argc, char **argv)
{
    size_t runs = 20000, max_len = 4096, dump = SIZE_MAX;
    uint64_t seed = 1;
    const char *dump_path = NULL, *seeds_dir = NULL;
    corpus_t corpus = {0};

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
        if (strcmp(a, "--runs") == 0 && more)
            runs = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--seed") == 0 && more)
            seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--max-len") == 0 && more)
            max_len = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--dump") == 0 && i + 2 < argc) {
            dump = strtoull(argv[++i], NULL, 10);
            dump_path = argv[++i];
        } else if (strcmp(a, "--write-seeds") == 0 && more)
            seeds_dir = argv[++i];
        else if (a[0] == '-')
            die("usage: [--runs N] [--seed S] [--max-len L] [--dump K FILE] [--write-seeds DIR] [DIR|FILE]...", a);
        else
            add_dir(&corpus, a);
    }
    size_t from_files = corpus.len;
    if (td_fuzz_seeds)
        td_fuzz_seeds(corpus_add, &corpus);
    if (max_len == 0)
        die("--max-len must be > 0", NULL);

    if (seeds_dir) {
        for (size_t i = from_files; i < corpus.len; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", seeds_dir, corpus.in[i].name);
            write_bytes(path, corpus.in[i].data, corpus.in[i].size);
        }
        printf("wrote %zu seed(s) to %s\n", corpus.len - from_files, seeds_dir);
        return 0;
    }
    uint8_t *buf = malloc(max_len);
    if (!buf)
        die("out of memory", NULL);
    if (dump_path) {
        write_bytes(dump_path, buf, make_input(&corpus, seed, dump, buf, max_len));
        return 0;
    }

    signal(SIGSEGV, on_signal);
    signal(SIGABRT, on_signal);
    signal(SIGBUS, on_signal);
    signal(SIGFPE, on_signal);
    signal(SIGILL, on_signal);
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(on_death);

    current_kind = 1;
    for (size_t i = 0; i < corpus.len; i++) {
        current_name = corpus.in[i].name;
        /* a copy of exactly size bytes, so that a read past the end is caught */
        uint8_t *copy = malloc(corpus.in[i].size ? corpus.in[i].size : 1);
        if (!copy)
            die("out of memory", NULL);
        memcpy(copy, corpus.in[i].data, corpus.in[i].size);
        LLVMFuzzerTestOneInput(copy, corpus.in[i].size);
        free(copy);
    }
    current_kind = 2;
    for (size_t k = 0; k < runs; k++) {
        current_index = k;
        size_t size = make_input(&corpus, seed, k, buf, max_len);
        uint8_t *copy = malloc(size ? size : 1);
        if (!copy)
            die("out of memory", NULL);
        memcpy(copy, buf, size);
        LLVMFuzzerTestOneInput(copy, size);
        free(copy);
    }
    current_kind = 0;
    printf("%zu corpus input(s) (%zu generated seeds), %zu generated input(s), seed %llu: no failure\n", corpus.len,
           corpus.len - from_files, runs, (unsigned long long)seed);
    for (size_t i = 0; i < corpus.len; i++) {
        free(corpus.in[i].name);
        free(corpus.in[i].data);
    }
    free(corpus.in);
    free(buf);
    return 0;
}
