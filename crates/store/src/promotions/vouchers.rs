//! Vouchers: codes bound to a promotion. Creating one, generating many at once, listing,
//! finding one by code (for pricing), and whether a customer has used one.

use std::collections::{HashMap, HashSet};

use offerline_core::{VoucherCode, VoucherUsage};
use rand::Rng;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::admin::insert_links;
use crate::list::{ListQuery, in_id_order, placeholders};
use crate::{Result, Store, StoreError, is_unique_violation, now_micros};

/// A voucher code bound to a promotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voucher {
    pub id: i64,
    /// Upper case (see [`VoucherCode`]).
    pub code: String,
    pub promotion_id: i64,
    pub usage: VoucherUsage,
    /// Orders that used it so far.
    pub uses: i64,
    /// When non-empty, only these users may use it.
    pub customers: Vec<i64>,
    pub created_at: i64,
    pub modified_at: i64,
}

/// The most codes one `generate_vouchers` call makes.
pub const MAX_GENERATED_CODES: usize = 10_000;
/// The alphabet of generated codes: upper-case letters and digits without the look-alikes
/// 0/O and 1/I, so a code read aloud or off paper is typed right.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

const VOUCHER_COLS: &str = "id, code, promotion_id, usage, uses, created_at, modified_at";

fn voucher_from_row(r: &AnyRow) -> Result<Voucher> {
    Ok(Voucher {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        promotion_id: r.try_get("promotion_id")?,
        usage: VoucherUsage::parse(&r.try_get::<String, _>("usage")?)
            .map_err(|e| StoreError::Internal(format!("vouchers.usage: {e}")))?,
        uses: r.try_get("uses")?,
        customers: Vec::new(),
        created_at: r.try_get("created_at")?,
        modified_at: r.try_get("modified_at")?,
    })
}

/// Random codes: `prefix` and `length` characters of [`CODE_ALPHABET`].
fn random_code(prefix: &str, length: usize) -> String {
    let mut rng = rand::thread_rng();
    let mut s = String::with_capacity(prefix.len() + length);
    s.push_str(prefix);
    for _ in 0..length {
        s.push(CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char);
    }
    s
}

impl Store {
    /// Creates a voucher. A code that exists → `Conflict` on `code`.
    pub async fn create_voucher(
        &self,
        code: &VoucherCode,
        promotion_id: i64,
        usage: VoucherUsage,
        customers: &[i64],
    ) -> Result<Voucher> {
        let now = now_micros();
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO vouchers (code, promotion_id, usage, uses, created_at, modified_at) \
             VALUES ($1, $2, $3, 0, $4, $4) RETURNING id",
        )
        .bind(code.as_str())
        .bind(promotion_id)
        .bind(usage.as_str())
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict { field: "code", message: "voucher with this code already exists.".into() }
            } else {
                e.into()
            }
        })?
        .try_get(0)?;
        insert_links(&mut tx, "voucher_customers", "voucher_id", id, customers).await?;
        tx.commit().await?;
        self.vouchers_by_ids(&[id]).await?.pop().ok_or(StoreError::NotFound)
    }

    /// Vouchers with their customers, in the order of `ids` (two queries).
    pub async fn vouchers_by_ids(&self, ids: &[i64]) -> Result<Vec<Voucher>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ph = placeholders(0, ids.len());
        let rows = self.fetch_in(format!("SELECT {VOUCHER_COLS} FROM vouchers WHERE id IN ({ph})"), ids).await?;
        let mut vouchers = rows.iter().map(voucher_from_row).collect::<Result<Vec<_>>>()?;
        let links = self
            .fetch_in(
                format!(
                    "SELECT voucher_id, user_id FROM voucher_customers WHERE voucher_id IN ({ph}) ORDER BY voucher_id, user_id"
                ),
                ids,
            )
            .await?;
        let mut by_voucher: HashMap<i64, Vec<i64>> = HashMap::new();
        for r in &links {
            by_voucher.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
        }
        for v in &mut vouchers {
            v.customers = by_voucher.remove(&v.id).unwrap_or_default();
        }
        Ok(in_id_order(ids, vouchers, |v| v.id))
    }

    pub async fn list_vouchers(&self, q: &ListQuery) -> Result<(i64, Vec<Voucher>)> {
        let (count, ids) = self.list_ids("vouchers", q).await?;
        Ok((count, self.vouchers_by_ids(&ids).await?))
    }

    /// The voucher with this code (normalised with [`VoucherCode::parse`], so any case
    /// matches), unless its promotion is deleted. A malformed code is simply not found.
    pub async fn voucher_by_code(&self, code: &str) -> Result<Option<Voucher>> {
        let Ok(code) = VoucherCode::parse(code) else { return Ok(None) };
        let row = sqlx::query(
            "SELECT v.id FROM vouchers v JOIN promotions p ON p.id = v.promotion_id WHERE v.code = $1 AND p.deleted = 0",
        )
        .bind(code.as_str())
        .fetch_optional(self.reader())
        .await?;
        match row {
            Some(r) => Ok(self.vouchers_by_ids(&[r.try_get(0)?]).await?.pop()),
            None => Ok(None),
        }
    }

    /// Whether this user has an order that used this voucher.
    pub async fn voucher_used_by(&self, voucher_id: i64, user_id: i64) -> Result<bool> {
        let row = sqlx::query("SELECT 1 FROM voucher_applications WHERE voucher_id = $1 AND user_id = $2 LIMIT 1")
            .bind(voucher_id)
            .bind(user_id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.is_some())
    }

    /// Creates `count` (at most [`MAX_GENERATED_CODES`]) vouchers with fresh random codes
    /// `prefix` + `length` characters, in one transaction: all or none. A code that
    /// collides with an existing one (or a racing writer's) is skipped by
    /// `ON CONFLICT DO NOTHING` and replaced by a new random code. Returns the codes in
    /// creation order.
    pub async fn generate_vouchers(
        &self,
        promotion_id: i64,
        count: usize,
        prefix: &str,
        length: usize,
        usage: VoucherUsage,
    ) -> Result<Vec<String>> {
        if count == 0 || count > MAX_GENERATED_CODES {
            return Err(StoreError::Invalid(format!("count must be between 1 and {MAX_GENERATED_CODES}")));
        }
        // A code space under 10× the request would make collisions (and retries) common.
        let space = (CODE_ALPHABET.len() as f64).powi(length.min(64) as i32);
        if space < (count as f64) * 10.0 {
            return Err(StoreError::Invalid(format!("length {length} is too short for {count} unique codes")));
        }
        let now = now_micros();
        let mut tx = self.begin().await?;
        let mut made: Vec<String> = Vec::with_capacity(count);
        let mut tried: HashSet<String> = HashSet::with_capacity(count * 2);
        for _round in 0..20 {
            let missing = count - made.len();
            if missing == 0 {
                break;
            }
            let mut batch = Vec::with_capacity(missing);
            while batch.len() < missing {
                let c = random_code(prefix, length);
                if tried.insert(c.clone()) {
                    batch.push(c);
                }
            }
            for chunk in batch.chunks(400) {
                let values: Vec<String> =
                    (0..chunk.len()).map(|i| format!("(${}, $1, $2, 0, $3, $3)", i + 4)).collect();
                let sql = format!(
                    "INSERT INTO vouchers (code, promotion_id, usage, uses, created_at, modified_at) VALUES {} \
                     ON CONFLICT (code) DO NOTHING RETURNING code",
                    values.join(", ")
                );
                let mut q = sqlx::query(&sql).bind(promotion_id).bind(usage.as_str()).bind(now);
                for c in chunk {
                    q = q.bind(c.as_str());
                }
                let rows = q.fetch_all(&mut *tx).await?;
                let inserted: HashSet<String> =
                    rows.iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<_, _>>()?;
                made.extend(chunk.iter().filter(|c| inserted.contains(*c)).cloned());
            }
        }
        if made.len() != count {
            return Err(StoreError::Invalid("could not find enough unused codes; use a longer length".into()));
        }
        tx.commit().await?;
        Ok(made)
    }
}
