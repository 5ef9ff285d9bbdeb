-- Sharing between organisations (R-SHR): scenarios, emergencies, requests with notes, grants
-- and usage, usage reports, the demand list and upward requests.
-- Lists (fields, masking, row filters) are JSON text: they are read and written whole.

CREATE TABLE share_scenarios (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    entry_id     INTEGER NOT NULL REFERENCES catalog_entries(id),
    mode         TEXT NOT NULL,
    fields       TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    legal_basis  TEXT NOT NULL,
    grant_days   INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);

-- An emergency raises the share type of chosen entries for chosen organisations until it ends
-- (R-SHR-10); requests and grants made under it name it.
CREATE TABLE share_emergencies (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    scope           TEXT NOT NULL,
    raise_to        TEXT NOT NULL,
    entry_ids       TEXT NOT NULL,
    org_ids         TEXT NOT NULL,
    starts_at       INTEGER NOT NULL,
    ends_at         INTEGER NOT NULL,
    declared_by     TEXT NOT NULL,
    ended_early_at  INTEGER,
    end_reason      TEXT NOT NULL
);

CREATE TABLE share_grants (
    id               INTEGER PRIMARY KEY,
    request_id       INTEGER,
    entry_id         INTEGER NOT NULL REFERENCES catalog_entries(id),
    dataset          TEXT NOT NULL,
    provider_org_id  INTEGER NOT NULL REFERENCES organisations(id),
    user_org_id      INTEGER NOT NULL REFERENCES organisations(id),
    scenario         TEXT NOT NULL,
    purpose          TEXT NOT NULL,
    mode             TEXT NOT NULL,
    fields           TEXT NOT NULL,
    masking          TEXT NOT NULL,
    row_filters      TEXT NOT NULL,
    min_group        INTEGER NOT NULL,
    expires_on       TEXT NOT NULL,
    status           TEXT NOT NULL,
    pseudonym_key    BLOB NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    changed_at       INTEGER,
    change_reason    TEXT NOT NULL,
    accesses         INTEGER NOT NULL DEFAULT 0,
    rows_served      INTEGER NOT NULL DEFAULT 0,
    last_access      INTEGER,
    emergency_id     INTEGER REFERENCES share_emergencies(id)
);
CREATE INDEX share_grants_user ON share_grants(user_org_id, status);
CREATE INDEX share_grants_provider ON share_grants(provider_org_id, status);

CREATE TABLE share_requests (
    id                 INTEGER PRIMARY KEY,
    requester_org_id   INTEGER NOT NULL REFERENCES organisations(id),
    requester_user_id  INTEGER NOT NULL REFERENCES users(id),
    requester_name     TEXT NOT NULL,
    entry_id           INTEGER NOT NULL REFERENCES catalog_entries(id),
    dataset            TEXT NOT NULL,
    provider_org_id    INTEGER NOT NULL REFERENCES organisations(id),
    fields             TEXT NOT NULL,
    mode               TEXT NOT NULL,
    scenario_id        INTEGER REFERENCES share_scenarios(id),
    scenario           TEXT NOT NULL,
    legal_basis        TEXT NOT NULL,
    purpose            TEXT NOT NULL,
    until_date         TEXT NOT NULL,
    pledged            INTEGER NOT NULL,
    share_type         TEXT NOT NULL,
    route              TEXT NOT NULL,
    status             TEXT NOT NULL,
    beyond_need        TEXT NOT NULL,
    submitted_at       INTEGER NOT NULL,
    due_date           TEXT NOT NULL,
    escalated_at       INTEGER,
    decided_by         INTEGER REFERENCES users(id),
    decided_at         INTEGER,
    decision_reason    TEXT NOT NULL,
    grant_id           INTEGER REFERENCES share_grants(id),
    emergency_id       INTEGER REFERENCES share_emergencies(id)
);
CREATE INDEX share_requests_requester ON share_requests(requester_org_id, status);
CREATE INDEX share_requests_provider ON share_requests(provider_org_id, status);

CREATE TABLE share_request_notes (
    id           INTEGER PRIMARY KEY,
    request_id   INTEGER NOT NULL REFERENCES share_requests(id),
    author_id    INTEGER REFERENCES users(id),
    author_name  TEXT NOT NULL,
    org_id       INTEGER REFERENCES organisations(id),
    kind         TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX share_request_notes_request ON share_request_notes(request_id);

-- Periodic usage reports of a grant's user (R-SHR-13).
CREATE TABLE share_usage_reports (
    id            INTEGER PRIMARY KEY,
    grant_id      INTEGER NOT NULL REFERENCES share_grants(id),
    period_end    TEXT NOT NULL,
    body          TEXT NOT NULL,
    filed_by      INTEGER NOT NULL REFERENCES users(id),
    filed_by_name TEXT NOT NULL,
    filed_at      INTEGER NOT NULL
);
CREATE INDEX share_usage_reports_grant ON share_usage_reports(grant_id);

-- Data no catalog entry provides (R-SHR-11): asked by an organisation, assigned by the
-- authority to a provider, tracked until closed.
CREATE TABLE share_demands (
    id                 INTEGER PRIMARY KEY,
    requester_org_id   INTEGER NOT NULL REFERENCES organisations(id),
    requester_user_id  INTEGER NOT NULL REFERENCES users(id),
    requester_name     TEXT NOT NULL,
    title              TEXT NOT NULL,
    description        TEXT NOT NULL,
    purpose            TEXT NOT NULL,
    status             TEXT NOT NULL,
    provider_org_id    INTEGER REFERENCES organisations(id),
    entry_id           INTEGER REFERENCES catalog_entries(id),
    response           TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

-- Requests for data held at provincial or national level (R-SHR-15): collected by the city
-- authority, forwarded in batches, tracked until answered.
CREATE TABLE share_upward (
    id                 INTEGER PRIMARY KEY,
    requester_org_id   INTEGER NOT NULL REFERENCES organisations(id),
    requester_user_id  INTEGER NOT NULL REFERENCES users(id),
    requester_name     TEXT NOT NULL,
    level              TEXT NOT NULL,
    holder             TEXT NOT NULL,
    data_wanted        TEXT NOT NULL,
    purpose            TEXT NOT NULL,
    legal_basis        TEXT NOT NULL,
    status             TEXT NOT NULL,
    batch              TEXT NOT NULL,
    response           TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE INDEX share_upward_status ON share_upward(status);
