"""The back office (/dashboard/) driven in headless Chromium through WebDriver (Selenium),
every flow of contract section 9 in one browser session: log in, a promotion created through
the form (the API's own validation message first) and priced in the preview, an order placed
through the storefront API and its ledger page (66.63 / 66.63 / 66.64), one unit cancelled
with the refund previewed (133.27) then confirmed (cancel_amount 66.63), a customer's request
approved from the queue, voucher codes generated and downloaded as CSV, the report's chart;
a write without the CSRF token is 403 and a customer has no access.

Run by crates/offerline/tests/e2e/dashboard.rs with one JSON argument (base_url, the staff and
customer credentials, the product, the screenshot directory). A failed step leaves a
screenshot and the page's HTML in that directory. Debian's chromium and chromium-driver are
required: without them this fails, it never skips. Prints OK when every step passed.
"""

import contextlib
import csv
import io
import json
import os
import re
import sys
import traceback

import requests

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

for path in (CHROMIUM, CHROMEDRIVER):
    if not os.path.exists(path):
        sys.exit(f"FAIL: {path} is missing: install Debian's chromium and chromium-driver (scripts/test does)")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

cfg = json.loads(sys.argv[1])
BASE = cfg["base_url"]
SHOTS = cfg["screenshot_dir"]
os.makedirs(SHOTS, exist_ok=True)

opts = webdriver.ChromeOptions()
opts.binary_location = CHROMIUM
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            "--window-size=1280,1000", "--disable-extensions", "--no-first-run"):
    opts.add_argument(arg)
driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
driver.set_page_load_timeout(60)

step_no = 0


@contextlib.contextmanager
def step(name):
    """One flow step: on failure, a screenshot and the page's HTML are kept under SHOTS."""
    global step_no
    step_no += 1
    label = f"{step_no:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}"
    try:
        yield
        print(f"ok   {label}")
    except Exception:
        shot = os.path.join(SHOTS, f"{label}.png")
        try:
            driver.save_screenshot(shot)
            with open(os.path.join(SHOTS, f"{label}.html"), "w", encoding="utf-8") as f:
                f.write(driver.page_source)
        except Exception as e:  # the browser itself may be gone
            print(f"(no screenshot: {e})")
        print(f"FAIL {label} at {driver.current_url} (screenshot {shot})")
        traceback.print_exc()
        driver.quit()
        sys.exit(1)


def go(path):
    driver.get(BASE + path)


def css(sel):
    return driver.find_element(By.CSS_SELECTOR, sel)


def all_css(sel):
    return driver.find_elements(By.CSS_SELECTOR, sel)


def fill(name, value):
    el = driver.find_element(By.NAME, name)
    el.clear()
    el.send_keys(value)


def set_checkbox(name, on):
    el = driver.find_element(By.NAME, name)
    if el.is_selected() != on:
        el.click()


def new_page(d):
    """Whether the page that was marked before a click has been replaced and has loaded. Asked
    of the page itself (a mark on the old window), since chromedriver may answer a question
    about an element of a page being replaced with an inspector error instead of "stale"."""
    try:
        return d.execute_script("return window.__offerline_old_page === undefined && document.readyState === 'complete'")
    except WebDriverException:
        return False


def click(el):
    """Clicks something that loads a new page, and waits until the new page is there."""
    driver.execute_script("window.__offerline_old_page = true")
    el.click()
    WebDriverWait(driver, 30).until(new_page)


def submit(form_sel="main form"):
    click(css(form_sel + " button[type=submit]"))


def path():
    return driver.current_url[len(BASE):]


def staff_token():
    r = requests.post(f"{BASE}/api/v1/auth/login/", json={"username": cfg["staff_username"], "password": cfg["staff_password"]})
    r.raise_for_status()
    return r.json()["key"]


def api(method, p, token, body=None):
    r = requests.request(method, BASE + p, json=body, headers={"Authorization": f"Token {token}"}, timeout=30)
    return r.status_code, (r.json() if r.content else None)


def odash_cookie():
    c = driver.get_cookie("odash")
    assert c, "no odash cookie"
    return c


def login_form(username, password):
    go("/dashboard/login/")
    fill("username", username)
    fill("password", password)
    submit()


# Every input has a label.
def assert_labelled():
    for el in all_css("main input:not([type=hidden]), main select, main textarea"):
        el_id = el.get_attribute("id")
        assert el_id, f"input {el.get_attribute('name')} has no id"
        assert all_css(f"label[for='{el_id}']"), f"input {el_id} has no label"


with step("no session redirects to login"):
    go("/dashboard/")
    assert path().startswith("/dashboard/login"), path()
    assert_labelled()

with step("a customer cannot log in"):
    login_form(cfg["customer_username"], cfg["customer_password"])
    assert path().startswith("/dashboard/login"), path()
    assert "Unable to log in" in css("p.error").text
    assert driver.get_cookie("odash") is None
    # Nor does a customer's storefront session open it.
    r = requests.post(f"{BASE}/users/login/", json={"email": cfg["customer_email"], "password": cfg["customer_password"]})
    assert r.status_code == 200, r.text
    sid = r.cookies.get("osessionid")
    assert sid, r.headers
    r = requests.get(f"{BASE}/dashboard/orders/", cookies={"odash": sid}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "/dashboard/login/", (r.status_code, r.headers)

with step("staff log in"):
    login_form(cfg["staff_username"], cfg["staff_password"])
    assert path() == "/dashboard/", path()
    assert cfg["staff_username"] in css("header .who").text
    c = odash_cookie()
    assert c["httpOnly"] and c.get("sameSite") == "Strict" and c["path"] == "/dashboard", c

sku = cfg["sku"]
with step("the form shows the API's own messages"):
    go("/dashboard/promotions/new/")
    assert_labelled()
    fill("name", "3 al 2 Dashboard")
    Select(driver.find_element(By.NAME, "condition.type")).select_by_value("count")
    fill("condition.value", "3")
    set_checkbox("condition.range.all", False)
    fill("condition.range.skus", sku)
    Select(driver.find_element(By.NAME, "benefit.type")).select_by_value("percentage")
    fill("benefit.value", "150")
    set_checkbox("benefit.range.all", False)
    fill("benefit.range.skus", sku)
    Select(driver.find_element(By.NAME, "refund_policy")).select_by_value("keep_shares")
    submit()
    errs = css("#f-benefit-value-errors").text
    assert "Ensure this value is less than or equal to 100." in errs, errs
    # What was typed is kept.
    assert driver.find_element(By.NAME, "name").get_attribute("value") == "3 al 2 Dashboard"

with step("create the promotion through the form"):
    Select(driver.find_element(By.NAME, "benefit.type")).select_by_value("multibuy")
    fill("benefit.value", "")
    submit()
    m = re.match(r"/dashboard/promotions/(\d+)/", path())
    assert m, path()
    promotion = int(m.group(1))
    assert "Saved." in css("div.notice").text
    assert css("span.status").text == "active"
    go("/dashboard/promotions/")
    row = [r for r in all_css("tbody tr") if "3 al 2 Dashboard" in r.text]
    assert row and "active" in row[0].text and "site" in row[0].text, [r.text for r in all_css("tbody tr")]

with step("the preview prices the basket"):
    go(f"/dashboard/promotions/{promotion}/")
    fill("lines", f"{sku} 3")
    click(css("form[action='/dashboard/preview/'] button"))
    assert "3 al 2 Dashboard" in css("h3.applied").text
    shares = sorted(td.text for td in all_css("table.shares td.share"))
    assert shares == ["66.63", "66.63", "66.64"], shares
    assert css("#total-discount").text == "199.90"

with step("place an order through the storefront"):
    ctoken = cfg["customer_token"]
    st, b = api("POST", "/baskets/basket/", ctoken, {"product": cfg["product"], "quantity": 3})
    assert st == 200, b
    st, o = api("POST", "/orders/checkout/", ctoken, {})
    assert st == 201, o
    order = o["order"]
    order_pk, number = order["pk"], order["number"]
    items = [i["pk"] for i in order["orderitem_set"]]

with step("find the order and its ledger"):
    go("/dashboard/orders/")
    assert_labelled()
    fill("number", number)
    submit("form.filters")
    links = all_css("#orders tbody a")
    assert len(links) == 1, [a.text for a in links]
    click(links[0])
    assert path() == f"/dashboard/orders/{order_pk}/", path()
    shares = {r.get_attribute("data-unit"): r.find_element(By.CSS_SELECTOR, "td.share").text
              for r in all_css("#ledger tbody tr")}
    assert sorted(shares.values()) == ["66.63", "66.63", "66.64"], shares

with step("cancel one unit: the refund is previewed"):
    unit = next(u for u, s in shares.items() if s == "66.63")
    driver.find_element(By.ID, f"unit-{unit}").click()
    fill("reason", "changed mind")
    click(css("form[action$='/cancel/'] button[type=submit]"))
    assert css("#preview-refund").text == "133.27", css("#preview-refund").text
    assert css("span.reversed").text == "66.63"
    # Nothing was written by the preview.
    st, d = api("GET", f"/api/v1/orders_integration/{order_pk}/detailed_integration/", staff_token())
    assert d["cancellation_set"] == [], d["cancellation_set"]

with step("confirm the cancellation"):
    click(css("#confirm-cancel"))
    assert path().startswith(f"/dashboard/orders/{order_pk}/"), path()
    assert "recorded" in css("div.notice").text
    assert css("span.cancel-amount").text == "(66.63)", css("span.cancel-amount").text
    assert css("#refunded").text == "133.27"
    assert "approved" in css("table.cancellations").text

with step("a customer's request is approved from the queue"):
    other = next(int(u) for u, s in shares.items() if s == "66.64")
    st, b = api("POST", f"/orders/{order_pk}/cancel/", cfg["customer_token"],
                {"cancel_order_items": [{"order_item": other, "reason": "x"}]})
    assert st in (200, 201), (st, b)
    go("/dashboard/cancellations/")
    rows = all_css("#queue tbody tr")
    assert len(rows) == 1 and number in rows[0].text, [r.text for r in rows]
    click(rows[0].find_element(By.CSS_SELECTOR, "button.approve"))
    assert "approved" in css("div.notice").text
    assert all_css("#queue tbody tr") == []
    go(f"/dashboard/orders/{order_pk}/")
    statuses = [r.text for r in all_css("table.cancellations tbody tr")]
    assert len(statuses) == 2 and all("approved" in s for s in statuses), statuses

with step("voucher codes are generated and downloaded as CSV"):
    go("/dashboard/promotions/new/")
    fill("name", "Dashboard codes")
    Select(driver.find_element(By.NAME, "offer_type")).select_by_value("voucher_code")
    Select(driver.find_element(By.NAME, "benefit.type")).select_by_value("percentage")
    fill("benefit.value", "10")
    submit()
    m = re.match(r"/dashboard/promotions/(\d+)/", path())
    assert m, (path(), [e.text for e in all_css(".errors")])
    codes_promotion = int(m.group(1))
    fill("count", "5")
    fill("prefix", "DASH")
    click(css("form[action$='/vouchers/'] button"))
    shown = [e.text for e in all_css("#codes code")]
    assert len(shown) == 5 and all(c.startswith("DASH") for c in shown), shown
    href = css("#vouchers-csv").get_attribute("href")
    r = requests.get(href, cookies={"odash": odash_cookie()["value"]})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), (r.status_code, r.headers)
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert sorted(x["code"] for x in rows) == sorted(shown), (rows, shown)
    assert all(x["promotion"] == str(codes_promotion) for x in rows)

with step("the report draws its chart"):
    go("/dashboard/reports/")
    assert_labelled()
    row = css(f"#report tr[data-promotion='{promotion}']")
    cells = [td.text for td in row.find_elements(By.CSS_SELECTOR, "td")]
    assert cells[1:5] == ["1", "199.90", "133.27", "66.63 try"], cells
    chart = css(f"svg.chart[data-promotion='{promotion}']")
    bars = chart.find_elements(By.CSS_SELECTOR, "rect.bar")
    assert len(bars) == 30, len(bars)
    tall = [b for b in bars if float(b.get_attribute("height")) > 0]
    assert len(tall) == 1 and tall[0].get_attribute("data-net") == "66.63", [b.get_attribute("data-net") for b in tall]
    href = css("#report-csv").get_attribute("href")
    r = requests.get(href, cookies={"odash": odash_cookie()["value"]})
    assert r.status_code == 200 and f"{promotion},3 al 2 Dashboard,try,1,199.90,133.27,66.63" in r.text, r.text

with step("the report for integrations"):
    start = css("input[name=start]").get_attribute("value")
    end = css("input[name=end]").get_attribute("value")
    st, rep = api("GET", f"/api/v1/reports/promotions/?start={start}&end={end}", staff_token())
    assert st == 200, rep
    mine = [x for x in rep["results"] if x["promotion"] == promotion]
    assert mine and mine[0]["discount"] == "199.90" and mine[0]["reversed"] == "133.27" and mine[0]["net"] == "66.63", mine
    assert len(mine[0]["days"]) == 30 and mine[0]["days"][-1] == {"date": end, "net": "66.63"}, mine[0]["days"][-3:]

with step("a write without the CSRF token is refused"):
    jar = {"odash": odash_cookie()["value"]}
    r = requests.post(f"{BASE}/dashboard/promotions/{promotion}/deactivate/", data={}, cookies=jar, allow_redirects=False)
    assert r.status_code == 403, r.status_code
    r = requests.post(f"{BASE}/dashboard/promotions/{promotion}/deactivate/", data={"csrf_token": "0" * 64},
                      cookies=jar, allow_redirects=False)
    assert r.status_code == 403, r.status_code
    # In the browser too: the form without its hidden token.
    go(f"/dashboard/promotions/{promotion}/")
    driver.execute_script("document.querySelectorAll(\"form[action$='/deactivate/'] input[name=csrf_token]\").forEach(e => e.remove())")
    click(css("form[action$='/deactivate/'] button"))
    assert "CSRF" in css("p.error").text, driver.page_source[:500]
    go(f"/dashboard/promotions/{promotion}/")
    assert css("span.status").text == "active"

with step("deactivate"):
    click(css("form[action$='/deactivate/'] button"))
    assert css("span.status").text == "inactive", css("span.status").text

with step("a phone-sized window keeps the page usable"):
    driver.set_window_size(390, 844)
    go(f"/dashboard/orders/{order_pk}/")
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= 400, width
    driver.set_window_size(1280, 1000)

with step("log out"):
    click(css("form.logout button"))
    assert path().startswith("/dashboard/login"), path()
    go("/dashboard/orders/")
    assert path().startswith("/dashboard/login"), path()

driver.quit()
print("OK")
