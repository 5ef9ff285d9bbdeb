-- Harvesting already-public data from other portals (R-OPN-07, route 3): the sources, what
-- each harvested dataset became, and the log of every run with one row per record.
CREATE TABLE harvest_sources (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    url             TEXT NOT NULL,
    schedule_hours  INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE TABLE harvest_records (
    source_id       INTEGER NOT NULL REFERENCES harvest_sources(id),
    identifier      TEXT NOT NULL,
    entry_id        INTEGER NOT NULL REFERENCES catalog_entries(id),
    entry_version   INTEGER NOT NULL,
    release_id      INTEGER REFERENCES open_releases(id),
    fingerprint     TEXT NOT NULL,
    modified        TEXT NOT NULL,
    withdrawn       INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (source_id, identifier)
);
CREATE INDEX harvest_records_release ON harvest_records (release_id);

CREATE TABLE harvest_runs (
    id              INTEGER PRIMARY KEY,
    source_id       INTEGER NOT NULL REFERENCES harvest_sources(id),
    started_by      TEXT NOT NULL,
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    status          TEXT NOT NULL,
    n_new             INTEGER NOT NULL DEFAULT 0,
    n_changed         INTEGER NOT NULL DEFAULT 0,
    n_unchanged       INTEGER NOT NULL DEFAULT 0,
    n_withdrawn       INTEGER NOT NULL DEFAULT 0,
    n_held            INTEGER NOT NULL DEFAULT 0,
    n_skipped         INTEGER NOT NULL DEFAULT 0,
    n_failed          INTEGER NOT NULL DEFAULT 0,
    message         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX harvest_runs_source ON harvest_runs (source_id, id);

CREATE TABLE harvest_run_items (
    id              INTEGER PRIMARY KEY,
    run_id          INTEGER NOT NULL REFERENCES harvest_runs(id),
    identifier      TEXT NOT NULL,
    title           TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    entry_id        INTEGER,
    release_id      INTEGER,
    reason          TEXT NOT NULL
);
CREATE INDEX harvest_run_items_run ON harvest_run_items (run_id, id);
