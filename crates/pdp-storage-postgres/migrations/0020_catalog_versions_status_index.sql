-- Publishing an entry supersedes its earlier published version by entry and status: indexed by
-- status and entry, the statement finds its rows directly whatever the planner's statistics
-- (SQLite's chose the status index and visited every published version); lookups by status
-- alone still use it.
DROP INDEX catalog_versions_status;
CREATE INDEX catalog_versions_status ON catalog_versions (status, entry_id);
