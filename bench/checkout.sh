#!/usr/bin/env bash
# Checkout throughput: concurrent customers each fill a 10-line basket and check out, in a
# loop, against a release build on a fresh SQLite file and a fresh PostgreSQL schema.
#
#   bench/checkout.sh [seconds] [clients]        (defaults 10 s, 16 clients)
#
# Three live site offers are created through POST /api/v1/promotions/ when that endpoint
# exists (a build without it benches checkout without offers, and says so). The load loop
# is Python (http.client, keep-alive, one thread per client): it reports orders/s (whole
# cycle: 10 basket writes + 1 checkout) and the checkout latency percentiles.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
clients="${2:-16}"
pg_admin="${OFFERLINE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
echo "==> building release" >&2
cargo build --release -p offerline >&2
bin="$CARGO_TARGET_DIR/release/offerline"
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT

run_db() { # $1 = label, $2 = database url
  local log="$out/$1.log" base=""
  OFFERLINE_DATABASE_URL="$2" OFFERLINE_LOG=warn "$bin" serve --addr 127.0.0.1:0 >"$log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do
    base=$(grep -o 'offerline listening on http://[0-9.:]*' "$log" | awk '{print $4}' || true)
    [ -n "$base" ] && break
    sleep 0.1
  done
  local staff
  staff=$(OFFERLINE_DATABASE_URL="$2" OFFERLINE_LOG=warn "$bin" user create --username "bench-staff" --password pw-123456 --staff --token)
  local tokens=()
  for i in $(seq 1 "$clients"); do
    tokens+=("$(OFFERLINE_DATABASE_URL="$2" OFFERLINE_LOG=warn "$bin" user create --username "bench-c$i" --password pw-123456 --email "c$i@example.com" --token)")
  done
  python3 - "$1" "$base" "$secs" "$staff" "${tokens[@]}" <<'PY'
import http.client, json, sys, threading, time, urllib.parse
label, base, secs, staff = sys.argv[1], sys.argv[2], float(sys.argv[3]), json.loads(sys.argv[4])["token"]
customers = [json.loads(t)["token"] for t in sys.argv[5:]]
u = urllib.parse.urlparse(base)
def conn():
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)
def call(c, method, path, token, body=None):
    for attempt in range(3):
        try:
            c.request(method, path, body=json.dumps(body) if body is not None else None,
                      headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
            r = c.getresponse()
            return r.status, r.read()
        except (http.client.HTTPException, OSError):
            # The server closes a keep-alive connection after an error response with an
            # unread body; reconnect and retry.
            c.close()
            if attempt == 2:
                raise
c = conn()
products = []
for i in range(10):
    st, b = call(c, "POST", "/api/v1/products/", staff, {"name": f"Bench {i}", "sku": f"BENCH-{i}"})
    pk = json.loads(b)["pk"]; products.append(pk)
    call(c, "POST", "/api/v1/product_prices/", staff, {"product": pk, "price": f"{19.90 + 10 * i:.2f}"})
offers = [
    {"name": "3 al 2", "offer_type": "site", "currency": "try", "exclusive": False,
     "condition": {"type": "count", "value": 3, "range": {"products": products[:3]}},
     "benefit": {"type": "multibuy", "value": None, "range": {"products": products[:3]}}},
    {"name": "10% off", "offer_type": "site", "currency": "try", "exclusive": False,
     "condition": {"type": "amount", "value": "100.00", "range": {"all": True}},
     "benefit": {"type": "percentage", "value": "10", "range": {"products": products[3:7]}}},
    {"name": "5 TL off", "offer_type": "site", "currency": "try", "exclusive": False,
     "condition": {"type": "none", "value": None},
     "benefit": {"type": "fixed", "value": "5.00", "range": {"all": True}}},
]
created = sum(1 for o in offers if call(c, "POST", "/api/v1/promotions/", staff, o)[0] == 201)
if created < 3:
    print(f"# {label}: only {created} of 3 offers could be created (promotions endpoint missing?)", file=sys.stderr)
time.sleep(1.5)  # offer cache refresh
orders, lat, errors = [0], [], [0]
lock = threading.Lock()
stop = time.time() + secs
def client(tok):
    c = conn()
    while time.time() < stop:
        for pk in products:
            call(c, "POST", "/baskets/basket/", tok, {"product": pk, "quantity": 1 + pk % 3})
        t = time.perf_counter()
        st, _ = call(c, "POST", "/orders/checkout/", tok, {})
        dt = time.perf_counter() - t
        with lock:
            if st == 201:
                orders[0] += 1; lat.append(dt)
            else:
                errors[0] += 1
threads = [threading.Thread(target=client, args=(t,)) for t in customers]
t0 = time.time()
for t in threads: t.start()
for t in threads: t.join()
el = time.time() - t0
lat.sort()
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0
print(f"{label:<10} offers={created} clients={len(customers)} orders={orders[0]} errors={errors[0]} "
      f"orders/s={orders[0]/el:.0f} requests/s={orders[0]*11/el:.0f} checkout p50={p(.5):.1f}ms p99={p(.99):.1f}ms")
PY
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_db sqlite "sqlite://$out/bench.db?mode=rwc"
schema="bench_$(date +%s)"
psql "$pg_admin" -qc "CREATE SCHEMA $schema" >/dev/null
run_db postgres "$pg_admin?options=-csearch_path%3D$schema"
psql "$pg_admin" -qc "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1
