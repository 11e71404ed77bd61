//! The catalogue slice: products, price lists, stock lists and product prices, created,
//! changed and listed by staff (and by the demo loader).
//!
//! Mostly the store's operations as they are; the rules here are the ones a price write
//! needs: it goes into a price list that exists (the default one when none is named) and
//! for a product that exists, each reported on the request's field that named it.

pub use offerline_store::catalog::{PriceList, Product, ProductImage, ProductInput, ProductPrice, StockList};

use crate::error::{AppError, AppResult};
use crate::handle::App;
use crate::list::ListQuery;

// ---------------------------------------------------------------------------------------
// Products.

/// Creates a product; [`AppError::Conflict`] on a sku already taken.
pub async fn create_product(app: &App, input: ProductInput) -> AppResult<Product> {
    Ok(app.store().create_product(input).await?)
}

pub async fn product(app: &App, id: i64) -> AppResult<Product> {
    Ok(app.store().product(id).await?)
}

/// The product with this sku, if any.
pub async fn product_by_sku(app: &App, sku: &str) -> AppResult<Option<Product>> {
    Ok(app.store().product_by_sku(sku).await?)
}

/// Changes the fields `input` gives.
pub async fn update_product(app: &App, id: i64, input: ProductInput) -> AppResult<Product> {
    Ok(app.store().update_product(id, input).await?)
}

/// Products matching `q`, with the count of all matches.
pub async fn list_products(app: &App, q: &ListQuery) -> AppResult<(i64, Vec<Product>)> {
    Ok(app.store().list_products(q).await?)
}

// ---------------------------------------------------------------------------------------
// Price and stock lists.

/// Creates a price list in `currency` (a valid currency code).
pub async fn create_price_list(app: &App, name: &str, code: Option<&str>, currency: &str) -> AppResult<PriceList> {
    Ok(app.store().create_price_list(name, code, currency).await?)
}

pub async fn list_price_lists(app: &App, q: &ListQuery) -> AppResult<(i64, Vec<PriceList>)> {
    Ok(app.store().list_price_lists(q).await?)
}

/// The price list every storefront price comes from.
pub async fn default_price_list(app: &App) -> AppResult<PriceList> {
    Ok(app.store().default_price_list().await?)
}

pub async fn create_stock_list(app: &App, name: &str, code: Option<&str>) -> AppResult<StockList> {
    Ok(app.store().create_stock_list(name, code).await?)
}

pub async fn list_stock_lists(app: &App, q: &ListQuery) -> AppResult<(i64, Vec<StockList>)> {
    Ok(app.store().list_stock_lists(q).await?)
}

// ---------------------------------------------------------------------------------------
// Prices.

/// The price list a price is written to: `id`, or the default list when none is named.
/// A list that cannot be read is [`AppError::Unknown`] on `price_list`.
pub async fn price_list_for(app: &App, id: Option<i64>) -> AppResult<PriceList> {
    match id {
        Some(id) => app
            .store()
            .price_list(id)
            .await
            .map_err(|_| AppError::Unknown { field: "price_list".into(), ids: vec![id] }),
        None => default_price_list(app).await,
    }
}

/// `Ok` when the product a price is for can be read, else [`AppError::Unknown`] on
/// `product`. Asked before the price's amounts are read (in the list's currency), so a
/// request naming an unknown product is told that first.
pub async fn require_product(app: &App, id: i64) -> AppResult<()> {
    match app.store().product(id).await {
        Ok(_) => Ok(()),
        Err(_) => Err(AppError::Unknown { field: "product".into(), ids: vec![id] }),
    }
}

/// Sets the price of `product` in `list` (amounts in the list's currency, the tax rate in
/// hundredths of a percent), replacing the one it had.
pub async fn set_price(
    app: &App,
    product: i64,
    list: &PriceList,
    price: i64,
    retail_price: Option<i64>,
    tax_rate: i64,
) -> AppResult<ProductPrice> {
    Ok(app.store().upsert_price(product, list.id, price, retail_price, tax_rate).await?)
}

/// Prices matching `q` with the count of all matches, and the price lists they are in.
pub async fn list_prices(app: &App, q: &ListQuery) -> AppResult<(i64, Vec<ProductPrice>, Vec<PriceList>)> {
    let (count, prices) = app.store().list_prices(q).await?;
    let mut lists: Vec<i64> = prices.iter().map(|p| p.price_list_id).collect();
    lists.sort_unstable();
    lists.dedup();
    let lists = app.store().price_lists_by_ids(&lists).await?;
    Ok((count, prices, lists))
}
