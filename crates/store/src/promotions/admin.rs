//! Promotion rows and their writes: create, update (every field), soft delete, read by id
//! and list. The inputs are typed ([`PromotionInput`]); the API parses and words its
//! requests, the use cases in `offerline-app` check the rules, and this module only stores.
//!
//! # Deleting
//! Deleting is soft (`deleted = 1`): discount items of past orders keep pointing at the
//! promotion, and [`Store::promotions_by_ids`] still reads it. Deleted promotions are not
//! listed, not priced, and their vouchers are not found by code.

use std::collections::{BTreeSet, HashMap, HashSet};

use offerline_core::{Benefit, Condition, Currency, CustomerId, Offer, OfferId, OfferKind, RefundPolicy, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::codec;
use crate::list::{ListQuery, in_id_order, placeholders};
use crate::{Result, Store, StoreError, now_micros};

/// A promotion row with its customers.
#[derive(Debug, Clone, PartialEq)]
pub struct Promotion {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub label: String,
    pub offer_type: OfferKind,
    pub currency: Currency,
    pub start_at: Option<i64>,
    pub end_at: Option<i64>,
    pub priority: i32,
    pub exclusive: bool,
    pub is_active: bool,
    /// From the `definition` column ([`codec`]), money in `currency`.
    pub condition: Condition,
    pub benefit: Benefit,
    pub max_basket_applications: Option<u32>,
    pub max_user_applications: Option<u32>,
    pub max_global_applications: Option<u32>,
    /// Minor units of `currency`.
    pub max_discount: Option<i64>,
    /// User pks, ascending.
    pub customers: Vec<i64>,
    pub refund_policy: RefundPolicy,
    /// What orders have used of it so far (contract §10 `usage`).
    pub usage: PromotionUsage,
    pub deleted: bool,
    pub created_at: i64,
    pub modified_at: i64,
}

/// A promotion's usage, net of cancellations (`offer_usage`): applications and orders that
/// still hold it, the discount given, what cancellations gave back, and what stays given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PromotionUsage {
    pub applications: i64,
    pub orders: i64,
    /// Minor units given at checkout, over all orders (`net + reversed`).
    pub discount: i64,
    pub reversed: i64,
    pub net: i64,
}

/// Everything a promotion is made of besides its id and stamps: what create and update
/// write (an update replaces every field).
#[derive(Debug, Clone, PartialEq)]
pub struct PromotionInput {
    pub name: String,
    pub slug: String,
    pub label: String,
    pub offer_type: OfferKind,
    pub currency: Currency,
    pub start_at: Option<i64>,
    pub end_at: Option<i64>,
    pub priority: i32,
    pub exclusive: bool,
    pub is_active: bool,
    pub condition: Condition,
    pub benefit: Benefit,
    pub max_basket_applications: Option<u32>,
    pub max_user_applications: Option<u32>,
    pub max_global_applications: Option<u32>,
    pub max_discount: Option<i64>,
    /// User pks; stored once each.
    pub customers: Vec<i64>,
    pub refund_policy: RefundPolicy,
}

impl PromotionInput {
    /// The engine's offer for this input, with `id`. Whether it is a meaningful offer is
    /// [`Offer::field_errors`]' question.
    pub fn to_offer(&self, id: i64) -> Offer {
        Offer {
            id: OfferId(id),
            name: self.name.clone(),
            kind: self.offer_type,
            currency: self.currency,
            start: self.start_at.map(Timestamp),
            end: self.end_at.map(Timestamp),
            priority: self.priority,
            exclusive: self.exclusive,
            active: self.is_active,
            condition: self.condition.clone(),
            benefit: self.benefit.clone(),
            max_basket_applications: self.max_basket_applications,
            max_user_applications: self.max_user_applications,
            max_global_applications: self.max_global_applications,
            max_discount: self.max_discount,
            customers: self.customers.iter().map(|c| CustomerId(*c)).collect(),
            refund_policy: self.refund_policy,
        }
    }
}

impl Promotion {
    /// The fields of this promotion as an input (to write it again, changed).
    pub fn input(&self) -> PromotionInput {
        PromotionInput {
            name: self.name.clone(),
            slug: self.slug.clone(),
            label: self.label.clone(),
            offer_type: self.offer_type,
            currency: self.currency,
            start_at: self.start_at,
            end_at: self.end_at,
            priority: self.priority,
            exclusive: self.exclusive,
            is_active: self.is_active,
            condition: self.condition.clone(),
            benefit: self.benefit.clone(),
            max_basket_applications: self.max_basket_applications,
            max_user_applications: self.max_user_applications,
            max_global_applications: self.max_global_applications,
            max_discount: self.max_discount,
            customers: self.customers.clone(),
            refund_policy: self.refund_policy,
        }
    }

    /// The engine's offer for this promotion.
    pub fn to_offer(&self) -> Offer {
        self.input().to_offer(self.id)
    }
}

pub(super) const PROMO_COLS: &str = "id, name, slug, label, offer_type, currency, start_at, end_at, priority, exclusive, \
     is_active, definition, max_basket_applications, max_user_applications, max_global_applications, max_discount, \
     refund_policy, deleted, created_at, modified_at";

/// A row of [`PROMO_COLS`], without its customers. A value the types cannot hold (only a
/// hand-edited row has one) is [`StoreError::Internal`], naming the promotion.
pub(super) fn promotion_from_row(r: &AnyRow) -> Result<Promotion> {
    let id: i64 = r.try_get("id")?;
    let bad = |what: &str| StoreError::Internal(format!("promotion {id}: stored {what}"));
    let offer_type: String = r.try_get("offer_type")?;
    let currency: String = r.try_get("currency")?;
    let currency = Currency::parse(&currency).map_err(|_| bad(&format!("currency {currency:?}")))?;
    let definition: String = r.try_get("definition")?;
    let (condition, benefit) = codec::decode(&definition, currency).map_err(|e| bad(&format!("definition: {e}")))?;
    let limit = |col: &str| -> Result<Option<u32>> {
        let v: Option<i64> = r.try_get(col)?;
        v.map(|n| u32::try_from(n).map_err(|_| bad(&format!("{col} {n}")))).transpose()
    };
    let priority: i64 = r.try_get("priority")?;
    Ok(Promotion {
        id,
        name: r.try_get("name")?,
        slug: r.try_get("slug")?,
        label: r.try_get("label")?,
        offer_type: OfferKind::parse(&offer_type).ok_or_else(|| bad(&format!("offer_type {offer_type:?}")))?,
        currency,
        start_at: r.try_get("start_at")?,
        end_at: r.try_get("end_at")?,
        priority: i32::try_from(priority).map_err(|_| bad(&format!("priority {priority}")))?,
        exclusive: r.try_get::<i64, _>("exclusive")? != 0,
        is_active: r.try_get::<i64, _>("is_active")? != 0,
        condition,
        benefit,
        max_basket_applications: limit("max_basket_applications")?,
        max_user_applications: limit("max_user_applications")?,
        max_global_applications: limit("max_global_applications")?,
        max_discount: r.try_get("max_discount")?,
        customers: Vec::new(),
        usage: PromotionUsage::default(),
        refund_policy: {
            let p: String = r.try_get("refund_policy")?;
            RefundPolicy::parse(&p).ok_or_else(|| bad(&format!("refund_policy {p:?}")))?
        },
        deleted: r.try_get::<i64, _>("deleted")? != 0,
        created_at: r.try_get("created_at")?,
        modified_at: r.try_get("modified_at")?,
    })
}

pub(super) type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Links `owner` to each of `users` (once each) in a link table.
pub(super) async fn insert_links(tx: &mut Tx, table: &str, owner_col: &str, owner: i64, users: &[i64]) -> Result<()> {
    let users: BTreeSet<i64> = users.iter().copied().collect();
    let users: Vec<i64> = users.into_iter().collect();
    for chunk in users.chunks(400) {
        let values: Vec<String> = (0..chunk.len()).map(|i| format!("($1, ${})", i + 2)).collect();
        let sql = format!("INSERT INTO {table} ({owner_col}, user_id) VALUES {}", values.join(", "));
        bind_all!(sqlx::query(&sql).bind(owner), chunk).execute(&mut **tx).await?;
    }
    Ok(())
}

impl Store {
    /// The users among `ids` that do not exist (one query per 500 ids).
    pub async fn missing_users(&self, ids: &[i64]) -> Result<Vec<i64>> {
        let mut found: HashSet<i64> = HashSet::with_capacity(ids.len());
        // Chunks keep every query under both engines' bound-parameter limits.
        for chunk in ids.chunks(500) {
            let sql = format!("SELECT id FROM users WHERE id IN ({})", placeholders(0, chunk.len()));
            for r in self.fetch_in(sql, chunk).await? {
                found.insert(r.try_get::<i64, _>(0)?);
            }
        }
        let mut missing: Vec<i64> = ids.iter().copied().filter(|i| !found.contains(i)).collect();
        missing.dedup();
        Ok(missing)
    }

    pub async fn create_promotion(&self, p: &PromotionInput) -> Result<Promotion> {
        let now = now_micros();
        let mut tx = self.begin().await?;
        let insert = sqlx::query(
            "INSERT INTO promotions (name, slug, label, offer_type, currency, start_at, end_at, priority, exclusive, \
             is_active, definition, max_basket_applications, max_user_applications, max_global_applications, \
             max_discount, refund_policy, deleted, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 0, $17, $17) RETURNING id",
        );
        let definition = codec::encode(&p.condition, &p.benefit, p.currency);
        let id: i64 = bind_fields(insert, p, &definition).bind(now).fetch_one(&mut *tx).await?.try_get(0)?;
        insert_links(&mut tx, "promotion_customers", "promotion_id", id, &p.customers).await?;
        tx.commit().await?;
        self.promotion(id).await
    }

    /// Creates every promotion of `inputs` in one transaction (all or none); their ids, in
    /// input order.
    pub async fn create_promotions(&self, inputs: &[PromotionInput]) -> Result<Vec<i64>> {
        let now = now_micros();
        let mut tx = self.begin().await?;
        let mut ids = Vec::with_capacity(inputs.len());
        for p in inputs {
            let insert = sqlx::query(
                "INSERT INTO promotions (name, slug, label, offer_type, currency, start_at, end_at, priority, exclusive, \
                 is_active, definition, max_basket_applications, max_user_applications, max_global_applications, \
                 max_discount, refund_policy, deleted, created_at, modified_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 0, $17, $17) RETURNING id",
            );
            let definition = codec::encode(&p.condition, &p.benefit, p.currency);
            let id: i64 = bind_fields(insert, p, &definition).bind(now).fetch_one(&mut *tx).await?.try_get(0)?;
            insert_links(&mut tx, "promotion_customers", "promotion_id", id, &p.customers).await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Replaces every field of a (not deleted) promotion.
    pub async fn update_promotion(&self, id: i64, p: &PromotionInput) -> Result<Promotion> {
        let now = now_micros();
        let mut tx = self.begin().await?;
        let update = sqlx::query(
            "UPDATE promotions SET name = $1, slug = $2, label = $3, offer_type = $4, currency = $5, start_at = $6, \
             end_at = $7, priority = $8, exclusive = $9, is_active = $10, definition = $11, \
             max_basket_applications = $12, max_user_applications = $13, max_global_applications = $14, \
             max_discount = $15, refund_policy = $16, modified_at = $17 WHERE id = $18 AND deleted = 0",
        );
        let definition = codec::encode(&p.condition, &p.benefit, p.currency);
        let done = bind_fields(update, p, &definition).bind(now).bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM promotion_customers WHERE promotion_id = $1").bind(id).execute(&mut *tx).await?;
        insert_links(&mut tx, "promotion_customers", "promotion_id", id, &p.customers).await?;
        tx.commit().await?;
        self.promotion(id).await
    }

    /// Soft delete: the row stays for the ledger, the offer stops applying.
    pub async fn delete_promotion(&self, id: i64) -> Result<()> {
        let done = sqlx::query("UPDATE promotions SET deleted = 1, modified_at = $1 WHERE id = $2 AND deleted = 0")
            .bind(now_micros())
            .bind(id)
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// A promotion that is not deleted.
    pub async fn promotion(&self, id: i64) -> Result<Promotion> {
        match self.promotions_by_ids(&[id]).await?.pop() {
            Some(p) if !p.deleted => Ok(p),
            _ => Err(StoreError::NotFound),
        }
    }

    /// Promotions with their customers and usage, in the order of `ids`, deleted ones
    /// included (views of past orders render them). Three queries.
    pub async fn promotions_by_ids(&self, ids: &[i64]) -> Result<Vec<Promotion>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ph = placeholders(0, ids.len());
        let rows = self.fetch_in(format!("SELECT {PROMO_COLS} FROM promotions WHERE id IN ({ph})"), ids).await?;
        let mut promos = rows.iter().map(promotion_from_row).collect::<Result<Vec<_>>>()?;
        let links = self
            .fetch_in(
                format!(
                    "SELECT promotion_id, user_id FROM promotion_customers WHERE promotion_id IN ({ph}) \
                     ORDER BY promotion_id, user_id"
                ),
                ids,
            )
            .await?;
        let mut by_promo: HashMap<i64, Vec<i64>> = HashMap::new();
        for r in &links {
            by_promo.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
        }
        let usage = self
            .fetch_in(
                format!(
                    "SELECT promotion_id, applications, orders_count, discount_spent, discount_reversed \
                     FROM offer_usage WHERE promotion_id IN ({ph})"
                ),
                ids,
            )
            .await?;
        let mut usage_of: HashMap<i64, PromotionUsage> = HashMap::new();
        for r in &usage {
            let (net, reversed): (i64, i64) = (r.try_get(3)?, r.try_get(4)?);
            usage_of.insert(
                r.try_get(0)?,
                PromotionUsage {
                    applications: r.try_get(1)?,
                    orders: r.try_get(2)?,
                    discount: net + reversed,
                    reversed,
                    net,
                },
            );
        }
        for p in &mut promos {
            p.customers = by_promo.remove(&p.id).unwrap_or_default();
            p.usage = usage_of.get(&p.id).copied().unwrap_or_default();
        }
        Ok(in_id_order(ids, promos, |p| p.id))
    }

    /// Lists promotions; the caller adds `deleted = 0` to hide deleted ones.
    pub async fn list_promotions(&self, q: &ListQuery) -> Result<(i64, Vec<Promotion>)> {
        let (count, ids) = self.list_ids("promotions", q).await?;
        Ok((count, self.promotions_by_ids(&ids).await?))
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds `$1`…`$16` of the insert and the update: every field but the customers, in
/// column order, with the definition already encoded.
fn bind_fields<'q>(q: AnyQuery<'q>, p: &'q PromotionInput, definition: &'q str) -> AnyQuery<'q> {
    q.bind(p.name.as_str())
        .bind(p.slug.as_str())
        .bind(p.label.as_str())
        .bind(p.offer_type.as_str())
        .bind(p.currency.as_str())
        .bind(p.start_at)
        .bind(p.end_at)
        .bind(i64::from(p.priority))
        .bind(i64::from(p.exclusive))
        .bind(i64::from(p.is_active))
        .bind(definition)
        .bind(p.max_basket_applications.map(i64::from))
        .bind(p.max_user_applications.map(i64::from))
        .bind(p.max_global_applications.map(i64::from))
        .bind(p.max_discount)
        .bind(p.refund_policy.as_str())
}
