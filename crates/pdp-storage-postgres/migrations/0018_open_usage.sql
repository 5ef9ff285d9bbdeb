-- Use of open data in public (R-OPN-08 and the portal's statistics): page views, downloads and
-- API calls per release and day, added in batches from the server's counters.
CREATE TABLE open_usage (
    release_id  BIGINT NOT NULL REFERENCES open_releases(id),
    entry_id    BIGINT NOT NULL,
    org_id      BIGINT NOT NULL,
    day         TEXT NOT NULL,
    views       BIGINT NOT NULL DEFAULT 0,
    downloads   BIGINT NOT NULL DEFAULT 0,
    api_calls   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (release_id, day)
);
CREATE INDEX open_usage_day ON open_usage (day);
