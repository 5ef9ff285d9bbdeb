-- Foundation schema: regions, organisations, accounts, sessions, API keys, audit chain.
-- Times are microseconds since the Unix epoch (UTC) in 64-bit integers.

CREATE TABLE regions (
    id        INTEGER PRIMARY KEY,
    code      TEXT NOT NULL UNIQUE,
    name      TEXT NOT NULL,
    level     TEXT NOT NULL,
    parent_id INTEGER REFERENCES regions(id)
);

CREATE TABLE organisations (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    credit_code TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    region_id   INTEGER NOT NULL REFERENCES regions(id),
    parent_id   INTEGER REFERENCES organisations(id),
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    org_id        INTEGER REFERENCES organisations(id),
    roles         TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    INTEGER NOT NULL
);

CREATE TABLE data_officers (
    id      INTEGER PRIMARY KEY,
    org_id  INTEGER NOT NULL REFERENCES organisations(id),
    name    TEXT NOT NULL,
    title   TEXT NOT NULL,
    phone   TEXT NOT NULL,
    email   TEXT NOT NULL,
    user_id INTEGER REFERENCES users(id)
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    org_id      INTEGER REFERENCES organisations(id),
    secret_hash TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE TABLE audit_events (
    seq          INTEGER PRIMARY KEY,
    at_micros    INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    actor_id     INTEGER,
    org_id       INTEGER,
    role         TEXT NOT NULL,
    action       TEXT NOT NULL,
    object       TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    detail       TEXT NOT NULL,
    alg          TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events(at_micros);
CREATE INDEX audit_events_action ON audit_events(action);

-- The chain is append-only. Someone with write access to the file can drop these triggers;
-- the hash chain and the signed checkpoints are what detect that.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

CREATE TABLE audit_checkpoints (
    seq        INTEGER PRIMARY KEY,
    hash       TEXT NOT NULL,
    at_micros  INTEGER NOT NULL,
    public_key TEXT NOT NULL,
    signature  TEXT NOT NULL
);
