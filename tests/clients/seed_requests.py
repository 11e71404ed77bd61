"""The seeds' own example requests, with `requests`, exactly as the Akinon docs write them:
`content-type: application/json` and `Authorization: Token <key>` (staff key from
/api/v1/auth/login/), against the Omnitron and OMS read endpoints (seeds 000, 002, 003) and,
with a customer token, the account endpoints (seed 001). Exits non-zero on any mismatch."""
import requests

from _common import check, check_shape, config, seed

cfg = config()
base = cfg["base_url"].rstrip("/")

login = requests.post(f"{base}/api/i1/auth/login/",
                      json={"username": cfg["staff_username"], "password": cfg["staff_password"]},
                      headers={"content-type": "application/json"})
check(login.status_code == 200, f"login: {login.status_code} {login.text}")
api_token = login.json()["key"]
headers = {
    'content-type': 'application/json',
    'Authorization': 'Token {}'.format(api_token)
}

# Seed 000: discount items of an order, and one by id.
url = f"{base}/api/v1/discount_items/detailed_integration/?order={cfg['multibuy_order']}"
response = requests.get(url, headers=headers)
check(response.status_code == 200, f"{url}: {response.status_code}")
page = response.json()
check(page["count"] == 1 and page["next"] is None, f"discount items page: {page}")
item = page["results"][0]
check_shape(seed(cfg, "000_discount_item.json"), item, "discount item")
check(item["amount"] == "199.90", item["amount"])
check([b["discount_share"] for b in item["benefitapplicant_set"]] == ["66.63", "66.63", "66.64"], "shares")
url = f"{base}/api/v1/discount_items/{cfg['discount_id']}/detailed_integration"
response = requests.get(url, headers=headers)
check(response.status_code == 200 and response.json() == item, f"{url}: {response.status_code}")

# Seed 002: the docs' sample URL has a double slash and passes `order` as params.
url = f"{base}/api/v1/order_item//detailed_integration/"
Params = {'order': cfg["plain_order"]}
response = requests.get(url, headers=headers, params=Params)
check(response.status_code == 200, f"{url}: {response.status_code} {response.text[:200]}")
page = response.json()
check(page["count"] == 4, f"order items count {page['count']}")
for it in page["results"]:
    check_shape(seed(cfg, "002_order_item.json"), it, "order item")
check([r["price"] for r in page["results"]] == ["63.92", "63.92", "24.72", "24.72"], "prices")
pk = page["results"][0]["pk"]
response = requests.get(f"{base}/api/i1/order_item/{pk}/detailed_integration/", headers=headers)
check(response.status_code == 200 and response.json()["pk"] == pk, "single order item")
response = requests.get(f"{base}/api/v1/order_item/detailed_integration/", headers=headers, params={"order": "abc"})
check(response.status_code == 400 and response.json() == {"order": ["Enter a number."]}, response.text)

# Seed 003: OMS, `requests.request('GET', …)` with `Content-Type` and an f-string token.
token = api_token
oms_headers = {
    'Content-Type': 'application/json',
    'Authorization': f'Token {token}'
}
url = f"{base}/api/v1/oms/order_items/?order_number={cfg['plain_order_number']}"
response = requests.request('GET', url, headers=oms_headers)
check(response.status_code == 200, f"{url}: {response.status_code}")
for it in response.json()["results"]:
    check_shape(seed(cfg, "003_oms_order_item.json"), it, "OMS order item")
url = f"{base}/api/v1/oms/order_items/list-simple/?order_number={cfg['plain_order_number']}"
response = requests.request('GET', url, headers=oms_headers)
check(response.status_code == 200 and response.json()["count"] == 4, url)
for it in response.json()["results"]:
    check_shape(seed(cfg, "003_oms_order_item_simple.json"), it, "OMS simple order item")
oid = response.json()["results"][0]["id"]
response = requests.request('GET', f"{base}/api/v1/oms/order_items/{oid}/", headers=oms_headers)
check(response.status_code == 200, "OMS single")
check_shape(seed(cfg, "003_oms_order_item_single.json"), response.json(), "OMS single order item")

# Seed 001 with the customer's token.
cheaders = {'Authorization': f"Token {cfg['customer_token']}", 'Content-Type': 'application/json'}
response = requests.get(f"{base}/account/basket-offers/", headers=cheaders)
check(response.status_code == 200, response.text)
check_shape(seed(cfg, "001_basket_offers.json"), response.json(), "basket offers")
for path in ("future-basket-offers", "expired-basket-offers"):
    response = requests.get(f"{base}/account/{path}/", headers=cheaders)
    check(response.status_code == 200 and response.json()["count"] >= 1, path)
    for it in response.json()["results"]:
        check_shape(seed(cfg, "001_offer_item.json"), it, path)
response = requests.get(f"{base}/account/discount-items/", headers=cheaders)
check(response.status_code == 200 and response.json()["count"] == 1, response.text)
check_shape(seed(cfg, "001_discount_item.json"), response.json()["results"][0], "account discount item")

# The customer's token does not open staff endpoints.
response = requests.get(f"{base}/api/v1/oms/order_items/", headers=cheaders)
check(response.status_code == 403, f"customer on OMS: {response.status_code}")
print("OK seed requests")
