-- 0011: month partitions created by several sessions at once. The sink writes with several
-- sessions (warehouse.sessions) and compact may run beside it. Two sessions that both found a
-- month's partition missing both ran CREATE, and the second failed when the first committed
-- ('relation "bars_201902" already exists', seen with two sink sessions starting on the same
-- month). Now a session that finds the partition missing first locks the parent in the mode the
-- CREATE takes anyway (ACCESS EXCLUSIVE: it waits for the other writers' transactions to end) and
-- looks again: taking a relation lock also brings the session's view of the catalog up to date
-- (an advisory lock would not), so the second session finds the first's partition and goes on.
-- Every caller runs this before any other lock on the parent in its transaction (the first
-- statement of a sink batch; the first of compact's bars), so no two of them wait in a cycle.
CREATE OR REPLACE FUNCTION td_ensure_month_partition(parent text, t timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    lo   timestamp := date_trunc('month', t AT TIME ZONE 'UTC');
    name text := parent || '_' || to_char(lo, 'YYYYMM');
BEGIN
    IF to_regclass(quote_ident(name)) IS NOT NULL THEN
        RETURN;
    END IF;
    EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', parent);
    IF to_regclass(quote_ident(name)) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', name, parent,
                       (lo AT TIME ZONE 'UTC'), ((lo + interval '1 month') AT TIME ZONE 'UTC'));
    END IF;
END
$$;
