-- The audit search's time bounds are written `($6 IS NULL OR at_micros >= $6)`, one statement
-- for every combination of filters, and SQLite plans such a statement once, without the
-- parameters' values: its plan scans the table by seq (newest first, which the search's
-- ORDER BY seq DESC LIMIT wants anyway) and never uses this index (EXPLAIN QUERY PLAN shows
-- `SCAN audit_events` with and without time bounds). Yet every event paid for it with one more
-- B-tree insert, and every data access writes an event. PostgreSQL keeps its index: it plans
-- with the parameters' values and can use it.
DROP INDEX audit_events_at;
