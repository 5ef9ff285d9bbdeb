-- Signed checkpoints are append-only like the events they sign: deleting them would leave a
-- rewritten chain with nothing to be checked against. Someone with write access to the file can
-- drop these triggers; `pdp audit verify` then finds no checkpoint covering the chain and fails.
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
