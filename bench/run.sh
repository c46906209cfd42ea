#!/usr/bin/env sh
# Builds chartroom in release mode and runs the benchmark on SQLite and PostgreSQL.
# Arguments go to chartroom-bench (e.g. --patients 10000 --seconds 5); results land in
# bench/results/. PostgreSQL: --pg-url or CHARTROOM_BENCH_PG_URL
# (default postgres://postgres@127.0.0.1:5432/test).
set -eu
cd "$(dirname "$0")/.."
cargo build --release --bin chartroom-bench
exec ./target/release/chartroom-bench --out bench/results "$@"
