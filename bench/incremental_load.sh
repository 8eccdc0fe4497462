#!/usr/bin/env bash
# Incremental load after 0.1 % of the sales changed, against the full load of
# the same table, at two sizes (default 1 M and 10 M sales). The issue's goal:
# the incremental load takes at most 2 % of the full load's time, and the same
# time at both sizes. Prints each job's steps: the load proper
# (extract+land+raw, one transaction) and the TRUSTED merge.
#
#   bench/incremental_load.sh [SIZES...]     (default: 1000000 10000000)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1000000 10000000}")
[[ $# -gt 0 ]] || sizes=(1000000 10000000)
dir=var/bench-pg; port=5440; lake_port=18097

scripts/install-deps
. scripts/node-env
[[ -f build-release/build.ninja ]] || meson setup build-release --buildtype=release >/dev/null
meson compile -C build-release >/dev/null
scripts/pg start $dir $port
sup="postgresql:///postgres?host=$PWD/$dir/run&port=$port&user=postgres"

step_seconds() { # job json, step name -> seconds between its start and end (ms clock)
  jq -r --arg s "$2" '[.steps[] | select(.name == $s)][0] |
    if . == null or .finished_at == null then "-" else
    ([.started_at, .finished_at] | map(capture("T(?<h>..):(?<m>..):(?<s>..\\.[0-9]+)Z")
      | (.h | tonumber) * 3600 + (.m | tonumber) * 60 + (.s | tonumber)) | .[1] - .[0] | . * 1000 | round / 1000 | tostring) end' <<<"$1"
}

printf "%-10s %-12s %10s %10s %12s %12s\n" "sales" "load" "rows" "job s" "land step s" "trusted s"
for n in "${sizes[@]}"; do
  db=bench_src_$n; lake=bench_incr_$n
  psql -XAtq "$sup" -c "select 1 from pg_database where datname = '$db'" | grep -q 1 ||
    psql -XAtq "$sup" -c "create database $db owner lake"
  src=$(scripts/pg url $dir "$db")
  have=$(psql -XAtq "$src" -c "select count(*) from vendas" 2>/dev/null || echo 0)
  [[ $have == "$n" ]] || scripts/demo-db "$src" "$n" >/dev/null
  psql -XAtq "$sup" -c "drop database if exists $lake with (force)" -c "create database $lake owner lake"

  export SHOPPERLAKE_DATABASE_URL=$(scripts/pg url $dir "$lake") SHOPPERLAKE_PORT=$lake_port SHOPPERLAKE_WORKERS=1
  export SHOPPERLAKE_ADMIN_TOKEN=bench-admin-token-0123456789 LAKE_SECRET_BENCH_SRC_URL=$src SHOPPERLAKE_LOG_LEVEL=warn
  build-release/shopperlake & pid=$!
  for _ in $(seq 50); do curl -sf localhost:$lake_port/readyz >/dev/null && break; sleep 0.2; done
  H=(-H "Authorization: Bearer $SHOPPERLAKE_ADMIN_TOKEN" -H 'Content-Type: application/json')
  jq -c '.[] | select(.object == "vendas") | .system = "bench" | .connection_secret = "env:LAKE_SECRET_BENCH_SRC_URL" | del(.options)' \
    sql/demo/sources.json | curl -sf "${H[@]}" localhost:$lake_port/v1/sources -d @- >/dev/null
  run() {
    local job j
    job=$(curl -sf "${H[@]}" localhost:$lake_port/v1/sources/1/loads -d "{\"load_type\":\"$1\"}" | jq .id)
    until [[ $(curl -sf "${H[@]}" localhost:$lake_port/v1/jobs/$job | jq -r .state) =~ DONE|FAILED ]]; do sleep 1; done
    j=$(curl -sf "${H[@]}" localhost:$lake_port/v1/jobs/$job)
    printf "%-10s %-12s %10s %10s %12s %12s\n" "$n" "$2" "$(jq -r .rows_written <<<"$j")" \
      "$(jq -r .duration_seconds <<<"$j")" "$(step_seconds "$j" land)" "$(step_seconds "$j" trusted)"
  }
  run incremental "initial"           # no offset yet: the full snapshot
  psql -XAtq "$src" -c "select demo.apply_changes($((n / 1000)))" >/dev/null
  run incremental "0.1% changed"
  psql -XAtq "$src" -c "select demo.apply_changes(1000)" >/dev/null
  run incremental "1000 changed"   # the same change at every size: the time should not grow with the table
  kill $pid; wait $pid 2>/dev/null || true
done
echo "(land step = source COPY -> LAND COPY; trusted = the MERGE into TRUSTED; goal: 0.1 % incremental <= 2 % of initial, flat across sizes)"
