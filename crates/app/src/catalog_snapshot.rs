//! The catalogue as pricing reads it, in memory: every product's sku, state and attributes
//! with its price in the default price list, and that list. A simulation reads no
//! catalogue rows: it looks its lines up here.
//!
//! It is kept by the offer cache ([`crate::offers::OfferCache::pricing`]) under the same
//! freshness rules as the offers: a pricing reloads it first when the catalogue's pricing
//! version has moved since it was loaded, whichever node or process wrote.

use std::collections::{BTreeMap, HashMap};

use offerline_store::catalog::{CatalogRows, PriceList};

/// A product as pricing needs it.
#[derive(Debug, Clone)]
pub struct PricedEntry {
    pub id: i64,
    pub sku: String,
    pub is_active: bool,
    /// Attribute values as strings, the form ranges match on.
    pub attributes: BTreeMap<String, String>,
    /// Its price in the default price list, if it has one.
    pub price: Option<i64>,
}

/// One load of the pricing catalogue.
#[derive(Debug, Clone)]
pub struct CatalogSnapshot {
    pub price_list: PriceList,
    by_sku: HashMap<String, PricedEntry>,
}

impl CatalogSnapshot {
    pub fn from_rows(rows: CatalogRows) -> Self {
        let prices: HashMap<i64, i64> = rows.prices.into_iter().collect();
        let by_sku = rows
            .products
            .into_iter()
            .map(|p| {
                let entry = PricedEntry {
                    id: p.id,
                    is_active: p.is_active,
                    attributes: p.attribute_strings(),
                    price: prices.get(&p.id).copied(),
                    sku: p.sku,
                };
                (entry.sku.clone(), entry)
            })
            .collect();
        CatalogSnapshot { price_list: rows.price_list, by_sku }
    }

    pub fn by_sku(&self, sku: &str) -> Option<&PricedEntry> {
        self.by_sku.get(sku)
    }

    pub fn len(&self) -> usize {
        self.by_sku.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_sku.is_empty()
    }
}
