//! The back office (contract §9) on both engines: its guards and the report API over HTTP
//! ([`back_office_guards_and_report_api`]), then every flow in headless Chromium, driven by
//! `tests/clients/dashboard_browser.py` through WebDriver ([`back_office_in_a_browser`]).
//! The browser test fails, never skips, without Debian's chromium and chromium-driver; a
//! failed step leaves its screenshot under the test's temp directory, whose path the
//! failure message gives.

use serde_json::{Value, json};

use crate::both;
use crate::checkout::product;
use crate::helpers::{Db, Server};

both!(back_office_guards_and_report_api, back_office_in_a_browser);

/// A client that keeps cookies and does not follow redirects, as a browser's first hop.
fn browser_like() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// The value of the hidden input `name` in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    html.split(&marker).nth(1).and_then(|t| t.split('"').next()).expect("hidden input").to_owned()
}

/// The `odash` session id a successful login set.
fn session_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("odash=").map(|rest| rest.split(';').next().unwrap_or_default().to_owned()))
}

async fn back_office_guards_and_report_api(db: Db) {
    let s = Server::start(db).await;
    let http = browser_like();
    s.user("bo-staff", "bo@example.com", true);
    s.user("bo-cust", "bocust@example.com", false);

    // No session: every page sends the browser to the login page.
    for path in ["/dashboard/", "/dashboard/orders/", "/dashboard/reports/csv"] {
        let r = http.get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 302, "{path}");
        assert_eq!(r.headers()["location"], "/dashboard/login/", "{path}");
    }
    // The login form carries a token that must match its own cookie.
    let form = http.get(s.url("/dashboard/login/")).send().await.unwrap();
    let login_cookie = form.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    assert!(login_cookie.starts_with("odash_login="), "{login_cookie}");
    let html = form.text().await.unwrap();
    let login_token = hidden(&html, "login_token");
    let login = |user: &'static str, token: String, cookie: Option<String>| {
        let mut req = http.post(s.url("/dashboard/login/")).form(&[
            ("username", user),
            ("password", "pw-123456"),
            ("login_token", token.as_str()),
        ]);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send()
    };
    // Without the cookie (another site's form) or with another token: refused, nothing checked.
    let r = login("bo-staff", login_token.clone(), None).await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "the page, not a JSON error");
    let r = login("bo-staff", "0".repeat(32), Some(login_cookie.clone())).await.unwrap();
    assert_eq!(r.status(), 403);
    // A customer's right password does not open it.
    let r = login("bo-cust", login_token.clone(), Some(login_cookie.clone())).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(session_cookie(&r).is_none());
    assert!(r.text().await.unwrap().contains("Unable to log in with provided credentials."));

    let r = login("bo-staff", login_token.clone(), Some(login_cookie.clone())).await.unwrap();
    assert_eq!(r.status(), 303);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/dashboard"] {
        assert!(set.contains(attr), "{set}");
    }
    let sid = session_cookie(&r).expect("session cookie");
    let cookie = format!("odash={sid}");
    let page = http.get(s.url("/dashboard/promotions/new/")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    let token = hidden(&html, "csrf_token");
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "nothing from another host");

    // A write without the token, or with another, is refused; with it, it is done.
    let body = [
        ("name", "Guarded"),
        ("offer_type", "site"),
        ("benefit.type", "percentage"),
        ("benefit.value", "10"),
        ("condition.type", "none"),
        ("is_active", "on"),
        ("benefit.range.skus", "GUARD-ONLY"),
    ];
    let r = http.post(s.url("/dashboard/promotions/new/")).header("cookie", &cookie).form(&body).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("CSRF"));
    let mut with_token: Vec<(&str, &str)> = body.to_vec();
    with_token.push(("csrf_token", "0000"));
    let r = http.post(s.url("/dashboard/promotions/new/")).header("cookie", &cookie).form(&with_token).send().await;
    assert_eq!(r.unwrap().status(), 403);
    with_token.pop();
    with_token.push(("csrf_token", &token));
    let r = http.post(s.url("/dashboard/promotions/new/")).header("cookie", &cookie).form(&with_token).send().await;
    let r = r.unwrap();
    let status = r.status();
    let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
    let errors: Vec<String> = r
        .text()
        .await
        .unwrap_or_default()
        .split("<ul class=\"errors\"")
        .skip(1)
        .map(|e| e[..e.find("</ul>").unwrap_or(e.len())].to_owned())
        .collect();
    assert_eq!(status, 303, "{errors:?}");
    assert!(location.starts_with("/dashboard/promotions/"), "{location}");
    // The same API's messages beside the fields: a percentage over 100.
    with_token[3] = ("benefit.value", "150");
    let r = http.post(s.url("/dashboard/promotions/new/")).header("cookie", &cookie).form(&with_token).send().await;
    let r = r.unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"f-benefit-value-errors\""), "{html}");
    assert!(html.contains("Ensure this value is less than or equal to 100."));

    // Tiers (§10), one per line, read back into the form; a bad line gets the API's message.
    let tiered = |tiers: &'static str| {
        let form = vec![
            ("name", "Tiered"),
            ("offer_type", "site"),
            ("condition.type", "amount"),
            ("condition.value", "100.00"),
            ("condition.range.skus", "GUARD-ONLY"),
            ("benefit.type", "percentage"),
            ("benefit.tiers", tiers),
            ("benefit.range.skus", "GUARD-ONLY"),
            ("is_active", "on"),
            ("csrf_token", token.as_str()),
        ];
        http.post(s.url("/dashboard/promotions/new/")).header("cookie", &cookie).form(&form).send()
    };
    let r = tiered("x").await.unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"f-benefit-tiers-errors\"><li>Expected a list of items.</li>"), "{html}");
    let r = tiered("100.00=10\n500.00=20").await.unwrap();
    assert_eq!(r.status(), 303);
    let page = r.headers()["location"].to_str().unwrap().to_owned();
    let html = http.get(s.url(&page)).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(">100.00=10\n500.00=20</textarea>"), "{html}");

    // A gift (§10): its sku beside the benefit, required.
    let gift = |sku: &'static str| {
        let form = vec![
            ("name", "Gift"),
            ("offer_type", "site"),
            ("condition.type", "count"),
            ("condition.value", "2"),
            ("condition.range.skus", "GIFT-COND"),
            ("benefit.type", "gift"),
            ("benefit.gift.sku", sku),
            ("benefit.gift.quantity", "1"),
            ("benefit.range.skus", "GIFT-COND"),
            ("is_active", "on"),
            ("csrf_token", token.as_str()),
        ];
        http.post(s.url("/dashboard/promotions/new/")).header("cookie", &cookie).form(&form).send()
    };
    let r = gift("").await.unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"f-benefit-gift-sku-errors\"><li>A product sku is required.</li>"), "{html}");
    let gift_staff = s.staff();
    product(&s, &gift_staff, "GIFT-1", "25.00").await;
    let r = gift("GIFT-1").await.unwrap();
    assert_eq!(r.status(), 303);
    let page = r.headers()["location"].to_str().unwrap().to_owned();
    let html = http.get(s.url(&page)).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("name=\"benefit.gift.sku\" type=\"text\" value=\"GIFT-1\""), "{html}");
    // The preview lists the gift's unit with its share, after the basket's lines.
    product(&s, &gift_staff, "GIFT-COND", "60.00").await;
    let html = http.get(s.url("/dashboard/preview/?lines=GIFT-COND+2")).header("cookie", &cookie).send().await.unwrap();
    let html = html.text().await.unwrap();
    assert!(html.contains("<td>GIFT-1 (gift)</td><td class=\"num\">1</td><td class=\"num\">25.00</td><td class=\"num share\">25.00</td>"), "{html}");

    // The stylesheet is served by offerline itself.
    let css = http.get(s.url("/dashboard/assets/dashboard.css")).send().await.unwrap();
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));

    // The report for integrations: staff only, both dates required, in order, documented.
    let staff = s.staff();
    let (_, cust) = s.customer();
    let (st, _) = s.get("/api/v1/reports/promotions/?start=2026-01-01&end=2026-01-31", &cust).await;
    assert_eq!(st, 403);
    let (st, e) = s.get("/api/v1/reports/promotions/?end=2026-13-01", &staff).await;
    assert_eq!(st, 400);
    assert_eq!(e["start"], json!(["This field is required."]));
    assert_eq!(e["end"], json!(["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]));
    let (st, e) = s.get("/api/v1/reports/promotions/?start=2026-02-01&end=2026-01-01", &staff).await;
    assert_eq!(st, 400, "{e}");
    let (st, e) = s.get("/api/v1/reports/promotions/?start=2020-01-01&end=2026-01-01", &staff).await;
    assert_eq!(st, 400, "{e}");
    let (_, openapi) = s.send("GET", "/openapi.json", None, None).await;
    assert!(openapi["paths"]["/api/v1/reports/promotions/"]["get"].is_object());
    assert!(openapi["paths"].as_object().unwrap().keys().all(|p| !p.starts_with("/dashboard")));

    // An order of "3 al 2" (3 × 199.90), one unit cancelled: today's row and day.
    let a = product(&s, &staff, "BO-1", "199.90").await;
    let (st, p) = s
        .post(
            "/api/v1/promotions/",
            &staff,
            json!({"name": "3 al 2 BO", "offer_type": "site", "currency": "try",
                   "condition": {"type": "count", "value": 3, "range": {"products": [a]}},
                   "benefit": {"type": "multibuy", "value": null, "range": {"products": [a]}}}),
        )
        .await;
    assert_eq!(st, 201, "{p}");
    let (_, ctoken) = s.customer();
    s.post("/baskets/basket/", &ctoken, json!({"product": a, "quantity": 3})).await;
    let (st, o) = s.post("/orders/checkout/", &ctoken, json!({})).await;
    assert_eq!(st, 201, "{o}");
    let order = &o["order"];
    let unit = order["discountitem_set"][0]["benefitapplicant_set"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["discount_share"] == "66.63")
        .unwrap()["order_item"]
        .clone();
    let (st, c) =
        s.post(&format!("/api/v1/orders/{}/cancel/", order["pk"]), &staff, json!({"order_items": [unit]})).await;
    assert_eq!(st, 200, "{c}");
    let today = order["created_date"].as_str().unwrap()[..10].to_owned();
    let (st, rep) = s.get(&format!("/api/v1/reports/promotions/?start={today}&end={today}"), &staff).await;
    assert_eq!(st, 200, "{rep}");
    let row = rep["results"].as_array().unwrap().iter().find(|r| r["promotion"] == p["id"]).expect("the row").clone();
    assert_eq!(
        row,
        json!({"promotion": p["id"], "name": "3 al 2 BO", "currency": "try", "orders": 1, "discount": "199.90",
               "reversed": "66.63", "net": "133.27", "days": [{"date": today, "net": "133.27"}]})
    );
    // A period without the order has no row for it.
    let (_, rep) = s.get("/api/v1/reports/promotions/?start=2020-01-01&end=2020-01-31", &staff).await;
    assert_eq!(rep["results"], Value::Array(vec![]));
    // The page's list shows its status and usage.
    let html = http.get(s.url("/dashboard/promotions/")).header("cookie", &cookie).send().await.unwrap();
    let html = html.text().await.unwrap();
    assert!(html.contains("3 al 2 BO") && html.contains("status-active"), "{html}");
}

async fn back_office_in_a_browser(db: Db) {
    for bin in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        assert!(
            std::path::Path::new(bin).exists(),
            "{bin} is missing: the back office's browser test needs Debian's chromium and chromium-driver \
             (scripts/test installs them with apt-get)"
        );
    }
    let s = Server::start(db).await;
    let staff = s.staff();
    s.user("dash-staff", "dash@example.com", true);
    let (_, customer_token) = s.user("dash-cust", "dashcust@example.com", false);
    let sku = "DASH-3AL2";
    let product = product(&s, &staff, sku, "199.90").await;
    let shots = std::env::temp_dir().join(format!("offerline-dashboard-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let config = json!({
        "base_url": s.base,
        "staff_username": "dash-staff",
        "staff_password": "pw-123456",
        "customer_username": "dash-cust",
        "customer_email": "dashcust@example.com",
        "customer_password": "pw-123456",
        "customer_token": customer_token,
        "sku": sku,
        "product": product,
        "screenshot_dir": shots.display().to_string(),
    });
    let (status, stdout, stderr) = crate::ledger::run_client_script("dashboard_browser.py", &config).await;
    assert!(
        status.success() && stdout.contains("OK"),
        "dashboard_browser.py failed ({status}); screenshots of the failed step in {}:\n{stdout}\n{stderr}",
        shots.display(),
    );
    // Kept only when a step failed.
    std::fs::remove_dir_all(&shots).ok();
}
