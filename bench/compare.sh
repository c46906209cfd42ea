#!/usr/bin/env sh
# Usage: bench/compare.sh A B [chartroom-bench arguments]
# Builds commits A and B in temporary worktrees, runs a short benchmark on each
# (default: 300 patients, 3 s per workload, both stores) and prints B/A ratios of the
# main figures (> 1 means B is faster, except for latencies where < 1 is better).
set -eu
[ $# -ge 2 ] || { echo "usage: $0 A B [chartroom-bench args]" >&2; exit 2; }
A=$1; B=$2; shift 2
ROOT=$(git rev-parse --show-toplevel)
WORK=$(mktemp -d)
trap 'git -C "$ROOT" worktree remove --force "$WORK/a" 2>/dev/null; git -C "$ROOT" worktree remove --force "$WORK/b" 2>/dev/null; rm -rf "$WORK"' EXIT
for side in a b; do
  if [ "$side" = a ]; then REV=$A; else REV=$B; fi
  git -C "$ROOT" worktree add --detach "$WORK/$side" "$REV" >/dev/null
  # Shares compiled dependencies between the two builds.
  CARGO_TARGET_DIR="$ROOT/target/compare" cargo build --release --bin chartroom-bench \
    --manifest-path "$WORK/$side/Cargo.toml"
  cp "$ROOT/target/compare/release/chartroom-bench" "$WORK/bench-$side"
  mkdir -p "$WORK/out-$side"
  "$WORK/bench-$side" --patients 300 --seconds 3 --date run --out "$WORK/out-$side" "$@" >/dev/null
done
python3 - "$WORK/out-a" "$WORK/out-b" "$A" "$B" <<'PY'
import json, os, sys
a_dir, b_dir, a_name, b_name = sys.argv[1:5]
def figures(r):
    f = {"ingest resources/s": r["ingest"]["resources_per_s"]}
    for c, s in r["read"]:
        f[f"read req/s @{c}"] = s["req_per_s"]
        f[f"read p50 ms @{c}"] = s["p50_ms"]
    f["create req/s"] = r["create"]["req_per_s"]
    f["update req/s"] = r["update"]["req_per_s"]
    for s in r["searches"]:
        f[f"{s['query']} req/s"] = s["stats"]["req_per_s"]
    return f
for name in sorted(os.listdir(a_dir)):
    if not name.endswith(".json") or not os.path.exists(os.path.join(b_dir, name)):
        continue
    a = figures(json.load(open(os.path.join(a_dir, name))))
    b = figures(json.load(open(os.path.join(b_dir, name))))
    print(f"\n{name[4:-5]}: {b_name} / {a_name}")
    for key, va in a.items():
        vb = b.get(key)
        ratio = f"{vb / va:.2f}" if vb is not None and va else "n/a"
        print(f"  {key:<70} {va:>10.2f} {vb if vb is not None else float('nan'):>10.2f}  {ratio}")
PY
