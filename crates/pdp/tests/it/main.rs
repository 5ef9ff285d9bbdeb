//! Integration tests: the real `pdp` binary on port 0, real databases (SQLite always,
//! PostgreSQL when `TEST_POSTGRES_URL` is set, as CI does), real HTTP.

mod server;

mod audit;
mod browser;
mod catalog;
mod cli;
mod datasets;
mod governance;
mod hostile;
mod openapi;
mod routes;
mod scope;
mod sharing;
mod story;
