//! The cancellation transactions (contract §8): cancel or return units of an order, at once
//! (staff) or as a request that staff approve or reject, with the refund computed from the
//! ledger by [`offerline_core::refund`] and the usage the reversed discounts had consumed
//! given back — all in one transaction, or nothing.
//!
//! # One cancellation at a time per order
//! Every transaction here first touches the order row (`UPDATE orders SET modified_at …`),
//! and only then reads the order's units, shares and earlier reversals. On PostgreSQL that
//! row lock makes a concurrent cancellation of the same order wait until this one commits
//! and then read what it wrote; on SQLite the one writer connection serialises them anyway,
//! and writing first means the transaction holds the write lock before it reads. So a
//! refund is always computed from the ledger as it is, two requests for one unit cannot
//! both pass the status check (the second sees the unit cancelled or waiting and is
//! refused), and Σ refunds can never pass the order's amount. Each unit's status is also
//! changed only `WHERE status = <the status read>`, and a unique index allows a unit in one
//! live (waiting or approved) cancellation only, as belts to those braces.
//!
//! # Usage follows the net discount
//! Inside the same transaction, for every discount item a cancellation reverses: the
//! promotion's budget (`offer_usage.discount_spent`) goes down by the amount reversed; once
//! the item is wholly reversed (`cancel_amount == amount`) its applications (global and the
//! customer's) and its order count come back, and so does the voucher use (the
//! `voucher_applications` row is deleted, `vouchers.uses` goes down). A checkout racing
//! with it either sees the usage before or after, never half of it: a single-use code of an
//! order cancelled in full is usable again, and is never used by two live orders.
//!
//! # What is appended, what moves
//! Shares placed at checkout never change. A cancellation appends its row, one row per unit
//! and, once approved, its reversals. The denormalised sums that views read move with it:
//! each reversed discount item's `cancel_amount` and `modified_at`, the status,
//! `cancel_status` and `modified_at` of the cancelled units and `modified_at` of the kept
//! units a `reprice` promotion clawed back from, so an integration polling
//! `modified_date__gte` sees the change; the order's status when every unit is cancelled or
//! refunded ([`offerline_core::refund::rolled_up`]).
//!
//! A transaction PostgreSQL aborts as a deadlock or a serialization failure wrote nothing and
//! is run again, up to three times.

use std::collections::{BTreeMap, HashMap};

use offerline_core::refund::{self, RefundDiscount, RefundInput, RefundUnit, UnitRefusal};
use offerline_core::{CancellationStatus, CancellationType, Currency, OrderStatus, ProductId, RefundPlan, Timestamp};

use crate::exec::{Cols, Exec, Param, ints, opt_int};
use crate::ledger::{CancellationItemRow, CancellationRow, Ledger, LedgerRows, OrderRow, ReversalRow};
use crate::promotions::codec::decode_snapshot;
use crate::{Result, Store, StoreError, now_micros};

/// Most units one cancellation may name: a real order has far fewer, and every id is a
/// bound parameter.
pub const MAX_UNITS: usize = 1000;

/// Units cancelled together, for one reason: one cancellation record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelGroup {
    /// Order item ids, distinct (also across the request's groups).
    pub items: Vec<i64>,
    pub kind: CancellationType,
    pub reason: String,
    pub description: String,
}

/// What the caller asks for: one cancellation per group, all or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelRequest {
    pub order_id: i64,
    /// At most [`MAX_UNITS`] items in all.
    pub groups: Vec<CancelGroup>,
    /// Who asks (recorded on the cancellation).
    pub user_id: Option<i64>,
    /// A customer's request: the order must be theirs (else `NotFound`), and the
    /// cancellation waits for staff. `None`: staff, approved at once.
    pub customer: Option<i64>,
    /// Staff's `Idempotency-Key`, scoped to `user_id`.
    pub idempotency_key: Option<String>,
}

/// What a cancellation did.
#[derive(Debug, Clone)]
pub enum Cancelled {
    /// Written: the cancellations' ids, one per group.
    Written(Vec<i64>),
    /// The idempotency key was used before, for this order: nothing was done again.
    Replayed,
}

/// Status stored under a key while its request is in its transaction; never visible to
/// others (the row commits only with the final status).
const KEY_DONE: i64 = 200;

/// The order's ledger as a cancellation reads it, inside its transaction.
struct OrderState {
    order: OrderRow,
    /// (id, status), in id order; indexes are the refund input's unit indexes.
    units: Vec<(i64, OrderStatus)>,
    /// Discount item rows: (id, amount, cancel_amount, promotion, applications, code).
    discounts: Vec<DiscountState>,
    input: RefundInput,
}

struct DiscountState {
    id: i64,
    amount: i64,
    cancel_amount: i64,
    promotion_id: Option<i64>,
    applications: i64,
}

impl Store {
    /// Cancels (staff: approved at once) or asks to cancel (a customer: waiting) units of an
    /// order. `Conflict` on `order_items` names a unit that cannot be in it; `NotFound` for
    /// an order that is not there (or not the customer's).
    pub async fn cancel(&self, req: &CancelRequest) -> Result<Cancelled> {
        retried(|| self.cancel_once(req)).await
    }

    async fn cancel_once(&self, req: &CancelRequest) -> Result<Cancelled> {
        let mut tx = self.begin().await?;
        let state = lock_and_read(&mut tx, req.order_id, req.customer).await?;
        // Read under the order's lock: a duplicate that raced this one finds the key of the
        // first once it committed, instead of failing on the units the first cancelled.
        let key = req.idempotency_key.as_ref().zip(req.user_id).map(|(k, u)| (format!("cancel:{k}"), u));
        if let Some((key, user)) = &key {
            let taken = tx
                .rows(
                    "SELECT body FROM idempotency_keys WHERE user_id = $1 AND key = $2",
                    &[(*user).into(), key.into()],
                )
                .await?;
            if let Some(row) = taken.first() {
                let order: Option<i64> = row.text(0).ok().and_then(|b| b.parse().ok());
                tx.rollback().await?;
                return if order == Some(req.order_id) {
                    Ok(Cancelled::Replayed)
                } else {
                    Err(StoreError::Conflict {
                        field: "idempotency_key",
                        message: "This key was used for another order's cancellation.".into(),
                    })
                };
            }
        }
        let plans = checked_plans(&state, req)?;
        let status = if req.customer.is_some() { CancellationStatus::Waiting } else { CancellationStatus::Approved };
        let mut ids = Vec::with_capacity(plans.len());
        for (group, plan) in req.groups.iter().zip(&plans) {
            ids.push(write(&mut tx, &state, req.user_id, group, plan, status).await?);
        }
        if let Some((key, user)) = &key {
            // The same key raced for another order: its insert conflicts and nothing is written.
            let stored = tx
                .execute(
                    "INSERT INTO idempotency_keys (user_id, key, status, body, created_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (user_id, key) DO NOTHING",
                    &[
                        (*user).into(),
                        key.into(),
                        KEY_DONE.into(),
                        req.order_id.to_string().into(),
                        now_micros().into(),
                    ],
                )
                .await?;
            if stored == 0 {
                return Err(StoreError::Conflict {
                    field: "idempotency_key",
                    message: "This key was used for another order's cancellation.".into(),
                });
            }
        }
        tx.commit().await?;
        Ok(Cancelled::Written(ids))
    }

    /// What [`Store::cancel`] would record for a staff cancellation, as a ledger holding
    /// the order and the cancellation (id 0), with nothing written.
    pub async fn preview_cancellation(&self, req: &CancelRequest) -> Result<Ledger> {
        let mut tx = self.begin().await?;
        let state = lock_and_read(&mut tx, req.order_id, req.customer).await;
        tx.rollback().await?;
        let state = state?;
        let plans = checked_plans(&state, req)?;
        let now = now_micros();
        let mut rows = LedgerRows { orders: vec![state.order.clone()], ..LedgerRows::default() };
        for (group, plan) in req.groups.iter().zip(&plans) {
            rows.cancellations.push(CancellationRow {
                id: 0,
                order_id: state.order.id,
                user_id: req.user_id,
                cancellation_type: group.kind,
                reason: group.reason.clone(),
                description: group.description.clone(),
                status: CancellationStatus::Approved,
                refund_amount: plan.refund(),
                created_at: now,
                modified_at: now,
            });
            for u in &plan.units {
                let (item_id, status) = state.units[u.unit];
                rows.cancellation_items.push(CancellationItemRow {
                    id: item_id,
                    cancellation_id: 0,
                    order_item_id: item_id,
                    previous_status: status,
                    refund_amount: u.refund,
                    created_at: now,
                });
                rows.reversals.extend(u.reversals.iter().map(|r| ReversalRow {
                    id: 0,
                    cancellation_item_id: item_id,
                    discount_item_id: state.discounts[r.discount].id,
                    target_item_id: state.units[r.target].0,
                    amount: r.amount,
                    created_at: now,
                }));
            }
        }
        Ledger::new(rows)
    }

    /// Approves a waiting cancellation: its refund is computed now, from the ledger as it
    /// is, and recorded. `Conflict` if it is not waiting; `NotFound` if there is none.
    pub async fn approve_cancellation(&self, id: i64) -> Result<()> {
        retried(|| self.approve_once(id)).await
    }

    async fn approve_once(&self, id: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        let (order_id, kind) = take_waiting(&mut tx, id).await?;
        let state = lock_and_read(&mut tx, order_id, None).await?;
        let items = ints(
            &mut tx,
            "SELECT order_item_id FROM cancellation_items WHERE cancellation_id = $1 ORDER BY id",
            &[id.into()],
        )
        .await?;
        let at = unit_indexes(&state, &items)?;
        let plan = refund::plan(&state.input, &at).map_err(|e| StoreError::Internal(e.to_string()))?;
        let now = now_micros();
        let item_ids = ints(
            &mut tx,
            "SELECT id FROM cancellation_items WHERE cancellation_id = $1 ORDER BY order_item_id",
            &[id.into()],
        )
        .await?;
        apply(&mut tx, &state, &plan, &item_ids, kind, CancellationStatus::Waiting, now).await?;
        tx.execute(
            "UPDATE cancellations SET status = $2, refund_amount = $3, modified_at = $4 WHERE id = $1",
            &[id.into(), CancellationStatus::Approved.as_str().into(), plan.refund().into(), now.into()],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Rejects a waiting cancellation: nothing is refunded, and each unit goes back to the
    /// status it had. `Conflict` if it is not waiting; `NotFound` if there is none.
    pub async fn reject_cancellation(&self, id: i64) -> Result<()> {
        retried(|| self.reject_once(id)).await
    }

    async fn reject_once(&self, id: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        let (order_id, _) = take_waiting(&mut tx, id).await?;
        let now = now_micros();
        tx.execute("UPDATE orders SET modified_at = $2 WHERE id = $1", &[order_id.into(), now.into()]).await?;
        let items = tx
            .rows(
                "SELECT order_item_id, previous_status FROM cancellation_items WHERE cancellation_id = $1",
                &[id.into()],
            )
            .await?;
        for row in &items {
            tx.execute(
                "UPDATE order_items SET status = $2, cancel_status = $3, modified_at = $4 WHERE id = $1 AND status = $5",
                &[
                    row.int(0)?.into(),
                    row.int(1)?.into(),
                    CancellationStatus::Rejected.unit_cancel_status().into(),
                    now.into(),
                    i64::from(OrderStatus::CANCELLATION_WAITING.code()).into(),
                ],
            )
            .await?;
        }
        tx.execute("UPDATE cancellation_items SET active = NULL WHERE cancellation_id = $1", &[id.into()]).await?;
        tx.execute(
            "UPDATE cancellations SET status = $2, refund_amount = 0, modified_at = $3 WHERE id = $1",
            &[id.into(), CancellationStatus::Rejected.as_str().into(), now.into()],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A page of cancellations (`query` over `cancellations`) with their orders, items and
    /// reversals, and the total count.
    pub async fn list_cancellations(&self, query: &crate::list::ListQuery) -> Result<(i64, Ledger)> {
        let (count, ids) = self.list_ids("cancellations", query).await?;
        Ok((count, self.ledger(crate::ledger::Roots::Cancellations(&ids), crate::ledger::Parts::NONE).await?))
    }
}

/// How often a cancellation transaction PostgreSQL aborted (a deadlock with a checkout that
/// locks usage rows in another order, a serialization failure) is run again.
const ATTEMPTS: usize = 3;

/// Runs `once` again while PostgreSQL aborts it as retryable ([`StoreError::is_retryable`]):
/// each attempt is a whole transaction that wrote nothing.
async fn retried<T, F, Fut>(mut once: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut attempt = 1;
    loop {
        match once().await {
            Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                tracing::warn!(attempt, error = %e, "cancellation aborted by the database; running it again");
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Moves a waiting cancellation on (the row is locked by the update): its order and type.
async fn take_waiting<E: Exec>(tx: &mut E, id: i64) -> Result<(i64, CancellationType)> {
    let rows = tx
        .rows(
            "UPDATE cancellations SET modified_at = $2 WHERE id = $1 AND status = $3 RETURNING order_id, cancellation_type",
            &[id.into(), now_micros().into(), CancellationStatus::Waiting.as_str().into()],
        )
        .await?;
    if let Some(r) = rows.first() {
        let kind = r.text(1)?;
        let kind = CancellationType::parse(&kind)
            .ok_or_else(|| StoreError::Internal(format!("cancellation {id}: type {kind:?}")))?;
        return Ok((r.int(0)?, kind));
    }
    let status = tx.rows("SELECT status FROM cancellations WHERE id = $1", &[id.into()]).await?;
    match status.first() {
        None => Err(StoreError::NotFound),
        Some(r) => Err(StoreError::Conflict {
            field: "status",
            message: format!("This cancellation is already {}; only a waiting one can change.", r.text(0)?),
        }),
    }
}

/// Locks the order (see the module docs) and reads what a refund is computed from.
async fn lock_and_read<E: Exec>(tx: &mut E, order_id: i64, customer: Option<i64>) -> Result<OrderState> {
    let now = now_micros();
    let locked = opt_int(
        tx,
        "UPDATE orders SET modified_at = $2 WHERE id = $1 AND ($3 < 0 OR user_id = $3) RETURNING id",
        &[order_id.into(), now.into(), customer.unwrap_or(-1).into()],
    )
    .await?;
    if locked.is_none() {
        return Err(StoreError::NotFound);
    }
    let o = tx
        .rows(
            "SELECT id, number, user_id, channel, status, currency, amount, discount_amount, amount_without_discount, \
             shipping_amount, shipping_free, created_at, modified_at FROM orders WHERE id = $1",
            &[order_id.into()],
        )
        .await?;
    let o = o.first().ok_or(StoreError::NotFound)?;
    let bad = |what: String| StoreError::Internal(format!("order {order_id}: {what}"));
    let currency = Currency::parse(&o.text(5)?).map_err(|e| bad(e.to_string()))?;
    let order = OrderRow {
        id: o.int(0)?,
        number: o.text(1)?,
        user_id: o.opt_int(2)?,
        channel: o.text(3)?,
        status: OrderStatus::from_code(o.int(4)?).map_err(|e| bad(e.to_string()))?,
        currency,
        amount: o.int(6)?,
        discount_amount: o.int(7)?,
        amount_without_discount: o.int(8)?,
        shipping_amount: o.int(9)?,
        shipping_free: o.int(10)? != 0,
        customer: None,
        shipping_address: None,
        billing_address: None,
        created_at: o.int(11)?,
        modified_at: o.int(12)?,
    };
    let item_rows = tx
        .rows(
            "SELECT id, product_id, product_sku, line_key, price, status FROM order_items WHERE order_id = $1 ORDER BY id",
            &[order_id.into()],
        )
        .await?;
    let mut units = Vec::with_capacity(item_rows.len());
    let mut refund_units = Vec::with_capacity(item_rows.len());
    for r in &item_rows {
        let status = OrderStatus::from_code(r.int(5)?).map_err(|e| bad(e.to_string()))?;
        units.push((r.int(0)?, status));
        refund_units.push(RefundUnit {
            product: ProductId(r.int(1)?),
            sku: r.text(2)?,
            attributes: BTreeMap::new(),
            line_key: r.text(3)?,
            price: r.int(4)?,
            live: refund::is_live(status),
        });
    }
    let unit_at: HashMap<i64, usize> = units.iter().enumerate().map(|(i, (id, _))| (*id, i)).collect();
    let discount_rows = tx
        .rows(
            "SELECT id, amount, cancel_amount, promotion_id, applications, refund_policy, offer_snapshot \
             FROM discount_items WHERE order_id = $1 ORDER BY id",
            &[order_id.into()],
        )
        .await?;
    let mut discounts = Vec::with_capacity(discount_rows.len());
    let mut refund_discounts = Vec::with_capacity(discount_rows.len());
    for r in &discount_rows {
        let id = r.int(0)?;
        let promotion_id = r.opt_int(3)?;
        let policy = r.text(5)?;
        let policy = offerline_core::RefundPolicy::parse(&policy).ok_or_else(|| bad(format!("policy {policy:?}")))?;
        let offer = match (r.opt_text(6)?, promotion_id) {
            (Some(text), Some(p)) => Some(decode_snapshot(&text, p, currency).map_err(bad)?),
            _ => None,
        };
        discounts.push(DiscountState {
            id,
            amount: r.int(1)?,
            cancel_amount: r.int(2)?,
            promotion_id,
            applications: r.int(4)?,
        });
        refund_discounts.push(RefundDiscount { policy, offer, shares: Vec::new(), reversed: Vec::new() });
    }
    let discount_at: HashMap<i64, usize> = discounts.iter().enumerate().map(|(i, d)| (d.id, i)).collect();
    let shares = tx
        .rows(
            "SELECT b.discount_item_id, b.order_item_id, b.discount_share FROM benefit_applicants b \
             JOIN discount_items d ON d.id = b.discount_item_id WHERE d.order_id = $1",
            &[order_id.into()],
        )
        .await?;
    for r in &shares {
        if let (Some(&d), Some(&u)) = (discount_at.get(&r.int(0)?), unit_at.get(&r.int(1)?)) {
            refund_discounts[d].shares.push((u, r.int(2)?));
        }
    }
    let reversed = tx
        .rows(
            "SELECT r.discount_item_id, r.target_item_id, r.amount FROM cancellation_reversals r \
             JOIN cancellation_items ci ON ci.id = r.cancellation_item_id \
             JOIN cancellations c ON c.id = ci.cancellation_id WHERE c.order_id = $1 AND c.status = $2",
            &[order_id.into(), CancellationStatus::Approved.as_str().into()],
        )
        .await?;
    for r in &reversed {
        if let (Some(&d), Some(&u)) = (discount_at.get(&r.int(0)?), unit_at.get(&r.int(1)?)) {
            refund_discounts[d].reversed.push((u, r.int(2)?));
        }
    }
    if refund_discounts.iter().any(|d| d.offer.is_some()) {
        // Attribute ranges of a `reprice` promotion: the products' attributes as they are.
        let mut ids: Vec<i64> = refund_units.iter().map(|u| u.product.0).collect();
        ids.sort_unstable();
        ids.dedup();
        let ph = crate::list::placeholders(0, ids.len());
        let params: Vec<Param<'_>> = ids.iter().map(|&i| i.into()).collect();
        let rows = tx.rows(&format!("SELECT id, attributes FROM products WHERE id IN ({ph})"), &params).await?;
        let mut attrs: HashMap<i64, BTreeMap<String, String>> = HashMap::new();
        for r in &rows {
            let json: serde_json::Value = serde_json::from_str(&r.text(1)?).unwrap_or_default();
            let map = json
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                        .collect()
                })
                .unwrap_or_default();
            attrs.insert(r.int(0)?, map);
        }
        for u in &mut refund_units {
            u.attributes = attrs.get(&u.product.0).cloned().unwrap_or_default();
        }
    }
    let input =
        RefundInput { currency, at: Timestamp(order.created_at), units: refund_units, discounts: refund_discounts };
    Ok(OrderState { order, units, discounts, input })
}

/// The unit indexes of `items`, each of which must be a unit of the order.
fn unit_indexes(state: &OrderState, items: &[i64]) -> Result<Vec<usize>> {
    let at: HashMap<i64, usize> = state.units.iter().enumerate().map(|(i, (id, _))| (*id, i)).collect();
    items
        .iter()
        .map(|id| {
            at.get(id).copied().ok_or_else(|| StoreError::Conflict {
                field: "order_items",
                message: format!("Order item {id} is not an item of this order."),
            })
        })
        .collect()
}

/// The request's units checked (they are in this order, named once in all, at most
/// [`MAX_UNITS`], and their status allows the group's type), and each group's refund. Groups
/// are planned one after another, each as if the ones before were approved: a request's
/// estimate then adds up like the approvals that follow it.
fn checked_plans(state: &OrderState, req: &CancelRequest) -> Result<Vec<RefundPlan>> {
    let conflict = |message: String| StoreError::Conflict { field: "order_items", message };
    let total: usize = req.groups.iter().map(|g| g.items.len()).sum();
    if total == 0 || req.groups.iter().any(|g| g.items.is_empty()) {
        return Err(conflict("This list may not be empty.".into()));
    }
    if total > MAX_UNITS {
        return Err(conflict(format!("At most {MAX_UNITS} order items can be cancelled at once.")));
    }
    let mut seen = std::collections::HashSet::new();
    let mut input = state.input.clone();
    let mut plans = Vec::with_capacity(req.groups.len());
    for g in &req.groups {
        let at = unit_indexes(state, &g.items)?;
        for (&i, id) in at.iter().zip(&g.items) {
            if !seen.insert(i) {
                return Err(conflict(format!("Order item {id} is named twice.")));
            }
            g.kind.check(state.units[i].1).map_err(|e: UnitRefusal| conflict(format!("Order item {id} {e}.")))?;
        }
        let plan = refund::plan(&input, &at).map_err(|e| StoreError::Internal(e.to_string()))?;
        for r in plan.units.iter().flat_map(|u| &u.reversals) {
            input.discounts[r.discount].reversed.push((r.target, r.amount));
        }
        for &i in &at {
            input.units[i].live = false;
        }
        plans.push(plan);
    }
    Ok(plans)
}

/// Appends the cancellation and, when approved, applies it.
async fn write<E: Exec>(
    tx: &mut E,
    state: &OrderState,
    user_id: Option<i64>,
    req: &CancelGroup,
    plan: &RefundPlan,
    status: CancellationStatus,
) -> Result<i64> {
    let now = now_micros();
    let id = opt_int(
        tx,
        "INSERT INTO cancellations (order_id, user_id, cancellation_type, reason, description, status, refund_amount, \
         created_at, modified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        &[
            state.order.id.into(),
            user_id.into(),
            req.kind.as_str().into(),
            (&req.reason).into(),
            (&req.description).into(),
            status.as_str().into(),
            plan.refund().into(),
            now.into(),
        ],
    )
    .await?
    .ok_or_else(|| StoreError::Internal("no cancellation id".into()))?;
    let mut item_ids = Vec::with_capacity(plan.units.len());
    for u in &plan.units {
        let (item, previous) = state.units[u.unit];
        let inserted = tx
            .rows(
                "INSERT INTO cancellation_items (cancellation_id, order_item_id, previous_status, refund_amount, active, \
                 created_at) VALUES ($1, $2, $3, $4, 1, $5) RETURNING id",
                &[id.into(), item.into(), i64::from(previous.code()).into(), u.refund.into(), now.into()],
            )
            .await;
        let inserted = match inserted {
            Err(e) if e.is_unique_violation() => {
                return Err(StoreError::Conflict {
                    field: "order_items",
                    message: format!("Order item {item} is already in a cancellation."),
                });
            }
            other => other?,
        };
        item_ids.push(inserted.first().map(|r| r.int(0)).transpose()?.unwrap_or_default());
    }
    match status {
        CancellationStatus::Waiting => {
            for u in &plan.units {
                let (item, previous) = state.units[u.unit];
                set_unit_status(tx, item, previous, OrderStatus::CANCELLATION_WAITING, status, now).await?;
            }
        }
        _ => {
            apply(tx, state, plan, &item_ids, req.kind, CancellationStatus::Approved, now).await?;
        }
    }
    Ok(id)
}

/// Changes a unit's status only if it still has the one read (else `Conflict`).
async fn set_unit_status<E: Exec>(
    tx: &mut E,
    item: i64,
    from: OrderStatus,
    to: OrderStatus,
    cancellation: CancellationStatus,
    now: i64,
) -> Result<()> {
    let done = tx
        .execute(
            "UPDATE order_items SET status = $2, cancel_status = $3, modified_at = $4 WHERE id = $1 AND status = $5",
            &[
                item.into(),
                i64::from(to.code()).into(),
                cancellation.unit_cancel_status().into(),
                now.into(),
                i64::from(from.code()).into(),
            ],
        )
        .await?;
    if done == 0 {
        return Err(StoreError::Conflict {
            field: "order_items",
            message: format!("Order item {item} changed meanwhile; please try again."),
        });
    }
    Ok(())
}

/// Records an approved plan: reversals under each cancellation item (`item_ids`, in the
/// plan's unit order), unit statuses, discount items' `cancel_amount`, usage given back,
/// and the order's status rolled up. `from` is the cancellation's status before.
async fn apply<E: Exec>(
    tx: &mut E,
    state: &OrderState,
    plan: &RefundPlan,
    item_ids: &[i64],
    kind: CancellationType,
    from: CancellationStatus,
    now: i64,
) -> Result<()> {
    let mut touched: Vec<i64> = Vec::new();
    for (u, &citem) in plan.units.iter().zip(item_ids) {
        let (item, status) = state.units[u.unit];
        set_unit_status(tx, item, status, kind.done_status(), CancellationStatus::Approved, now).await?;
        if from == CancellationStatus::Waiting {
            tx.execute(
                "UPDATE cancellation_items SET refund_amount = $2 WHERE id = $1",
                &[citem.into(), u.refund.into()],
            )
            .await?;
        }
        for r in &u.reversals {
            tx.execute(
                "INSERT INTO cancellation_reversals (cancellation_item_id, discount_item_id, target_item_id, amount, \
                 created_at) VALUES ($1, $2, $3, $4, $5)",
                &[
                    citem.into(),
                    state.discounts[r.discount].id.into(),
                    state.units[r.target].0.into(),
                    r.amount.into(),
                    now.into(),
                ],
            )
            .await?;
            if r.target != u.unit {
                touched.push(state.units[r.target].0);
            }
        }
    }
    touched.sort_unstable();
    touched.dedup();
    for item in touched {
        tx.execute("UPDATE order_items SET modified_at = $2 WHERE id = $1", &[item.into(), now.into()]).await?;
    }
    // Each reversed discount item's `cancel_amount` moves by what this plan reverses (added
    // in the statement, so two groups of one request that touch one item both count).
    let mut gone: Vec<(i64, i64)> = Vec::new(); // (promotion, reversed)
    let mut whole: Vec<(i64, i64)> = Vec::new(); // (promotion, applications)
    for (di, reversed) in plan.reversed_by_discount() {
        let d = &state.discounts[di];
        let row = tx
            .rows(
                "UPDATE discount_items SET cancel_amount = cancel_amount + $2, modified_at = $3 WHERE id = $1 \
                 RETURNING cancel_amount, amount",
                &[d.id.into(), reversed.into(), now.into()],
            )
            .await?;
        let (cancel_amount, amount) = match row.first() {
            Some(r) => (r.int(0)?, r.int(1)?),
            None => return Err(StoreError::Internal(format!("discount item {} is gone", d.id))),
        };
        if cancel_amount > amount {
            return Err(StoreError::Internal(format!("discount item {}: reversals above its amount", d.id)));
        }
        if let Some(promotion) = d.promotion_id {
            gone.push((promotion, reversed));
            if cancel_amount == amount {
                whole.push((promotion, d.applications));
            }
        }
    }
    let statuses = tx.rows("SELECT status FROM order_items WHERE order_id = $1", &[state.order.id.into()]).await?;
    let statuses = statuses
        .iter()
        .map(|r| OrderStatus::from_code(r.int(0)?).map_err(|e| StoreError::Internal(e.to_string())))
        .collect::<Result<Vec<_>>>()?;
    if let Some(s) = refund::rolled_up(statuses) {
        tx.execute(
            "UPDATE orders SET status = $2, modified_at = $3 WHERE id = $1",
            &[state.order.id.into(), i64::from(s.code()).into(), now.into()],
        )
        .await?;
        // A discount item of amount 0 (free shipping) has no share to reverse: its usage
        // comes back when the whole order is gone (an order rolls up once).
        for d in state.discounts.iter().filter(|d| d.amount == 0 && d.cancel_amount == 0) {
            if let Some(promotion) = d.promotion_id {
                whole.push((promotion, d.applications));
            }
        }
    }
    give_back(tx, state, &gone, &whole, now).await
}

/// Gives usage back (module docs): `gone` the discount reversed per promotion, `whole` the
/// applications of wholly reversed items. Rows are updated table by table in promotion id
/// order, the order checkout takes the rows of offers without limits in. Checkout claims
/// limited offers one by one in pricing order, so a cancellation and a checkout can still
/// meet in opposite orders; PostgreSQL then aborts one of them, and a cancellation it aborts
/// runs again ([`retried`]).
async fn give_back<E: Exec>(
    tx: &mut E,
    state: &OrderState,
    gone: &[(i64, i64)],
    whole: &[(i64, i64)],
    now: i64,
) -> Result<()> {
    let mut usage: BTreeMap<i64, (i64, i64, i64)> = BTreeMap::new(); // reversed, applications, orders
    for &(p, r) in gone {
        usage.entry(p).or_default().0 += r;
    }
    for &(p, a) in whole {
        let e = usage.entry(p).or_default();
        e.1 += a;
        e.2 += 1;
    }
    for (&promotion, &(reversed, applications, orders)) in &usage {
        tx.execute(
            "UPDATE offer_usage SET discount_spent = discount_spent - $2, discount_reversed = discount_reversed + $2, \
             applications = applications - $3, orders_count = orders_count - $4 WHERE promotion_id = $1",
            &[promotion.into(), reversed.into(), applications.into(), orders.into()],
        )
        .await?;
    }
    if let Some(user) = state.order.user_id {
        for (&promotion, &(_, applications, orders)) in &usage {
            if orders > 0 {
                tx.execute(
                    "UPDATE offer_customer_usage SET applications = applications - $3 \
                     WHERE promotion_id = $1 AND user_id = $2",
                    &[promotion.into(), user.into(), applications.into()],
                )
                .await?;
            }
        }
    }
    let wholly: Vec<i64> = usage.iter().filter(|(_, u)| u.2 > 0).map(|(&p, _)| p).collect();
    if wholly.is_empty() {
        return Ok(());
    }
    let ph = crate::list::placeholders(1, wholly.len());
    let mut params: Vec<Param<'_>> = vec![state.order.id.into()];
    params.extend(wholly.iter().map(|&p| Param::from(p)));
    let mut uses = tx
        .rows(
            &format!(
                "SELECT va.id, va.voucher_id FROM voucher_applications va JOIN vouchers v ON v.id = va.voucher_id \
                 WHERE va.order_id = $1 AND v.promotion_id IN ({ph})"
            ),
            &params,
        )
        .await?
        .iter()
        .map(|r| Ok((r.int(1)?, r.int(0)?)))
        .collect::<Result<Vec<(i64, i64)>>>()?;
    uses.sort_unstable();
    for (voucher, application) in uses {
        tx.execute(
            "UPDATE vouchers SET uses = uses - 1, modified_at = $2 WHERE id = $1 AND uses > 0",
            &[voucher.into(), now.into()],
        )
        .await?;
        tx.execute("DELETE FROM voucher_applications WHERE id = $1", &[application.into()]).await?;
    }
    Ok(())
}
