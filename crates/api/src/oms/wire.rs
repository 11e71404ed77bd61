//! The OMS dialect's answers (seed 003) as serde structs, in the seed's key order; their
//! schemas are the OpenAPI document's. The detailed and the simple order item share their
//! middle fields ([`OmsItemFields`], flattened in place).

use offerline_app::catalog::{PriceList, Product, StockList};
use offerline_app::ledger::LedgerItem;
use offerline_core::status::OrderStatus;
use offerline_core::tax_included;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::http::wire::{money, rate, ts};

/// When the OMS states "were created": a fixed instant (2021-06-30T14:43:26Z).
const STATE_CREATED: i64 = 1_625_064_206_000_000;
/// Django's content-type id OMS shows on a state object.
const STATE_CONTENT_TYPE: i64 = 1;

#[derive(Debug, Serialize, ToSchema)]
pub struct OmsStateName {
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OmsStateTranslations {
    #[serde(rename = "en-us")]
    pub en_us: OmsStateName,
    #[serde(rename = "tr-tr")]
    pub tr_tr: OmsStateName,
}

/// The OMS `state` object of a status.
#[derive(Debug, Serialize, ToSchema)]
pub struct OmsState {
    pub id: i64,
    pub created_date: String,
    pub modified_date: String,
    pub translations: OmsStateTranslations,
    pub name: String,
    pub config: Value,
    pub enum_class: String,
    pub enum_value: String,
    pub content_type: i64,
}

impl From<OrderStatus> for OmsState {
    fn from(s: OrderStatus) -> Self {
        OmsState {
            id: s.state_id(),
            created_date: ts(STATE_CREATED),
            modified_date: ts(STATE_CREATED),
            translations: OmsStateTranslations {
                en_us: OmsStateName { name: s.label_en().to_owned() },
                tr_tr: OmsStateName { name: s.label_tr().to_owned() },
            },
            name: s.label_en().to_owned(),
            config: json!({}),
            enum_class: "OrderStatus".to_owned(),
            enum_value: s.code().to_string(),
            content_type: STATE_CONTENT_TYPE,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OmsProductImage {
    pub order: i64,
    pub id: i64,
    pub url: String,
    pub product: i64,
}

/// The OMS product object.
#[derive(Debug, Serialize, ToSchema)]
pub struct OmsProduct {
    pub id: i64,
    pub productimage_set: Vec<OmsProductImage>,
    pub created_date: String,
    pub modified_date: String,
    pub omnitron_id: i64,
    pub name: String,
    pub base_code: Option<String>,
    pub sku: String,
    pub barcode: Option<String>,
    pub attributes: Value,
    pub attributes_kwargs: Value,
    pub extra_attributes: Value,
    pub remote_modified_date: String,
}

impl From<&Product> for OmsProduct {
    fn from(p: &Product) -> Self {
        OmsProduct {
            id: p.id,
            productimage_set: p
                .images
                .iter()
                .map(|i| OmsProductImage { order: i.position, id: i.id, url: i.image.clone(), product: p.id })
                .collect(),
            created_date: ts(p.created_at),
            modified_date: ts(p.modified_at),
            omnitron_id: p.id,
            name: p.name.clone(),
            base_code: p.base_code.clone(),
            sku: p.sku.clone(),
            barcode: p.barcode.clone(),
            attributes: p.attributes.clone(),
            attributes_kwargs: p.attributes_kwargs.clone(),
            extra_attributes: p.extra_attributes.clone(),
            remote_modified_date: ts(p.modified_at),
        }
    }
}

/// A price or stock list as OMS shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OmsList {
    pub pk: i64,
    pub code: Option<String>,
    pub name: String,
    pub created_date: String,
    pub is_auto_sync: bool,
    pub modified_date: String,
}

impl From<&PriceList> for OmsList {
    fn from(l: &PriceList) -> Self {
        OmsList {
            pk: l.id,
            code: l.code.clone(),
            name: l.name.clone(),
            created_date: ts(l.created_at),
            is_auto_sync: l.is_auto_sync,
            modified_date: ts(l.modified_at),
        }
    }
}

impl From<&StockList> for OmsList {
    fn from(l: &StockList) -> Self {
        OmsList {
            pk: l.id,
            code: l.code.clone(),
            name: l.name.clone(),
            created_date: ts(l.created_at),
            is_auto_sync: l.is_auto_sync,
            modified_date: ts(l.modified_at),
        }
    }
}

/// The fields common to the detailed and the simple shapes, in seed order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OmsItemFields {
    pub created_date: String,
    pub modified_date: String,
    pub omnitron_id: i64,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub net_amount: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub price: String,
    pub price_currency: String,
    pub retail_price: Option<String>,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub tax_rate: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub tax_amount: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub discount_amount: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub without_net_amount: String,
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub installment_interest_amount: String,
    pub attributes: Value,
    pub attributes_kwargs: Value,
    pub image: Option<String>,
    pub price_list: Option<OmsList>,
    pub stock_list: Option<OmsList>,
    pub extra_field: Value,
    pub parent_omnitron_id: Option<i64>,
}

impl From<&LedgerItem<'_>> for OmsItemFields {
    fn from(i: &LedgerItem<'_>) -> Self {
        let c = i.order().currency.as_str();
        let tax = tax_included(i.net_amount, i.tax_rate);
        OmsItemFields {
            created_date: ts(i.created_at),
            modified_date: ts(i.modified_at),
            omnitron_id: i.id,
            net_amount: money(i.net_amount, c),
            price: money(i.price, c),
            price_currency: c.to_owned(),
            retail_price: i.retail_price.map(|r| money(r, c)),
            tax_rate: rate(i.tax_rate),
            tax_amount: money(tax, c),
            discount_amount: money(i.discount_amount, c),
            without_net_amount: money(i.net_amount - tax, c),
            installment_interest_amount: money(i.installment_interest_amount, c),
            attributes: json!({}),
            attributes_kwargs: json!({}),
            image: None,
            price_list: i.price_list().map(OmsList::from),
            stock_list: i.stock_list().map(OmsList::from),
            extra_field: json!({"price_extra_field": {}, "stock_extra_field": {}}),
            parent_omnitron_id: None,
        }
    }
}

/// Seed 003's detailed order item.
#[derive(Debug, Serialize, ToSchema)]
pub struct OmsOrderItem {
    pub id: i64,
    pub state: OmsState,
    pub product: Option<OmsProduct>,
    #[serde(flatten)]
    pub fields: OmsItemFields,
    pub order: i64,
}

impl From<&LedgerItem<'_>> for OmsOrderItem {
    fn from(i: &LedgerItem<'_>) -> Self {
        OmsOrderItem {
            id: i.id,
            state: OmsState::from(i.status),
            product: i.product().map(OmsProduct::from),
            fields: OmsItemFields::from(i),
            order: i.order_id,
        }
    }
}

/// Seed 003's simple order item (`state`, `order`, `product` as ids).
#[derive(Debug, Serialize, ToSchema)]
pub struct OmsOrderItemSimple {
    pub id: i64,
    #[serde(flatten)]
    pub fields: OmsItemFields,
    pub state: i64,
    pub order: i64,
    pub product: i64,
}

impl From<&LedgerItem<'_>> for OmsOrderItemSimple {
    fn from(i: &LedgerItem<'_>) -> Self {
        OmsOrderItemSimple {
            id: i.id,
            fields: OmsItemFields::from(i),
            state: i.status.state_id(),
            order: i.order_id,
            product: i.product_id,
        }
    }
}
