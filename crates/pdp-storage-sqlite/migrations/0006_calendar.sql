-- Holiday tables the authority added on the platform, laid over the ones shipped in the binary
-- (the State Council publishes next year's table in November, often after a release).

CREATE TABLE holiday_tables (
    year      INTEGER PRIMARY KEY,
    source    TEXT NOT NULL,
    -- JSON arrays of dates and inclusive ranges, as the shipped TOML files write them.
    holidays  TEXT NOT NULL,
    workdays  TEXT NOT NULL,
    added_by  TEXT NOT NULL,
    added_at  INTEGER NOT NULL
);
