-- Datasets in the lake: a projection of each Delta commit's note (the lake's log is the truth),
-- and the quality tasks loads raise for their providers.

CREATE TABLE dataset_loads (
    dataset      TEXT NOT NULL,
    version      INTEGER NOT NULL,
    entry_id     INTEGER NOT NULL REFERENCES catalog_entries(id),
    org_id       INTEGER NOT NULL REFERENCES organisations(id),
    kind         TEXT NOT NULL,
    mode         TEXT NOT NULL,
    input_rows   INTEGER NOT NULL,
    accepted     INTEGER NOT NULL,
    quarantined  INTEGER NOT NULL,
    rows_after   INTEGER NOT NULL,
    completeness DOUBLE PRECISION NOT NULL,
    validity     DOUBLE PRECISION NOT NULL,
    uniqueness   DOUBLE PRECISION NOT NULL,
    consistency  DOUBLE PRECISION NOT NULL,
    actor        TEXT NOT NULL,
    source       TEXT NOT NULL,
    loaded_at    INTEGER NOT NULL,
    PRIMARY KEY (dataset, version)
);
CREATE INDEX dataset_loads_org ON dataset_loads(org_id);

CREATE TABLE quality_tasks (
    id           INTEGER PRIMARY KEY,
    dataset      TEXT NOT NULL,
    version      INTEGER NOT NULL,
    org_id       INTEGER NOT NULL REFERENCES organisations(id),
    kind         TEXT NOT NULL,
    description  TEXT NOT NULL,
    status       TEXT NOT NULL,
    response     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    resolved_by  INTEGER REFERENCES users(id),
    resolved_at  INTEGER
);
CREATE INDEX quality_tasks_org ON quality_tasks(org_id, status);
