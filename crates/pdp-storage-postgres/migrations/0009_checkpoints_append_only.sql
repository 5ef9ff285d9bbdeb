-- Signed checkpoints are append-only like the events they sign: deleting them would leave a
-- rewritten chain with nothing to be checked against. Someone who can alter the table can
-- disable this trigger; `pdp audit verify` then finds no checkpoint covering the chain and fails.
CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit checkpoints are append-only'; END;
$$;
CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints
FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only();
