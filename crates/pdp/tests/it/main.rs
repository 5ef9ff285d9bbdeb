//! Integration tests: the real `pdp` binary on port 0, real databases (SQLite, or PostgreSQL
//! when `TEST_POSTGRES_URL` is set, as CI's second run does), real HTTP; and the storage
//! contract in process (`storage`).

mod server;

mod audit;
mod browser;
mod catalog;
mod ckan;
mod cli;
mod datasets;
mod governance;
mod harvest;
mod hostile;
mod open;
mod openapi;
mod operation;
mod routes;
mod scope;
mod sharing;
mod storage;
mod story;
