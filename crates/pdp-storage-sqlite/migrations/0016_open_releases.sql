-- Open releases (开放, R-OPN): reviewed, masked copies of a dataset version that the public
-- portal serves. The rows are one immutable file under the lake's `_open/` directory; this table
-- records where each came from (entry, version, route, rules), who prepared and who reviewed it.
CREATE TABLE open_releases (
    id              INTEGER PRIMARY KEY,
    entry_id        INTEGER NOT NULL REFERENCES catalog_entries(id),
    dataset         TEXT NOT NULL,
    org_id          INTEGER NOT NULL REFERENCES organisations(id),
    route           TEXT NOT NULL,
    source_version  INTEGER NOT NULL,
    rules           TEXT NOT NULL,
    schema_digest   TEXT NOT NULL,
    open_type       TEXT NOT NULL,
    status          TEXT NOT NULL,
    row_count       INTEGER NOT NULL,
    byte_count      INTEGER NOT NULL,
    file            TEXT NOT NULL,
    prepared_by     TEXT NOT NULL,
    prepared_at     INTEGER NOT NULL,
    reviewed_by     TEXT,
    reviewed_at     INTEGER,
    review          TEXT,
    published_at    INTEGER,
    previous_id     INTEGER REFERENCES open_releases(id),
    note            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX open_releases_entry ON open_releases (entry_id, id);
CREATE INDEX open_releases_status ON open_releases (status, id);

-- Applications for on-application data (R-OPN-06): the provider decides by a working-day
-- deadline; a refusal may go to the authority for review; an approval grants the applicant
-- watermarked files of the fields applied for, until the period ends.
CREATE TABLE open_applications (
    id                 INTEGER PRIMARY KEY,
    entry_id           INTEGER NOT NULL REFERENCES catalog_entries(id),
    dataset            TEXT NOT NULL,
    org_id             INTEGER NOT NULL REFERENCES organisations(id),
    applicant_id       INTEGER NOT NULL REFERENCES users(id),
    applicant_name     TEXT NOT NULL,
    purpose            TEXT NOT NULL,
    scenario           TEXT NOT NULL,
    fields             TEXT NOT NULL,
    until_date         TEXT NOT NULL,
    security_measures  TEXT NOT NULL,
    commercial         BOOLEAN NOT NULL,
    licence_version    TEXT,
    status             TEXT NOT NULL,
    due_date           TEXT NOT NULL,
    decided_by         TEXT,
    decided_at         INTEGER,
    reason             TEXT NOT NULL DEFAULT '',
    appeal             TEXT NOT NULL DEFAULT '',
    secret             BLOB NOT NULL,
    created_at         INTEGER NOT NULL
);
CREATE INDEX open_applications_applicant ON open_applications (applicant_id, id);
CREATE INDEX open_applications_org ON open_applications (org_id, id);
