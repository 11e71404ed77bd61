//! Vouchers: administration (create one, generate many, list) and asking the one voucher
//! rule about a stored voucher.
//!
//! The administration rules: vouchers belong to the offers that take a code (`coupon_code`
//! and `voucher_code`), their customers exist, and generated codes are long enough for their
//! number that they stay hard to guess. Writes rebuild the offer cache like promotion
//! writes do.
//!
//! Whether a code may be used now ([`refusal`]) is the core's one rule
//! ([`offerline_core::voucher::refusal`]), asked by the storefront basket, checkout and the
//! staff simulation alike; the one fact it may need from the database (has this customer
//! used the code?) is read only when the rule says it matters. The database's usage claim at
//! checkout stays the enforcement; the rule only explains.

use offerline_core::{CustomerId, VoucherCode, VoucherFacts, VoucherRefusal, VoucherUsage, refusal as rule};
use offerline_store::StoreError;
use offerline_store::promotions::Promotion;
pub use offerline_store::promotions::{MAX_GENERATED_CODES, Voucher};

use crate::customers;
use crate::error::{AppError, AppResult};
use crate::handle::App;
use crate::list::ListQuery;

/// A voucher to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVoucher {
    pub code: VoucherCode,
    pub promotion: i64,
    pub usage: VoucherUsage,
    /// When non-empty, only these users may use it.
    pub customers: Vec<i64>,
}

/// Codes to generate for one promotion: `count` codes of `prefix` and `length` random
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBatch {
    pub count: usize,
    /// Already a valid code's spelling (upper case), or empty.
    pub prefix: String,
    pub length: usize,
    pub usage: VoucherUsage,
}

/// Symbols a generated code character is drawn from (the store's alphabet).
const CODE_SYMBOLS: f64 = 32.0;

/// The rule of which promotions take vouchers; the refusal names the promotion.
fn takes_vouchers(p: &Promotion) -> Result<(), String> {
    if p.offer_type.needs_code() {
        Ok(())
    } else {
        Err(format!(
            "Promotion {} is a {} offer; vouchers belong to coupon_code and voucher_code offers.",
            p.id,
            p.offer_type.as_str()
        ))
    }
}

/// Creates a voucher: its customers must exist (`customers`), its promotion exist and take
/// codes (`promotion`), its code be new (the store's conflict on `code`).
pub async fn create(app: &App, v: &NewVoucher) -> AppResult<Voucher> {
    customers::require(app, "customers", &v.customers).await?;
    let p = match app.store().promotion(v.promotion).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => {
            return Err(AppError::Unknown { field: "promotion".into(), ids: vec![v.promotion] });
        }
        Err(e) => return Err(e.into()),
    };
    takes_vouchers(&p).map_err(|message| AppError::Field { field: "promotion".into(), message })?;
    Ok(app.store().create_voucher(&v.code, p.id, v.usage, &v.customers).await?)
}

/// Generates a batch of unique random codes for `promotion`, all or none. The code space
/// must dwarf the batch (×1000), or codes get guessable and collisions frequent.
pub async fn generate(app: &App, promotion: &Promotion, batch: &CodeBatch) -> AppResult<Vec<String>> {
    let (count, length) = (batch.count, batch.length);
    if CODE_SYMBOLS.powi(length.min(64) as i32) < count as f64 * 1000.0 {
        return Err(AppError::Field {
            field: "length".into(),
            message: format!("A length of {length} is too short for {count} codes."),
        });
    }
    takes_vouchers(promotion).map_err(AppError::Refused)?;
    let codes = app.store().generate_vouchers(promotion.id, count, &batch.prefix, length, batch.usage).await?;
    tracing::info!(promotion = promotion.id, count = codes.len(), "vouchers generated");
    Ok(codes)
}

/// Vouchers matching `q`, with the count of all matches.
pub async fn list(app: &App, q: &ListQuery) -> AppResult<(i64, Vec<Voucher>)> {
    Ok(app.store().list_vouchers(q).await?)
}

/// Why `v` cannot be used by `customer`, or `None` when it may be used so far.
pub async fn refusal(app: &App, v: &Voucher, customer: Option<i64>) -> AppResult<Option<VoucherRefusal>> {
    let customer = customer.map(CustomerId);
    let mut facts = VoucherFacts {
        usage: v.usage,
        uses: v.uses,
        assigned: v.customers.iter().map(|&c| CustomerId(c)).collect(),
        used_by_customer: false,
    };
    if let Some(c) = facts.history_needed(customer) {
        facts.used_by_customer = app.store().voucher_used_by(v.id, c.0).await?;
    }
    Ok(rule(&facts, customer))
}
