-- Webhooks of registered accounts (R-OPN-09): a URL posted to when a followed dataset or
-- organisation gets a newly published release. A release is announced once; those published
-- before webhooks existed count as announced.
CREATE TABLE open_subscriptions (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    entry_id     INTEGER REFERENCES catalog_entries(id),
    org_id       INTEGER REFERENCES organisations(id),
    url          TEXT NOT NULL,
    secret       BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    deliveries   INTEGER NOT NULL DEFAULT 0,
    failures     INTEGER NOT NULL DEFAULT 0,
    last_at      INTEGER,
    last_status  INTEGER,
    last_error   TEXT NOT NULL DEFAULT '',
    CHECK ((entry_id IS NULL) <> (org_id IS NULL))
);
CREATE INDEX open_subscriptions_user ON open_subscriptions (user_id);
ALTER TABLE open_releases ADD COLUMN announced INTEGER NOT NULL DEFAULT 0;
UPDATE open_releases SET announced = 1 WHERE status = 'published';
CREATE INDEX open_releases_unannounced ON open_releases (id) WHERE announced = 0;

-- Applicants' reports on the use of granted on-application data (R-OPN-06).
CREATE TABLE open_application_reports (
    id              INTEGER PRIMARY KEY,
    application_id  INTEGER NOT NULL REFERENCES open_applications(id),
    uses            TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    incidents       TEXT NOT NULL,
    filed_by        TEXT NOT NULL,
    filed_at        INTEGER NOT NULL
);
CREATE INDEX open_application_reports_application ON open_application_reports (application_id);
ALTER TABLE open_applications ADD COLUMN reports INTEGER NOT NULL DEFAULT 0;
