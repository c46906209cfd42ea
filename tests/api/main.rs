//! One integration-test binary: every area runs against SQLite and PostgreSQL through
//! the real HTTP server.

mod helpers;

mod audit;
mod bench_smoke;
mod bundle_access;
mod bundles;
mod cli;
mod coding_audit;
mod coding_ops;
mod coding_write;
mod concurrency;
mod contract;
mod crud;
mod deficiencies;
mod deploy;
mod doctor;
mod examples;
mod export;
mod history;
mod import;
mod jwks;
mod leaks;
mod mpi;
mod observability;
mod openapi;
mod patch;
mod planner_stats;
mod protocol;
mod record_indexes;
mod records_workflow;
mod registries;
mod reindex;
mod reports;
mod scope_queries;
mod search;
mod search_examples;
mod search_plans;
mod search_value_sets;
mod security;
mod validation;
