//! Schema fuzzing: schemathesis (tests/clients/schema_fuzz.py) against the running server's
//! own `/openapi.json`, every operation, with the demo data loaded and the credentials each
//! operation documents (staff token, customer token, Elastic Path bearer). It fails when
//! schemathesis reports any failure: a 5xx, an undocumented status code or content type, a
//! response body that breaks the documented schema, a schema-violating request accepted.
//!
//! The default run is short and seeded (the same cases every time); `OFFERLINE_LONG_TESTS=1`
//! runs many more examples with a fresh seed (schemathesis prints it, to replay a failure
//! with `OFFERLINE_FUZZ_SEED`).

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Db, Server, demo_database};

both!(schemathesis_every_operation);

/// Examples per operation and the seed: short and fixed by default, long and fresh with
/// `OFFERLINE_LONG_TESTS=1`.
fn budget() -> (u32, Option<u64>) {
    let seed = std::env::var("OFFERLINE_FUZZ_SEED").ok().and_then(|s| s.parse().ok());
    if std::env::var("OFFERLINE_LONG_TESTS").is_ok_and(|v| v == "1") {
        (100, seed)
    } else {
        (3, Some(seed.unwrap_or(20261123)))
    }
}

async fn schemathesis_every_operation(db: Db) {
    let (url, dir, schema, tour) = demo_database(db).await;
    let tokens: Vec<&str> = tour.split("token: ").skip(1).filter_map(|t| t.split_whitespace().next()).collect();
    assert!(tokens.len() >= 2, "the demo printed a staff and a customer token:\n{tour}");
    let s = Server::start_on(db, url, dir, schema);
    let client: Value = serde_json::from_str(s.cli(&["client", "create", "--name", "fuzz"]).trim()).expect("json");

    let (max_examples, seed) = budget();
    let config = json!({
        "base_url": s.base,
        "staff_token": tokens[0],
        "customer_token": tokens[1],
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
        "max_examples": max_examples,
        "seed": seed,
    });
    let (status, stdout, stderr) = crate::ledger::run_client_script("schema_fuzz.py", &config).await;
    assert!(
        status.success() && stdout.contains("schema_fuzz OK"),
        "schemathesis found failures on {db:?} ({status}):\n{stdout}\n{stderr}"
    );
    // Every operation of the document was selected and exercised (schemathesis leaves out the
    // URL it loaded the document from, so it counts one fewer), and the server is still up.
    let summary = stdout.split("API Operations:").nth(1).unwrap_or("");
    let field = |name: &str| summary.lines().find_map(|l| l.trim().strip_prefix(name).map(str::trim)).unwrap_or("");
    let (selected, total) = field("Selected:").split_once('/').unwrap_or(("", ""));
    let (st, doc) = s.send("GET", "/openapi.json", None, None).await;
    assert_eq!(st, 200);
    let documented: usize =
        doc["paths"].as_object().expect("paths").values().map(|p| p.as_object().map_or(0, |m| m.len())).sum();
    assert_eq!(selected, total, "every operation selected:\n{stdout}");
    assert_eq!(field("Tested:"), selected, "every selected operation tested:\n{stdout}");
    assert!(selected.parse::<usize>().unwrap_or(0) + 1 >= documented, "{documented} documented:\n{stdout}");
    let (st, _) = s.send("GET", "/healthz", None, None).await;
    assert_eq!(st, 200);
}
