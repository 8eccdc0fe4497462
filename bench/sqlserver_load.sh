#!/usr/bin/env bash
# SQL Server (TDS) full load of the marketplace's `vendas` into PostgreSQL,
# side by side in one run with the anchors issue 10 names, from one
# mssql-sim (tests/fixtures/mssql) serving the same rows to every tool:
#   1. FreeTDS' own freebcp ... queryout piped into psql \copy: the limit for
#      a FreeTDS client (character mode, tab-separated, through a fifo)
#   2. pgloader's MS SQL source (Debian), if it can read the simulator
#   3. shopperlake (release build), a full load job through the API, with
#      TDS packets of 4096, 16384 and 32767 bytes (options.packet_size): its
#      extract+land step and the whole job (RAW, TRUSTED)
#   4. shopperlake, an incremental (change tracking) load after 0.1 % of
#      the sales changed, against its own full load
# Prints seconds, rows/s and peak RSS, and the ratios against the goals
# (>= 90 % of the freebcp pipe, >= 3x pgloader, peak RSS < 50 MB,
# incremental <= 2 % of the full).
#
#   bench/sqlserver_load.sh [SALES]       (default 5000000)
#   BENCH_ROUNDS=3 (default 1) rounds of the packet sizes, the fastest of each kept;
#   BENCH_PG_DIR/BENCH_PG_PORT another private cluster (default var/bench-pg on 5440);
#   BENCH_MSSQL_PORT, BENCH_LAKE_PORT (default 14341, 14342); BENCH_SKIP_DEPS=1 skips install-deps
set -euo pipefail
cd "$(dirname "$0")/.."
sales=${1:-5000000}
dir=${BENCH_PG_DIR:-var/bench-pg}; port=${BENCH_PG_PORT:-5440}; simport=${BENCH_MSSQL_PORT:-14341}; lakeport=${BENCH_LAKE_PORT:-14342}
user=sa; pw='Bench2026sim' # no '#': pgloader's URI reader fails on %23
cols="id, produto_id, loja_id, cliente_id, promocao_id, data_venda, quantidade, preco_unitario, total, updated_at"

[[ -n ${BENCH_SKIP_DEPS:-} ]] || scripts/install-deps
command -v pgloader >/dev/null || apt-get install -y -qq -o DPkg::Lock::Timeout=600 pgloader >/dev/null
[[ -f build-release/build.ninja ]] || meson setup build-release --buildtype=release >/dev/null
meson compile -C build-release >/dev/null
scripts/pg start $dir $port
sup="postgresql:///postgres?host=$PWD/$dir/run&port=$port&user=postgres"
now() { date +%s.%N; }
fresh_lake() {
  psql -XAtq "$sup" -c "drop database if exists $1 with (force)" -c "create database $1 owner lake"
}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

build-release/tests/fixtures/mssql/mssql-sim --port $simport --user $user --password "$pw" --sales "$sales" \
  >"$tmp/sim.out" 2>"$tmp/sim.err" & pids+=($!)
for _ in $(seq 50); do grep -q port "$tmp/sim.out" 2>/dev/null && break; sleep 0.1; done

# 1. freebcp queryout | psql \copy
fresh_lake bench_bcp
lake=$(scripts/pg url $dir bench_bcp)
psql -XAtq "$lake" -c "create table vendas ($(sed 's/,/ text,/g' <<<"$cols") text)"
mkfifo "$tmp/bcp.fifo"
t0=$(now)
psql -XAtq "$lake" -c "\\copy vendas from '$tmp/bcp.fifo'" & copy_pid=$!
/usr/bin/time -f "%M" -o "$tmp/bcp.rss" freebcp "SELECT $cols FROM dbo.vendas" queryout "$tmp/bcp.fifo" \
  -S 127.0.0.1:$simport -U $user -P "$pw" -D marketplace -c -t '\t' -r '\n' -T 2147483647 -A 16384 >"$tmp/bcp.log" 2>&1 || true
wait $copy_pid || true
t1=$(now)
bcp_s=$(echo "$t1 - $t0" | bc -l)
bcp_rows=$(psql -XAtq "$lake" -c "select count(*) from vendas")
bcp_rss=$(( $(tail -1 "$tmp/bcp.rss" 2>/dev/null || echo 0) / 1024 ))

# 2. pgloader, MS SQL source
fresh_lake bench_pgloader_ms
pgl_lake=$(scripts/pg url $dir bench_pgloader_ms)
cat > "$tmp/pgloader.load" <<LOAD
LOAD DATABASE
  FROM mssql://$user:$(jq -rn --arg p "$pw" '$p|@uri')@127.0.0.1:$simport/marketplace
  INTO pgsql://lake@unix:$PWD/$dir/run:$port/bench_pgloader_ms
  WITH create tables, workers = 2, concurrency = 1, batch rows = 10000, prefetch rows = 10000
  INCLUDING ONLY TABLE NAMES LIKE 'vendas' IN SCHEMA 'dbo';
LOAD
t0=$(now)
/usr/bin/time -f "%M" -o "$tmp/pgl.rss" timeout 600 pgloader --quiet "$tmp/pgloader.load" >"$tmp/pgl.out" 2>&1 || true
t1=$(now)
pgl_s=$(echo "$t1 - $t0" | bc -l)
pgl_rows=$(psql -XAtq "$pgl_lake" -c "select count(*) from dbo.vendas" 2>/dev/null ||
           psql -XAtq "$pgl_lake" -c "select count(*) from vendas" 2>/dev/null || echo 0)
pgl_rss=$(( $(tail -1 "$tmp/pgl.rss" 2>/dev/null || echo 0) / 1024 ))
pgl_why=$(grep -m1 -E "ERROR|FATAL|error" "$tmp/pgl.out" | cut -c1-200 || true)

# 3. and 4. shopperlake
fresh_lake bench_mssql_lake
export SHOPPERLAKE_DATABASE_URL=$(scripts/pg url $dir bench_mssql_lake) SHOPPERLAKE_PORT=$lakeport SHOPPERLAKE_WORKERS=1
export SHOPPERLAKE_ADMIN_TOKEN=bench-admin-token-0123456789 SHOPPERLAKE_LOG_LEVEL=warn
export LAKE_SECRET_BENCH_MSSQL="sqlserver://$user:$(jq -rn --arg p "$pw" '$p|@uri')@127.0.0.1:$simport/marketplace"
build-release/shopperlake & lake_pid=$!; pids+=($lake_pid)
for _ in $(seq 100); do curl -sf localhost:$lakeport/readyz >/dev/null && break; sleep 0.2; done
H=(-H "Authorization: Bearer $SHOPPERLAKE_ADMIN_TOKEN" -H 'Content-Type: application/json')
api() { curl -sf "${H[@]}" "localhost:$lakeport$1" "${@:2}"; }
columns='[{"name":"id","type":"bigint","key":true},{"name":"produto_id","type":"bigint"},{"name":"loja_id","type":"bigint"},
  {"name":"cliente_id","type":"bigint"},{"name":"promocao_id","type":"bigint"},{"name":"data_venda","type":"timestamptz"},
  {"name":"quantidade","type":"integer"},{"name":"preco_unitario","type":"numeric(12,2)"},{"name":"total","type":"numeric(14,2)"},
  {"name":"updated_at","type":"timestamp"}]'
register() { # system load_type offset_mode
  api /v1/sources -d "{\"system\":\"$1\",\"source_type\":\"sqlserver\",\"database\":\"marketplace\",\"schema\":\"dbo\",
    \"object\":\"vendas\",\"load_type\":\"$2\",\"offset_mode\":\"$3\",\"connection_secret\":\"env:LAKE_SECRET_BENCH_MSSQL\",
    \"columns\":$columns}" | jq .id
}
# runs a load; prints "land_seconds job_seconds rows"
run_load() { # source_id load_type
  local job; job=$(api /v1/sources/$1/loads -d "{\"load_type\":\"$2\"}" | jq .id)
  until [[ $(api /v1/jobs/$job | jq -r .state) =~ DONE|FAILED|CANCELLED ]]; do sleep 1; done
  api /v1/jobs/$job | jq -r '
    def secs: capture("T(?<h>..):(?<m>..):(?<s>..\\.[0-9]+)") | (.h|tonumber)*3600 + (.m|tonumber)*60 + (.s|tonumber);
    if .state != "JOB_STATE_DONE" then "FAILED: \(.error)" | halt_error else . end
    | ([.steps[] | select(.name == "land")][0] | (.finished_at|secs) - (.started_at|secs)) as $land
    | "\($land) \(.duration_seconds) \(.rows_written)"'
}
full_id=$(register benchms full none)
declare -A land job
run_load "$full_id" full >/dev/null # warm-up (caches, the lake's first partitions), not counted
# BENCH_ROUNDS rounds of the three sizes in turn (the machine is shared:
# interleaving spreads its load over all three); each keeps its fastest
for ((round = 1; round <= ${BENCH_ROUNDS:-1}; round++)); do
  for ps in 4096 16384 32767; do
    api /v1/sources/$full_id -X PATCH -d "{\"options\":{\"packet_size\":$ps}}" >/dev/null
    read -r l j rows < <(run_load "$full_id" full)
    if [[ -z ${land[$ps]:-} ]] || (( $(echo "$l < ${land[$ps]}" | bc -l) )); then land[$ps]=$l; job[$ps]=$j; fi
  done
done
best=4096; for ps in 16384 32767; do (( $(echo "${land[$ps]} < ${land[$best]}" | bc -l) )) && best=$ps; done

incr_id=$(register benchmsincr incremental change_tracking)
read -r incr_full_land incr_full_job _ < <(run_load "$incr_id" incremental)
echo "EXEC sim.change_sales @pct = 0.1" | bsqldb -S 127.0.0.1:$simport -U $user -P "$pw" -D marketplace >"$tmp/changed.txt" 2>&1
read -r incr_land incr_job incr_rows < <(run_load "$incr_id" incremental)
lake_rss=$(( $(awk '/VmHWM/ {print $2}' /proc/$lake_pid/status) / 1024 ))

printf "\nfull load of %s vendas rows over TDS (mssql-sim, PostgreSQL and the tools on one machine)\n" "$sales"
printf "%-40s %9s %12s %12s\n" "tool" "seconds" "rows/s" "peak RSS MB"
printf "%-40s %9.2f %12.0f %12s\n" "freebcp queryout | psql \\copy (anchor)" "$bcp_s" "$(echo "$bcp_rows / $bcp_s" | bc -l)" "$bcp_rss"
if (( pgl_rows > 0 )); then
  printf "%-40s %9.2f %12.0f %12s\n" "pgloader MS SQL (anchor)" "$pgl_s" "$(echo "$pgl_rows / $pgl_s" | bc -l)" "$pgl_rss"
else
  printf "%-40s %9s %12s %12s\n" "pgloader MS SQL (anchor)" "-" "-" "-"
  printf "  pgloader loaded no rows: %s\n" "${pgl_why:-see its output}"
fi
for ps in 4096 16384 32767; do
  printf "%-40s %9.2f %12.0f %12s\n" "shopperlake extract+land, packet $ps" "${land[$ps]}" "$(echo "$sales / ${land[$ps]}" | bc -l)" "-"
done
printf "%-40s %9.2f %12.0f %12s\n" "shopperlake whole job, packet $best" "${job[$best]}" "$(echo "$sales / ${job[$best]}" | bc -l)" "$lake_rss"
printf "%-40s %9.2f %12s %12s\n" "shopperlake incremental, $incr_rows changes" "$incr_job" "-" "-"
printf "\nshopperlake / freebcp pipe: %.0f %% (goal >= 90 %%)   best packet size: %s\n" \
  "$(echo "100 * $bcp_s / ${land[$best]}" | bc -l)" "$best"
if (( pgl_rows > 0 )); then
  printf "shopperlake / pgloader: %.1fx (goal >= 3x)\n" "$(echo "$pgl_s / ${land[$best]}" | bc -l)"
else
  printf "shopperlake / pgloader: n/a (pgloader could not read the simulator)\n"
fi
printf "peak RSS of shopperlake over all its loads: %s MB (goal < 50 MB)\n" "$lake_rss"
printf "incremental after 0.1 %% changed / its full load (whole jobs): %.1f %% (goal <= 2 %%; full %.2f s, incremental %.2f s)\n" \
  "$(echo "100 * $incr_job / $incr_full_job" | bc -l)" "$incr_full_job" "$incr_job"
