-- The last access journal segment moved into the database (pdp_audit::journal). Segments are
-- moved one at a time in the order of their names, each in a transaction that replaces this
-- row, so a segment left on disk by a crash is moved again on the next start only if its name
-- sorts after this one: none is moved twice, and the table keeps one row.
CREATE TABLE access_journal (
    name       TEXT PRIMARY KEY,
    records    INTEGER NOT NULL,
    indexed_at BIGINT NOT NULL
);
