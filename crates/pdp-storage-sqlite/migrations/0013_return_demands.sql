-- City data districts need returned (回流需求清单, R-CAT-05): a district lists what it needs,
-- the authority meets a demand with a district return or declines it with a reason.
CREATE TABLE return_demands (
    id              INTEGER PRIMARY KEY,
    region_id       INTEGER NOT NULL REFERENCES regions(id),
    org_id          INTEGER NOT NULL REFERENCES organisations(id),
    requested_by    TEXT NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL,
    entry_id        INTEGER REFERENCES catalog_entries(id),
    status          TEXT NOT NULL,
    return_id       INTEGER REFERENCES district_returns(id),
    response        TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX return_demands_region ON return_demands(region_id, status);
