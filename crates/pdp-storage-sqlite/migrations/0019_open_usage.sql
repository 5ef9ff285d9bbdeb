-- Use of open data in public (R-OPN-08 and the portal's statistics): page views, downloads and
-- API calls per release and day, added in batches from the server's counters.
CREATE TABLE open_usage (
    release_id  INTEGER NOT NULL REFERENCES open_releases(id),
    entry_id    INTEGER NOT NULL,
    org_id      INTEGER NOT NULL,
    day         TEXT NOT NULL,
    views       INTEGER NOT NULL DEFAULT 0,
    downloads   INTEGER NOT NULL DEFAULT 0,
    api_calls   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (release_id, day)
);
CREATE INDEX open_usage_day ON open_usage (day);
