#!/usr/bin/env bash
# Full load of the demo marketplace's `vendas` into LAND, side by side in one
# run with the anchors the jobs issue names, on the same data:
#   1. a plain psql pipe:  \copy (SELECT ...) TO STDOUT | \copy land FROM STDIN
#      (and the same into a table made in the pipe's own transaction, which
#      skips the WAL under the embedded cluster's wal_level = minimal)
#   2. pgloader (Debian), PostgreSQL to PostgreSQL, into a typed table
#   3. shopperlake (release build), a full load job through the API, its
#      columns typed as the demo declares them (TRUSTED typed)
# Prints rows/s, seconds and peak RSS for each, our share of the pipe, and
# issue 14's ratios: the whole job against the pipe and against pgloader.
#
#   bench/full_load.sh [SALES]       (default 5000000; the demo is regenerated if its size differs)
set -euo pipefail
cd "$(dirname "$0")/.."
sales=${1:-5000000}
dir=${BENCH_PG_DIR:-var/bench-pg}; port=${BENCH_PG_PORT:-5440}   # the bench cluster

scripts/install-deps
. scripts/node-env
command -v pgloader >/dev/null || { apt-get install -y -qq pgloader >/dev/null; }
[[ -f build-release/build.ninja ]] || meson setup build-release --buildtype=release >/dev/null
meson compile -C build-release >/dev/null
scripts/pg start $dir $port
src=$(scripts/pg url $dir marketplace)
sup="postgresql:///postgres?host=$PWD/$dir/run&port=$port&user=postgres"

have=$(psql -XAtq "$src" -c "select count(*) from vendas" 2>/dev/null || echo 0)
if [[ $have != "$sales" ]]; then
  echo "bench: generating $sales sales" >&2
  scripts/demo-db "$src" "$sales" >/dev/null
fi
psql -XAtq "$src" -c "vacuum analyze vendas"
cols="id, produto_id, loja_id, cliente_id, promocao_id, data_venda, quantidade, preco_unitario, total, updated_at"
# the demo source's declared columns (types for TRUSTED and for pgloader's table)
columns=$(jq -c '.[] | select(.object == "vendas") | .columns' sql/demo/sources.json)
typed=$(jq -r 'map("\(.name) \(.type)") | join(", ")' <<<"$columns")

# Each tool starts from a checkpoint, so none pays for the WAL another one wrote
# (and each database is dropped once measured, so none pays for another's autovacuum).
fresh_lake() {
  psql -XAtq "$sup" -c "drop database if exists $1 with (force)" -c "create database $1 owner lake" -c "checkpoint"
}
now() { date +%s.%N; }
# the last run's databases go first: autovacuum reading them would slow whichever tool runs then
psql -XAtq "$sup" -c "drop database if exists bench_lake with (force)" -c "drop database if exists bench_pgloader with (force)"

# 1. psql pipe
fresh_lake bench_pipe
lake=$(scripts/pg url $dir bench_pipe)
psql -XAtq "$lake" -c "create table vendas ($(sed 's/,/ text,/g' <<<"$cols") text)"
t0=$(now)
psql -XAtq "$src" -c "\\copy (select $cols from vendas) to stdout" | psql -XAtq "$lake" -c "\\copy vendas from stdin"
t1=$(now)
pipe_s=$(echo "$t1 - $t0" | bc -l)
# gone once measured: autovacuum freezing its rows would run during the next tool
psql -XAtq "$sup" -c "drop database bench_pipe with (force)"

# 1b. the same pipe into a table made in its own transaction: with the
# embedded cluster's wal_level = minimal it skips the WAL too, as the lake's
# LAND partitions do (the pipe at its best on this cluster; no goal)
fresh_lake bench_pipe
lake=$(scripts/pg url $dir bench_pipe)
t0=$(now)
psql -XAtq "$src" -c "\\copy (select $cols from vendas) to stdout" |
  psql -XAtq "$lake" -c "begin" -c "create table vendas ($(sed 's/,/ text,/g' <<<"$cols") text)" \
    -c "\\copy vendas from pstdin" -c "commit"
t1=$(now)
pipe_tx_s=$(echo "$t1 - $t0" | bc -l)
psql -XAtq "$sup" -c "drop database bench_pipe with (force)"
wal_level=$(psql -XAtq "$sup" -c "show wal_level")

# 2. pgloader
fresh_lake bench_pgloader
psql -XAtq "$(scripts/pg url $dir bench_pgloader)" -c "create table vendas ($typed)"
cat > var/bench-pgloader.load <<LOAD
LOAD DATABASE
  FROM pgsql://lake@unix:$PWD/$dir/run:$port/marketplace
  INTO pgsql://lake@unix:$PWD/$dir/run:$port/bench_pgloader
  WITH data only, workers = 2, concurrency = 1, batch rows = 10000, prefetch rows = 10000
  INCLUDING ONLY TABLE NAMES MATCHING 'vendas' IN SCHEMA 'public';
LOAD
t0=$(now)
/usr/bin/time -f "%M" -o var/bench-pgloader.rss pgloader --quiet var/bench-pgloader.load >/dev/null 2>var/bench-pgloader.log || true
t1=$(now)
pgl_s=$(echo "$t1 - $t0" | bc -l)
pgl_rows=$(psql -XAtq "$(scripts/pg url $dir bench_pgloader)" -c "select count(*) from vendas" 2>/dev/null || echo 0)
pgl_rss=$(( $(tail -1 var/bench-pgloader.rss 2>/dev/null || echo 0) / 1024 ))
psql -XAtq "$sup" -c "drop database bench_pgloader with (force)"

# 3. shopperlake
fresh_lake bench_lake
export SHOPPERLAKE_DATABASE_URL=$(scripts/pg url $dir bench_lake) SHOPPERLAKE_PORT=18099 SHOPPERLAKE_WORKERS=1
export SHOPPERLAKE_ADMIN_TOKEN=bench-admin-token-0123456789 LAKE_SECRET_BENCH_SRC_URL=$src SHOPPERLAKE_LOG_LEVEL=warn
build-release/shopperlake & pid=$!
# (our database too, at the end: autovacuum freezing it would slow whatever runs next)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; psql -XAtq "$sup" -c "drop database if exists bench_lake with (force)"' EXIT
for _ in $(seq 50); do curl -sf localhost:18099/readyz >/dev/null && break; sleep 0.2; done
H=(-H "Authorization: Bearer $SHOPPERLAKE_ADMIN_TOKEN" -H 'Content-Type: application/json')
curl -sf "${H[@]}" localhost:18099/v1/sources -d "{\"system\":\"bench\",\"source_type\":\"postgresql\",
  \"database\":\"marketplace\",\"object\":\"vendas\",\"load_type\":\"full\",
  \"connection_secret\":\"env:LAKE_SECRET_BENCH_SRC_URL\",\"columns\":$columns}" >/dev/null
job=$(curl -sf "${H[@]}" localhost:18099/v1/sources/1/loads -d '{"load_type":"full"}' | jq .id)
until [[ $(curl -sf "${H[@]}" localhost:18099/v1/jobs/$job | jq -r .state) =~ DONE|FAILED ]]; do sleep 1; done  # (jq costs 30 ms of CPU a poll: polling often would take the job's CPU)
lake_json=$(curl -sf "${H[@]}" localhost:18099/v1/jobs/$job)
# the load proper: the extract+land step (source COPY -> LAND COPY), ms clock
lake_s=$(jq -r -L bench 'include "steps"; step_seconds("land")' <<<"$lake_json")
job_s=$(jq -r .duration_seconds <<<"$lake_json")
lake_rows=$(jq -r .rows_written <<<"$lake_json")
lake_rss=$(( $(awk '/VmHWM/ {print $2}' /proc/$pid/status) / 1024 ))

printf "\nfull load of %s vendas rows (same cluster, source and target on one machine)\n" "$sales"
printf "%-28s %10s %12s %12s\n" "tool" "seconds" "rows/s" "peak RSS MB"
printf "%-28s %10.2f %12.0f %12s\n" "psql \\copy pipe (anchor)" "$pipe_s" "$(echo "$sales / $pipe_s" | bc -l)" "-"
printf "%-28s %10.2f %12.0f %12s\n" "  into a table made in its tx" "$pipe_tx_s" "$(echo "$sales / $pipe_tx_s" | bc -l)" "-"
printf "%-28s %10.2f %12.0f %12s\n" "pgloader, typed (anchor)" "$pgl_s" "$(echo "$pgl_rows / $pgl_s" | bc -l)" "$pgl_rss"
printf "%-28s %10.2f %12.0f %12s\n" "shopperlake extract+land" "$lake_s" "$(echo "$lake_rows / $lake_s" | bc -l)" "$lake_rss"
printf "(the whole shopperlake job, with RAW, TRUSTED and checks: %s s)\n" "$job_s"
printf "steps (s): %s\n" "$(jq -r -L bench 'include "steps"; steps_line(1000)' <<<"$lake_json")"
printf "shopperlake / pipe throughput: %.0f %%   shopperlake / pgloader: %.1fx   (issue 3's goals for extract+land: >= 90 %%, >= 2x, RSS < 100 MB; a snapshot's extract+land step also fills the typed table now)\n" \
  "$(echo "100 * $pipe_s / $lake_s" | bc -l)" "$(echo "$pgl_s / $lake_s" | bc -l)"
printf "whole job / psql pipe: %.2fx (goal <= 2x)   whole job / pgloader typed: %.2fx (goal < 1)\n" \
  "$(echo "$job_s / $pipe_s" | bc -l)" "$(echo "$job_s / $pgl_s" | bc -l)"
printf "whole job / pipe into a table made in its tx: %.2fx (no goal; wal_level = %s)\n" \
  "$(echo "$job_s / $pipe_tx_s" | bc -l)" "$wal_level"
