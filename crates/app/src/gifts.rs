//! Gift stock (contract §10): the products the live gift offers name, as pricing needs them —
//! active and priced in the price list the basket is quoted in. A gift sku that names no
//! product, an inactive one or one without a price is left out, so the engine reports the
//! offer `gift_unavailable` instead of giving something that cannot be sold.

use std::collections::BTreeMap;

use offerline_core::{BenefitKind, GiftStock, OfferIndex};
use offerline_store::catalog::{Product, ProductPrice};

use crate::catalog_snapshot::CatalogSnapshot;
use crate::error::AppResult;
use crate::handle::App;

/// A gift product with its price, by sku.
#[derive(Debug, Clone)]
pub struct Gift {
    pub product: Product,
    pub price: ProductPrice,
}

/// The skus the offers give as gifts.
pub fn skus(offers: &OfferIndex) -> Vec<String> {
    let mut skus: Vec<String> = offers
        .iter()
        .filter_map(|o| match &o.benefit.kind {
            BenefitKind::Gift { sku, .. } => Some(sku.clone()),
            _ => None,
        })
        .collect();
    skus.sort_unstable();
    skus.dedup();
    skus
}

/// The gifts the offers name that can be given from `price_list`: none (and no query)
/// when no offer gives one.
pub async fn stock(app: &App, offers: &OfferIndex, price_list: i64) -> AppResult<BTreeMap<String, Gift>> {
    let skus = skus(offers);
    let mut out = BTreeMap::new();
    if skus.is_empty() {
        return Ok(out);
    }
    let products: Vec<Product> =
        app.store().products_by_skus(&skus).await?.into_iter().filter(|p| p.is_active).collect();
    let ids: Vec<i64> = products.iter().map(|p| p.id).collect();
    let mut prices = app.store().prices_for(price_list, &ids).await?;
    for p in products {
        if let Some(price) = prices.remove(&p.id) {
            out.insert(p.sku.clone(), Gift { product: p, price });
        }
    }
    Ok(out)
}

/// The engine's view of the gifts the offers name, from the in-memory pricing catalogue
/// (its default price list): what [`engine_stock`] of [`stock`] gives, with no query.
pub fn snapshot_stock(catalog: &CatalogSnapshot, offers: &OfferIndex) -> BTreeMap<String, GiftStock> {
    skus(offers)
        .into_iter()
        .filter_map(|sku| {
            let p = catalog.by_sku(&sku).filter(|p| p.is_active)?;
            let unit_price = p.price?;
            Some((sku, GiftStock { product: offerline_core::ProductId(p.id), unit_price }))
        })
        .collect()
}

/// The engine's view of `gifts`.
pub fn engine_stock(gifts: &BTreeMap<String, Gift>) -> BTreeMap<String, GiftStock> {
    gifts
        .iter()
        .map(|(sku, g)| {
            (sku.clone(), GiftStock { product: offerline_core::ProductId(g.product.id), unit_price: g.price.price })
        })
        .collect()
}
