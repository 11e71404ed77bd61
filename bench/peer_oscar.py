"""The django-oscar side of bench/peer: the workload generator, and oscar pricing it.

    python bench/peer_oscar.py gen LINES OFFERS DEPTH DIR   writes DIR/{spec,promotions,basket}.json
    python bench/peer_oscar.py oscar DIR [SECONDS]           prices DIR/spec.json with oscar

`gen` makes one workload, deterministically: LINES basket lines (one product each, quantity
1 to 3, unit prices from 5.00 to 194.99) and OFFERS site offers, each a non-exclusive
percentage offer (1, 2 or 3 %) whose condition is "at least 1 unit of its range" and whose
benefit is the percentage off that same range. The ranges are consecutive runs of the
lines sized so that every line is in exactly DEPTH ranges: every offer applies, and every
line carries DEPTH stacked discounts. spec.json is the neutral description; promotions.json
and basket.json are the same data as `offerline price` reads them (crates/offerline/src/
price.rs) and as the HTTP API takes it (bench/peer_http.py loads spec.json).

`oscar` loads spec.json into django-oscar's own models (an in-memory SQLite database,
Django settings made here, the tables created from the models): a product class without stock tracking, one
product and stock record per line, one saved basket under the Default (no tax) strategy,
and per offer a Range of included products, a Count condition (value 1), a Percentage
benefit and a ConditionalOffer(offer_type=SITE, exclusive=False, priority=0). It then
times `Applicator().apply(basket)` — what oscar runs on every request that shows a
basket: the active site offers are read, the basket lines re-read, and every offer is
tried on every line — after `basket.reset_offer_applications()` (which drops the lines'
discounts), once per sample, until SECONDS have passed (at least 3 samples, after one
untimed warm-up unless that alone took SECONDS). It prints one JSON object: the median
time per basket in microseconds, the SQL queries one pricing makes, and the totals: the
sum of the offers' recorded discounts (what an order records per offer), the basket's own
total_discount (the unrounded line discounts summed, half-up), the subtotal and
the total (line prices after discounts, each clamped at zero).
"""

import json
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path


def generate(lines, offers, depth, out):
    """Writes spec.json, promotions.json and basket.json for one workload into `out`."""
    if depth > offers or lines * depth % offers:
        raise SystemExit(f"{lines}x{offers}x{depth}: LINES*DEPTH must be a multiple of OFFERS, DEPTH <= OFFERS")
    width = lines * depth // offers  # lines per range
    if width > lines:
        raise SystemExit(f"{lines}x{offers}x{depth}: a range would hold more lines than the basket has")
    products = [
        {
            "sku": f"PEER-{i:04d}",
            "name": f"Peer product {i}",
            "unit_price": f"{5 + (i * 7919) % 19000 / 100:.2f}",
            "quantity": 1 + i % 3,
        }
        for i in range(lines)
    ]
    offer_list = [
        {
            "name": f"Peer offer {j}",
            "percent": 1 + j % 3,
            "skus": [products[(j * width + k) % lines]["sku"] for k in range(width)],
        }
        for j in range(offers)
    ]
    spec = {"lines": lines, "offers": offers, "depth": depth, "products": products, "offer_list": offer_list}
    promotions = [
        {
            "id": j + 1,
            "name": o["name"],
            "offer_type": "site",
            "currency": "try",
            "start_datetime": "2020-01-01T00:00:00Z",
            "end_datetime": None,
            "priority": 0,
            "exclusive": False,
            "is_active": True,
            "condition": {"type": "count", "value": 1, "range": {"skus": o["skus"]}},
            "benefit": {"type": "percentage", "value": str(o["percent"]), "range": {"skus": o["skus"]}},
        }
        for j, o in enumerate(offer_list)
    ]
    basket = {
        "currency": "try",
        "lines": [
            {"sku": p["sku"], "quantity": p["quantity"], "unit_price": p["unit_price"], "product": i + 1}
            for i, p in enumerate(products)
        ],
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, value in (("spec", spec), ("promotions", promotions), ("basket", basket)):
        (out / f"{name}.json").write_text(json.dumps(value))


class NoMigrations(dict):
    """Every app "has no migrations", so `migrate --run-syncdb` creates the tables at once."""

    def __contains__(self, _app):
        return True

    def __getitem__(self, _app):
        return None


def setup_django():
    """Django settings for oscar's models in an in-memory SQLite database, and its tables."""
    import django
    import oscar.defaults
    from django.conf import settings

    oscar_settings = {k: v for k, v in vars(oscar.defaults).items() if k.startswith("OSCAR_")}
    oscar_settings["OSCAR_DEFAULT_CURRENCY"] = "TRY"
    settings.configure(
        DEBUG=False,  # no query log
        SECRET_KEY="peer-bench",
        USE_TZ=True,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.sites",
            "django.contrib.flatpages",
            "oscar.apps.analytics.apps.AnalyticsConfig",
            "oscar.apps.checkout.apps.CheckoutConfig",
            "oscar.apps.address.apps.AddressConfig",
            "oscar.apps.shipping.apps.ShippingConfig",
            "oscar.apps.catalogue.apps.CatalogueConfig",
            "oscar.apps.catalogue.reviews.apps.CatalogueReviewsConfig",
            "oscar.apps.communication.apps.CommunicationConfig",
            "oscar.apps.partner.apps.PartnerConfig",
            "oscar.apps.basket.apps.BasketConfig",
            "oscar.apps.payment.apps.PaymentConfig",
            "oscar.apps.offer.apps.OfferConfig",
            "oscar.apps.order.apps.OrderConfig",
            "oscar.apps.customer.apps.CustomerConfig",
            "oscar.apps.voucher.apps.VoucherConfig",
            "oscar.apps.search.apps.SearchConfig",
            "oscar.apps.wishlists.apps.WishlistsConfig",
            "haystack",
            "treebeard",
        ],
        SITE_ID=1,
        MIGRATION_MODULES=NoMigrations(),  # tables straight from the models: much faster
        HAYSTACK_CONNECTIONS={"default": {"ENGINE": "haystack.backends.simple_backend.SimpleEngine"}},
        **oscar_settings,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False, run_syncdb=True)


def load(spec):
    """Writes the workload into oscar's models; returns the saved basket (Default strategy)."""
    from oscar.apps.partner.strategy import Default
    from oscar.core.loading import get_model

    ProductClass = get_model("catalogue", "ProductClass")
    Product = get_model("catalogue", "Product")
    Partner = get_model("partner", "Partner")
    StockRecord = get_model("partner", "StockRecord")
    Basket = get_model("basket", "Basket")
    Range = get_model("offer", "Range")
    Condition = get_model("offer", "Condition")
    Benefit = get_model("offer", "Benefit")
    ConditionalOffer = get_model("offer", "ConditionalOffer")

    kind = ProductClass.objects.create(name="Peer", track_stock=False)
    partner = Partner.objects.create(name="Peer partner")
    by_sku = {}
    for p in spec["products"]:
        product = Product.objects.create(product_class=kind, title=p["name"], upc=p["sku"])
        StockRecord.objects.create(
            product=product, partner=partner, partner_sku=p["sku"], price=Decimal(p["unit_price"]), price_currency="TRY"
        )
        by_sku[p["sku"]] = product
    basket = Basket.objects.create()
    basket.strategy = Default()
    for p in spec["products"]:
        basket.add_product(by_sku[p["sku"]], p["quantity"])
    for o in spec["offer_list"]:
        rng = Range.objects.create(name=o["name"])
        for sku in o["skus"]:
            rng.add_product(by_sku[sku])
        ConditionalOffer.objects.create(
            name=o["name"],
            offer_type=ConditionalOffer.SITE,
            exclusive=False,
            priority=0,
            condition=Condition.objects.create(range=rng, type=Condition.COUNT, value=1),
            benefit=Benefit.objects.create(range=rng, type=Benefit.PERCENTAGE, value=Decimal(o["percent"])),
        )
    return basket


def price(spec_dir, seconds):
    setup_django()
    from django.db import connection
    from oscar.apps.offer.applicator import Applicator

    spec = json.loads((Path(spec_dir) / "spec.json").read_text())
    basket = load(spec)

    def once():
        basket.reset_offer_applications()
        start = time.perf_counter()
        Applicator().apply(basket, None, None)
        return time.perf_counter() - start

    # A warm-up, untimed unless it alone took SECONDS (a 100 x 1,000 basket takes a minute:
    # nothing left to warm then, and three samples are what a run can afford).
    queries = []
    with connection.execute_wrapper(lambda execute, *a: queries.append(1) or execute(*a)):
        first = once()
    samples, spent = ([first], first) if first >= seconds else ([], 0.0)
    while len(samples) < 3 or (spent < seconds and len(samples) < 1000):
        t = once()
        samples.append(t)
        spent += t
    applications = list(basket.offer_applications)
    recorded = sum((a["discount"] for a in applications), Decimal("0.00"))
    print(
        json.dumps(
            {
                "engine": "oscar",
                "samples": len(samples),
                "per_basket_us": statistics.median(samples) * 1e6,
                "applied": len(applications),
                "queries": len(queries),
                "total_discount": str(recorded),
                "basket_total_discount": str(basket.total_discount),
                "total_before_discount": str(basket.total_excl_tax_excl_discounts),
                "total": str(basket.total_excl_tax),
            }
        )
    )


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) == 5 and args[0] == "gen":
        generate(int(args[1]), int(args[2]), int(args[3]), args[4])
    elif len(args) in (2, 3) and args[0] == "oscar":
        price(args[1], float(args[2]) if len(args) == 3 else 2.0)
    else:
        raise SystemExit(__doc__)
