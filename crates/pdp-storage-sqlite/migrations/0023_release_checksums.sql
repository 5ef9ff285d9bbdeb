-- The SHA-256 of each release's Parquet file, published as its DCAT checksum (empty for
-- releases written before it was kept).
ALTER TABLE open_releases ADD COLUMN sha256 TEXT NOT NULL DEFAULT '';
