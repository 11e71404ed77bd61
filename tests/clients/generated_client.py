"""A client generated from the running server's own /openapi.json (openapi-python-client),
used with nothing else: staff login, the discount-item ledger page by page, then a basket of
the first product priced by the dry-run simulation.

Run by crates/offerline/tests/e2e/generated_client.rs with one JSON argument:
  {"base_url", "staff_username", "staff_password", "work_dir"}

The client package is generated into work_dir (the test's own temporary directory) and
imported from there. Prints one JSON line (`RESULT {...}`: the token's length, the ledger's
count and the ids and amounts read through the typed models, the simulated sku and totals)
and `generated_client OK`; the Rust test compares them with the raw HTTP answers.
"""

import importlib
import json
import os
import subprocess
import sys

import requests

config = json.loads(sys.argv[1])
base = config["base_url"].rstrip("/")
work = config["work_dir"]

doc = requests.get(f"{base}/openapi.json", timeout=30)
doc.raise_for_status()
spec = os.path.join(work, "openapi.json")
with open(spec, "w", encoding="utf-8") as f:
    f.write(doc.text)

# No formatter after generation: the client is generated to be used, not committed. Enums as
# Literal types: a boolean's accepted texts ("true", "True", …) differ only in case, which
# Enum member names cannot.
settings = os.path.join(work, "generator.json")
with open(settings, "w", encoding="utf-8") as f:
    json.dump({"post_hooks": [], "literal_enums": True, "project_name_override": "offerline",
               "package_name_override": "offerline_client"}, f)
generator = os.path.join(os.path.dirname(sys.executable), "openapi-python-client")
out = subprocess.run(
    [generator, "generate", "--path", spec, "--output-path", os.path.join(work, "offerline_client"),
     "--meta", "none", "--config", settings, "--fail-on-warning"],
    capture_output=True, text=True, timeout=300,
)
if out.returncode != 0:
    sys.exit(f"generation failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")

sys.path.insert(0, work)
client_mod = importlib.import_module("offerline_client")
login = importlib.import_module("offerline_client.api.omnitron_auth.post_api_v1_auth_login")
ledger = importlib.import_module("offerline_client.api.ledger.get_api_v1_discount_items_detailed_integration")
products = importlib.import_module("offerline_client.api.catalogue.get_api_v1_products")
simulate = importlib.import_module("offerline_client.api.promotions.post_api_v1_pricing_simulate")
models = importlib.import_module("offerline_client.models")

# Staff login: a typed body in, a typed TokenKey out.
answer = login.sync(
    client=client_mod.Client(base_url=base, raise_on_unexpected_status=True),
    body=models.StaffLogin(username=config["staff_username"], password=config["staff_password"]),
)
assert isinstance(answer, models.TokenKey), f"login answered {answer!r}"
staff = client_mod.AuthenticatedClient(base_url=base, token=answer.key, prefix="Token",
                                       raise_on_unexpected_status=True)

# The ledger, every page, through the typed DiscountItemPage / DiscountItem models.
ids, amounts, shares, page, count = [], [], [], 1, None
while True:
    got = ledger.sync(client=staff, page=page, limit="2")
    assert isinstance(got, models.DiscountItemPage), f"page {page} answered {got!r}"
    count = got.count
    for item in got.results:
        assert isinstance(item, models.DiscountItem), item
        ids.append(item.pk)
        amounts.append(item.amount)
        shares.append([b.discount_share for b in item.benefitapplicant_set])
    if not got.next_:  # `next` is a builtin: the generator names the field `next_`
        break
    page += 1

# A basket of two units of the first product, priced by the simulation.
first = products.sync(client=staff, limit="1")
assert isinstance(first, models.ProductPage) and first.results, f"products answered {first!r}"
sku = first.results[0].sku
priced = simulate.sync(client=staff, body=models.SimulateBody(lines=[models.SimulateLine(sku=sku, quantity=2)]))
assert isinstance(priced, models.SimulationAnswer), f"simulate answered {priced!r}"
assert len(priced.lines) == 1, priced

print("RESULT " + json.dumps({"token_length": len(answer.key), "count": count, "pages": page,
                              "ids": ids, "amounts": amounts, "shares": shares, "sku": sku,
                              "simulated": {"currency": priced.currency, "total": priced.total,
                                            "total_discount": priced.total_discount,
                                            "applied": [a.name for a in priced.applied]}}))
print("generated_client OK")
