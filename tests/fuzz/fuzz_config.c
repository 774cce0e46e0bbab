/* fuzz_config.c - td_config_load() on arbitrary bytes as a YAML file (config files are written by
 * hand and pushed by people). Any verdict is fine as long as a refusal says why; crashes, leaks and
 * sanitizer reports are findings. An accepted file must leave every key readable (the typed
 * getters assert on a broken slot). */
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "tests/fuzz/fuzz.h"

static char path[96];

static void cleanup(void)
{
    if (path[0])
        unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        const char *tmp = td_fuzz_tmpdir();
        snprintf(path, sizeof path, "%s/td_fuzz_config.XXXXXX", strlen(tmp) < 48 ? tmp : "/tmp");
        int fd = mkstemp(path);
        FUZZ_REQUIRE(fd >= 0);
        close(fd);
        atexit(cleanup);
    }
    FILE *fp = fopen(path, "wb");
    FUZZ_REQUIRE(fp != NULL);
    FUZZ_REQUIRE(size == 0 || fwrite(data, 1, size, fp) == size);
    FUZZ_REQUIRE(fclose(fp) == 0);

    td_config_t *config = td_config_new();
    FUZZ_REQUIRE(config != NULL);
    char err[512] = "";
    td_err_t rc = td_config_load(config, path, err, sizeof err);
    if (rc != TD_OK) {
        FUZZ_REQUIRE(err[0] != '\0' || rc == TD_ERR_NOMEM);
    } else {
        /* a few reads of each type, global and per symbol */
        (void)td_config_int(config, "bars.timeframe");
        (void)td_config_int(config, "session.day_offset_minutes");
        (void)td_config_decimal(config, "broker.commission_per_lot");
        (void)td_config_str(config, "tape.sync");
        td_symbol_spec_t spec;
        td_config_symbol_spec(config, "EURUSD", &spec);
        td_config_symbol_spec(config, "XAUUSD", &spec);
    }
    td_config_destroy(config);
    return 0;
}
