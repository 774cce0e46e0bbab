/* fuzz_gridfile.c - td_gridfile_load() on arbitrary bytes as a YAML grid file (`tapedeck backtest
 * --config`; written by hand). Any verdict is fine as long as a refusal says why; crashes, leaks
 * and sanitizer reports are findings. An accepted file must hold a strategy, a grid spec within
 * its bounds and 1..64 symbols each with data and format, and its spec must be safe to hand to
 * td_grid_parse (which may refuse it). */
#include <string.h>
#include <unistd.h>

#include "backtest/grid.h"
#include "backtest/gridfile.h"
#include "tests/fuzz/fuzz.h"

static char path[96];
static td_gridfile_t file;

static void cleanup(void)
{
    if (path[0])
        unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        const char *tmp = td_fuzz_tmpdir();
        snprintf(path, sizeof path, "%s/td_fuzz_gridfile.XXXXXX", strlen(tmp) < 48 ? tmp : "/tmp");
        int fd = mkstemp(path);
        FUZZ_REQUIRE(fd >= 0);
        close(fd);
        atexit(cleanup);
    }
    FILE *fp = fopen(path, "wb");
    FUZZ_REQUIRE(fp != NULL);
    FUZZ_REQUIRE(size == 0 || fwrite(data, 1, size, fp) == size);
    FUZZ_REQUIRE(fclose(fp) == 0);

    char err[512] = "";
    td_err_t rc = td_gridfile_load(path, &file, err, sizeof err);
    if (rc != TD_OK) {
        FUZZ_REQUIRE(err[0] != '\0' || rc == TD_ERR_NOMEM);
        return 0;
    }
    FUZZ_REQUIRE(file.strategy[0] != '\0');
    FUZZ_REQUIRE(strlen(file.grid) < TD_GRIDFILE_SPEC_MAX && file.grid[0] != '\0');
    FUZZ_REQUIRE(file.n_symbols >= 1 && file.n_symbols <= TD_GRIDFILE_MAX_SYMBOLS);
    for (size_t i = 0; i < file.n_symbols; i++)
        FUZZ_REQUIRE(file.symbols[i].symbol[0] && file.symbols[i].data[0]);
    td_grid_t *grid = NULL;
    if (td_grid_parse(file.grid, &grid, err, sizeof err) == TD_OK)
        FUZZ_REQUIRE(td_grid_count(grid) >= 1);
    td_grid_destroy(grid);
    return 0;
}
