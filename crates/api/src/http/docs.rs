//! The route table, and the OpenAPI 3.1 document generated from it.
//!
//! Every route is registered here with its verbs, a summary, a tag and the credentials it
//! needs, so `/openapi.json` covers every endpoint by construction: a route cannot be served
//! without being documented. Paths are documented as clients write them (Akinon paths end
//! in `/`); the router itself sees paths with the trailing slash trimmed and repeated
//! slashes collapsed (see `normalize_path` in the crate root).

use axum::Router;
use axum::routing::MethodRouter;
use serde_json::{Map, Value, json};

use crate::AppState;

/// The credentials a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Public,
    Staff,
    Customer,
    /// An Elastic Path access token of either grant.
    Client,
    /// An Elastic Path access token from `client_credentials` (an implicit one gets 403).
    ClientCredentials,
}

#[derive(Debug, Clone)]
struct Op {
    path: String,
    method: &'static str,
    summary: &'static str,
    tag: &'static str,
    auth: Auth,
}

/// Routes with their documentation.
pub struct Routes {
    router: Router<AppState>,
    ops: Vec<Op>,
    tag: &'static str,
    auth: Auth,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new("ops", Auth::Public)
    }
}

/// The path the router matches for a documented path.
pub fn router_path(doc_path: &str) -> String {
    let trimmed = doc_path.trim_end_matches('/');
    if trimmed.is_empty() { "/".into() } else { trimmed.to_owned() }
}

impl Routes {
    /// A section of routes sharing a tag and the credentials they need.
    pub fn new(tag: &'static str, auth: Auth) -> Self {
        Routes { router: Router::new(), ops: Vec::new(), tag, auth }
    }

    /// Serves `mr` at `path`; `verbs` lists (method, summary) for each verb `mr` handles.
    pub fn add(mut self, path: &str, mr: MethodRouter<AppState>, verbs: &[(&'static str, &'static str)]) -> Self {
        self.router = self.router.route(&router_path(path), mr);
        for (method, summary) in verbs {
            self.ops.push(Op { path: path.to_owned(), method, summary, tag: self.tag, auth: self.auth });
        }
        self
    }

    /// An Omnitron route, served under both `/api/v1/` and `/api/i1/`.
    pub fn omnitron(self, sub: &str, mr: MethodRouter<AppState>, verbs: &[(&'static str, &'static str)]) -> Self {
        self.add(&format!("/api/v1{sub}"), mr.clone(), verbs).add(&format!("/api/i1{sub}"), mr, verbs)
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.ops.extend(other.ops);
        self
    }

    pub fn into_parts(self) -> (Router<AppState>, Value) {
        let doc = openapi(&self.ops);
        (self.router, doc)
    }
}

fn param_schema(name: &str) -> Value {
    if matches!(name, "pk" | "id" | "order_id" | "discountitem_id" | "orderitem_id") && !name.is_empty() {
        json!({ "type": "integer" })
    } else {
        json!({ "type": "string" })
    }
}

/// POST routes that read no body (so none is documented).
const BODILESS: &[&str] = &["/users/logout/"];

/// The DRF pagination and sort parameters of a list. `page` is a positive integer or empty
/// (else 404 "Invalid page."); `limit`/`page_size` are read as DRF does: a positive integer, capped at
/// 1000, and anything else falls back to the default of 10 — so any string is accepted.
fn list_parameters() -> Vec<Value> {
    let size = |name: &str| {
        json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" },
                "description": "Page size: a positive integer, capped at 1000; anything else means 10." })
    };
    vec![
        // Empty reads as page 1, as in DRF.
        json!({ "name": "page", "in": "query", "required": false,
                "schema": { "anyOf": [{ "type": "integer", "minimum": 1 }, { "type": "string", "maxLength": 0 }] } }),
        size("limit"),
        size("page_size"),
        json!({ "name": "sort", "in": "query", "required": false, "schema": { "type": "string" } }),
    ]
}

/// The responses an operation can give, with the error body of its dialect.
fn responses(op: &Op) -> Map<String, Value> {
    let json_body = |description: &str, schema: Value| json!({ "description": description, "content": { "application/json": { "schema": schema } } });
    let ep = op.path.starts_with("/v2/") || op.path.starts_with("/oauth/");
    let error = if ep {
        json!({
            "type": "object", "required": ["errors"],
            "properties": { "errors": { "type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["status", "title", "detail"],
                "properties": { "status": { "type": "integer" }, "title": { "type": "string" },
                                "detail": { "type": "string" } } } } }
        })
    } else {
        // DRF: {"detail": …}, {"field": [..]} or {"non_field_errors": [..]}.
        json!({ "type": "object", "minProperties": 1 })
    };
    let mut responses = Map::new();
    if op.path == "/metrics" {
        responses.insert(
            "200".into(),
            json!({ "description": "Prometheus text format", "content": { "text/plain": { "schema": { "type": "string" } } } }),
        );
        return responses;
    }
    match op.method {
        "delete" => {
            responses.insert("204".into(), json!({ "description": "Deleted (no body)" }));
        }
        "post" => {
            responses.insert("201".into(), json_body("Created", json!({})));
            responses.insert("200".into(), json_body("Success", json!({})));
        }
        _ => {
            responses.insert("200".into(), json_body("Success", json!({})));
        }
    }
    responses.insert("400".into(), json_body("Invalid input", error.clone()));
    if op.auth != Auth::Public || op.path.contains("/login") || op.path == "/oauth/access_token" {
        responses.insert("401".into(), json_body("Missing or bad credentials", error.clone()));
    }
    if op.auth != Auth::Public {
        responses.insert("403".into(), json_body("Not allowed", error.clone()));
    }
    responses.insert("404".into(), json_body("Not found", error.clone()));
    if matches!(op.method, "post" | "put" | "patch") {
        responses.insert("413".into(), json_body("Body over 1 MiB", error.clone()));
    }
    if ep {
        responses.insert("422".into(), json_body("Refused by a business rule", error.clone()));
    }
    if op.path.contains("/login") {
        responses.insert("429".into(), json_body("Too many failed logins", error.clone()));
    }
    if op.path == "/oauth/access_token" {
        responses.insert("429".into(), json_body("Too many token requests (Retry-After)", error.clone()));
    }
    if op.path == "/readyz" {
        responses.insert("503".into(), json_body("Database unreachable", json!({})));
    }
    responses
}

fn openapi(ops: &[Op]) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for op in ops {
        let item = paths.entry(op.path.clone()).or_insert_with(|| json!({}));
        let mut parameters: Vec<Value> = op
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": param_schema(name) }))
            .collect();
        let is_list = op.method == "get" && op.summary.starts_with("List");
        if is_list {
            parameters.extend(list_parameters());
        }
        let responses = responses(op);
        let mut operation = json!({
            "summary": op.summary,
            "operationId": format!("{}{}", op.method, op.path.replace(['/', '{', '}', '-'], "_")),
            "tags": [op.tag],
            "parameters": parameters,
            "responses": responses,
        });
        if matches!(op.method, "post" | "put" | "patch") && !BODILESS.contains(&op.path.as_str()) {
            // Every body read is a JSON object (`wire::parse_object`, the Elastic Path
            // `{"data": …}` envelope); `/oauth/access_token` also takes a form.
            let mut content = json!({ "application/json": { "schema": { "type": "object" } } });
            if op.path == "/oauth/access_token" {
                content["application/x-www-form-urlencoded"] = json!({ "schema": { "type": "object" } });
            }
            operation["requestBody"] = json!({ "required": false, "content": content });
        }
        let security = match op.auth {
            Auth::Public => None,
            Auth::Staff => Some(json!([{ "token": [] }])),
            Auth::Customer => Some(json!([{ "token": [] }, { "session": [] }])),
            Auth::Client | Auth::ClientCredentials => Some(json!([{ "bearer": [] }])),
        };
        if let Some(s) = security {
            operation["security"] = s;
        }
        item[op.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "offerline",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Orders and promotions with an exact discount ledger, served in the Omnitron, Commerce, OMS and Elastic Path dialects."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "token": { "type": "apiKey", "in": "header", "name": "Authorization", "description": "`Token <key>` from /api/v1/auth/login/ or /users/login/" },
                "session": { "type": "apiKey", "in": "cookie", "name": "osessionid" },
                "bearer": { "type": "http", "scheme": "bearer", "description": "access_token from /oauth/access_token" }
            }
        }
    })
}
