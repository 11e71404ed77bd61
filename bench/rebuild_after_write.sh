#!/usr/bin/env bash
# What the first pricing after another node's promotion write costs (docs/PERFORMANCE.md):
# two servers on one fresh SQLite file, N promotions (default 10,000, 20-200-sku ranges)
# through node A's bulk endpoint, then ROUNDS rounds of a PATCH of one promotion on node B
# and a simulate on node A at once (it waits for A's rebuild), and again (nothing to
# rebuild). Prints each round's two times and node A's logged rebuilds.
#
#   bench/rebuild_after_write.sh [N] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000}"
rounds="${2:-5}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --release -q
bin="$CARGO_TARGET_DIR/release/offerline"
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
url="sqlite://$out/rebuild.db?mode=rwc"
OFFERLINE_DATABASE_URL="$url" OFFERLINE_LOG=warn "$bin" migrate >/dev/null
token=$(OFFERLINE_DATABASE_URL="$url" OFFERLINE_LOG=warn "$bin" user create --username bench-rebuild \
  --password pw-123456 --staff --token | jq -r .token)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
a_port=$(free_port)
b_port=$(free_port)
OFFERLINE_DATABASE_URL="$url" OFFERLINE_LOG=info "$bin" serve --addr "127.0.0.1:$a_port" >"$out/a.log" 2>&1 &
OFFERLINE_DATABASE_URL="$url" OFFERLINE_LOG=warn "$bin" serve --addr "127.0.0.1:$b_port" >"$out/b.log" 2>&1 &
for port in "$a_port" "$b_port"; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
done
python3 bench/simload.py "http://127.0.0.1:$a_port" "$token" writes "$n" bulk >/dev/null
simulate() {
  curl -sf -o /dev/null -w "%{time_total}" -H "Authorization: Token $token" -H 'Content-Type: application/json' \
    -d '{"lines": [{"sku": "BENCH-00001", "quantity": 1}], "explain": "none"}' \
    "http://127.0.0.1:$1/api/v1/pricing/simulate/"
}
echo "first simulate after $n promotions in bulk: node A $(simulate "$a_port") s, node B $(simulate "$b_port") s"
sleep 2
id=$(curl -sf -H "Authorization: Token $token" "http://127.0.0.1:$b_port/api/v1/promotions/?limit=1" | jq '.results[0].pk // .results[0].id')
for i in $(seq "$rounds"); do
  curl -sf -o /dev/null -X PATCH -H "Authorization: Token $token" -H 'Content-Type: application/json' \
    -d "{\"priority\": $i}" "http://127.0.0.1:$b_port/api/v1/promotions/$id/"
  echo "round $i: simulate on node A right after a PATCH on node B: $(simulate "$a_port") s; again: $(simulate "$a_port") s"
  sleep 1
done
echo "node A's rebuilds:"
grep "offer cache reloaded" "$out/a.log" | tail -n "$rounds" | sed -E 's/.*offers=([0-9]+) elapsed_ms=([0-9.]+).*/  offers=\1 elapsed_ms=\2/'
