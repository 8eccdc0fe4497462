#!/usr/bin/env bash
# The query API under load, side by side in one run with its anchor,
# Platformatic DB (npm @platformatic/db), over the same 5 M-row TRUSTED table:
#   (a) a filtered, indexed query returning 50 rows   loja_id = n, first 50 by id
#   (b) a 10 000-row page                             id > n, next 10 000 by id
# wrk with 64 connections, a Lua script that varies n per request and prints
# requests/s, p50 and p99. Both servers get a 16-connection database pool and
# log only warnings.
#
#   bench/query_wrk.sh [ROWS]     (default 5000000; the table is rebuilt when its size differs)
#   BENCH_SECONDS=20              length of each measured run (a 3 s warm-up precedes it); below
#                                 ~20 s the anchor's (b) may complete no request at all
#   BENCH_PLT_DIR=/some/dir       reuse a Platformatic install (else a temp dir, npm install there)
#   BENCH_PG_DIR, BENCH_PG_PORT   the bench cluster (var/bench-pg on 5440)
#   BENCH_LAKE_PORT, BENCH_PLT_PORT  the two servers' HTTP ports (18117, 18118)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-5000000}
secs=${BENCH_SECONDS:-20}
conns=64
dir=${BENCH_PG_DIR:-var/bench-pg}; port=${BENCH_PG_PORT:-5440}
# unused by the other benches, so they may run alongside
lake_port=${BENCH_LAKE_PORT:-18117}; plt_port=${BENCH_PLT_PORT:-18118}
plt_version=2   # @platformatic/db 3.x needs Node >= 22; 2.x runs on Node 20

scripts/install-deps
. scripts/node-env
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
[[ -f build-release/build.ninja ]] || meson setup build-release --buildtype=release >/dev/null
meson compile -C build-release >/dev/null
scripts/pg start $dir $port
sup="postgresql:///postgres?host=$PWD/$dir/run&port=$port&user=postgres"
psql -XAtq "$sup" -c "select 1 from pg_database where datname = 'query_bench'" | grep -q 1 ||
  psql -XAtq "$sup" -c "create database query_bench owner lake"
url=$(scripts/pg url $dir query_bench)

pids=()
tmp=$(mktemp -d /tmp/query-bench.XXXXXX)
# Stops what this script started (only that), waiting for a graceful exit, then forcing it.
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

# shopperlake first: its migrations make the trusted schema and lake_reader.
SHOPPERLAKE_DATABASE_URL=$url SHOPPERLAKE_PORT=$lake_port SHOPPERLAKE_WORKERS=0 SHOPPERLAKE_DB_POOL=16 \
SHOPPERLAKE_ADMIN_TOKEN=bench-admin-token-0123456789 SHOPPERLAKE_READER_TOKEN=bench-reader-token-0123456789 \
SHOPPERLAKE_LOG_LEVEL=warn SHOPPERLAKE_BUCKET_DIR=$tmp/bucket build-release/shopperlake 2>"$tmp/lake.log" &
lake_pid=$!; pids+=("$lake_pid")
for _ in $(seq 100); do curl -sf localhost:$lake_port/readyz >/dev/null && break; sleep 0.2; done
curl -sf localhost:$lake_port/readyz >/dev/null || { echo "bench: shopperlake did not start:" >&2; cat "$tmp/lake.log" >&2; exit 1; }

have=$(psql -XAtq "$url" -c "select coalesce(obj_description('trusted.vendas'::regclass), '0')" 2>/dev/null || echo 0)
if [[ $have != "$rows" ]]; then
  echo "bench: generating trusted.vendas with $rows rows" >&2
  psql -XAtq -v ON_ERROR_STOP=1 "$url" <<SQL
DROP TABLE IF EXISTS trusted.vendas;
CREATE TABLE trusted.vendas (
  id bigint PRIMARY KEY, produto_id integer NOT NULL, loja_id integer NOT NULL,
  cliente_id integer NOT NULL, promocao_id integer, data_venda date NOT NULL,
  quantidade integer NOT NULL, preco_unitario numeric(12,2) NOT NULL, total numeric(14,2) NOT NULL,
  uf text NOT NULL, updated_at timestamptz NOT NULL);
INSERT INTO trusted.vendas
SELECT g, 1 + g % 5000, 1 + g % 200, 1 + g % 100000, CASE WHEN g % 7 = 0 THEN 1 + g % 50 END,
       date '2023-01-01' + (g % 730), 1 + g % 9, (g % 1000) / 10.0 + 1,
       (1 + g % 9) * ((g % 1000) / 10.0 + 1), (ARRAY['SP','RJ','MG','BA','PR','RS','SC','PE'])[1 + g % 8],
       timestamptz '2024-01-01' + g * interval '1 second'
FROM generate_series(1, $rows) g;
CREATE INDEX vendas_loja_id ON trusted.vendas (loja_id, id);
GRANT SELECT ON trusted.vendas TO lake_reader;
COMMENT ON TABLE trusted.vendas IS '$rows';
VACUUM ANALYZE trusted.vendas;
SQL
fi

# Platformatic DB in its own directory, never in the repository.
plt_dir=${BENCH_PLT_DIR:-$tmp/plt}
plt_note=""
mkdir -p "$plt_dir"
if [[ ! -x $plt_dir/node_modules/.bin/plt-db ]]; then
  echo "bench: npm install @platformatic/db@$plt_version in $plt_dir" >&2
  ( cd "$plt_dir" && [[ -f package.json ]] || npm init -y >/dev/null 2>&1
    cd "$plt_dir" && npm install --no-audit --no-fund --silent "@platformatic/db@$plt_version" >"$tmp/npm.log" 2>&1 ) ||
    plt_note="npm install @platformatic/db@$plt_version failed: $(tail -3 "$tmp/npm.log" | tr '\n' ' ')"
fi
if [[ -z $plt_note ]]; then
  sock=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$PWD/$dir/run")
  cat > "$plt_dir/platformatic.json" <<JSON
{
  "server": {"hostname": "127.0.0.1", "port": $plt_port, "logger": {"level": "warn"}},
  "db": {"connectionString": "postgres://lake@localhost/query_bench?host=$sock&port=$port",
         "schema": ["trusted"], "graphql": false, "openapi": true, "poolSize": 16,
         "limit": {"default": 100, "max": 10000}},
  "watch": false
}
JSON
  ( cd "$plt_dir" && exec node_modules/.bin/plt-db start ) >"$tmp/plt.log" 2>&1 &
  plt_pid=$!; pids+=("$plt_pid")
  for _ in $(seq 150); do curl -sf "localhost:$plt_port/trustedVendas/?limit=1" >/dev/null && break; sleep 0.2; done
  curl -sf "localhost:$plt_port/trustedVendas/?limit=1" >/dev/null ||
    plt_note="Platformatic DB did not serve /trustedVendas/: $(tail -3 "$tmp/plt.log" | tr '\n' ' ')"
  plt_ver=$(node -p "require('$plt_dir/node_modules/@platformatic/db/package.json').version" 2>/dev/null || echo "?")
fi

cat > "$tmp/bench.lua" <<'LUA'
-- Varies {n} in WRK_PATH per request and reports rps, p50, p99 (ms), errors.
local tmpl, lo, hi = os.getenv("WRK_PATH"), tonumber(os.getenv("WRK_LO")), tonumber(os.getenv("WRK_HI"))
local auth = os.getenv("WRK_AUTH") or ""
local threads, counter = {}, 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
  table.insert(threads, thread)
end
function init(args) math.randomseed(seed * 7919) end
function request()
  local headers = {}
  if auth ~= "" then headers["Authorization"] = auth end
  return wrk.format("GET", (tmpl:gsub("{n}", tostring(math.random(lo, hi)))), headers)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.1f %.2f %.2f %d %.1f\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout, summary.bytes / math.max(summary.requests, 1) / 1024))
end
LUA

# run NAME AUTH PORT PATH LO HI -> prints one table row. A 3 s warm-up, then a
# pause so requests the warm-up left queued in the server do not count against the run.
run() {
  local name=$1 auth=$2 port=$3 path=$4 lo=$5 hi=$6 out
  export WRK_AUTH=$auth WRK_PATH=$path WRK_LO=$lo WRK_HI=$hi
  wrk -t2 -c$conns -d3s --timeout 30s -s "$tmp/bench.lua" "http://127.0.0.1:$port" >/dev/null 2>&1 || true
  sleep 8
  out=$(wrk -t2 -c$conns -d${secs}s --timeout 30s -s "$tmp/bench.lua" "http://127.0.0.1:$port" 2>&1 | grep '^RESULT' || true)
  read -r _ rps p50 p99 errs kb <<<"${out:-RESULT 0 0 0 -1 0}"
  printf "%-44s %10s %9s %9s %7s %9s\n" "$name" "$rps" "$p50" "$p99" "$errs" "$kb"
  last_rps=$rps last_p99=$p99
}
ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else printf "-" }'; }
lake_auth="Bearer bench-reader-token-0123456789"
max_id=$((rows - 10000))

printf "\nquery API over trusted.vendas (%s rows), wrk -c%d -t2, %ss per run, %s cores, load average %s\n" \
  "$rows" "$conns" "$secs" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-44s %10s %9s %9s %7s %9s\n" "server / query" "req/s" "p50 ms" "p99 ms" "errors" "KB/resp"
run "shopperlake  (a) loja_id=eq.n, 50 rows" "$lake_auth" $lake_port \
    "/v1/tables/trusted/vendas?loja_id=eq.{n}&limit=50" 1 200
a_rps=$last_rps a_p99=$last_p99 pa_rps=0 pa_p99=0 pb_rps=0
if [[ -z $plt_note ]]; then
  run "Platformatic DB $plt_ver (a) same" "" $plt_port \
      "/trustedVendas/?where.lojaId.eq={n}&limit=50&orderby.id=asc" 1 200
  pa_rps=$last_rps pa_p99=$last_p99
fi
run "shopperlake  (b) id=gt.n, 10 000 rows" "$lake_auth" $lake_port \
    "/v1/tables/trusted/vendas?id=gt.{n}&limit=10000" 0 $max_id
b_rps=$last_rps
if [[ -z $plt_note ]]; then
  run "Platformatic DB $plt_ver (b) same" "" $plt_port \
      "/trustedVendas/?where.id.gt={n}&limit=10000&orderby.id=asc" 0 $max_id
  pb_rps=$last_rps
fi
printf "load average after: %s\n" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf "peak RSS MB: shopperlake %d" "$(( $(awk '/VmHWM/ {print $2}' /proc/$lake_pid/status) / 1024 ))"
[[ -z $plt_note ]] && printf ", Platformatic DB (node) %d" "$(( $(awk '/VmHWM/ {print $2}' /proc/$plt_pid/status) / 1024 ))"
printf "\n"
[[ -n $plt_note ]] && printf "anchor not measured: %s\n" "$plt_note"
printf "Responses differ slightly in size: shopperlake writes numbers as JSON numbers and adds \"next\";\n"
printf "Platformatic writes bigint and numeric as strings. Both order by id and read the same index.\n"
if [[ -z $plt_note ]]; then
  printf "(a) 50 rows: shopperlake / Platformatic req/s %sx (goal >= 2x); p99 %s ms vs %s ms (goal: not higher)\n" \
    "$(ratio "$a_rps" "$pa_rps")" "$a_p99" "$pa_p99"
  printf "(b) 10 000 rows: shopperlake / Platformatic req/s %sx (goal >= 5x)\n" "$(ratio "$b_rps" "$pb_rps")"
fi
