//! One integration-test binary: every area runs against SQLite and PostgreSQL through
//! the real HTTP server.

mod helpers;

mod audit;
mod coding_audit;
mod coding_ops;
mod coding_write;
mod concurrency;
mod crud;
mod examples;
mod history;
mod protocol;
mod reindex;
mod search;
mod search_examples;
mod security;
mod validation;
