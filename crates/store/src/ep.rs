//! The Elastic Path dialect's own state: store settings, carts, custom cart items and
//! custom discounts (`ep_*` tables).
//!
//! Checkout itself goes through [`crate::orders::place_order`], so an Elastic Path order and
//! its custom discounts land in the same ledger as every other order, and are read like any
//! other: an ordinary ledger order (channel `elasticpath`) named by its `number`
//! ([`crate::ledger::Roots::OrderNumber`]).
//!
//! Rules that must hold under concurrency (the limit of custom discounts per cart and per
//! item, the bounds of a cart's lines, units and total ([`CartCaps`]), the cart currency
//! fixed by the first item, merging a sku into one line) are checked inside the write
//! transaction that makes the change, after it has locked the cart's row (PostgreSQL; on
//! SQLite the one writer serialises them), so two concurrent changes cannot pass a bound
//! together.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, now_micros};

/// Custom discounts allowed per cart (cart level) and per cart item, as Elastic Path.
pub const MAX_CUSTOM_DISCOUNTS: i64 = 5;

#[derive(Debug, Clone, PartialEq)]
pub struct EpCart {
    pub id: String,
    pub name: String,
    pub description: String,
    /// `None`: follow the store setting.
    pub custom_discounts_enabled: Option<bool>,
    /// Priced by offerline's promotions (contract §10); `None`: follow the store setting.
    pub use_rule_promotions: Option<bool>,
    /// Upper-case ISO code, fixed by the first item; `None` while the cart has never had one.
    pub currency: Option<String>,
    pub created_at: i64,
    pub modified_at: i64,
}

/// A promotion code a cart holds (Elastic Path's `promotion_item`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpPromotionItem {
    pub id: String,
    /// Upper case, as voucher codes are stored.
    pub code: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EpItem {
    pub id: String,
    pub cart_id: String,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub quantity: i64,
    pub unit_amount: i64,
    pub includes_tax: bool,
    pub created_at: i64,
    pub modified_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EpDiscount {
    pub id: String,
    pub cart_id: String,
    /// `None` for a cart-level discount.
    pub item_id: Option<String>,
    pub external_id: String,
    pub discount_engine: String,
    /// Negative minor units, as Elastic Path writes it.
    pub amount: i64,
    pub description: String,
    pub discount_code: String,
    pub created_at: i64,
}

/// The fields of a custom discount as a client sends them.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscountFields {
    pub external_id: String,
    pub discount_engine: String,
    pub amount: i64,
    pub description: String,
    pub discount_code: String,
}

/// A custom item to add (or merge by sku).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEpItem {
    pub sku: String,
    pub name: String,
    pub description: String,
    pub quantity: i64,
    pub unit_amount: i64,
    pub includes_tax: bool,
}

/// The bounds a cart's items keep, given by the caller (the rules are the application's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CartCaps {
    /// Lines (distinct skus) at most.
    pub lines: i64,
    /// Units over every line at most.
    pub units: i64,
    /// Units of one line at most.
    pub line_quantity: i64,
    /// Σ unit amount × quantity must stay below this (minor units of the cart's currency).
    pub total_below: i64,
}

/// Why a change of a cart's items was refused; nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CartRefusal {
    /// A new line would make more than [`CartCaps::lines`].
    Lines,
    /// The cart would hold `would_be` units, more than [`CartCaps::units`].
    Units { would_be: i64 },
    /// The line would hold `would_be` units, more than [`CartCaps::line_quantity`].
    LineQuantity { would_be: i64 },
    /// The cart's total would reach [`CartCaps::total_below`].
    Total,
}

impl CartCaps {
    /// Checks a cart whose lines would be `lines` (unit amount, quantity), the changed one
    /// holding `changed_quantity` units.
    fn check(&self, lines: &[(i64, i64)], changed_quantity: i64) -> Option<CartRefusal> {
        if changed_quantity > self.line_quantity {
            return Some(CartRefusal::LineQuantity { would_be: changed_quantity });
        }
        if lines.len() as i64 > self.lines {
            return Some(CartRefusal::Lines);
        }
        let units = lines.iter().fold(0i64, |acc, (_, q)| acc.saturating_add(*q));
        if units > self.units {
            return Some(CartRefusal::Units { would_be: units });
        }
        let total: i128 = lines.iter().map(|(a, q)| i128::from(*a) * i128::from(*q)).sum();
        (total >= i128::from(self.total_below)).then_some(CartRefusal::Total)
    }
}

/// Why one entry of a custom-discount request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscountRefusal {
    /// The item the entry names is not in the cart.
    UnknownItem(String),
    /// The cart (cart level) or the item already holds [`MAX_CUSTOM_DISCOUNTS`].
    Limit { item_id: Option<String> },
}

/// The outcome of [`Store::ep_add_discounts`]: per entry the discount or its refusal.
/// When `committed` is false nothing was written, not even the entries shown as `Ok`.
#[derive(Debug, Clone, PartialEq)]
pub struct AddedDiscounts {
    pub committed: bool,
    pub entries: Vec<std::result::Result<EpDiscount, DiscountRefusal>>,
}

const CART_COLS: &str =
    "id, name, description, custom_discounts_enabled, use_rule_promotions, currency, created_at, modified_at";
const ITEM_COLS: &str =
    "id, cart_id, sku, name, description, quantity, unit_amount, includes_tax, created_at, modified_at";
const DISCOUNT_COLS: &str =
    "id, cart_id, item_id, external_id, discount_engine, amount, description, discount_code, created_at";

fn cart_from_row(r: &AnyRow) -> Result<EpCart> {
    let enabled: Option<i64> = r.try_get("custom_discounts_enabled")?;
    Ok(EpCart {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        custom_discounts_enabled: enabled.map(|v| v != 0),
        use_rule_promotions: r.try_get::<Option<i64>, _>("use_rule_promotions")?.map(|v| v != 0),
        currency: r.try_get("currency")?,
        created_at: r.try_get("created_at")?,
        modified_at: r.try_get("modified_at")?,
    })
}

fn item_from_row(r: &AnyRow) -> Result<EpItem> {
    let includes_tax: i64 = r.try_get("includes_tax")?;
    Ok(EpItem {
        id: r.try_get("id")?,
        cart_id: r.try_get("cart_id")?,
        sku: r.try_get("sku")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        quantity: r.try_get("quantity")?,
        unit_amount: r.try_get("unit_amount")?,
        includes_tax: includes_tax != 0,
        created_at: r.try_get("created_at")?,
        modified_at: r.try_get("modified_at")?,
    })
}

fn discount_from_row(r: &AnyRow) -> Result<EpDiscount> {
    Ok(EpDiscount {
        id: r.try_get("id")?,
        cart_id: r.try_get("cart_id")?,
        item_id: r.try_get("item_id")?,
        external_id: r.try_get("external_id")?,
        discount_engine: r.try_get("discount_engine")?,
        amount: r.try_get("amount")?,
        description: r.try_get("description")?,
        discount_code: r.try_get("discount_code")?,
        created_at: r.try_get("created_at")?,
    })
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Touches the cart as the first statement of a transaction that changes its items, which
/// takes its row lock on PostgreSQL (concurrent changes of one cart queue here); returns
/// its currency. `NotFound` when there is no such cart.
async fn lock_cart(tx: &mut Tx, cart_id: &str, now: i64) -> Result<Option<String>> {
    let row = sqlx::query("UPDATE ep_carts SET modified_at = $1 WHERE id = $2 RETURNING currency")
        .bind(now)
        .bind(cart_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(row.try_get(0)?)
}

/// (sku, quantity, unit amount) of every line of the cart.
async fn cart_lines(tx: &mut Tx, cart_id: &str) -> Result<Vec<(String, i64, i64)>> {
    let rows = sqlx::query("SELECT sku, quantity, unit_amount FROM ep_cart_items WHERE cart_id = $1")
        .bind(cart_id)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
}

async fn touch_cart(tx: &mut Tx, cart_id: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE ep_carts SET modified_at = $1 WHERE id = $2")
        .bind(now)
        .bind(cart_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// A store-wide Elastic Path setting (`ep_settings`).
    pub async fn ep_setting(&self, key: &str) -> Result<Option<String>> {
        let row =
            sqlx::query("SELECT value FROM ep_settings WHERE key = $1").bind(key).fetch_optional(self.reader()).await?;
        Ok(match row {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        })
    }

    pub async fn set_ep_settings(&self, pairs: &[(&str, String)]) -> Result<()> {
        let mut tx = self.begin().await?;
        for (key, value) in pairs {
            sqlx::query(
                "INSERT INTO ep_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(*key)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn ep_cart(&self, id: &str) -> Result<Option<EpCart>> {
        let row = sqlx::query(&format!("SELECT {CART_COLS} FROM ep_carts WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(cart_from_row).transpose()
    }

    /// Creates a cart with this id unless it exists; returns the cart either way (Elastic
    /// Path creates a cart on first read of an unknown reference).
    pub async fn ep_cart_get_or_create(&self, id: &str) -> Result<EpCart> {
        if let Some(c) = self.ep_cart(id).await? {
            return Ok(c);
        }
        let now = now_micros();
        sqlx::query(
            "INSERT INTO ep_carts (id, name, description, created_at, modified_at) VALUES ($1, 'Cart', '', $2, $2) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(now)
        .execute(self.writer())
        .await?;
        let row = sqlx::query(&format!("SELECT {CART_COLS} FROM ep_carts WHERE id = $1"))
            .bind(id)
            .fetch_one(self.writer())
            .await?;
        cart_from_row(&row)
    }

    pub async fn ep_create_cart(
        &self,
        id: &str,
        name: &str,
        description: &str,
        enabled: Option<bool>,
        rules: Option<bool>,
    ) -> Result<EpCart> {
        let now = now_micros();
        let row = sqlx::query(&format!(
            "INSERT INTO ep_carts (id, name, description, custom_discounts_enabled, use_rule_promotions, created_at, \
             modified_at) VALUES ($1, $2, $3, $4, $6, $5, $5) RETURNING {CART_COLS}"
        ))
        .bind(id)
        .bind(name)
        .bind(description)
        .bind(enabled.map(i64::from))
        .bind(now)
        .bind(rules.map(i64::from))
        .fetch_one(self.writer())
        .await?;
        cart_from_row(&row)
    }

    /// Updates the given fields; `NotFound` for an unknown cart.
    pub async fn ep_update_cart(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
        enabled: Option<bool>,
        rules: Option<bool>,
    ) -> Result<EpCart> {
        let row = sqlx::query(&format!(
            "UPDATE ep_carts SET name = COALESCE($1, name), description = COALESCE($2, description), \
             custom_discounts_enabled = COALESCE($3, custom_discounts_enabled), \
             use_rule_promotions = COALESCE($6, use_rule_promotions), modified_at = $4 WHERE id = $5 \
             RETURNING {CART_COLS}"
        ))
        .bind(name)
        .bind(description)
        .bind(enabled.map(i64::from))
        .bind(now_micros())
        .bind(id)
        .bind(rules.map(i64::from))
        .fetch_optional(self.writer())
        .await?
        .ok_or(StoreError::NotFound)?;
        cart_from_row(&row)
    }

    /// Deletes a cart with its items and discounts; false when there was none.
    pub async fn ep_delete_cart(&self, id: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM ep_custom_discounts WHERE cart_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM ep_cart_promotions WHERE cart_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM ep_cart_items WHERE cart_id = $1").bind(id).execute(&mut *tx).await?;
        let n = sqlx::query("DELETE FROM ep_carts WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }

    /// The promotion codes the cart holds, oldest first.
    pub async fn ep_cart_promotions(&self, cart_id: &str) -> Result<Vec<EpPromotionItem>> {
        let rows = sqlx::query(
            "SELECT id, code, created_at FROM ep_cart_promotions WHERE cart_id = $1 ORDER BY created_at, id",
        )
        .bind(cart_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| Ok(EpPromotionItem { id: r.try_get(0)?, code: r.try_get(1)?, created_at: r.try_get(2)? }))
            .collect()
    }

    /// Adds a code to the cart (once: adding it again keeps the first).
    pub async fn ep_add_promotion(&self, cart_id: &str, code: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO ep_cart_promotions (id, cart_id, code, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (cart_id, code) DO NOTHING",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(cart_id)
        .bind(code)
        .bind(now_micros())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Removes a code from the cart, named by its code or its promotion item's id; false
    /// when the cart has no such code.
    pub async fn ep_remove_promotion(&self, cart_id: &str, code_or_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM ep_cart_promotions WHERE cart_id = $1 AND (code = $2 OR id = $3)")
            .bind(cart_id)
            .bind(code_or_id.to_ascii_uppercase())
            .bind(code_or_id)
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The cart's items, oldest first.
    pub async fn ep_cart_items(&self, cart_id: &str) -> Result<Vec<EpItem>> {
        let rows =
            sqlx::query(&format!("SELECT {ITEM_COLS} FROM ep_cart_items WHERE cart_id = $1 ORDER BY created_at, id"))
                .bind(cart_id)
                .fetch_all(self.reader())
                .await?;
        rows.iter().map(item_from_row).collect()
    }

    /// The cart's custom discounts (both levels), oldest first.
    pub async fn ep_cart_discounts(&self, cart_id: &str) -> Result<Vec<EpDiscount>> {
        let rows = sqlx::query(&format!(
            "SELECT {DISCOUNT_COLS} FROM ep_custom_discounts WHERE cart_id = $1 ORDER BY created_at, id"
        ))
        .bind(cart_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(discount_from_row).collect()
    }

    /// Adds a custom item, merging into the line with the same sku (which takes the new
    /// unit amount for all its units). The first item fixes the cart's currency; an item in
    /// another currency is `Invalid`. A cart that would break `caps` is refused with its
    /// [`CartRefusal`] and nothing is written: the bounds are checked after the cart's row
    /// is locked, so concurrent adds cannot pass them together.
    pub async fn ep_add_item(
        &self,
        cart_id: &str,
        currency: &str,
        item: &NewEpItem,
        caps: &CartCaps,
    ) -> Result<Option<CartRefusal>> {
        let now = now_micros();
        let mut tx = self.begin().await?;
        let current: Option<String> = lock_cart(&mut tx, cart_id, now).await?;
        match current {
            Some(c) if !c.eq_ignore_ascii_case(currency) => {
                return Err(StoreError::Invalid(format!(
                    "The cart's currency is {c}; every item must be priced in it (got {currency})."
                )));
            }
            Some(_) => {}
            None => {
                sqlx::query("UPDATE ep_carts SET currency = $1 WHERE id = $2")
                    .bind(currency)
                    .bind(cart_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let mut lines = Vec::new();
        let mut merged_quantity = item.quantity;
        for (sku, quantity, unit_amount) in cart_lines(&mut tx, cart_id).await? {
            if sku == item.sku {
                merged_quantity = quantity.saturating_add(item.quantity);
            } else {
                lines.push((unit_amount, quantity));
            }
        }
        lines.push((item.unit_amount, merged_quantity));
        if let Some(refusal) = caps.check(&lines, merged_quantity) {
            tx.rollback().await?;
            return Ok(Some(refusal));
        }
        let merged = sqlx::query(
            "UPDATE ep_cart_items SET quantity = quantity + $1, name = $2, unit_amount = $3, includes_tax = $4, \
             modified_at = $5 WHERE cart_id = $6 AND sku = $7 RETURNING id",
        )
        .bind(item.quantity)
        .bind(&item.name)
        .bind(item.unit_amount)
        .bind(i64::from(item.includes_tax))
        .bind(now)
        .bind(cart_id)
        .bind(&item.sku)
        .fetch_optional(&mut *tx)
        .await?;
        if merged.is_none() {
            sqlx::query(
                "INSERT INTO ep_cart_items (id, cart_id, sku, name, description, quantity, unit_amount, includes_tax, \
                 created_at, modified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(cart_id)
            .bind(&item.sku)
            .bind(&item.name)
            .bind(&item.description)
            .bind(item.quantity)
            .bind(item.unit_amount)
            .bind(i64::from(item.includes_tax))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(None)
    }

    /// Sets an item's quantity; 0 removes the item (and its discounts). `NotFound` for an
    /// item that is not in the cart; a cart that would break `caps` is refused as by
    /// [`Store::ep_add_item`].
    pub async fn ep_set_item_quantity(
        &self,
        cart_id: &str,
        item_id: &str,
        quantity: i64,
        caps: &CartCaps,
    ) -> Result<Option<CartRefusal>> {
        if quantity <= 0 {
            return if self.ep_delete_item(cart_id, item_id).await? { Ok(None) } else { Err(StoreError::NotFound) };
        }
        let now = now_micros();
        let mut tx = self.begin().await?;
        lock_cart(&mut tx, cart_id, now).await?;
        let rows = sqlx::query("SELECT id, quantity, unit_amount FROM ep_cart_items WHERE cart_id = $1")
            .bind(cart_id)
            .fetch_all(&mut *tx)
            .await?;
        let mut lines = Vec::with_capacity(rows.len());
        let mut before = None;
        for r in &rows {
            let id: String = r.try_get(0)?;
            let unit_amount: i64 = r.try_get(2)?;
            if id == item_id {
                before = Some(r.try_get::<i64, _>(1)?);
                lines.push((unit_amount, quantity));
            } else {
                lines.push((unit_amount, r.try_get(1)?));
            }
        }
        let Some(before) = before else { return Err(StoreError::NotFound) };
        // Fewer units are always allowed, so a cart over a bound can be brought under it.
        if let Some(refusal) = caps.check(&lines, quantity).filter(|_| quantity > before) {
            tx.rollback().await?;
            return Ok(Some(refusal));
        }
        sqlx::query("UPDATE ep_cart_items SET quantity = $1, modified_at = $2 WHERE cart_id = $3 AND id = $4")
            .bind(quantity)
            .bind(now)
            .bind(cart_id)
            .bind(item_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(None)
    }

    /// Removes an item and its item-level discounts; false when it was not in the cart.
    pub async fn ep_delete_item(&self, cart_id: &str, item_id: &str) -> Result<bool> {
        let now = now_micros();
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM ep_custom_discounts WHERE cart_id = $1 AND item_id = $2")
            .bind(cart_id)
            .bind(item_id)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("DELETE FROM ep_cart_items WHERE cart_id = $1 AND id = $2")
            .bind(cart_id)
            .bind(item_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        touch_cart(&mut tx, cart_id, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Adds custom discounts: each entry is (item id or `None` for cart level, fields).
    /// Entries naming an unknown item or going over [`MAX_CUSTOM_DISCOUNTS`] are refused;
    /// with `all_or_nothing` any refusal writes nothing, and so does a request whose every
    /// entry is refused. Counting happens inside the transaction, so two racing
    /// requests cannot both take the fifth place.
    pub async fn ep_add_discounts(
        &self,
        cart_id: &str,
        entries: &[(Option<String>, DiscountFields)],
        all_or_nothing: bool,
    ) -> Result<AddedDiscounts> {
        let now = now_micros();
        let mut tx = self.begin().await?;
        // Lock the cart row first (PostgreSQL), so concurrent adds to one cart queue.
        let locked = sqlx::query("UPDATE ep_carts SET modified_at = $1 WHERE id = $2")
            .bind(now)
            .bind(cart_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if locked == 0 {
            return Err(StoreError::NotFound);
        }
        let items: Vec<String> = sqlx::query("SELECT id FROM ep_cart_items WHERE cart_id = $1")
            .bind(cart_id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        let mut counts: std::collections::HashMap<Option<String>, i64> = std::collections::HashMap::new();
        for r in sqlx::query("SELECT item_id, COUNT(*) FROM ep_custom_discounts WHERE cart_id = $1 GROUP BY item_id")
            .bind(cart_id)
            .fetch_all(&mut *tx)
            .await?
        {
            counts.insert(r.try_get(0)?, r.try_get(1)?);
        }
        let mut out = Vec::with_capacity(entries.len());
        for (k, (item_id, f)) in entries.iter().enumerate() {
            if let Some(i) = item_id
                && !items.contains(i)
            {
                out.push(Err(DiscountRefusal::UnknownItem(i.clone())));
                continue;
            }
            let count = counts.entry(item_id.clone()).or_insert(0);
            if *count >= MAX_CUSTOM_DISCOUNTS {
                out.push(Err(DiscountRefusal::Limit { item_id: item_id.clone() }));
                continue;
            }
            *count += 1;
            // created_at + k keeps the request's order among discounts made in one call.
            let d = EpDiscount {
                id: uuid::Uuid::new_v4().to_string(),
                cart_id: cart_id.to_owned(),
                item_id: item_id.clone(),
                external_id: f.external_id.clone(),
                discount_engine: f.discount_engine.clone(),
                amount: f.amount,
                description: f.description.clone(),
                discount_code: f.discount_code.clone(),
                created_at: now + k as i64,
            };
            sqlx::query(
                "INSERT INTO ep_custom_discounts (id, cart_id, item_id, external_id, discount_engine, amount, description, \
                 discount_code, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&d.id)
            .bind(cart_id)
            .bind(&d.item_id)
            .bind(&d.external_id)
            .bind(&d.discount_engine)
            .bind(d.amount)
            .bind(&d.description)
            .bind(&d.discount_code)
            .bind(d.created_at)
            .execute(&mut *tx)
            .await?;
            out.push(Ok(d));
        }
        let refused = out.iter().any(Result::is_err);
        let added = out.iter().any(Result::is_ok);
        if (all_or_nothing && refused) || !added {
            tx.rollback().await?;
            return Ok(AddedDiscounts { committed: false, entries: out });
        }
        tx.commit().await?;
        Ok(AddedDiscounts { committed: true, entries: out })
    }

    /// Replaces a discount's fields. `item_id` must match the discount's level.
    pub async fn ep_update_discount(
        &self,
        cart_id: &str,
        item_id: Option<&str>,
        id: &str,
        f: &DiscountFields,
    ) -> Result<EpDiscount> {
        let now = now_micros();
        let mut tx = self.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE ep_custom_discounts SET external_id = $1, discount_engine = $2, amount = $3, description = $4, \
             discount_code = $5 WHERE cart_id = $6 AND id = $7 AND COALESCE(item_id, '') = $8 RETURNING {DISCOUNT_COLS}"
        ))
        .bind(&f.external_id)
        .bind(&f.discount_engine)
        .bind(f.amount)
        .bind(&f.description)
        .bind(&f.discount_code)
        .bind(cart_id)
        .bind(id)
        .bind(item_id.unwrap_or(""))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let d = discount_from_row(&row)?;
        touch_cart(&mut tx, cart_id, now).await?;
        tx.commit().await?;
        Ok(d)
    }

    /// Deletes one discount (of the given level); false when there was none.
    pub async fn ep_delete_discount(&self, cart_id: &str, item_id: Option<&str>, id: &str) -> Result<bool> {
        let n = sqlx::query(
            "DELETE FROM ep_custom_discounts WHERE cart_id = $1 AND id = $2 AND COALESCE(item_id, '') = $3",
        )
        .bind(cart_id)
        .bind(id)
        .bind(item_id.unwrap_or(""))
        .execute(self.writer())
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// Deletes every custom discount of a cart, both levels; the count deleted.
    pub async fn ep_delete_all_discounts(&self, cart_id: &str) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM ep_custom_discounts WHERE cart_id = $1")
            .bind(cart_id)
            .execute(self.writer())
            .await?
            .rows_affected())
    }
}
