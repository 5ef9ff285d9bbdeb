//! Catalog pages (placeholder until written).
