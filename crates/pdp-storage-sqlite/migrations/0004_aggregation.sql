-- Work across datasets: authoritative sources and cross-check findings (R-AGG-03), data return
-- to districts (R-AGG-07) and objections to records (R-OBJ).

CREATE TABLE authoritative_sources (
    subject      TEXT NOT NULL,
    element      TEXT NOT NULL,
    dataset      TEXT NOT NULL,
    note         TEXT NOT NULL,
    assigned_by  TEXT NOT NULL,
    assigned_at  INTEGER NOT NULL,
    PRIMARY KEY (subject, element)
);

CREATE TABLE crosscheck_runs (
    id           INTEGER PRIMARY KEY,
    actor        TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER NOT NULL,
    pairs        INTEGER NOT NULL,
    compared     INTEGER NOT NULL,
    conflicts    INTEGER NOT NULL
);

CREATE TABLE crosscheck_conflicts (
    run_id          INTEGER NOT NULL REFERENCES crosscheck_runs(id),
    seq             INTEGER NOT NULL,
    subject         TEXT NOT NULL,
    element         TEXT NOT NULL,
    record_key      TEXT NOT NULL,
    source_dataset  TEXT NOT NULL,
    source_version  INTEGER NOT NULL,
    source_value    TEXT NOT NULL,
    other_dataset   TEXT NOT NULL,
    other_version   INTEGER NOT NULL,
    other_value     TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE district_returns (
    id                 INTEGER PRIMARY KEY,
    dataset            TEXT NOT NULL,
    region_id          INTEGER NOT NULL REFERENCES regions(id),
    method             TEXT NOT NULL,
    field              TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    refreshed_version  INTEGER,
    refreshed_rows     INTEGER,
    refreshed_at       INTEGER,
    UNIQUE (dataset, region_id)
);

CREATE TABLE objections (
    id                  INTEGER PRIMARY KEY,
    dataset             TEXT NOT NULL,
    entry_id            INTEGER NOT NULL REFERENCES catalog_entries(id),
    org_id              INTEGER NOT NULL REFERENCES organisations(id),
    record_key          TEXT NOT NULL,
    field               TEXT NOT NULL,
    current_value       TEXT NOT NULL,
    claimed_value       TEXT NOT NULL,
    reason              TEXT NOT NULL,
    raised_by           INTEGER NOT NULL REFERENCES users(id),
    raised_by_name      TEXT NOT NULL,
    raiser_kind         TEXT NOT NULL,
    status              TEXT NOT NULL,
    raised_at           INTEGER NOT NULL,
    due_date            TEXT NOT NULL,
    escalated_at        INTEGER,
    response            TEXT NOT NULL,
    answered_by         INTEGER REFERENCES users(id),
    answered_at         INTEGER,
    correction_version  INTEGER,
    evidence_name       TEXT NOT NULL,
    evidence_size       INTEGER NOT NULL
);
CREATE INDEX objections_org ON objections(org_id, status);
CREATE INDEX objections_dataset ON objections(dataset, status);
CREATE INDEX objections_raiser ON objections(raised_by);

CREATE TABLE objection_evidence (
    objection_id  INTEGER PRIMARY KEY REFERENCES objections(id),
    name          TEXT NOT NULL,
    content       BLOB NOT NULL
);
