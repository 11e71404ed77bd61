//! A client generated from the server's own `/openapi.json` (openapi-python-client, pinned in
//! tests/clients/requirements.txt) by tests/clients/generated_client.py, into this test's
//! temporary directory, and used with nothing else: staff login, every page of the
//! discount-item ledger through the generated models, and a dry-run simulation of a basket.
//! What it read must be what the raw HTTP answers hold.

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Db, Server, demo_database};

both!(generated_client_logs_in_reads_the_ledger_and_simulates);

async fn generated_client_logs_in_reads_the_ledger_and_simulates(db: Db) {
    let (url, dir, schema, tour) = demo_database(db).await;
    let staff_token = tour.split("token: ").nth(1).and_then(|t| t.split_whitespace().next()).expect("staff token");
    let s = Server::start_on(db, url, dir, schema);
    let work = std::env::temp_dir().join(format!("offerline-generated-client-{}-{db:?}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("work dir");

    let config = json!({
        "base_url": s.base,
        "staff_username": "admin",
        "staff_password": "offerline-admin",
        "work_dir": work,
    });
    let (status, stdout, stderr) = crate::ledger::run_client_script("generated_client.py", &config).await;
    assert!(
        status.success() && stdout.contains("generated_client OK"),
        "the generated client failed on {db:?} ({status}):\n{stdout}\n{stderr}"
    );
    let _ = std::fs::remove_dir_all(&work);
    let line = stdout.lines().find_map(|l| l.strip_prefix("RESULT ")).expect("RESULT line");
    let got: Value = serde_json::from_str(line).expect("json");

    // The same ledger read raw, in one page.
    let (st, raw) =
        s.send("GET", "/api/v1/discount_items/detailed_integration/?limit=1000", Some(staff_token), None).await;
    assert_eq!(st, 200, "{raw}");
    let results = raw["results"].as_array().expect("results");
    assert!(!results.is_empty(), "the demo has discount items");
    assert_eq!(got["count"], raw["count"]);
    assert_eq!(got["pages"], json!(results.len().div_ceil(2)));
    let ids: Vec<Value> = results.iter().map(|d| d["pk"].clone()).collect();
    let amounts: Vec<Value> = results.iter().map(|d| d["amount"].clone()).collect();
    let shares: Vec<Value> = results
        .iter()
        .map(|d| {
            d["benefitapplicant_set"]
                .as_array()
                .expect("benefits")
                .iter()
                .map(|b| b["discount_share"].clone())
                .collect()
        })
        .collect();
    assert_eq!(got["ids"], json!(ids));
    assert_eq!(got["amounts"], json!(amounts));
    assert_eq!(got["shares"], json!(shares));
    assert!(got["token_length"].as_u64() > Some(0), "a token key");

    // The same basket simulated raw.
    let body = json!({ "lines": [{ "sku": got["sku"], "quantity": 2 }] });
    let (st, raw) = s.send("POST", "/api/v1/pricing/simulate/", Some(staff_token), Some(body)).await;
    assert_eq!(st, 200, "{raw}");
    let applied: Vec<Value> = raw["applied"].as_array().expect("applied").iter().map(|a| a["name"].clone()).collect();
    assert_eq!(
        got["simulated"],
        json!({ "currency": raw["currency"], "total": raw["total"], "total_discount": raw["total_discount"],
                "applied": applied })
    );
}
