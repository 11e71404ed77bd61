#!/usr/bin/env bash
# Checkout throughput: orders/s through POST /orders/checkout/ with a 10-line basket and three
# live offers, against the real server (bench profile) on a fresh SQLite file and a fresh
# PostgreSQL schema, at several client concurrencies, with /healthz measured in the same run
# as the baseline. The workload is written down in crates/offerline/benches/checkout.rs.
#
#   bench/checkout.sh [ORDERS-PER-LEVEL] [CLIENTS...]      (defaults: 2000 orders; 1 8 32 clients)
#
# Prints one line per (database, clients).
set -euo pipefail
cd "$(dirname "$0")/.."
orders="${1:-2000}"
shift || true
clients="${*:-1 8 32}"
exec cargo bench --locked -q -p offerline --bench checkout -- --orders "$orders" --clients "${clients// /,}"
