#!/usr/bin/env bash
# PostgreSQL's counterpart of sqlite-layout-floor.sh: the ceiling chartroom's storage
# layout puts on the ingest ratio, measured inside the server with no chartroom code
# running. In a scratch schema of an ingested database, every non-empty table is copied
# row by row into an empty twin (same columns, indexes and constraints), next to the raw
# baseline (the same resources' JSON into one table keyed by id). Each step is one
# statement, so one transaction.
#
#   bench/postgres-layout-floor.sh postgres://user@host:port/ingested_db
#
# Needs psql. Prints seconds per step and the floor ratio (raw ÷ layout).
set -euo pipefail
url=$1
scratch=layout_floor
run() { psql "$url" -X -q -v ON_ERROR_STOP=1 "$@"; }

tables=$(run -At -c "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind = 'r'
      AND c.relname NOT IN ('import_progress') AND c.relname NOT LIKE '\_\_%'
    ORDER BY c.relname" | while read -r t; do
    [ "$(run -At -c "SELECT EXISTS (SELECT 1 FROM public.\"$t\")")" = t ] && echo "$t"
done)

run -c "DROP SCHEMA IF EXISTS $scratch CASCADE" -c "CREATE SCHEMA $scratch" \
    -c "CREATE TABLE $scratch.raw (id TEXT PRIMARY KEY, body JSONB NOT NULL)"
trap 'run -c "SET client_min_messages = warning" -c "DROP SCHEMA IF EXISTS $scratch CASCADE"' EXIT
for t in $tables; do
    run -c "CREATE TABLE $scratch.\"$t\" (LIKE public.\"$t\" INCLUDING ALL)"
done

# seconds the statement takes, by the server's clock
timed() {
    run -At -c "DO \$\$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN $1;
        RAISE NOTICE '%', extract(epoch FROM clock_timestamp() - t0); END \$\$" 2>&1 |
        sed -n 's/^NOTICE: *//p'
}

resources=$(run -At -c "SELECT COUNT(*) FROM public.resource_versions")
raw=$(timed "INSERT INTO $scratch.raw SELECT res_type || '/' || res_id || '/' || version, content
    FROM public.resource_versions WHERE content IS NOT NULL ORDER BY seq")
echo "| step | s | resources/s |"
echo "|---|---|---|"
printf '| %s | %.3f | %.0f |\n' "raw baseline (one table)" "$raw" "$(echo "$resources / $raw" | bc -l)"
layout=0
for t in $tables; do
    s=$(timed "INSERT INTO $scratch.\"$t\" SELECT * FROM public.\"$t\"")
    layout=$(echo "$layout + $s" | bc -l)
    printf '| %s | %.3f | %.0f |\n' "$t" "$s" "$(echo "$resources / $s" | bc -l)"
done
printf '| %s | %.3f | %.0f |\n' "layout, all rows" "$layout" "$(echo "$resources / $layout" | bc -l)"
printf '\nfloor ratio (raw s ÷ layout s): %.3f for %s versions\n' "$(echo "$raw / $layout" | bc -l)" "$resources"
