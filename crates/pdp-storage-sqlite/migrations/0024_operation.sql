-- Authorized operation (授权运营, R-OPS): agreements, the operation resource catalog, scenario
-- applications, products, sales, exits with their destruction records, and each entity's
-- operation log. What a record states at length (terms, a scenario's list, a product's
-- statement, review answers) is JSON read into the domain's types; what is filtered or changed
-- on its own (status, parties, dates) has its own column.
CREATE TABLE op_agreements (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    grantor_org_id  INTEGER NOT NULL REFERENCES organisations(id),
    party_org_id    INTEGER NOT NULL REFERENCES organisations(id),
    parent_id       INTEGER REFERENCES op_agreements(id),
    renews_id       INTEGER REFERENCES op_agreements(id),
    selection_id    INTEGER,
    status          TEXT NOT NULL,
    starts_on       TEXT NOT NULL,
    ends_on         TEXT NOT NULL,
    terms           TEXT NOT NULL,
    rectify_by      TEXT,
    status_reason   TEXT NOT NULL DEFAULT '',
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX op_agreements_party ON op_agreements (party_org_id);

CREATE TABLE op_catalog (
    entry_id        INTEGER PRIMARY KEY REFERENCES catalog_entries(id),
    status          TEXT NOT NULL,
    basis           TEXT NOT NULL DEFAULT '',
    development     INTEGER NOT NULL DEFAULT 0,
    proposed_by     TEXT NOT NULL,
    decided_by      TEXT NOT NULL DEFAULT '',
    updated_at      INTEGER NOT NULL
);

CREATE TABLE op_scenarios (
    id                INTEGER PRIMARY KEY,
    developer_org_id  INTEGER NOT NULL REFERENCES organisations(id),
    agreement_id      INTEGER NOT NULL REFERENCES op_agreements(id),
    state             TEXT NOT NULL,
    stages            TEXT NOT NULL,
    stage             TEXT,
    due_on            TEXT,
    starts_on         TEXT NOT NULL,
    ends_on           TEXT NOT NULL,
    input             TEXT NOT NULL,
    steps             TEXT NOT NULL,
    n_steps           INTEGER NOT NULL DEFAULT 0,
    submitted_by      TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX op_scenarios_developer ON op_scenarios (developer_org_id);

CREATE TABLE op_products (
    id                INTEGER PRIMARY KEY,
    developer_org_id  INTEGER NOT NULL REFERENCES organisations(id),
    agreement_id      INTEGER NOT NULL REFERENCES op_agreements(id),
    status            TEXT NOT NULL,
    input             TEXT NOT NULL,
    review            TEXT NOT NULL,
    status_reason     TEXT NOT NULL DEFAULT '',
    submitted_by      TEXT NOT NULL,
    listed_at         INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX op_products_developer ON op_products (developer_org_id);

CREATE TABLE op_sales (
    id                 INTEGER PRIMARY KEY,
    product_id         INTEGER NOT NULL REFERENCES op_products(id),
    developer_org_id   INTEGER NOT NULL REFERENCES organisations(id),
    buyer              TEXT NOT NULL,
    buyer_credit_code  TEXT NOT NULL,
    use_kind           TEXT NOT NULL,
    price_fen          INTEGER NOT NULL,
    public_fen         INTEGER NOT NULL,
    operator_fen       INTEGER NOT NULL,
    developer_fen      INTEGER NOT NULL,
    sold_on            TEXT NOT NULL,
    recorded_by        TEXT NOT NULL,
    created_at         INTEGER NOT NULL
);
CREATE INDEX op_sales_product ON op_sales (product_id);

CREATE TABLE op_exits (
    id               INTEGER PRIMARY KEY,
    org_id           INTEGER NOT NULL REFERENCES organisations(id),
    ground           TEXT NOT NULL,
    reason           TEXT NOT NULL,
    decided_by       TEXT NOT NULL,
    exited_on        TEXT NOT NULL,
    logs_kept_until  TEXT NOT NULL,
    effects          TEXT NOT NULL,
    created_at       INTEGER NOT NULL
);

CREATE TABLE op_log (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES organisations(id),
    at_micros  INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    object     TEXT NOT NULL
);
CREATE INDEX op_log_org ON op_log (org_id, id);
CREATE INDEX op_log_time ON op_log (at_micros);

-- The selection of the operation entity (R-OPS-02) and the evaluations (R-OPS-10).
CREATE TABLE op_selections (
    id                 INTEGER PRIMARY KEY,
    status             TEXT NOT NULL,
    announcement       TEXT NOT NULL,
    objection_ends_on  TEXT,
    winner_org_id      INTEGER REFERENCES organisations(id),
    result_note        TEXT NOT NULL DEFAULT '',
    objections         TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

CREATE TABLE op_candidates (
    id             INTEGER PRIMARY KEY,
    selection_id   INTEGER NOT NULL REFERENCES op_selections(id),
    org_id         INTEGER NOT NULL REFERENCES organisations(id),
    applied_by     TEXT NOT NULL,
    materials      TEXT NOT NULL,
    scores         TEXT NOT NULL,
    total          INTEGER,
    qualified      INTEGER,
    reviewed_by    TEXT NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    UNIQUE (selection_id, org_id)
);

CREATE TABLE op_evaluations (
    id             INTEGER PRIMARY KEY,
    org_id         INTEGER NOT NULL REFERENCES organisations(id),
    kind           TEXT NOT NULL,
    period_start   TEXT NOT NULL,
    period_end     TEXT NOT NULL,
    facts          TEXT NOT NULL,
    facts_score    INTEGER NOT NULL,
    judgement      INTEGER NOT NULL,
    comments       TEXT NOT NULL,
    total          INTEGER NOT NULL,
    passed         INTEGER NOT NULL,
    evaluator      TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX op_evaluations_org ON op_evaluations (org_id);

-- Social data offered for fusion development (R-OPS-07), reviewed before it enters the domain.
CREATE TABLE op_social (
    id                INTEGER PRIMARY KEY,
    developer_org_id  INTEGER NOT NULL REFERENCES organisations(id),
    status            TEXT NOT NULL,
    input             TEXT NOT NULL,
    filename          TEXT NOT NULL,
    accepted          INTEGER NOT NULL DEFAULT 0,
    quarantined       INTEGER NOT NULL DEFAULT 0,
    first_errors      TEXT NOT NULL,
    review            TEXT NOT NULL,
    submitted_by      TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
