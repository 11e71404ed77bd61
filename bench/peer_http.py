"""The HTTP side of bench/peer: loads one workload into a running `offerline serve` through
the API, then times the staff simulation of its basket.

    python bench/peer_http.py BASE TOKEN DIR [SECONDS]

BASE is the server (http://127.0.0.1:PORT), TOKEN a staff token, DIR a workload written by
`peer_oscar.py gen`. From DIR/spec.json it creates each product (POST /api/v1/products/),
its price in the default price list (POST /api/v1/product_prices/) and the promotions in
bulk (POST /api/v1/promotions/bulk/, the bodies of DIR/promotions.json without their
"id"). Then it posts the basket — skus and quantities only, so the server reads the prices
it holds — to POST /api/v1/pricing/simulate/ over one kept-alive connection: one untimed
warm-up, then at least 5 requests until SECONDS have passed, each timed from sending the
request to reading the whole answer's bytes (the last answer is parsed after the clock).
Prints one JSON object: the median per basket in microseconds and the totals of the answer.
Standard library only.
"""

import http.client
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit


class Client:
    def __init__(self, base, token):
        url = urlsplit(base)
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def post_raw(self, path, body: bytes, expect):
        self.conn.request("POST", path, body=body, headers=self.headers)
        resp = self.conn.getresponse()
        text = resp.read()
        if resp.status != expect:
            raise SystemExit(f"POST {path}: {resp.status} {text[:500]!r}")
        return text

    def post(self, path, body, expect):
        return json.loads(self.post_raw(path, json.dumps(body).encode(), expect))


def main(base, token, spec_dir, seconds):
    spec_dir = Path(spec_dir)
    spec = json.loads((spec_dir / "spec.json").read_text())
    client = Client(base, token)
    for p in spec["products"]:
        product = client.post("/api/v1/products/", {"name": p["name"], "sku": p["sku"]}, 201)
        client.post("/api/v1/product_prices/", {"product": product["pk"], "price": p["unit_price"]}, 201)
    bodies = [{k: v for k, v in b.items() if k != "id"} for b in json.loads((spec_dir / "promotions.json").read_text())]
    for at in range(0, len(bodies), 1000):  # the bulk endpoint takes up to 1,000
        client.post("/api/v1/promotions/bulk/", {"promotions": bodies[at : at + 1000]}, 201)

    lines = [{"sku": p["sku"], "quantity": p["quantity"]} for p in spec["products"]]
    basket = json.dumps({"currency": "try", "lines": lines}).encode()

    def once():
        start = time.perf_counter()
        raw = client.post_raw("/api/v1/pricing/simulate/", basket, 200)
        return time.perf_counter() - start, raw

    once()  # warm-up, untimed
    samples, spent = [], 0.0
    while len(samples) < 5 or (spent < seconds and len(samples) < 1000):
        t, raw = once()
        samples.append(t)
        spent += t
    answer = json.loads(raw)  # read after the clock: the answer is 200 kB at 1,000 offers
    print(
        json.dumps(
            {
                "engine": "http",
                "samples": len(samples),
                "per_basket_us": statistics.median(samples) * 1e6,
                "applied": len(answer["applied"]),
                "total_discount": answer["total_discount"],
                "total_before_discount": answer["total_before_discount"],
                "total": answer["total"],
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]) if len(sys.argv) == 5 else 2.0)
