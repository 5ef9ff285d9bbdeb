-- Theme databases (主题库/专题库, R-AGG-06): the city's authority selects fields of datasets
-- about one kind of subject; the theme is a catalog entry and a dataset of its own, provided by
-- its lead organisation, rebuilt from its members whenever one of them loads.
CREATE TABLE themes (
    id                  INTEGER PRIMARY KEY,
    entry_id            INTEGER NOT NULL UNIQUE REFERENCES catalog_entries(id),
    dataset             TEXT NOT NULL,
    subject             TEXT NOT NULL,
    members             TEXT NOT NULL,
    created_by          TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    refreshed_version   INTEGER,
    refreshed_rows      INTEGER,
    refreshed_at        INTEGER
);
