-- 0005: what `tapedeck compact` records: the sealed day files, and the meaning of bars it writes.

COMMENT ON COLUMN bars.out_offset IS
    'output offset of the Bar event the sink wrote; -1 = built by tapedeck compact from the input ticks';

-- One row per sealed (symbol, trading day): the immutable file under DATA_DIR/sealed/ and what it holds.
CREATE TABLE sealed_days (
    symbol          text NOT NULL,
    trading_day     date NOT NULL,
    path            text NOT NULL,
    bytes           bigint NOT NULL,
    file_sha256     bytea NOT NULL CHECK (length(file_sha256) = 32),
    content_sha256  bytea NOT NULL CHECK (length(content_sha256) = 32),
    day_digest      bytea NOT NULL CHECK (length(day_digest) = 32),
    input_first     bigint NOT NULL,
    input_last      bigint NOT NULL,
    input_count     bigint NOT NULL,
    output_first    bigint NOT NULL,
    output_last     bigint NOT NULL,
    output_count    bigint NOT NULL,
    sealed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, trading_day)
);
