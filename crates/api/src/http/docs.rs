//! The route table, and the OpenAPI 3.1 document generated from it.
//!
//! Every route is registered here with its verbs, a summary, a tag and the credentials it
//! needs, so `/openapi.json` covers every endpoint by construction: a route cannot be served
//! without being documented. Paths are documented as clients write them (Akinon paths end
//! in `/`); the router itself sees paths with the trailing slash trimmed and repeated
//! slashes collapsed (see `normalize_path` in the crate root).
//!
//! A verb may also name, as Rust types, the body it reads and the body it answers with
//! ([`Verb::body`], [`Verb::ok`], [`Verb::page`]): the types derive `utoipa::ToSchema`, their
//! schemas go to `components.schemas` under the type's name, and the operation refers to them
//! with `$ref`. A verb given as a bare `(method, summary)` pair keeps the loose documentation
//! (any object in, any JSON out).

use std::collections::BTreeMap;

use axum::Router;
use axum::routing::MethodRouter;
use serde_json::{Map, Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

use crate::AppState;

/// The named schemas an operation needs, collected (as JSON) as the document is built.
type Schemas = Vec<(String, Value)>;

/// Puts a type's schema (and those it refers to) into `out` and answers the body's schema:
/// a `$ref` to it.
type SchemaFn = fn(&mut Schemas) -> Value;

fn reference<T: utoipa::ToSchema>(out: &mut Schemas) -> Value {
    let name = T::name().into_owned();
    let mut named: Vec<(String, RefOr<Schema>)> = vec![(name.clone(), T::schema())];
    T::schemas(&mut named);
    out.extend(named.into_iter().map(|(n, s)| (n, serde_json::to_value(s).unwrap_or(Value::Null))));
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// DRF's page envelope around items of `T` (`listing::Listing::envelope`), named `<T>Page`.
fn page_of<T: utoipa::ToSchema>(out: &mut Schemas) -> Value {
    let item = reference::<T>(out);
    let name = format!("{}Page", T::name());
    let page = json!({
        "type": "object",
        "description": "A page of a list: `next`/`previous` are absolute URLs, or null at either end.",
        "required": ["count", "next", "previous", "results"],
        "properties": {
            "count": { "type": "integer", "minimum": 0 },
            "next": { "type": ["string", "null"] },
            "previous": { "type": ["string", "null"] },
            "results": { "type": "array", "items": item },
        },
    });
    out.push((name.clone(), page));
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn either<A: utoipa::ToSchema, B: utoipa::ToSchema>(out: &mut Schemas) -> Value {
    json!({ "oneOf": [reference::<A>(out), reference::<B>(out)] })
}

fn one_or_list<T: utoipa::ToSchema>(out: &mut Schemas) -> Value {
    let item = reference::<T>(out);
    json!({ "oneOf": [item.clone(), { "type": "array", "minItems": 2, "items": item }] })
}

fn list_of<T: utoipa::ToSchema>(out: &mut Schemas) -> Value {
    json!({ "type": "array", "items": reference::<T>(out) })
}

/// One verb of a route: its method and summary, and the types of what it reads and answers
/// when they are known.
#[derive(Debug, Clone, Copy)]
pub struct Verb {
    method: &'static str,
    summary: &'static str,
    body: Option<SchemaFn>,
    ok: Option<SchemaFn>,
    /// The answer is a DRF page: the operation takes the pagination parameters.
    paged: bool,
}

impl Verb {
    pub fn new(method: &'static str, summary: &'static str) -> Self {
        Verb { method, summary, body: None, ok: None, paged: false }
    }
    pub fn get(summary: &'static str) -> Self {
        Self::new("get", summary)
    }
    pub fn post(summary: &'static str) -> Self {
        Self::new("post", summary)
    }
    pub fn put(summary: &'static str) -> Self {
        Self::new("put", summary)
    }
    pub fn patch(summary: &'static str) -> Self {
        Self::new("patch", summary)
    }
    pub fn delete(summary: &'static str) -> Self {
        Self::new("delete", summary)
    }

    /// The JSON body the verb reads.
    pub fn body<T: utoipa::ToSchema>(mut self) -> Self {
        self.body = Some(reference::<T>);
        self
    }

    /// The body of its success answers (200, and 201 for a POST).
    pub fn ok<T: utoipa::ToSchema>(mut self) -> Self {
        self.ok = Some(reference::<T>);
        self
    }

    /// A success answer that is a JSON array of `T`.
    pub fn ok_list<T: utoipa::ToSchema>(mut self) -> Self {
        self.ok = Some(list_of::<T>);
        self
    }

    /// A success answer that is an `A` or a `B`.
    pub fn ok_either<A: utoipa::ToSchema, B: utoipa::ToSchema>(mut self) -> Self {
        self.ok = Some(either::<A, B>);
        self
    }

    /// A success answer that is one `T`, or a JSON array of two or more.
    pub fn ok_one_or_list<T: utoipa::ToSchema>(mut self) -> Self {
        self.ok = Some(one_or_list::<T>);
        self
    }

    /// A success answer that is a DRF page of `T`.
    pub fn page<T: utoipa::ToSchema>(mut self) -> Self {
        self.ok = Some(page_of::<T>);
        self.paged = true;
        self
    }
}

impl From<&(&'static str, &'static str)> for Verb {
    fn from(&(method, summary): &(&'static str, &'static str)) -> Self {
        Verb::new(method, summary)
    }
}

impl From<&Verb> for Verb {
    fn from(v: &Verb) -> Self {
        *v
    }
}

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
    body: Option<SchemaFn>,
    ok: Option<SchemaFn>,
    paged: bool,
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

    /// Serves `mr` at `path`; `verbs` lists each verb `mr` handles: a [`Verb`], or a bare
    /// `(method, summary)` pair when its wire types are not documented.
    pub fn add<'v, V>(mut self, path: &str, mr: MethodRouter<AppState>, verbs: &'v [V]) -> Self
    where
        Verb: From<&'v V>,
    {
        self.router = self.router.route(&router_path(path), mr);
        for v in verbs {
            let Verb { method, summary, body, ok, paged } = Verb::from(v);
            let (tag, auth) = (self.tag, self.auth);
            self.ops.push(Op { path: path.to_owned(), method, summary, tag, auth, body, ok, paged });
        }
        self
    }

    /// An Omnitron route, served under both `/api/v1/` and `/api/i1/`.
    pub fn omnitron<'v, V>(self, sub: &str, mr: MethodRouter<AppState>, verbs: &'v [V]) -> Self
    where
        Verb: From<&'v V>,
    {
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
    } else if name == "cartID" {
        // A cart reference (`elasticpath::wire::check_ref`; 400 otherwise).
        json!({ "type": "string", "pattern": "^[A-Za-z0-9_-]{1,128}$" })
    } else {
        // A NUL is refused in any path (400): it names nothing.
        json!({ "type": "string", "pattern": "^[^\\x00]*$" })
    }
}

/// POST routes that read no body (so none is documented).
const BODILESS: &[&str] =
    &["/users/logout/", "/api/v1/cancellation_requests/{id}/approve/", "/api/v1/cancellation_requests/{id}/reject/"];

/// The DRF pagination and sort parameters of a list. `page` is a positive integer or empty
/// (else 404 "Invalid page."); `limit`/`page_size` are read as DRF does: a positive integer, capped at
/// 1000, and anything else falls back to the default of 10 — so any string is accepted.
fn list_parameters() -> Vec<Value> {
    let size = |name: &str| {
        json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string", "pattern": "^[^\\x00]*$" },
                "description": "Page size: a positive integer, capped at 1000; anything else means 10." })
    };
    vec![
        // Empty reads as page 1, as in DRF.
        json!({ "name": "page", "in": "query", "required": false,
                "schema": { "anyOf": [{ "type": "integer", "minimum": 1 }, { "type": "string", "maxLength": 0 }] } }),
        size("limit"),
        size("page_size"),
        json!({ "name": "sort", "in": "query", "required": false, "schema": { "type": "string", "pattern": "^[^\\x00]*$" } }),
    ]
}

/// The responses an operation can give, with the error body of its dialect.
fn responses(op: &Op, schemas: &mut Schemas) -> Map<String, Value> {
    let json_body = |description: &str, schema: Value| json!({ "description": description, "content": { "application/json": { "schema": schema } } });
    let ep = op.path.starts_with("/v2/") || op.path.starts_with("/oauth/");
    let error =
        json!({ "$ref": if ep { "#/components/schemas/JsonApiErrors" } else { "#/components/schemas/DrfError" } });
    let mut responses = Map::new();
    if op.path == "/metrics" {
        responses.insert(
            "200".into(),
            json!({ "description": "Prometheus text format", "content": { "text/plain": { "schema": { "type": "string" } } } }),
        );
        return responses;
    }
    let ok = op.ok.map_or_else(|| json!({}), |f| f(schemas));
    match op.method {
        // A DELETE that answers what is left says so with its `ok` type.
        "delete" if op.ok.is_some() => {
            responses.insert("200".into(), json_body("Deleted; what is left", ok));
        }
        "delete" => {
            responses.insert("204".into(), json!({ "description": "Deleted (no body)" }));
        }
        "post" => {
            responses.insert("201".into(), json_body("Created", ok.clone()));
            responses.insert("200".into(), json_body("Success", ok));
        }
        _ => {
            responses.insert("200".into(), json_body("Success", ok));
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
        let unready = op.ok.map_or_else(|| json!({}), |f| f(schemas));
        responses.insert("503".into(), json_body("Database unreachable", unready));
    }
    responses
}

fn openapi(ops: &[Op]) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    let mut schemas = Schemas::new();
    for op in ops {
        let item = paths.entry(op.path.clone()).or_insert_with(|| json!({}));
        let mut parameters: Vec<Value> = op
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": param_schema(name) }))
            .collect();
        let is_list = op.paged || (op.method == "get" && op.summary.starts_with("List"));
        if is_list {
            parameters.extend(list_parameters());
        }
        if op.path == "/api/v1/reports/promotions/" {
            // Both required (400 otherwise); together no more than a year, end not before start.
            for name in ["start", "end"] {
                parameters.push(json!({ "name": name, "in": "query", "required": true,
                                        "schema": { "type": "string", "format": "date" } }));
            }
        }
        let responses = responses(op, &mut schemas);
        let mut operation = json!({
            "summary": op.summary,
            "operationId": format!("{}{}", op.method, op.path.replace(['/', '{', '}', '-'], "_")),
            "tags": [op.tag],
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(body) = op.body {
            let schema = body(&mut schemas);
            let required = needs_fields(&schemas, &schema);
            // `/oauth/access_token` reads a form (a JSON body is read as one, and fails).
            let media =
                if op.path == "/oauth/access_token" { "application/x-www-form-urlencoded" } else { "application/json" };
            let content = json!({ media: { "schema": schema } });
            // A body with required fields must be sent; one without may be left out (an empty
            // body reads as `{}`).
            operation["requestBody"] = json!({ "required": required, "content": content });
        } else if matches!(op.method, "post" | "put" | "patch") && !BODILESS.contains(&op.path.as_str()) {
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
            "schemas": components(schemas, error_schemas()),
            "securitySchemes": {
                "token": { "type": "apiKey", "in": "header", "name": "Authorization", "description": "`Token <key>` from /api/v1/auth/login/ or /users/login/" },
                "session": { "type": "apiKey", "in": "cookie", "name": "osessionid" },
                "bearer": { "type": "http", "scheme": "bearer", "description": "access_token from /oauth/access_token" }
            }
        }
    })
}

/// The error bodies of the two families of dialects.
fn error_schemas() -> BTreeMap<String, Value> {
    BTreeMap::from([
        (
            "JsonApiErrors".to_owned(),
            json!({
                "type": "object", "required": ["errors"],
                "description": "Elastic Path's JSON:API errors.",
                "properties": { "errors": { "type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["status", "title", "detail"],
                    "properties": { "status": { "type": "integer" }, "title": { "type": "string" },
                                    "detail": { "type": "string" } } } } }
            }),
        ),
        (
            // DRF: {"detail": …}, {"field": [..]} or {"non_field_errors": [..]}.
            "DrfError".to_owned(),
            json!({ "type": "object", "minProperties": 1,
                    "description": "DRF's error: `detail`, or a list of messages per field (`non_field_errors` for the body as a whole)." }),
        ),
    ])
}

/// The named schemas, by name. A name is registered once per use of its type; two types of
/// one name (two dialects' `OrderItem`s) would make every `$ref` to it name the first, so the
/// tests (debug builds) fail on it.
fn components(schemas: Schemas, mut named: BTreeMap<String, Value>) -> Map<String, Value> {
    for (name, schema) in schemas {
        let kept = named.entry(name.clone()).or_insert_with(|| schema.clone());
        debug_assert!(*kept == schema, "two schemas are named {name}");
    }
    named.into_iter().collect()
}

/// Whether a body of `schema` must name some field (so an empty body, read as `{}`, is
/// refused): an object with required fields, or a union of such objects (the access token
/// form's two grants).
fn needs_fields(schemas: &Schemas, schema: &Value) -> bool {
    let schema = named(schemas, schema).unwrap_or_else(|| schema.clone());
    if schema.get("required").and_then(Value::as_array).is_some_and(|r| !r.is_empty()) {
        return true;
    }
    ["anyOf", "oneOf"].iter().any(|k| {
        schema.get(*k).and_then(Value::as_array).is_some_and(|items| items.iter().all(|i| needs_fields(schemas, i)))
    })
}

/// The component a `$ref` schema names, as JSON.
fn named(schemas: &Schemas, schema: &Value) -> Option<Value> {
    let name = schema.get("$ref")?.as_str()?.strip_prefix("#/components/schemas/")?;
    schemas.iter().find(|(n, _)| n == name).map(|(_, s)| s.clone())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    /// The whole document: every type named once (`components` asserts it), every body and
    /// success answer typed (but the document itself and the metrics), no schema that
    /// refers to itself.
    #[test]
    fn every_body_and_answer_is_typed_once() {
        let (_, doc) = crate::routes().into_parts();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                operations += 1;
                if let Some(body) = op.get("requestBody") {
                    for (media, content) in body["content"].as_object().unwrap() {
                        assert_ne!(content["schema"], json!({ "type": "object" }), "{method} {path} ({media})");
                    }
                }
                let ok = op["responses"].get("200").or_else(|| op["responses"].get("201"));
                let json = ok.and_then(|ok| ok.get("content")).and_then(|c| c.get("application/json"));
                if let Some(schema) = json.filter(|_| path != "/openapi.json") {
                    assert_ne!(schema["schema"], json!({}), "{method} {path}: untyped answer");
                }
            }
        }
        assert!(operations > 100, "{operations} operations");
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        // No schema reaches itself through `$ref`s (client generators refuse it).
        for name in schemas.keys() {
            let mut seen = std::collections::BTreeSet::new();
            let mut todo = refs(&schemas[name]);
            while let Some(next) = todo.pop() {
                assert_ne!(&next, name, "{name} refers to itself");
                if seen.insert(next.clone()) {
                    todo.extend(refs(&schemas[&next]));
                }
            }
        }
        // A body that must name a field is a required body (the access token form: either
        // grant needs some).
        assert_eq!(doc["paths"]["/oauth/access_token"]["post"]["requestBody"]["required"], true);
        assert_eq!(doc["paths"]["/v2/carts"]["post"]["requestBody"]["required"], true);
        assert_eq!(doc["paths"]["/baskets/basket/"]["patch"]["requestBody"]["required"], false);
        // The two dialects' order items are two components.
        assert!(schemas["OrderItem"]["required"].as_array().unwrap().contains(&json!("pk")));
        assert!(schemas["EpOrderItem"]["required"].as_array().unwrap().contains(&json!("relationships")));
    }

    /// The components `schema` refers to.
    fn refs(schema: &Value) -> Vec<String> {
        match schema {
            Value::Object(m) => m
                .iter()
                .flat_map(|(k, v)| match (k.as_str(), v.as_str()) {
                    ("$ref", Some(r)) => {
                        r.strip_prefix("#/components/schemas/").map(str::to_owned).into_iter().collect()
                    }
                    _ => refs(v),
                })
                .collect(),
            Value::Array(a) => a.iter().flat_map(refs).collect(),
            _ => Vec::new(),
        }
    }
}
