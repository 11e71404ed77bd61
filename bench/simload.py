#!/usr/bin/env python3
"""Data for the simulate and promotion-write rows of bench/run (issue 16's table), written
through the HTTP API of a running offerline (standard library only).

    bench/simload.py BASE TOKEN setup WORKLOAD OUT_BODY   # products, prices, promotions; the basket body
    bench/simload.py BASE TOKEN writes N MODE              # N promotions, MODE one|bulk; prints seconds
    bench/simload.py BASE TOKEN latency BODY SECONDS       # p50s on one Python keep-alive connection

Workloads (each on its own fresh database):
  mixed    a 100-line basket against 1,000 live promotions of the demo's mix: a few site-wide
           exclusive offers, the rest on sku ranges of 1-5 products from a 2,000-product
           catalogue with amount/count conditions, so a handful apply and the rest are explained;
  stack10  10 lines x 10 non-exclusive percentage promotions on every product (all apply);
  stack1k  100 lines x 1,000 non-exclusive promotions, each on a 20-product range with a
           count-1 condition, so most apply and stack (tens of thousands of unit shares).
Everything is seeded: the same workload writes the same rows.
"""

import http.client
import json
import random
import statistics
import sys
import time
import urllib.request

BASE, TOKEN, CMD = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("Authorization", f"Token {TOKEN}")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        sys.exit(f"{method} {path}: {e.code} {e.read()[:500]!r}")


def sku(i):
    return f"BENCH-{i:05d}"


def products(n, rng):
    for i in range(n):
        p = call("POST", "/api/v1/products/", {"name": f"Bench product {i}", "sku": sku(i)})
        price = f"{rng.randint(5, 505)}.{rng.randint(0, 99):02d}"
        call("POST", "/api/v1/product_prices/", {"product": p["pk"], "price": price})


def promo(i, condition, benefit, exclusive=False, priority=0):
    return {
        "name": f"bench {i}", "slug": f"bench-{i}", "offer_type": "site", "currency": "try",
        "start_datetime": "2026-01-01T00:00:00Z", "end_datetime": None, "priority": priority,
        "exclusive": exclusive, "is_active": True, "condition": condition, "benefit": benefit,
    }


def mixed(rng, catalogue):
    out = []
    for i in range(1000):
        if i < 3:
            out.append(promo(i, {"type": "amount", "value": "100000.00", "range": {"all": True}},
                             {"type": "percentage", "value": "5", "range": {"all": True}}, True, 1))
            continue
        skus = [sku(rng.randrange(catalogue)) for _ in range(rng.randint(1, 5))]
        rng_ = {"skus": skus}
        kind = rng.random()
        if kind < 0.4:
            cond = {"type": "amount", "value": f"{rng.randint(100, 900)}.00", "range": rng_}
        else:
            cond = {"type": "count", "value": rng.randint(1, 4), "range": rng_}
        ben = {"type": "percentage", "value": str(rng.randint(5, 30)), "range": rng_}
        out.append(promo(i, cond, ben, rng.random() < 0.5))
    return out


def stack(n, rng, catalogue, width):
    out = []
    for i in range(n):
        if width is None:
            rng_ = {"all": True}
        else:
            rng_ = {"skus": [sku(rng.randrange(catalogue)) for _ in range(width)]}
        out.append(promo(i, {"type": "count", "value": 1, "range": rng_},
                         {"type": "percentage", "value": str(rng.randint(1, 3)), "range": rng_}))
    return out


def bulk(promos):
    """Bulk calls of at most 1,000 promotions and under the contract's 1 MiB body."""
    batch, size = [], 0
    for p in promos:
        n = len(json.dumps(p)) + 2
        if batch and (len(batch) == 1000 or size + n > 1_000_000):
            call("POST", "/api/v1/promotions/bulk/", {"promotions": batch})
            batch, size = [], 0
        batch.append(p)
        size += n
    if batch:
        call("POST", "/api/v1/promotions/bulk/", {"promotions": batch})


def setup(workload, out_body):
    rng = random.Random(16)
    if workload == "mixed":
        catalogue, lines = 2000, 100
        products(catalogue, rng)
        bulk(mixed(rng, catalogue))
    elif workload == "stack10":
        catalogue, lines = 10, 10
        products(catalogue, rng)
        bulk(stack(10, rng, catalogue, None))
    elif workload == "stack1k":
        catalogue, lines = 100, 100
        products(catalogue, rng)
        bulk(stack(1000, rng, catalogue, 20))
    else:
        sys.exit(f"unknown workload {workload}")
    chosen = rng.sample(range(catalogue), lines)
    body = {"lines": [{"sku": sku(i), "quantity": rng.randint(1, 3)} for i in chosen]}
    with open(out_body, "w") as f:
        json.dump(body, f)


def writes(n, mode):
    rng = random.Random(17)
    products(200, rng)
    promos = [promo(i, {"type": "count", "value": 1, "range": {"skus": [sku(rng.randrange(200)) for _ in range(rng.randint(20, 200))]}},
                    {"type": "percentage", "value": "5", "range": {"all": True}}, rng.random() < 0.5)
              for i in range(n)]
    start = time.monotonic()
    if mode == "one":
        for p in promos:
            call("POST", "/api/v1/promotions/", p)
    else:
        bulk(promos)
    print(f"{time.monotonic() - start:.2f}")


def latency(body_file, seconds):
    """p50 of GET /healthz and of the simulation of BODY, alternating on one kept-alive
    http.client connection: a client that costs what a script or an SDK costs, as the issue's
    table was measured (wrk's own cost per request is far smaller, so its ratios are harsher).
    Prints "healthz_p50_us simulate_p50_us"."""
    with open(body_file, "rb") as f:
        body = f.read()
    host = BASE.split("//", 1)[1]
    conn = http.client.HTTPConnection(host, timeout=60)
    heads = {"Authorization": f"Token {TOKEN}", "Content-Type": "application/json"}
    times = {"healthz": [], "simulate": []}

    def one(kind):
        start = time.perf_counter()
        if kind == "healthz":
            conn.request("GET", "/healthz", headers={"X-Bench": "1"})
        else:
            conn.request("POST", "/api/v1/pricing/simulate/", body=body, headers=heads)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            sys.exit(f"{kind}: {r.status}")
        times[kind].append(time.perf_counter() - start)

    for _ in range(50):  # warm-up
        one("healthz")
        one("simulate")
    times = {"healthz": [], "simulate": []}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        one("healthz")
        one("simulate")
    h, s = (statistics.median(times[k]) * 1e6 for k in ("healthz", "simulate"))
    print(f"{h:.0f} {s:.0f}")


if CMD == "setup":
    setup(sys.argv[4], sys.argv[5])
elif CMD == "writes":
    writes(int(sys.argv[4]), sys.argv[5])
elif CMD == "latency":
    latency(sys.argv[4], float(sys.argv[5]))
else:
    sys.exit(__doc__)
