-- An account whose password someone else chose (the administrator who created it) chooses its
-- own at its first login: the administrator never knows a password in use.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
