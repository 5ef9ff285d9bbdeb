-- Public accounts register themselves on the open portal with a citizen ID or credit code that
-- nobody has proved yet (it binds nothing); an identity provider may later confirm the real name.
ALTER TABLE users ADD COLUMN claimed_kind TEXT;
ALTER TABLE users ADD COLUMN claimed_id TEXT;
ALTER TABLE users ADD COLUMN real_name BOOLEAN NOT NULL DEFAULT FALSE;
