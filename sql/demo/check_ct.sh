#!/usr/bin/env bash
# check_ct.sh URL [SECONDS]: verifies the change-tracking contract of
# 02_change_tracking.sql on a demo marketplace database. It writes there
# (sales, and schema demo_check): run it on the demo only.
#
#  1. Two sessions. L opens a transaction and writes; a later transaction
#     commits; an incremental load runs while L is open and must not see L;
#     L commits; the next load brings L's changes although their versions
#     are lower than versions already loaded (a version watermark would lose
#     them); the load after that brings nothing.
#  2. Writers (demo.apply_changes; some in transactions that stay open up
#     to 1.5 s, with rolled back savepoints or rolled back altogether) run for SECONDS while the
#     reference extractor of ct_check.sql loads every 0.2 s. Afterwards its
#     replica must equal the source, and no change may have come twice.
#  3. Retention: after ct.cleanup_all at the extractor's offset, loading
#     from that offset works and the older offset of the full load is refused.
set -euo pipefail
url=$1; seconds=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

q() { psql "$url" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
fail() { echo "check_ct: FAIL: $*" >&2; exit 1; }
ok() { echo "check_ct: ok: $*"; }
incr() {   # one incremental load of every table; prints the number of changes
  q -c "BEGIN ISOLATION LEVEL REPEATABLE READ" \
    -c "SELECT demo_check.incremental(coalesce((SELECT max(load_no) FROM demo_check.log), 0) + 1)" -c "COMMIT"
}
same() {   # the replica equals the source and no change came twice
  local d
  d=$(q -c "SELECT string_agg(format('%s missing %s extra %s', table_name, missing, extra), '; ')
              FROM demo_check.diff() WHERE missing + extra > 0")
  [[ -z $d ]] || fail "$1: replica differs from the source: $d"
  [[ $(q -c "SELECT demo_check.duplicates()") == 0 ]] || fail "$1: a change was loaded twice"
}

tmp=$(mktemp -d)
pids=()
cleanup() {
  exec 3>&- 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

[[ $(q -c "SELECT count(*) FROM vendas") -gt 0 ]] || fail "no data: run scripts/demo-db URL SALES first"
q -f "$here/ct_check.sql"
s0=$(q -c "BEGIN ISOLATION LEVEL REPEATABLE READ" -c "SELECT demo_check.full_load()" -c "COMMIT")
echo "check_ct: full load, offset $s0"

# --- 1. a long transaction across loads -------------------------------------
mkfifo "$tmp/long"
PGAPPNAME=ct_check_long psql "$url" -X -q -At -v ON_ERROR_STOP=1 <"$tmp/long" >"$tmp/long.out" 2>&1 &
pids+=($!)
exec 3>"$tmp/long"
y=$(q -c "SELECT min(id) FROM vendas")
cat >&3 <<SQL
BEGIN;
SELECT pg_current_xact_id();
INSERT INTO vendas (produto_id, loja_id, cliente_id, data_venda, quantidade, preco_unitario, total)
SELECT produto_id, loja_id, cliente_id, now(), 1, preco_unitario, preco_unitario FROM vendas WHERE id = $y
RETURNING id;
UPDATE vendas SET quantidade = quantidade + 1, total = (quantidade + 1) * preco_unitario,
                  updated_at = now() WHERE id = $y;
SQL
for _ in $(seq 100); do
  [[ $(q -c "SELECT state FROM pg_stat_activity WHERE application_name = 'ct_check_long'") == 'idle in transaction' ]] \
    && [[ $(wc -l <"$tmp/long.out") -ge 2 ]] && break
  sleep 0.1
done
{ read -r lxid; read -r x; } <"$tmp/long.out"
[[ $lxid =~ ^[0-9]+$ && $x =~ ^[0-9]+$ ]] || fail "long session: $(cat "$tmp/long.out")"

q -c "SELECT demo.apply_changes(200)" >/dev/null           # commits after L began
n1=$(incr)
[[ $n1 -gt 0 ]] || fail "load 1 found no changes"
[[ $(q -c "SELECT count(*) FROM demo_check.log WHERE txid = '$lxid'") == 0 ]] \
  || fail "load 1 took changes of the open transaction"
ok "load 1 (L open): $n1 changes, none of L"

echo "COMMIT;" >&3
exec 3>&-
wait "${pids[0]}"
n2=$(incr)
got=$(q -c "SELECT string_agg(format('%s:%s', id, op), ' ' ORDER BY id) FROM demo_check.log
             WHERE load_no = 2 AND table_name = 'vendas' AND txid = '$lxid'")
[[ $got == "$y:U $x:I" ]] || fail "load 2 should bring L's '$y:U $x:I', got '$got'"
older=$(q -c "SELECT max(version) FILTER (WHERE load_no = 2 AND txid = '$lxid')
                   < max(version) FILTER (WHERE load_no = 1) FROM demo_check.log")
ok "load 2 (L committed): $n2 changes, with L's ($got; versions below load 1's: $older)"
n3=$(incr)
[[ $n3 == 0 ]] || fail "load 3 should be empty, got $n3"
same "scenario 1"
ok "load 3: empty; replica equals source; no change twice"

# --- 2. concurrent writers ----------------------------------------------------
end=$((SECONDS + seconds))
writer() {
  while ((SECONDS < end)); do
    case $((RANDOM % 8)) in
      0) q -c "BEGIN" -c "SELECT demo.apply_changes(100)" -c "SELECT pg_sleep(random() * 1.5)" -c "COMMIT" ;;
      1) q -c "BEGIN" -c "SAVEPOINT a" -c "SELECT demo.apply_changes(30)" -c "ROLLBACK TO a" \
           -c "SELECT demo.apply_changes(30)" -c "COMMIT" ;;
      2) q -c "BEGIN" -c "SELECT demo.apply_changes(30)" -c "ROLLBACK" ;;
      *) q -c "SELECT demo.apply_changes(100)" ;;
    esac >/dev/null || { echo "check_ct: writer failed" >&2; exit 1; }
  done
}
wpids=()
for _ in 1 2 3; do writer & wpids+=($!); pids+=($!); done
loads=0; changes=0
while ((SECONDS < end)); do
  n=$(incr); loads=$((loads + 1)); changes=$((changes + n))
  sleep 0.2
done
for p in "${wpids[@]}"; do wait "$p" || fail "a writer failed"; done
n=$(incr); changes=$((changes + n))
same "scenario 2"
ok "$loads loads during ${seconds}s of 3 writers, $changes changes; replica equals source; no change twice"

# --- 3. retention ----------------------------------------------------------------
k=$(q -c "SELECT pg_snapshot_xmin(snap) FROM demo_check.offsets ORDER BY pg_snapshot_xmin(snap) LIMIT 1")
gone=$(q -c "SELECT ct.cleanup_all('$k')")
q -c "SELECT demo.apply_changes(100)" >/dev/null
n=$(incr)
same "scenario 3"
refused=$(q -c "SELECT ct.offset_lost('$s0'::pg_snapshot, 'vendas')")
[[ $refused == t ]] || fail "the full load's offset should now be refused"
q -c "UPDATE demo_check.offsets SET snap = '$s0'"
if incr >/dev/null 2>"$tmp/gap.err"; then fail "a load from the old offset should be refused"; fi
grep -q 'gap on' "$tmp/gap.err" || fail "unexpected error: $(cat "$tmp/gap.err")"
ok "cleanup at $k removed $gone deleted keys; newer offset loads ($n changes), old offset refused"
q -c "DROP SCHEMA demo_check CASCADE"   # kept only when a check fails, to look at
echo "check_ct: all ok"
