//! One integration-test binary: every area runs against SQLite and PostgreSQL through
//! the real HTTP server.

mod helpers;

mod audit;
mod bench_smoke;
mod bundles;
mod cli;
mod coding_audit;
mod coding_ops;
mod coding_write;
mod concurrency;
mod crud;
mod examples;
mod history;
mod import;
mod patch;
mod protocol;
mod registries;
mod reindex;
mod search;
mod search_examples;
mod security;
mod validation;
