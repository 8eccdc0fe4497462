#!/usr/bin/env bash
# The demo's SFTP partner: a local sshd (tests/fixtures/sftp/sshd.sh) serving
# this folder's CSVs, and the two source definitions that read them.
#
#   sql/demo/files/sftp-demo.sh DIR PORT
#
# Starts (or keeps) sshd on 127.0.0.1:PORT with its keys in DIR, copies
# estoque/*.csv to DIR/files/estoque and precos/*.csv to DIR/files/precos,
# and prints a JSON array of the sources (system "arquivos": "estoque", the
# daily stock file of each store, and "precos_fornecedor", a supplier's price
# list) to POST to /v1/sources one by one. They authenticate with the
# generated client key; connection_secret names LAKE_SECRET_SFTP_PASSWORD,
# which only matters for a server that takes passwords.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
dir=${1:?usage: sftp-demo.sh DIR PORT}; port=${2:?usage: sftp-demo.sh DIR PORT}
mkdir -p "$dir"; dir=$(cd "$dir" && pwd)

known=$("$root/tests/fixtures/sftp/sshd.sh" start "$dir" "$port")
user=$("$root/tests/fixtures/sftp/sshd.sh" info "$dir" | jq -r .user)
for sub in estoque precos; do
  mkdir -p "$dir/files/$sub"; chmod 755 "$dir/files/$sub"
  cp -p "$here/$sub"/*.csv "$dir/files/$sub/"
  chmod 644 "$dir/files/$sub"/*.csv
done

jq -n --arg host 127.0.0.1 --argjson port "$port" --arg user "$user" --arg key "$dir/client_key" \
      --arg known "$known" --arg files "$dir/files" '
  {host: $host, port: $port, user: $user, private_key_file: $key, known_host: $known} as $conn |
  [
    {system: "arquivos", source_type: "sftp", database: "parceiros", object: "estoque",
     load_type: "incremental", connection_secret: "env:LAKE_SECRET_SFTP_PASSWORD",
     project: "shopper", region: "southamerica-east1",
     columns: [{name: "loja_id", type: "bigint", key: true}, {name: "produto_id", type: "bigint", key: true},
               {name: "quantidade", type: "integer"}, {name: "quantidade_reservada", type: "integer"},
               {name: "data_referencia", type: "date"}],
     options: ($conn + {directory: ($files + "/estoque"), pattern: "estoque_loja_*.csv", delimiter: ";",
                        encoding: "utf-8", date_format: "DD/MM/YYYY", max_reject_pct: 5})},
    {system: "arquivos", source_type: "sftp", database: "parceiros", object: "precos_fornecedor",
     load_type: "incremental", connection_secret: "env:LAKE_SECRET_SFTP_PASSWORD",
     project: "shopper", region: "southamerica-east1",
     columns: [{name: "produto_id", type: "bigint", key: true}, {name: "sku", type: "text"},
               {name: "descricao_fornecedor", type: "text"},
               {name: "preco_custo", type: "numeric(12,2)"}, {name: "preco_sugerido", type: "numeric(12,2)"},
               {name: "vigencia_inicio", type: "date"}, {name: "fornecedor_cnpj", type: "text"}],
     options: ($conn + {directory: ($files + "/precos"), pattern: "precos_fornecedor_*.csv", delimiter: ";",
                        encoding: "windows-1252", decimal_comma: true, date_format: "DD/MM/YYYY"})}
  ]'
