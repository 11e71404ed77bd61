//! One row type per ledger table (`orders`, `order_items`, `discount_items`,
//! `benefit_applicants`, `condition_applicants`, `cancellations`, `cancellation_items`,
//! `cancellation_reversals`) and the promotion fields a discount item
//! shows, with the column lists the loader selects and their decoding.
//!
//! A row holds every column of its table, so that every view renders from the same rows and
//! no view needs a query of its own. Statuses decode to [`OrderStatus`] and currencies to
//! [`Currency`]: a stored value that is neither is a broken row, answered as
//! [`StoreError::Internal`], never passed on for a view to guess at.

use offerline_core::status::OrderStatus;
use offerline_core::{CancellationStatus, CancellationType, Currency, RefundPolicy};
use serde_json::Value as Json;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, StoreError};

/// An order (`orders`).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRow {
    pub id: i64,
    pub number: String,
    pub user_id: Option<i64>,
    pub channel: String,
    pub status: OrderStatus,
    pub currency: Currency,
    /// What the customer pays: `amount_without_discount - discount_amount`, minor units.
    pub amount: i64,
    pub discount_amount: i64,
    pub amount_without_discount: i64,
    pub shipping_amount: i64,
    pub shipping_free: bool,
    /// The JSON documents the order was placed with; text that is not JSON reads as `None`.
    pub customer: Option<Json>,
    pub shipping_address: Option<Json>,
    pub billing_address: Option<Json>,
    pub created_at: i64,
    pub modified_at: i64,
}

/// One unit of an order (`order_items`).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItemRow {
    pub id: i64,
    pub order_id: i64,
    pub product_id: i64,
    /// Groups the units of one basket line / cart item (the Elastic Path item id).
    pub line_key: String,
    pub status: OrderStatus,
    pub price: i64,
    pub retail_price: Option<i64>,
    /// Hundredths of a percent.
    pub tax_rate: i64,
    pub price_list_id: Option<i64>,
    pub stock_list_id: Option<i64>,
    pub net_amount: i64,
    pub discount_amount: i64,
    pub installment_interest_amount: i64,
    pub cancel_status: Option<String>,
    pub tracking_number: Option<String>,
    pub shipping_company: Option<String>,
    pub invoice_number: Option<String>,
    pub external_status: Option<String>,
    pub mapping_code: String,
    /// The product's name and sku when the order was placed.
    pub product_name: String,
    pub product_sku: String,
    pub created_at: i64,
    pub modified_at: i64,
}

/// One discount on an order (`discount_items`): an applied offer, a voucher or an external
/// custom discount.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscountItemRow {
    pub id: i64,
    pub order_id: i64,
    pub name: String,
    /// Positive minor units; the sum of the item's benefit applicants' shares.
    pub amount: i64,
    pub offer_type: String,
    pub session_offer_type: Option<String>,
    pub code: Option<String>,
    pub promotion_id: Option<i64>,
    pub external_id: Option<String>,
    pub discount_engine: Option<String>,
    pub description: Option<String>,
    pub external_uuid: Option<String>,
    /// For an item-level external discount: the line it belongs to.
    pub line_key: Option<String>,
    /// Σ of the reversals of approved cancellations; never above `amount`.
    pub cancel_amount: i64,
    /// How often the offer applied on this order (given back when wholly reversed).
    pub applications: i64,
    /// The promotion's refund policy when the order was placed.
    pub refund_policy: RefundPolicy,
    pub created_at: i64,
    pub modified_at: i64,
}

/// The share of a discount item carried by one order item (`benefit_applicants`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenefitApplicantRow {
    pub id: i64,
    pub discount_item_id: i64,
    pub order_item_id: i64,
    pub discount_share: i64,
    pub created_at: i64,
    pub modified_at: i64,
}

/// An order item that satisfied a discount item's condition (`condition_applicants`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionApplicantRow {
    pub id: i64,
    pub discount_item_id: i64,
    pub order_item_id: i64,
    pub created_at: i64,
    pub modified_at: i64,
}

/// A cancellation or return of units of one order (`cancellations`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancellationRow {
    pub id: i64,
    pub order_id: i64,
    /// Who asked: the customer of a request, the staff user of an immediate cancellation.
    pub user_id: Option<i64>,
    pub cancellation_type: CancellationType,
    pub reason: String,
    pub description: String,
    pub status: CancellationStatus,
    /// Σ of its items' refunds (while waiting: what it would refund if approved when asked).
    pub refund_amount: i64,
    pub created_at: i64,
    pub modified_at: i64,
}

/// One unit of a cancellation (`cancellation_items`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancellationItemRow {
    pub id: i64,
    pub cancellation_id: i64,
    pub order_item_id: i64,
    /// The unit's status before the cancellation: what a rejection puts back.
    pub previous_status: OrderStatus,
    pub refund_amount: i64,
    pub created_at: i64,
}

/// A discount share reversed by an approved cancellation item (`cancellation_reversals`):
/// on the cancelled unit itself, or on a kept unit whose discount was clawed back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReversalRow {
    pub id: i64,
    pub cancellation_item_id: i64,
    pub discount_item_id: i64,
    pub target_item_id: i64,
    pub amount: i64,
    pub created_at: i64,
}

/// The few promotion fields a discount item shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionRef {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub created_at: i64,
    pub modified_at: i64,
}

pub(super) const ORDER_COLS: &str = "id, number, user_id, channel, status, currency, amount, discount_amount, \
     amount_without_discount, shipping_amount, shipping_free, customer, shipping_address, billing_address, \
     created_at, modified_at";

pub(super) const ITEM_COLS: &str = "id, order_id, product_id, line_key, status, price, retail_price, tax_rate, \
     price_list_id, stock_list_id, net_amount, discount_amount, installment_interest_amount, cancel_status, \
     tracking_number, shipping_company, invoice_number, external_status, mapping_code, product_name, product_sku, \
     created_at, modified_at";

pub(super) const DISCOUNT_COLS: &str = "id, order_id, name, amount, offer_type, session_offer_type, code, \
     promotion_id, external_id, discount_engine, description, external_uuid, line_key, cancel_amount, applications, \
     refund_policy, created_at, modified_at";

pub(crate) const CANCELLATION_COLS: &str = "id, order_id, user_id, cancellation_type, reason, description, status, \
     refund_amount, created_at, modified_at";

pub(crate) const CANCELLATION_ITEM_COLS: &str =
    "id, cancellation_id, order_item_id, previous_status, refund_amount, created_at";

pub(crate) const REVERSAL_COLS: &str = "id, cancellation_item_id, discount_item_id, target_item_id, amount, created_at";

pub(super) const BENEFIT_COLS: &str = "id, discount_item_id, order_item_id, discount_share, created_at, modified_at";

pub(super) const CONDITION_COLS: &str = "id, discount_item_id, order_item_id, created_at, modified_at";

pub(super) const PROMOTION_COLS: &str = "id, name, slug, created_at, modified_at";

fn status(r: &AnyRow, col: &str) -> Result<OrderStatus> {
    let code: i64 = r.try_get(col)?;
    OrderStatus::from_code(code).map_err(|e| StoreError::Internal(format!("{col}: {e}")))
}

fn currency(r: &AnyRow) -> Result<Currency> {
    let code: String = r.try_get("currency")?;
    Currency::parse(&code).map_err(|e| StoreError::Internal(format!("currency: {e}")))
}

fn json(r: &AnyRow, col: &str) -> Result<Option<Json>> {
    let text: Option<String> = r.try_get(col)?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

impl OrderRow {
    pub(super) fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(OrderRow {
            id: r.try_get("id")?,
            number: r.try_get("number")?,
            user_id: r.try_get("user_id")?,
            channel: r.try_get("channel")?,
            status: status(r, "status")?,
            currency: currency(r)?,
            amount: r.try_get("amount")?,
            discount_amount: r.try_get("discount_amount")?,
            amount_without_discount: r.try_get("amount_without_discount")?,
            shipping_amount: r.try_get("shipping_amount")?,
            shipping_free: r.try_get::<i64, _>("shipping_free")? != 0,
            customer: json(r, "customer")?,
            shipping_address: json(r, "shipping_address")?,
            billing_address: json(r, "billing_address")?,
            created_at: r.try_get("created_at")?,
            modified_at: r.try_get("modified_at")?,
        })
    }
}

impl OrderItemRow {
    pub(super) fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(OrderItemRow {
            id: r.try_get("id")?,
            order_id: r.try_get("order_id")?,
            product_id: r.try_get("product_id")?,
            line_key: r.try_get("line_key")?,
            status: status(r, "status")?,
            price: r.try_get("price")?,
            retail_price: r.try_get("retail_price")?,
            tax_rate: r.try_get("tax_rate")?,
            price_list_id: r.try_get("price_list_id")?,
            stock_list_id: r.try_get("stock_list_id")?,
            net_amount: r.try_get("net_amount")?,
            discount_amount: r.try_get("discount_amount")?,
            installment_interest_amount: r.try_get("installment_interest_amount")?,
            cancel_status: r.try_get("cancel_status")?,
            tracking_number: r.try_get("tracking_number")?,
            shipping_company: r.try_get("shipping_company")?,
            invoice_number: r.try_get("invoice_number")?,
            external_status: r.try_get("external_status")?,
            mapping_code: r.try_get("mapping_code")?,
            product_name: r.try_get("product_name")?,
            product_sku: r.try_get("product_sku")?,
            created_at: r.try_get("created_at")?,
            modified_at: r.try_get("modified_at")?,
        })
    }
}

impl DiscountItemRow {
    pub(super) fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(DiscountItemRow {
            id: r.try_get("id")?,
            order_id: r.try_get("order_id")?,
            name: r.try_get("name")?,
            amount: r.try_get("amount")?,
            offer_type: r.try_get("offer_type")?,
            session_offer_type: r.try_get("session_offer_type")?,
            code: r.try_get("code")?,
            promotion_id: r.try_get("promotion_id")?,
            external_id: r.try_get("external_id")?,
            discount_engine: r.try_get("discount_engine")?,
            description: r.try_get("description")?,
            external_uuid: r.try_get("external_uuid")?,
            line_key: r.try_get("line_key")?,
            cancel_amount: r.try_get("cancel_amount")?,
            applications: r.try_get("applications")?,
            refund_policy: {
                let p: String = r.try_get("refund_policy")?;
                RefundPolicy::parse(&p).ok_or_else(|| StoreError::Internal(format!("refund_policy {p:?}")))?
            },
            created_at: r.try_get("created_at")?,
            modified_at: r.try_get("modified_at")?,
        })
    }
}

impl CancellationRow {
    pub(crate) fn from_row(r: &AnyRow) -> Result<Self> {
        let bad = |what: String| StoreError::Internal(format!("cancellation: stored {what}"));
        let kind: String = r.try_get("cancellation_type")?;
        let status: String = r.try_get("status")?;
        Ok(CancellationRow {
            id: r.try_get("id")?,
            order_id: r.try_get("order_id")?,
            user_id: r.try_get("user_id")?,
            cancellation_type: CancellationType::parse(&kind).ok_or_else(|| bad(format!("type {kind:?}")))?,
            reason: r.try_get("reason")?,
            description: r.try_get("description")?,
            status: CancellationStatus::parse(&status).ok_or_else(|| bad(format!("status {status:?}")))?,
            refund_amount: r.try_get("refund_amount")?,
            created_at: r.try_get("created_at")?,
            modified_at: r.try_get("modified_at")?,
        })
    }
}

impl CancellationItemRow {
    pub(crate) fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(CancellationItemRow {
            id: r.try_get("id")?,
            cancellation_id: r.try_get("cancellation_id")?,
            order_item_id: r.try_get("order_item_id")?,
            previous_status: status(r, "previous_status")?,
            refund_amount: r.try_get("refund_amount")?,
            created_at: r.try_get("created_at")?,
        })
    }
}

impl ReversalRow {
    pub(crate) fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(ReversalRow {
            id: r.try_get("id")?,
            cancellation_item_id: r.try_get("cancellation_item_id")?,
            discount_item_id: r.try_get("discount_item_id")?,
            target_item_id: r.try_get("target_item_id")?,
            amount: r.try_get("amount")?,
            created_at: r.try_get("created_at")?,
        })
    }
}

impl BenefitApplicantRow {
    pub(super) fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(BenefitApplicantRow {
            id: r.try_get("id")?,
            discount_item_id: r.try_get("discount_item_id")?,
            order_item_id: r.try_get("order_item_id")?,
            discount_share: r.try_get("discount_share")?,
            created_at: r.try_get("created_at")?,
            modified_at: r.try_get("modified_at")?,
        })
    }
}

impl ConditionApplicantRow {
    pub(super) fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(ConditionApplicantRow {
            id: r.try_get("id")?,
            discount_item_id: r.try_get("discount_item_id")?,
            order_item_id: r.try_get("order_item_id")?,
            created_at: r.try_get("created_at")?,
            modified_at: r.try_get("modified_at")?,
        })
    }
}

impl PromotionRef {
    pub(super) fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(PromotionRef {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            slug: r.try_get("slug")?,
            created_at: r.try_get("created_at")?,
            modified_at: r.try_get("modified_at")?,
        })
    }
}
