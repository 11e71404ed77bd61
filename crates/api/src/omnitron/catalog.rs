//! Omnitron (back office) endpoints of the foundation: login, `active_user`, and the
//! catalogue slice — products, price lists, stock lists, product prices — in Omnitron's
//! shapes. Served under both `/api/v1/` and `/api/i1/`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use offerline_app::catalog::{self, ProductInput};
use offerline_core::Currency;
use serde_json::Value;

use crate::AppState;
use crate::http::auth::Staff;
use crate::http::error::ApiResult;
use crate::http::listing::{Filter, Kind, Listing, Page, Spec};
use crate::http::path::PathId;
use crate::http::wire::{Body, Fields};
use crate::omnitron::wire;

fn product_input(f: &mut Fields<'_>, creating: bool) -> ProductInput {
    let mut p = ProductInput {
        name: if creating || f.has("name") { f.req_str("name", 255) } else { None },
        sku: if creating || f.has("sku") { f.req_str("sku", 128) } else { None },
        ..Default::default()
    };
    if f.has("base_code") {
        p.base_code = Some(f.opt_str("base_code", 128));
    }
    if f.has("barcode") {
        p.barcode = Some(f.opt_str("barcode", 128));
    }
    if f.has("product_type") {
        p.product_type = f.opt_str("product_type", 16);
    }
    p.is_active = f.opt_bool("is_active");
    if f.has("attribute_set") {
        p.attribute_set = Some(f.opt_int("attribute_set"));
    }
    for key in ["attributes", "attributes_kwargs"] {
        match f.obj.get(key) {
            None | Some(Value::Null) => {}
            Some(v @ Value::Object(_)) => {
                if key == "attributes" {
                    p.attributes = Some(v.clone());
                } else {
                    p.attributes_kwargs = Some(v.clone());
                }
            }
            Some(_) => f.error(key, "Expected a dictionary of items."),
        }
    }
    match f.obj.get("images") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            let urls: Option<Vec<String>> =
                a.iter().map(|v| v.as_str().filter(|s| !s.is_empty() && s.len() <= 2048).map(str::to_owned)).collect();
            match urls {
                Some(u) => p.images = Some(u),
                None => f.error("images", "Expected a list of image URLs."),
            }
        }
        Some(_) => f.error("images", "Expected a list of image URLs."),
    }
    p
}

pub(super) async fn create_product(
    _: Staff,
    State(state): State<AppState>,
    Body(body): Body<wire::ProductCreate>,
) -> ApiResult<(StatusCode, Json<wire::Product>)> {
    let mut f = Fields::new(&body);
    let input = product_input(&mut f, true);
    f.finish()?;
    let p = catalog::create_product(&state.app, input).await?;
    Ok((StatusCode::CREATED, Json(wire::Product::from(&p))))
}

pub(super) async fn get_product(
    _: Staff,
    State(state): State<AppState>,
    PathId(pk): PathId,
) -> ApiResult<Json<wire::Product>> {
    Ok(Json(wire::Product::from(&catalog::product(&state.app, pk).await?)))
}

pub(super) async fn patch_product(
    _: Staff,
    State(state): State<AppState>,
    PathId(pk): PathId,
    Body(body): Body<wire::ProductPatch>,
) -> ApiResult<Json<wire::Product>> {
    let mut f = Fields::new(&body);
    let input = product_input(&mut f, false);
    f.finish()?;
    Ok(Json(wire::Product::from(&catalog::update_product(&state.app, pk, input).await?)))
}

const PRODUCT_SPEC: Spec = Spec {
    filters: &[
        Filter { param: "sku", column: "sku", kind: Kind::Text },
        Filter { param: "base_code", column: "base_code", kind: Kind::Text },
        Filter { param: "is_active", column: "is_active", kind: Kind::Bool },
        Filter { param: "name", column: "name", kind: Kind::Text },
    ],
    sorts: &[("sku", "sku"), ("name", "name")],
    default_sort: ("id", false),
};

pub(super) async fn list_products(
    _: Staff,
    State(state): State<AppState>,
    listing: Listing,
) -> ApiResult<Json<Page<wire::Product>>> {
    let (count, items) = catalog::list_products(&state.app, &listing.query(&PRODUCT_SPEC)?).await?;
    Ok(Json(listing.page(count, items.iter().map(wire::Product::from))?))
}

/// Filters shared by the price-list and stock-list lists.
const LIST_SPEC: Spec = Spec {
    filters: &[
        Filter { param: "code", column: "code", kind: Kind::Text },
        Filter { param: "name", column: "name", kind: Kind::Text },
    ],
    sorts: &[],
    default_sort: ("id", false),
};

pub(super) async fn create_price_list(
    _: Staff,
    State(state): State<AppState>,
    Body(body): Body<wire::PriceListCreate>,
) -> ApiResult<(StatusCode, Json<wire::PriceList>)> {
    let mut f = Fields::new(&body);
    let name = f.req_str("name", 255);
    let code = f.opt_str("code", 64);
    let currency = f.req_str("currency", 8).and_then(|c| match Currency::parse(&c) {
        Ok(c) => Some(c),
        Err(_) => {
            f.error("currency", format!("\"{c}\" is not a valid choice."));
            None
        }
    });
    f.finish()?;
    let currency = currency.expect("validated");
    let l =
        catalog::create_price_list(&state.app, &name.unwrap_or_default(), code.as_deref(), currency.as_str()).await?;
    Ok((StatusCode::CREATED, Json(wire::PriceList::from(&l))))
}

pub(super) async fn list_price_lists(
    _: Staff,
    State(state): State<AppState>,
    listing: Listing,
) -> ApiResult<Json<Page<wire::PriceList>>> {
    let (count, items) = catalog::list_price_lists(&state.app, &listing.query(&LIST_SPEC)?).await?;
    Ok(Json(listing.page(count, items.iter().map(wire::PriceList::from))?))
}

pub(super) async fn create_stock_list(
    _: Staff,
    State(state): State<AppState>,
    Body(body): Body<wire::StockListCreate>,
) -> ApiResult<(StatusCode, Json<wire::StockList>)> {
    let mut f = Fields::new(&body);
    let name = f.req_str("name", 255);
    let code = f.opt_str("code", 64);
    f.finish()?;
    let l = catalog::create_stock_list(&state.app, &name.unwrap_or_default(), code.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(wire::StockList::from(&l))))
}

pub(super) async fn list_stock_lists(
    _: Staff,
    State(state): State<AppState>,
    listing: Listing,
) -> ApiResult<Json<Page<wire::StockList>>> {
    let (count, items) = catalog::list_stock_lists(&state.app, &listing.query(&LIST_SPEC)?).await?;
    Ok(Json(listing.page(count, items.iter().map(wire::StockList::from))?))
}

pub(super) async fn upsert_price(
    _: Staff,
    State(state): State<AppState>,
    Body(body): Body<wire::ProductPriceBody>,
) -> ApiResult<(StatusCode, Json<wire::ProductPrice>)> {
    let mut f = Fields::new(&body);
    let product = f.req_int("product");
    let list_id = f.opt_int("price_list");
    f.finish()?;
    let list = catalog::price_list_for(&state.app, list_id).await?;
    let product = product.expect("validated");
    catalog::require_product(&state.app, product).await?;
    let mut f = Fields::new(&body);
    let price = f.req_money("price", &list.currency);
    let retail = f.opt_money("retail_price", &list.currency);
    let tax = f.opt_money("tax_rate", "try").unwrap_or(0);
    if tax > 10_000 {
        f.error("tax_rate", "Ensure this value is less than or equal to 100.");
    }
    f.finish()?;
    let p = catalog::set_price(&state.app, product, &list, price.expect("validated"), retail, tax).await?;
    Ok((StatusCode::CREATED, Json(wire::ProductPrice::new(&p, &list.currency))))
}

pub(super) async fn list_prices(
    _: Staff,
    State(state): State<AppState>,
    listing: Listing,
) -> ApiResult<Json<Page<wire::ProductPrice>>> {
    const SPEC: Spec = Spec {
        filters: &[
            Filter { param: "product", column: "product_id", kind: Kind::Int },
            Filter { param: "price_list", column: "price_list_id", kind: Kind::Int },
        ],
        sorts: &[],
        default_sort: ("id", false),
    };
    let (count, items, lists) = catalog::list_prices(&state.app, &listing.query(&SPEC)?).await?;
    let cur = |id: i64| lists.iter().find(|l| l.id == id).map_or("try", |l| l.currency.as_str());
    Ok(Json(listing.page(count, items.iter().map(|p| wire::ProductPrice::new(p, cur(p.price_list_id))))?))
}
