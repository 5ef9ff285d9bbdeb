-- Catalog: entries and their versions, change events with update deadlines, information systems.
-- An entry's body is the JSON of pdp_domain::catalog::EntryBody; the columns beside it are copies
-- of the body's values that listings filter on.

CREATE TABLE catalog_entries (
    id                INTEGER PRIMARY KEY,
    code              TEXT NOT NULL UNIQUE,
    classification    TEXT NOT NULL,
    seq               INTEGER NOT NULL,
    org_id            INTEGER NOT NULL REFERENCES organisations(id),
    published_version INTEGER,
    latest_version    INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    UNIQUE (classification, seq)
);
CREATE INDEX catalog_entries_org ON catalog_entries(org_id);

CREATE TABLE catalog_versions (
    entry_id      INTEGER NOT NULL REFERENCES catalog_entries(id),
    version       INTEGER NOT NULL,
    status        TEXT NOT NULL,
    name          TEXT NOT NULL,
    class         TEXT NOT NULL,
    grade         TEXT NOT NULL,
    share_type    TEXT NOT NULL,
    open_type     TEXT NOT NULL,
    body          TEXT NOT NULL,
    author_id     INTEGER REFERENCES users(id),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    submitted_at  INTEGER,
    reviewer_id   INTEGER REFERENCES users(id),
    reviewed_at   INTEGER,
    review_reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (entry_id, version)
);
CREATE INDEX catalog_versions_status ON catalog_versions(status);

CREATE TABLE catalog_change_events (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations(id),
    kind        TEXT NOT NULL,
    description TEXT NOT NULL,
    event_date  TEXT NOT NULL,
    due_date    TEXT NOT NULL,
    created_by  INTEGER REFERENCES users(id),
    created_at  INTEGER NOT NULL
);

CREATE TABLE catalog_deadlines (
    entry_id INTEGER NOT NULL REFERENCES catalog_entries(id),
    event_id INTEGER NOT NULL REFERENCES catalog_change_events(id),
    due_date TEXT NOT NULL,
    met_at   INTEGER,
    PRIMARY KEY (entry_id, event_id)
);

CREATE TABLE info_systems (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES organisations(id),
    name       TEXT NOT NULL,
    owner      TEXT NOT NULL,
    funding    TEXT NOT NULL,
    status     TEXT NOT NULL,
    items      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (org_id, name)
);
