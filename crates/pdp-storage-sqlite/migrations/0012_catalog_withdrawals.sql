-- Withdrawing a published entry goes through review like publishing it (R-CAT-06): the
-- organisation asks with a reason, a reviewer in scope decides. Approval withdraws the published
-- version, revokes the entry's grants and refuses its open requests, in one transaction.
CREATE TABLE catalog_withdrawals (
    id              INTEGER PRIMARY KEY,
    entry_id        INTEGER NOT NULL REFERENCES catalog_entries(id),
    version         INTEGER NOT NULL,
    reason          TEXT NOT NULL,
    requested_by    INTEGER REFERENCES users(id),
    requested_at    INTEGER NOT NULL,
    status          TEXT NOT NULL,
    decided_by      INTEGER REFERENCES users(id),
    decided_at      INTEGER,
    decision_reason TEXT NOT NULL
);
-- At most one pending request per entry.
CREATE UNIQUE INDEX catalog_withdrawals_pending ON catalog_withdrawals(entry_id) WHERE status = 'pending';
