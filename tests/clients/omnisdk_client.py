"""Akinon's own Omnitron client, omnisdk: it logs in with username/password
(POST {base}/api/v1/auth/login/), sends `Authorization: Token <key>`, re-logs in on 401, and
pages with `page=1,2,…` until `next` is empty. omnisdk has no endpoint class for the detailed
discount-item and order-item views, so this uses its generic endpoint machinery
(`OmnitronApiEndpoint(endpoint=…, path="detailed_integration")`), the way its own endpoints
are declared. Exits non-zero on any mismatch."""
from omnisdk.omnitron.client import OmnitronApiClient
from omnisdk.omnitron.endpoints import ActiveUserEndpoint, OmnitronApiEndpoint
from omnisdk.omnitron.models import DiscountItem, OrderItem

from _common import check, check_shape, config, seed

cfg = config()
# omnisdk appends "api/v1/" to the base URL as given, so the base ends with "/" (as in
# Akinon's examples: "https://{customer_api_url}/").
client = OmnitronApiClient(base_url=cfg["base_url"].rstrip("/") + "/", username=cfg["staff_username"],
                           password=cfg["staff_password"])
check(client.base_url.endswith("/api/v1/"), client.base_url)
check(client.token.startswith("Token "), "token header")

me = ActiveUserEndpoint(raw=True).list()
check(me.get("username") == cfg["staff_username"], f"active_user: {me}")


def all_pages(endpoint, params):
    """Every item of a list through omnisdk's paging (first page, then its iterator)."""
    first = endpoint.list(params=dict(params))
    items = list(first)
    for page in endpoint.iterator:
        items.extend(page)
    return items


discounts = all_pages(OmnitronApiEndpoint(endpoint="discount_items", model=DiscountItem, path="detailed_integration"),
                      {"order": cfg["multibuy_order"], "limit": 1})
check(len(discounts) == 1, f"discount items: {len(discounts)}")
d = discounts[0]
check(isinstance(d, DiscountItem), type(d))
check(d.amount == "199.90" and d.promotion["id"] is not None, vars(d))
check_shape(seed(cfg, "000_discount_item.json"), vars(d), "discount item via omnisdk")

# Four units, one per page: omnisdk must follow `next` three times and stop.
items = all_pages(OmnitronApiEndpoint(endpoint="order_item", model=OrderItem, path="detailed_integration"),
                  {"order": cfg["plain_order"], "limit": 1})
check([i.price for i in items] == ["63.92", "63.92", "24.72", "24.72"], [i.price for i in items])
check(len({i.pk for i in items}) == 4, "distinct order items")
for i in items:
    check_shape(seed(cfg, "002_order_item.json"), vars(i), "order item via omnisdk")
    check(i.status == "400" and i.status_display == "approved", i.status)

# Two per page, sorted descending as channel-app does with `sort`.
items = all_pages(OmnitronApiEndpoint(endpoint="order_item", model=OrderItem, path="detailed_integration"),
                  {"order": cfg["multibuy_order"], "limit": 2, "sort": "-id"})
check(len(items) == 3 and items[0].pk > items[-1].pk, [i.pk for i in items])
check(sorted(i.discount_amount for i in items) == ["66.63", "66.63", "66.64"], "discount amounts")

# A single object by id through `retrieve`.
one = OmnitronApiEndpoint(endpoint="discount_items", model=DiscountItem).retrieve(
    f"{cfg['discount_id']}/detailed_integration")
check(one.pk == cfg["discount_id"], vars(one))

# A revoked/invalid token: omnisdk re-logs in once on 401 and succeeds.
client.session.headers.update({"Authorization": "Token 0000000000000000000000000000000000000000"})
again = OmnitronApiEndpoint(endpoint="discount_items", model=DiscountItem, path="detailed_integration").list(
    params={"order": cfg["multibuy_order"]})
check(len(again) == 1 and again[0].amount == "199.90", "re-login after 401")
print("OK omnisdk")
