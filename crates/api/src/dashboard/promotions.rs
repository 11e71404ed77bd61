//! Promotions in the back office: the list (status, priority, uses, budget), the create and
//! edit form, deactivate, the pricing preview, and voucher codes in bulk with their CSV.
//!
//! The form is read by turning its fields into the promotions API's JSON body and reading
//! that with the API's own parser ([`read_promotion`]), so every message beside a field is
//! the one `POST /api/v1/promotions/` would give, and no rule of what a promotion may be is
//! written twice. Dates are `datetime-local` inputs read as UTC.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use offerline_app::list::{ListQuery, Op};
use offerline_app::promotions::{self as admin, Promotion, PromotionInput};
use offerline_app::simulate::{self, LineProblem, SimLine, Simulation};
use offerline_app::vouchers::{self, CodeBatch, MAX_GENERATED_CODES};
use offerline_app::{AppError, customers};
use offerline_core::{OfferKind, RefundPolicy, VoucherCode, VoucherUsage};
use serde_json::{Map, Value, json};

use super::page::{DashError, DashResult, Id, flatten_errors, layout, respond, see_other};
use super::session::{FormData, Session, Write};
use crate::AppState;
use crate::http::error::{ApiError, nest, unknown_pk};
use crate::http::listing::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::omnitron::promotion_body::read_promotion;
use crate::omnitron::promotions::promotion_json;

// ---------------------------------------------------------------------------------------
// The list.

/// `page` and `limit` as the API reads them: a page past the end is simply empty here.
pub(super) fn window(params: &[(String, String)]) -> (i64, i64) {
    let get = |k: &str| params.iter().rev().find(|(p, _)| p == k).map(|(_, v)| v.trim());
    let page = get("page").and_then(|p| p.parse::<i64>().ok()).filter(|p| *p >= 1).unwrap_or(1);
    let limit = get("limit")
        .and_then(|l| l.parse::<i64>().ok())
        .filter(|l| *l >= 1)
        .map_or(DEFAULT_LIMIT, |l| l.min(MAX_LIMIT));
    (page, limit)
}

/// Previous / next links keeping every other parameter.
pub(super) fn pager(path: &str, params: &[(String, String)], page: i64, limit: i64, count: i64) -> Markup {
    let pages = ((count + limit - 1) / limit).max(1);
    let link = |p: i64| {
        let mut kept: Vec<(String, String)> = params.iter().filter(|(k, _)| k != "page").cloned().collect();
        kept.push(("page".into(), p.to_string()));
        format!("{path}?{}", serde_urlencoded::to_string(&kept).unwrap_or_default())
    };
    html! {
        nav.pager aria-label="pages" {
            @if page > 1 { a rel="prev" href=(link(page - 1)) { "← Previous" } }
            span { "Page " (page) " of " (pages) " · " (count) " in all" }
            @if page < pages { a rel="next" href=(link(page + 1)) { "Next →" } }
        }
    }
}

pub(super) async fn list(
    session: Session,
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> DashResult {
    let (page, limit) = window(&params);
    let mut q = ListQuery::new();
    q.order("id", true).page(limit, (page - 1) * limit);
    let (count, items) = admin::list(&state.app, q).await?;
    let body = html! {
        p { a.button href="/dashboard/promotions/new/" { "New promotion" } }
        div.table-wrap {
            table {
                thead { tr {
                    th { "Name" } th { "Kind" } th { "Status" } th.num { "Priority" }
                    th { "Uses" } th { "Budget spent" }
                } }
                tbody {
                    @for p in &items {
                        @let u = p.usage;
                        @let status = admin::status_now(p);
                        tr {
                            td { a href=(format!("/dashboard/promotions/{}/", p.id)) { (p.name) } }
                            td { (p.offer_type.as_str()) }
                            td { span class=(format!("status status-{}", status.as_str())) { (status.as_str()) } }
                            td.num { (p.priority) }
                            td {
                                (u.applications)
                                @if let Some(max) = p.max_global_applications {
                                    " of " (max) " "
                                    meter min="0" max=(max) value=(u.applications) title="uses of the limit" {}
                                }
                            }
                            td {
                                (p.currency.format(u.net))
                                @if let Some(max) = p.max_discount {
                                    " of " (p.currency.format(max)) " "
                                    meter min="0" max=(max) value=(u.net) title="budget spent" {}
                                }
                            }
                        }
                    }
                }
            }
        }
        (pager("/dashboard/promotions/", &params, page, limit, count))
    };
    Ok(respond(StatusCode::OK, layout("Promotions", Some(&session), body)))
}

// ---------------------------------------------------------------------------------------
// The form.

/// The form's values by field name (`condition.range.skus`); a checked box is `"on"`.
type Values = BTreeMap<String, String>;

/// A `datetime-local` value (`2026-01-31T14:05`, UTC) from an API datetime.
fn local_datetime(v: &Value) -> String {
    v.as_str().map(|s| s.chars().take(16).collect()).unwrap_or_default()
}

fn join(v: &Value, sep: &str) -> String {
    match v {
        Value::Array(a) => {
            a.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned)).collect::<Vec<_>>().join(sep)
        }
        _ => String::new(),
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn range_values(values: &mut Values, prefix: &str, r: &Value) {
    if r["all"] == json!(true) {
        values.insert(format!("{prefix}.all"), "on".into());
    }
    values.insert(format!("{prefix}.skus"), join(&r["skus"], "\n"));
    values.insert(format!("{prefix}.products"), join(&r["products"], ", "));
    values.insert(format!("{prefix}.excluded_skus"), join(&r["excluded_skus"], "\n"));
    let attrs = r["attributes"].as_object().map_or_else(String::new, |m| {
        m.iter().map(|(k, v)| format!("{k}={}", join(v, ","))).collect::<Vec<_>>().join("\n")
    });
    values.insert(format!("{prefix}.attributes"), attrs);
}

/// A stored promotion as form values (through its API shape, so the form shows what the
/// API would).
fn values_of(p: &Promotion) -> Values {
    let j = promotion_json(p);
    let mut v = Values::new();
    for k in ["name", "slug", "label", "offer_type", "currency", "refund_policy", "priority", "max_discount"] {
        v.insert(k.into(), text_of(&j[k]));
    }
    for k in ["max_basket_applications", "max_user_applications", "max_global_applications"] {
        v.insert(k.into(), text_of(&j[k]));
    }
    v.insert("start_datetime".into(), local_datetime(&j["start_datetime"]));
    v.insert("end_datetime".into(), local_datetime(&j["end_datetime"]));
    for k in ["exclusive", "is_active"] {
        if j[k] == json!(true) {
            v.insert(k.into(), "on".into());
        }
    }
    v.insert("customers".into(), join(&j["customers"], ", "));
    v.insert("condition.type".into(), text_of(&j["condition"]["type"]));
    v.insert("condition.value".into(), text_of(&j["condition"]["value"]));
    range_values(&mut v, "condition.range", &j["condition"]["range"]);
    v.insert("benefit.type".into(), text_of(&j["benefit"]["type"]));
    v.insert("benefit.value".into(), text_of(&j["benefit"]["value"]));
    v.insert("benefit.max_affected_items".into(), text_of(&j["benefit"]["max_affected_items"]));
    let tiers = j["benefit"]["tiers"].as_array().map_or_else(String::new, |t| {
        t.iter()
            .map(|t| format!("{}={}", text_of(&t["threshold"]), text_of(&t["value"])))
            .collect::<Vec<_>>()
            .join("\n")
    });
    v.insert("benefit.tiers".into(), tiers);
    v.insert("benefit.gift.sku".into(), text_of(&j["benefit"]["gift"]["sku"]));
    v.insert("benefit.gift.quantity".into(), text_of(&j["benefit"]["gift"]["quantity"]));
    range_values(&mut v, "benefit.range", &j["benefit"]["range"]);
    v
}

fn new_values() -> Values {
    let mut v = Values::new();
    for (k, x) in [
        ("offer_type", "site"),
        ("currency", "try"),
        ("priority", "0"),
        ("exclusive", "on"),
        ("is_active", "on"),
        ("refund_policy", "keep_shares"),
        ("condition.type", "none"),
        ("condition.range.all", "on"),
        ("benefit.type", "percentage"),
        ("benefit.range.all", "on"),
    ] {
        v.insert(k.into(), x.into());
    }
    v
}

fn values_from(form: &FormData) -> Values {
    let mut v = Values::new();
    for (k, x) in &form.0 {
        if k != "csrf_token" {
            v.insert(k.clone(), x.clone());
        }
    }
    v
}

/// Words separated by commas or white space.
fn words(s: &str) -> Vec<&str> {
    s.split(|c: char| c == ',' || c.is_whitespace()).filter(|w| !w.is_empty()).collect()
}

/// Ids as JSON numbers; a word that is not one stays a string, for the parser to refuse.
fn ids(s: &str) -> Value {
    words(s).into_iter().map(|w| w.parse::<i64>().map_or_else(|_| json!(w), |n| json!(n))).collect()
}

fn range_body(form: &FormData, prefix: &str) -> Value {
    let mut r = Map::new();
    if form.get(&format!("{prefix}.all")).is_some() {
        r.insert("all".into(), Value::Bool(true));
    }
    for key in ["skus", "excluded_skus"] {
        if let Some(s) = form.get(&format!("{prefix}.{key}")) {
            r.insert(key.into(), words(s).into_iter().map(|w| json!(w)).collect());
        }
    }
    if let Some(s) = form.get(&format!("{prefix}.products")) {
        r.insert("products".into(), ids(s));
    }
    if let Some(s) = form.get(&format!("{prefix}.attributes")) {
        let mut attrs = Map::new();
        let mut readable = true;
        for line in s.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match line.split_once('=') {
                Some((name, vals)) if !name.trim().is_empty() => {
                    attrs.insert(name.trim().into(), words(vals).into_iter().map(|w| json!(w)).collect());
                }
                _ => readable = false,
            }
        }
        // A line that is not `name=value,…` is handed on as text, so the parser says why.
        r.insert("attributes".into(), if readable { Value::Object(attrs) } else { json!(s) });
    }
    Value::Object(r)
}

/// Tiers written one per line as `threshold=value` (`100.00=10`); a line that is not is handed
/// on as text, so the parser says why.
fn tiers_body(text: &str) -> Value {
    let mut tiers = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line.split_once('=') {
            Some((t, v)) => tiers.push(json!({"threshold": t.trim(), "value": v.trim()})),
            None => return json!(text),
        }
    }
    Value::Array(tiers)
}

/// The API's request body for the form's fields: blank fields are left out (the API's
/// defaults apply), checkboxes are booleans, lists are split on commas and white space.
fn body_of(form: &FormData) -> Map<String, Value> {
    let mut b = Map::new();
    let text = |k: &str| form.get(k).map(|s| json!(s));
    for k in [
        "name",
        "slug",
        "label",
        "offer_type",
        "currency",
        "refund_policy",
        "priority",
        "max_basket_applications",
        "max_user_applications",
        "max_global_applications",
        "max_discount",
    ] {
        if let Some(v) = text(k) {
            b.insert(k.into(), v);
        }
    }
    for k in ["start_datetime", "end_datetime"] {
        if let Some(s) = form.get(k) {
            // `datetime-local` has no zone and may have no seconds: read as UTC.
            let s = if s.len() == 16 { format!("{s}:00Z") } else { s.to_owned() };
            b.insert(k.into(), json!(s));
        }
    }
    for k in ["exclusive", "is_active"] {
        b.insert(k.into(), Value::Bool(form.get(k).is_some()));
    }
    if let Some(s) = form.get("customers") {
        b.insert("customers".into(), ids(s));
    }
    let mut condition = Map::new();
    condition.insert("type".into(), text("condition.type").unwrap_or(Value::Null));
    condition.insert("value".into(), text("condition.value").unwrap_or(Value::Null));
    condition.insert("range".into(), range_body(form, "condition.range"));
    b.insert("condition".into(), Value::Object(condition));
    let mut benefit = Map::new();
    benefit.insert("type".into(), text("benefit.type").unwrap_or(Value::Null));
    benefit.insert("value".into(), text("benefit.value").unwrap_or(Value::Null));
    benefit.insert("max_affected_items".into(), text("benefit.max_affected_items").unwrap_or(Value::Null));
    if form.get("benefit.type") == Some("gift") {
        let gift = json!({
            "sku": text("benefit.gift.sku").unwrap_or(Value::Null),
            "quantity": text("benefit.gift.quantity").unwrap_or(Value::Null),
        });
        benefit.insert("gift".into(), gift);
    }
    if let Some(t) = form.get("benefit.tiers") {
        benefit.insert("tiers".into(), tiers_body(t));
    }
    benefit.insert("range".into(), range_body(form, "benefit.range"));
    b.insert("benefit".into(), Value::Object(benefit));
    b
}

/// Reads the form as the promotions API reads its body: a typed input, or every error by
/// dotted field path.
async fn read_form(state: &AppState, form: &FormData) -> DashResult<Result<PromotionInput, Vec<(String, String)>>> {
    let body = body_of(form);
    let mut draft = read_promotion(&body);
    for id in customers::unknown(&state.app, &draft.customers).await.map_err(DashError::from)? {
        nest(&mut draft.errors, "customers", &unknown_pk(id));
    }
    match draft.finish() {
        Ok(input) => Ok(Ok(input)),
        Err(ApiError::Fields(m)) => Ok(Err(flatten_errors(&Value::Object(m)))),
        Err(e) => Err(e.into()),
    }
}

/// Field errors of a failed write, or the error page for anything else.
fn field_errors(e: AppError) -> DashResult<Vec<(String, String)>> {
    match ApiError::from(e) {
        ApiError::Fields(m) => Ok(flatten_errors(&Value::Object(m))),
        ApiError::BadRequest(m) => Ok(vec![(String::new(), m)]),
        other => Err(other.into()),
    }
}

struct FormView<'a> {
    values: &'a Values,
    errors: &'a [(String, String)],
}

impl FormView<'_> {
    fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// The messages of field `name` (for the tiers, of each tier too: `benefit.tiers[1].value`).
    fn errors_of(&self, name: &str) -> Markup {
        let mine = |p: &str| {
            p == name
                || (name == "benefit.tiers" && p.starts_with("benefit.tiers"))
                || (name == "benefit.gift.sku" && p == "benefit.gift")
        };
        let msgs: Vec<String> = self
            .errors
            .iter()
            .filter(|(p, _)| mine(p))
            .map(|(p, m)| match p.strip_prefix(name) {
                Some(rest) if !rest.is_empty() => format!("{}: {m}", rest.trim_start_matches('.')),
                _ => m.clone(),
            })
            .collect();
        html! {
            @if !msgs.is_empty() {
                ul.errors id=(format!("{}-errors", id_of(name))) { @for m in msgs { li { (m) } } }
            }
        }
    }

    fn input(&self, name: &str, label: &str, kind: &str, hint: Option<&str>) -> Markup {
        let id = id_of(name);
        html! {
            div.field {
                label for=(id) { (label) @if let Some(h) = hint { " " small { (h) } } }
                input id=(id) name=(name) type=(kind) value=(self.value(name));
                (self.errors_of(name))
            }
        }
    }

    fn textarea(&self, name: &str, label: &str, hint: &str) -> Markup {
        let id = id_of(name);
        html! {
            div.field {
                label for=(id) { (label) " " small { (hint) } }
                textarea id=(id) name=(name) rows="2" { (self.value(name)) }
                (self.errors_of(name))
            }
        }
    }

    fn checkbox(&self, name: &str, label: &str) -> Markup {
        let id = id_of(name);
        html! {
            div.field.check {
                input id=(id) name=(name) type="checkbox" checked[self.values.contains_key(name) && self.value(name) == "on"];
                label for=(id) { (label) }
                (self.errors_of(name))
            }
        }
    }

    fn select(&self, name: &str, label: &str, choices: &[&str]) -> Markup {
        let id = id_of(name);
        let current = self.value(name);
        html! {
            div.field {
                label for=(id) { (label) }
                select id=(id) name=(name) {
                    @for c in choices { option value=(c) selected[*c == current] { (c) } }
                }
                (self.errors_of(name))
            }
        }
    }

    fn range(&self, prefix: &str, title: &str) -> Markup {
        let p = |k: &str| format!("{prefix}.{k}");
        html! {
            fieldset {
                legend { (title) }
                (self.errors_of(prefix))
                (self.checkbox(&p("all"), "Every product"))
                div.grid {
                    (self.textarea(&p("skus"), "SKUs", "(separated by spaces, commas or lines)"))
                    (self.input(&p("products"), "Product ids", "text", Some("(comma separated)")))
                    (self.textarea(&p("attributes"), "Attributes", "(one per line: name=value,value)"))
                    (self.textarea(&p("excluded_skus"), "Excluded SKUs", "(separated by spaces, commas or lines)"))
                }
            }
        }
    }
}

fn id_of(name: &str) -> String {
    format!("f-{}", name.replace('.', "-"))
}

const CONDITION_TYPES: &[&str] = &["none", "amount", "count", "coverage"];
const BENEFIT_TYPES: &[&str] =
    &["percentage", "fixed", "fixed_per_unit", "fixed_price", "multibuy", "shipping_free", "gift"];

/// The fields every error path is shown beside; an error elsewhere is listed at the top.
fn placed(path: &str) -> bool {
    const TOP: &[&str] = &[
        "name",
        "slug",
        "label",
        "offer_type",
        "currency",
        "start_datetime",
        "end_datetime",
        "priority",
        "exclusive",
        "is_active",
        "max_basket_applications",
        "max_user_applications",
        "max_global_applications",
        "max_discount",
        "customers",
        "refund_policy",
        "condition.type",
        "condition.value",
        "benefit.type",
        "benefit.value",
        "benefit.max_affected_items",
        "benefit.gift",
        "benefit.gift.sku",
        "benefit.gift.quantity",
    ];
    let range = ["condition.range", "benefit.range"].iter().any(|r| {
        path == *r
            || ["all", "skus", "products", "attributes", "excluded_skus"].iter().any(|k| path == format!("{r}.{k}"))
    });
    TOP.contains(&path) || range || path.starts_with("benefit.tiers")
}

fn promotion_form(session: &Session, action: &str, values: &Values, errors: &[(String, String)]) -> Markup {
    let f = FormView { values, errors };
    let offer_types: Vec<&str> = OfferKind::ALL.iter().map(|k| k.as_str()).collect();
    let policies: Vec<&str> = RefundPolicy::ALL.iter().map(|p| p.as_str()).collect();
    let unplaced: Vec<&(String, String)> = errors.iter().filter(|(p, _)| !placed(p)).collect();
    html! {
        @if !errors.is_empty() {
            div.error role="alert" {
                p { "The promotion was not saved: see the messages beside the fields." }
                @if !unplaced.is_empty() {
                    ul.errors id="form-errors" { @for (p, m) in unplaced { li { @if !p.is_empty() { (p) ": " } (m) } } }
                }
            }
        }
        form method="post" action=(action) {
            (session.csrf_field())
            fieldset {
                legend { "Promotion" }
                div.grid {
                    (f.input("name", "Name", "text", None))
                    (f.input("slug", "Slug", "text", Some("(blank: from the name)")))
                    (f.input("label", "Label", "text", None))
                    (f.select("offer_type", "Kind (offer type)", &offer_types))
                    (f.input("currency", "Currency", "text", Some("(ISO 4217, e.g. try)")))
                    (f.input("priority", "Priority", "number", None))
                    (f.input("start_datetime", "Starts (UTC)", "datetime-local", None))
                    (f.input("end_datetime", "Ends (UTC)", "datetime-local", None))
                    (f.select("refund_policy", "Refund policy", &policies))
                }
                (f.checkbox("exclusive", "Exclusive (no other offer on the same units)"))
                (f.checkbox("is_active", "Active"))
            }
            fieldset {
                legend { "Condition" }
                div.grid {
                    (f.select("condition.type", "Condition type", CONDITION_TYPES))
                    (f.input("condition.value", "Condition value", "text", Some("(amount, count or coverage)")))
                }
                (f.range("condition.range", "Condition range"))
            }
            fieldset {
                legend { "Benefit" }
                div.grid {
                    (f.select("benefit.type", "Benefit type", BENEFIT_TYPES))
                    (f.input("benefit.value", "Benefit value", "text", Some("(percent or money)")))
                    (f.input("benefit.max_affected_items", "Max affected items", "number", None))
                    (f.input("benefit.gift.sku", "Gift SKU", "text", Some("(gift benefits)")))
                    (f.input("benefit.gift.quantity", "Gift quantity", "number", None))
                    (f.textarea("benefit.tiers", "Tiers", "(percentage or fixed, instead of a value: one per line, threshold=value, e.g. 100.00=10)"))
                }
                (f.range("benefit.range", "Benefit range"))
            }
            fieldset {
                legend { "Limits and audience" }
                div.grid {
                    (f.input("max_basket_applications", "Max applications per basket", "number", None))
                    (f.input("max_user_applications", "Max applications per customer", "number", None))
                    (f.input("max_global_applications", "Max applications in all", "number", None))
                    (f.input("max_discount", "Budget (max discount in all)", "text", None))
                }
                (f.input("customers", "Customers (user ids)", "text", Some("(comma separated; coupons)")))
            }
            button type="submit" { "Save promotion" }
        }
    }
}

pub(super) async fn new_form(session: Session) -> Response {
    let values = new_values();
    respond(
        StatusCode::OK,
        layout("New promotion", Some(&session), promotion_form(&session, "/dashboard/promotions/new/", &values, &[])),
    )
}

pub(super) async fn create(State(state): State<AppState>, w: Write) -> DashResult {
    let input = match read_form(&state, &w.form).await? {
        Ok(input) => admin::create(&state.app, &input).await.map_err(field_errors),
        Err(errors) => Err(Ok(errors)),
    };
    match input {
        Ok(p) => Ok(see_other(&format!("/dashboard/promotions/{}/?saved=1", p.id))),
        Err(errors) => {
            let errors = errors?;
            let values = values_from(&w.form);
            let form = promotion_form(&w.session, "/dashboard/promotions/new/", &values, &errors);
            Ok(respond(StatusCode::BAD_REQUEST, layout("New promotion", Some(&w.session), form)))
        }
    }
}

fn edit_page(
    session: &Session,
    p: &Promotion,
    values: &Values,
    errors: &[(String, String)],
    notice: Option<Markup>,
) -> Markup {
    let status = admin::status_now(p);
    let action = format!("/dashboard/promotions/{}/", p.id);
    let usages: Vec<&str> = VoucherUsage::ALL.iter().map(|u| u.as_str()).collect();
    html! {
        @if let Some(n) = notice { div.notice role="status" { (n) } }
        p {
            "Status: " span class=(format!("status status-{}", status.as_str())) { (status.as_str()) }
            " · id " (p.id)
        }
        (promotion_form(session, &action, values, errors))
        @if p.is_active {
            form.inline method="post" action=(format!("/dashboard/promotions/{}/deactivate/", p.id)) {
                (session.csrf_field())
                p { button.danger type="submit" { "Deactivate" } }
            }
        }
        section {
            h2 { "Preview" }
            p { "Price a basket against the live promotions (this one included once saved and active)." }
            (preview_form("", "", "", "basket"))
        }
        @if p.offer_type.needs_code() {
            section {
                h2 { "Voucher codes" }
                form method="post" action=(format!("/dashboard/promotions/{}/vouchers/", p.id)) {
                    (session.csrf_field())
                    div.grid {
                        div.field {
                            label for="v-count" { "How many codes" }
                            input #v-count name="count" type="number" min="1" max=(MAX_GENERATED_CODES) value="10";
                        }
                        div.field {
                            label for="v-prefix" { "Prefix" }
                            input #v-prefix name="prefix" type="text";
                        }
                        div.field {
                            label for="v-length" { "Random characters" }
                            input #v-length name="length" type="number" min="4" max="32" value="8";
                        }
                        div.field {
                            label for="v-usage" { "Usage" }
                            select #v-usage name="usage" { @for u in &usages { option value=(u) { (u) } } }
                        }
                    }
                    button type="submit" { "Generate codes" }
                }
                p { a #vouchers-csv href=(format!("/dashboard/promotions/{}/vouchers.csv", p.id)) { "Download every code of this promotion (CSV)" } }
            }
        }
    }
}

pub(super) async fn edit_form(
    session: Session,
    State(state): State<AppState>,
    Id(id): Id,
    Query(params): Query<Vec<(String, String)>>,
) -> DashResult {
    let p = admin::get(&state.app, id).await?;
    let notice = params.iter().any(|(k, _)| k == "saved").then(|| html! { "Saved." });
    let page = edit_page(&session, &p, &values_of(&p), &[], notice);
    Ok(respond(StatusCode::OK, layout(&p.name, Some(&session), page)))
}

pub(super) async fn update(State(state): State<AppState>, Id(id): Id, w: Write) -> DashResult {
    let p = admin::get(&state.app, id).await?;
    let result = match read_form(&state, &w.form).await? {
        Ok(input) => admin::update(&state.app, id, &input).await.map_err(field_errors),
        Err(errors) => Err(Ok(errors)),
    };
    match result {
        Ok(p) => Ok(see_other(&format!("/dashboard/promotions/{}/?saved=1", p.id))),
        Err(errors) => {
            let errors = errors?;
            let page = edit_page(&w.session, &p, &values_from(&w.form), &errors, None);
            Ok(respond(StatusCode::BAD_REQUEST, layout(&p.name, Some(&w.session), page)))
        }
    }
}

pub(super) async fn deactivate(State(state): State<AppState>, Id(id): Id, _w: Write) -> DashResult {
    let p = admin::deactivate(&state.app, id).await?;
    Ok(see_other(&format!("/dashboard/promotions/{}/?saved=1", p.id)))
}

// ---------------------------------------------------------------------------------------
// Vouchers.

pub(super) async fn generate_vouchers(State(state): State<AppState>, Id(id): Id, w: Write) -> DashResult {
    let p = admin::get(&state.app, id).await?;
    let f = &w.form;
    let mut errors: Vec<String> = Vec::new();
    let count = match f.get("count").map(str::parse::<usize>) {
        Some(Ok(n)) if (1..=MAX_GENERATED_CODES).contains(&n) => n,
        _ => {
            errors.push(format!("How many codes: a number between 1 and {MAX_GENERATED_CODES}."));
            0
        }
    };
    let length = match f.get("length").map_or(Ok(8), str::parse::<usize>) {
        Ok(n) if (4..=32).contains(&n) => n,
        _ => {
            errors.push("Random characters: a number between 4 and 32.".into());
            0
        }
    };
    let prefix = match f.get("prefix").map(VoucherCode::parse) {
        None => String::new(),
        Some(Ok(c)) => c.as_str().to_owned(),
        Some(Err(e)) => {
            errors.push(format!("Prefix: {e}"));
            String::new()
        }
    };
    let usage = match VoucherUsage::parse(f.get("usage").unwrap_or("single_use")) {
        Ok(u) => u,
        Err(_) => {
            errors.push("Usage: not a valid choice.".into());
            VoucherUsage::SingleUse
        }
    };
    if !errors.is_empty() {
        return Err(DashError::Bad(StatusCode::BAD_REQUEST, errors.join(" ")));
    }
    let codes = vouchers::generate(&state.app, &p, &CodeBatch { count, prefix, length, usage }).await?;
    let body = html! {
        div.notice role="status" { (codes.len()) " codes generated for " (p.name) "." }
        p {
            a #vouchers-csv href=(format!("/dashboard/promotions/{}/vouchers.csv", p.id)) { "Download every code of this promotion (CSV)" }
            " · " a href=(format!("/dashboard/promotions/{}/", p.id)) { "Back to the promotion" }
        }
        ul #codes { @for c in codes.iter().take(100) { li { code { (c) } } } }
        @if codes.len() > 100 { p { "…and " (codes.len() - 100) " more in the CSV." } }
    };
    Ok(respond(StatusCode::CREATED, layout("Voucher codes", Some(&w.session), body)))
}

/// A CSV field, quoted when it has to be (codes never do, names may). A text that a
/// spreadsheet would read as a formula (`=`, `+`, `-`, `@` first) is prefixed with `'`, so
/// opening the export never runs what a promotion's name says.
pub(super) fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_owned() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

pub(super) fn csv_response(filename: &str, body: String) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    resp
}

pub(super) async fn vouchers_csv(_: Session, State(state): State<AppState>, Id(id): Id) -> DashResult {
    let p = admin::get(&state.app, id).await?;
    let mut out = String::from("code,promotion,usage,uses,created_date\n");
    let mut offset = 0;
    loop {
        let mut q = ListQuery::new();
        q.filter("promotion_id", Op::Eq, p.id).order("id", false).page(MAX_LIMIT, offset);
        let (_, page) = vouchers::list(&state.app, &q).await?;
        for v in &page {
            out.push_str(&format!(
                "{},{},{},{},{}\n",
                csv_field(&v.code),
                v.promotion_id,
                v.usage.as_str(),
                v.uses,
                crate::http::wire::ts(v.created_at)
            ));
        }
        if (page.len() as i64) < MAX_LIMIT {
            break;
        }
        offset += MAX_LIMIT;
    }
    Ok(csv_response(&format!("promotion-{}-vouchers.csv", p.id), out))
}

// ---------------------------------------------------------------------------------------
// The preview.

fn preview_form(lines: &str, codes: &str, customer: &str, explain: &str) -> Markup {
    html! {
        form method="get" action="/dashboard/preview/" {
            div.grid {
                div.field {
                    label for="p-lines" { "Basket " small { "(one line per product: SKU and quantity, e.g. 2672880000001 3)" } }
                    textarea #p-lines name="lines" rows="3" { (lines) }
                }
                div.field {
                    label for="p-codes" { "Voucher codes " small { "(optional)" } }
                    input #p-codes name="codes" type="text" value=(codes);
                }
                div.field {
                    label for="p-customer" { "Customer id " small { "(optional)" } }
                    input #p-customer name="customer" type="text" value=(customer);
                }
                div.field {
                    label for="p-explain" { "Explain the promotions that did not apply" }
                    select #p-explain name="explain" {
                        @for (v, text) in [("basket", "those the basket's products could meet"), ("all", "every live promotion"), ("none", "none")] {
                            option value=(v) selected[v == explain] { (text) }
                        }
                    }
                }
            }
            button type="submit" { "Preview" }
        }
    }
}

/// `SKU [quantity]` per line (quantity 1 when left out); the line numbers that cannot be read.
fn sim_lines(text: &str) -> (Vec<SimLine>, Vec<String>) {
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let parts = words(raw);
        match parts.as_slice() {
            [] => {}
            [sku] => lines.push(SimLine { sku: (*sku).to_owned(), quantity: 1, unit_price: None }),
            [sku, q] => match q.trim_start_matches(['x', '×']).parse::<u32>() {
                Ok(quantity) if (1..=offerline_core::basket::MAX_UNITS_PER_LINE).contains(&quantity) => {
                    lines.push(SimLine { sku: (*sku).to_owned(), quantity, unit_price: None })
                }
                _ => errors.push(format!("Line {}: the quantity must be a whole number from 1.", n + 1)),
            },
            _ => errors.push(format!("Line {}: write a SKU and a quantity.", n + 1)),
        }
    }
    (lines, errors)
}

/// The sku and unit price of line `line` of a priced basket, and whether it is a gift line
/// (gift lines come after the requested ones).
fn unit_line(sim: &Simulation, line: usize) -> (&str, i64, bool) {
    let lines = &sim.input.lines;
    match lines.get(line) {
        Some(l) => (l.sku.as_str(), l.unit_price, false),
        None => {
            sim.pricing.gifts.get(line - lines.len()).map_or(("", 0, true), |g| (g.sku.as_str(), g.unit_price, true))
        }
    }
}

fn simulation_view(sim: &Simulation) -> Markup {
    let (input, p) = (&sim.input, &sim.pricing);
    let cur = input.currency;
    let fm = |m: i64| cur.format(m);
    html! {
        section #preview-result {
            h2 { "Result" }
            p {
                "Before discount " strong #total-before { (fm(p.total_before_discount)) }
                " · discount " strong #total-discount { (fm(p.total_discount)) }
                " · total " strong #total { (fm(p.total)) } " " (cur.as_str())
            }
            h2 { "Applied" }
            @if p.applied.is_empty() { p { "No promotion applies." } }
            @for a in &p.applied {
                h3.applied { (a.name) " — " (fm(a.amount)) @if let Some(c) = &a.code { " (code " (c.as_str()) ")" } }
                div.table-wrap { table.shares {
                    thead { tr { th { "SKU" } th.num { "Unit" } th.num { "Price" } th.num { "Share" } } }
                    tbody {
                        @for (u, share) in &a.benefit_units {
                            @let (sku, price, gift) = unit_line(sim, u.line);
                            tr {
                                td { (sku) @if gift { " (gift)" } }
                                td.num { (u.unit + 1) }
                                td.num { (fm(price)) }
                                td.num.share { (fm(*share)) }
                            }
                        }
                    }
                } }
            }
            h2 { "Not applied" }
            @if p.not_applied.is_empty() && sim.refused_codes.is_empty() { p { "Every live promotion applied." } }
            ul #not-applied {
                @for n in &p.not_applied { li { strong { (n.name) } " — " code { (n.reason.as_str()) } ": " (n.detail) } }
                @for r in &sim.refused_codes { li { strong { (r.name) } " — " code { "voucher_invalid" } ": " (r.detail) } }
            }
        }
    }
}

pub(super) async fn preview(
    session: Session,
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> DashResult {
    let form = FormData(params);
    let (lines_text, codes_text, customer_text) =
        (form.get("lines").unwrap_or(""), form.get("codes").unwrap_or(""), form.get("customer").unwrap_or(""));
    // Staff preview a basket: by default only the offers its products could meet are explained.
    let explain_text = form.get("explain").unwrap_or("basket");
    let mut result = html! {};
    let mut errors = Vec::new();
    if !lines_text.is_empty() {
        let (lines, mut bad) = sim_lines(lines_text);
        errors.append(&mut bad);
        let customer = match customer_text {
            "" => None,
            c => match c.parse::<i64>() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push("Customer id: a number.".into());
                    None
                }
            },
        };
        let explain = match simulate::Explain::parse(explain_text) {
            Some(e) => e,
            None => {
                errors.push("Explain: all, basket or none.".into());
                simulate::Explain::Basket
            }
        };
        if let Some(c) = customer
            && !customers::unknown(&state.app, &[c]).await?.is_empty()
        {
            errors.push(format!("Customer id: no customer {c}."));
        }
        if errors.is_empty() {
            let defaults = simulate::Defaults::load(&state.app).await?;
            let currency = offerline_core::Currency::parse(defaults.currency())
                .map_err(|e| DashError::Internal(format!("default price list currency: {e}")))?;
            let codes = words(codes_text).into_iter().map(str::to_owned).collect();
            let req = simulate::Request { currency, customer, at: None, codes, lines, explain };
            match simulate::simulate(&state.app, &defaults, req).await {
                Ok(sim) => result = simulation_view(&sim),
                Err(AppError::Lines(problems)) => {
                    for (i, p) in problems.iter().enumerate() {
                        match p {
                            Some(LineProblem::UnknownSku(s)) => errors.push(format!("Line {}: no product {s}.", i + 1)),
                            Some(LineProblem::NoPrice { price_list_currency }) => errors.push(format!(
                                "Line {}: no price in the default price list ({price_list_currency}).",
                                i + 1
                            )),
                            None => {}
                        }
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    let body = html! {
        section {
            @if !errors.is_empty() { ul.errors role="alert" { @for e in &errors { li { (e) } } } }
            (preview_form(lines_text, codes_text, customer_text, explain_text))
        }
        (result)
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok(respond(status, layout("Preview", Some(&session), body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("DASH1234"), "DASH1234");
        assert_eq!(csv_field("3 al 2, Öde"), "\"3 al 2, Öde\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-5"), "'-5");
    }

    #[test]
    fn basket_lines_read_as_sku_and_quantity() {
        let (lines, errors) = sim_lines("A 3\n\nB\nC x2\nD 0\nE 1 2");
        let got: Vec<(&str, u32)> = lines.iter().map(|l| (l.sku.as_str(), l.quantity)).collect();
        assert_eq!(got, vec![("A", 3), ("B", 1), ("C", 2)]);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("Line 5") && errors[1].starts_with("Line 6"), "{errors:?}");
    }

    #[test]
    fn form_fields_become_the_api_body() {
        let form = FormData(
            [
                ("name", "N"),
                ("start_datetime", "2026-01-02T03:04"),
                ("condition.type", "count"),
                ("condition.value", "3"),
                ("condition.range.skus", "A, B\nC"),
                ("benefit.type", "multibuy"),
                ("benefit.range.products", "7, x"),
                ("benefit.range.attributes", "color=red,blue"),
                ("customers", "4 5"),
                ("is_active", "on"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        );
        let b = Value::Object(body_of(&form));
        assert_eq!(b["start_datetime"], "2026-01-02T03:04:00Z");
        assert_eq!(b["is_active"], true);
        assert_eq!(b["exclusive"], false);
        assert_eq!(b["customers"], json!([4, 5]));
        assert_eq!(b["condition"], json!({"type": "count", "value": "3", "range": {"skus": ["A", "B", "C"]}}));
        assert_eq!(
            b["benefit"],
            json!({"type": "multibuy", "value": null, "max_affected_items": null,
                   "range": {"products": [7, "x"], "attributes": {"color": ["red", "blue"]}}})
        );
        assert_eq!(
            tiers_body("100.00=10\n 500.00 = 20 "),
            json!([{"threshold": "100.00", "value": "10"}, {"threshold": "500.00", "value": "20"}])
        );
        assert_eq!(tiers_body("100"), json!("100"));
        let gift = FormData(
            [("benefit.type", "gift"), ("benefit.gift.sku", "GIFT-1")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        );
        assert_eq!(body_of(&gift)["benefit"]["gift"], json!({"sku": "GIFT-1", "quantity": null}));
        // The API's parser reads it, the bad product id refused in its words.
        let draft = read_promotion(b.as_object().unwrap());
        assert_eq!(draft.errors["benefit"]["range"]["products"], json!(["Expected a list of product pks."]));
    }
}
