//! Pure domain rules of the Public Data Platform (公共数据平台).
//!
//! This crate holds the rules that the regulations fix and that every other crate must agree on:
//! identifier validation (GB 11643 citizen ID numbers, GB 32100 unified social credit codes), the
//! working-day calendar used for every statutory deadline, organisation kinds, roles, permissions
//! and the separation of duties, and the resource catalog with its consistency rules and review
//! workflow. It performs no IO: no files, no network, no database, no clock except where a
//! function says so in its name, so that every rule can be tested in isolation.

pub mod calendar;
pub mod catalog;
pub mod dataset;
pub mod document;
pub mod error;
pub mod fingerprint;
pub mod harvest;
pub mod ids;
pub mod open;
pub mod operation;
pub mod org;
pub mod pattern;
pub mod roles;
pub mod sharing;
pub mod social;
pub mod subject;
pub mod webhook;

pub use error::Localized;
