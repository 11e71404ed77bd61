"""What the Akinon storefront (Project Zero) proxy sends to the account endpoints: only the
`osessionid` cookie from /users/login/, `X-Requested-With: XMLHttpRequest`, `Accept`,
`Referer` and `x-currency`, never an Authorization header; the browser-side hooks call the
paths without a trailing slash and the proxy adds one. Exits non-zero on any mismatch."""
import re

import requests

from _common import check, check_shape, config, seed

cfg = config()
base = cfg["base_url"].rstrip("/")

login = requests.post(f"{base}/users/login/", json={
    "email": cfg["customer_email"], "password": cfg["customer_password"],
    "formType": "login", "locale": "en", "captchaValidated": True,
})
check(login.status_code == 200 and "key" in login.json(), f"login: {login.status_code} {login.text}")
# The PZ client scrapes the session id with this very regex.
m = re.search(r"osessionid=\w+", login.headers.get("set-cookie", ""))
check(m is not None, f"no osessionid cookie: {login.headers}")
cookie = m.group(0)
headers = {
    "Cookie": cookie + "; csrftoken=abc; pz-locale=en",
    "X-Requested-With": "XMLHttpRequest",
    "Accept": "application/json",
    "Referer": base,
    "x-currency": "try",
}

for slash in ("/", ""):
    r = requests.get(f"{base}/account/basket-offers{slash}", headers=headers)
    check(r.status_code == 200, f"basket-offers{slash}: {r.status_code} {r.text}")
    body = r.json()
    check_shape(seed(cfg, "001_basket_offers.json"), body, "basket offers")
    check(all(o["benefit_type"]["value"] == "fixed" for o in body["discounts"]), "discounts are fixed offers")
    check(body["total_discount"] == sum(o["amount"] for o in body["discounts"]), "total_discount")
    check(all(o["currency"]["value"] == "try" for o in body["all_discounts"]), "x-currency honoured")

for path in ("future-basket-offers", "expired-basket-offers"):
    r = requests.get(f"{base}/account/{path}", headers=headers)
    check(r.status_code == 200, f"{path}: {r.status_code}")
    body = r.json()
    check(set(body) == {"count", "next", "previous", "results"}, f"{path} envelope")
    for it in body["results"]:
        check_shape(seed(cfg, "001_offer_item.json"), it, path)

r = requests.get(f"{base}/account/discount-items", headers=headers)
check(r.status_code == 200, f"discount-items: {r.status_code}")
body = r.json()
check(body["count"] == 1, body)
check_shape(seed(cfg, "001_discount_item.json"), body["results"][0], "account discount item")
check(body["results"][0]["order_number"] == cfg["multibuy_order_number"], body)
check(body["results"][0]["amount"] == "199.90", body)

# Without the cookie the proxy gets 401 (the PZ client then signs the user out).
r = requests.get(f"{base}/account/basket-offers/", headers={"X-Requested-With": "XMLHttpRequest"})
check(r.status_code == 401 and "detail" in r.json(), f"no cookie: {r.status_code}")
# After logout the cookie no longer works.
requests.post(f"{base}/users/logout/", headers=headers)
r = requests.get(f"{base}/account/discount-items/", headers=headers)
check(r.status_code == 401, f"after logout: {r.status_code}")
print("OK storefront cookie")
