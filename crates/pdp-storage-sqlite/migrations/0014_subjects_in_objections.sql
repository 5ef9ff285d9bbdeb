-- Data subjects in objections (R-OBJ-01): a public account is bound to the citizen ID number or
-- credit code its holder proved, one account per identifier; an objection says what is wrong
-- (a wrong value, missing data, data that infringes rights) and whether the record was found
-- when it was raised, which only the provider and the authority are shown.
ALTER TABLE users ADD COLUMN subject_kind TEXT;
ALTER TABLE users ADD COLUMN subject_id TEXT;
CREATE UNIQUE INDEX users_subject ON users(subject_kind, subject_id);
ALTER TABLE objections ADD COLUMN kind TEXT NOT NULL DEFAULT 'wrong';
ALTER TABLE objections ADD COLUMN record_found BOOLEAN NOT NULL DEFAULT TRUE;
