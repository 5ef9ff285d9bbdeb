-- The public's side of opening (R-OPN-09): requests for data not yet open, routed by the
-- authority to a provider and answered by a deadline; ratings and comments of open datasets.
CREATE TABLE open_requests (
    id              INTEGER PRIMARY KEY,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL,
    requester_id    INTEGER NOT NULL REFERENCES users(id),
    requester_name  TEXT NOT NULL,
    status          TEXT NOT NULL,
    org_id          INTEGER REFERENCES organisations(id),
    entry_id        INTEGER REFERENCES catalog_entries(id),
    answer          TEXT NOT NULL DEFAULT '',
    due_date        TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE TABLE open_ratings (
    entry_id    INTEGER NOT NULL REFERENCES catalog_entries(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    user_name   TEXT NOT NULL,
    stars       INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment     TEXT NOT NULL,
    at_micros   INTEGER NOT NULL,
    PRIMARY KEY (entry_id, user_id)
);
