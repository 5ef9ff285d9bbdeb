-- No query reads audit events by exact action: the audit search matches a prefix of it
-- (substr(action, 1, n) = $2), which this index cannot serve, and every other read goes by
-- seq. Yet every event paid for it, one more B-tree insert (and, in SQLite, one more page in
-- the write-ahead log per commit) on the data-access path, where each access writes one event.
DROP INDEX audit_events_action;
