#!/usr/bin/env bash
# redesocial API load: N posts (default 1 000 000) from the simulator into
# LAND/RAW/TRUSTED, reporting posts/s for the extract+land step and for the
# whole job, and the share of the extract step spent waiting on the network
# (libcurl's transfer time: the simulator generating and sending pages) versus
# our own work (parsing, flattening, COPY into LAND, writing the bucket).
# The anchor is the simulator itself: a bare `curl` paging through the same
# data set to /dev/null, in the same run.
#
#   bench/api_load.sh [POSTS]
#
# Env: BENCH_PG_DIR/BENCH_PG_PORT another private cluster (default var/bench-pg
# on 5440); BENCH_SIM_PORT/BENCH_LAKE_PORT the simulator's and the server's
# HTTP ports (default 18950, 18098).
set -euo pipefail
cd "$(dirname "$0")/.."
posts=${1:-1000000}
dir=${BENCH_PG_DIR:-var/bench-pg}; port=${BENCH_PG_PORT:-5440}
sim_port=${BENCH_SIM_PORT:-18950}; lake_port=${BENCH_LAKE_PORT:-18098}

scripts/install-deps
. scripts/node-env
[[ -f build-release/build.ninja ]] || meson setup build-release --buildtype=release >/dev/null
meson compile -C build-release >/dev/null
scripts/pg start $dir $port
sup="postgresql:///postgres?host=$PWD/$dir/run&port=$port&user=postgres"
psql -XAtq "$sup" -c "drop database if exists bench_api with (force)" -c "create database bench_api owner lake"

build-release/tests/fixtures/redesocial/redesocial-sim --port $sim_port --posts "$posts" --max-page-size 1000 >/dev/null 2>&1 &
sim=$!
export SHOPPERLAKE_DATABASE_URL=$(scripts/pg url $dir bench_api) SHOPPERLAKE_PORT=$lake_port SHOPPERLAKE_WORKERS=1
export SHOPPERLAKE_ADMIN_TOKEN=bench-admin-token-0123456789 SHOPPERLAKE_LOG_LEVEL=warn
export LAKE_SECRET_REDESOCIAL_CLIENT=redesocial-client:redesocial-secret SHOPPERLAKE_BUCKET_DIR=$PWD/var/bench-bucket
rm -rf var/bench-bucket
build-release/shopperlake & pid=$!
# the lake database goes at the end: autovacuum freezing its rows would slow whatever runs next
trap 'kill $pid $sim 2>/dev/null; wait $pid 2>/dev/null; psql -XAtq "$sup" -c "drop database if exists bench_api with (force)"' EXIT
for _ in $(seq 50); do curl -sf localhost:$lake_port/readyz >/dev/null && curl -sf localhost:$sim_port/_control/stats >/dev/null && break; sleep 0.2; done

# the anchor: page through everything with curl alone
token=$(curl -s -u redesocial-client:redesocial-secret -d grant_type=client_credentials localhost:$sim_port/oauth/token | jq -r .access_token)
t0=$(date +%s.%N); next=""; pages=0
while :; do
  body=$(curl -s -H "Authorization: Bearer $token" "localhost:$sim_port/v1/posts?page_size=1000${next:+&page_token=$next}")
  pages=$((pages + 1))
  next=$(jq -r '.next_page_token // empty' <<<"$body")
  [[ -n $next ]] || break
done
t1=$(date +%s.%N)
curl_s=$(echo "$t1 - $t0" | bc -l)

H=(-H "Authorization: Bearer $SHOPPERLAKE_ADMIN_TOKEN" -H 'Content-Type: application/json')
jq -c --arg url "http://127.0.0.1:$sim_port" '.[0] | .options.base_url = $url | .options.page_size = 1000' \
  sql/demo/sources_redesocial.json | curl -sf "${H[@]}" localhost:$lake_port/v1/sources -d @- >/dev/null
job=$(curl -sf "${H[@]}" localhost:$lake_port/v1/sources/1/loads -d '{"load_type":"incremental"}' | jq .id)
until [[ $(curl -sf "${H[@]}" localhost:$lake_port/v1/jobs/$job | jq -r .state) =~ DONE|FAILED ]]; do sleep 1; done
j=$(curl -sf "${H[@]}" localhost:$lake_port/v1/jobs/$job)
[[ -n ${BENCH_JOB_JSON:-} ]] && echo "$j" > "$BENCH_JOB_JSON"
rows=$(jq -r .rows_written <<<"$j")
# the extract+land step (pages -> LAND COPY) and every step's seconds, ms clock
ex=$(jq -r -L bench 'include "steps"; step_seconds("extract")' <<<"$j")
steps=$(jq -r -L bench 'include "steps"; steps_line(100)' <<<"$j")
wait=$(jq -r '[.steps[] | select(.name == "extract")][0].network_wait_seconds' <<<"$j")
total=$(jq -r .duration_seconds <<<"$j")
rss=$(( $(awk '/VmHWM/ {print $2}' /proc/$pid/status) / 1024 ))

printf "\nredesocial posts: %s versions landed (%s pages by the curl anchor)\n" "$rows" "$pages"
printf "%-40s %10s %12s\n" "" "seconds" "posts/s"
printf "%-40s %10.1f %12.0f\n" "curl paging to /dev/null (anchor)" "$curl_s" "$(echo "$rows / $curl_s" | bc -l)"
printf "%-40s %10.1f %12.0f\n" "shopperlake extract+land" "$ex" "$(echo "$rows / $ex" | bc -l)"
printf "%-40s %10.1f %12.0f\n" "shopperlake whole job (land..refined)" "$total" "$(echo "$rows / $total" | bc -l)"
printf "network wait in extract: %.1f s (%.0f %%), our own work: %.0f %%; peak RSS %s MB\n" "$wait" \
  "$(echo "100 * $wait / ($ex + 0.001)" | bc -l)" "$(echo "100 - 100 * $wait / ($ex + 0.001)" | bc -l)" "$rss"
printf "steps (s): %s\n" "$steps"
printf "whole job / extract+land: %.2fx (goal <= 1.3x)\n" "$(echo "$total / $ex" | bc -l)"
