#!/usr/bin/env bash
# The ceiling chartroom's storage layout puts on the ingest ratio, measured inside SQLite
# with no chartroom code running: every row of an ingested database is copied, in one
# transaction per table group, into a fresh database with chartroom's schema, next to the
# raw baseline (the same resources' JSON into one table keyed by id).
#
#   bench/sqlite-layout-floor.sh chartroom.db [path/to/chartroom]
#
# Needs the sqlite3 shell. Prints seconds per step and the floor ratio (raw ÷ layout).
set -euo pipefail
src=$(realpath "$1")
chartroom=${2:-target/release/chartroom}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fresh() {
    "$chartroom" migrate --database-url "sqlite://$work/$1.db" >/dev/null 2>&1
    echo "$work/$1.db"
}

# seconds taken by the SQL on stdin against database $1
timed() {
    local db=$1 start end
    start=$(date +%s.%N)
    { echo "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; ATTACH '$src' AS src;"; cat; } |
        sqlite3 "$db" >/dev/null
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

copy() {
    local table
    echo "BEGIN;"
    # LIMIT -1 (no limit) keeps SQLite from its transfer optimisation, which would copy the
    # tables' and indexes' B-trees page by page in key order instead of inserting row by row
    for table in "$@"; do echo "INSERT INTO main.$table SELECT * FROM src.$table LIMIT -1;"; done
    echo "COMMIT;"
}

group() {
    sqlite3 "$src" "SELECT name FROM sqlite_master WHERE type = 'table' AND $1 ORDER BY name" |
        while read -r table; do
            [ "$(sqlite3 "$src" "SELECT EXISTS (SELECT 1 FROM \"$table\")")" = 1 ] && echo "$table"
        done
}

resources=$(sqlite3 "$src" "SELECT COUNT(*) FROM resource_versions")
raw_db=$(fresh raw)
raw=$(timed "$raw_db" <<'SQL'
CREATE TABLE raw (id TEXT PRIMARY KEY, body TEXT NOT NULL);
BEGIN;
INSERT INTO raw SELECT res_type || '/' || res_id || '/' || version, content FROM src.resource_versions ORDER BY seq;
COMMIT;
SQL
)
db=$(fresh layout)
versions=$(copy resources resource_versions | timed "$db")
# shellcheck disable=SC2046
indexes=$(copy $(group "name LIKE 'idx\_%' ESCAPE '\\'") | timed "$db")
# shellcheck disable=SC2046
rest=$(copy $(group "name NOT LIKE 'idx\_%' ESCAPE '\\' AND name NOT IN ('resources', 'resource_versions', 'import_progress') AND name NOT LIKE '\_\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\_%' ESCAPE '\\'") | timed "$db")
layout=$(echo "$versions + $indexes + $rest" | bc)
echo "| step | s | resources/s |"
echo "|---|---|---|"
for row in "raw baseline (one table):$raw" "resources + resource_versions:$versions" \
    "search index tables:$indexes" "projections, audit, Tasks' tables:$rest" "layout, all rows:$layout"; do
    printf '| %s | %.3f | %.0f |\n' "${row%%:*}" "${row##*:}" "$(echo "$resources / ${row##*:}" | bc -l)"
done
printf '\nfloor ratio (raw s ÷ layout s): %.3f for %s versions\n' "$(echo "$raw / $layout" | bc -l)" "$resources"
