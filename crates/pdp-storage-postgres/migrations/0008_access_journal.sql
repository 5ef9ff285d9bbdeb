-- The access journal's segments already indexed (pdp_audit::journal): a segment's name is
-- written in the transaction that writes its records, so a segment left on disk by a crash
-- after that commit is deleted on the next start instead of being indexed twice.
CREATE TABLE access_journal (
    name       TEXT PRIMARY KEY,
    records    INTEGER NOT NULL,
    indexed_at BIGINT NOT NULL
);
