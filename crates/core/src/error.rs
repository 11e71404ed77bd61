//! The one error type of the core layer.
//!
//! Every constructor of a domain value returns [`DomainError`]. The messages are written to
//! be shown to a user as they are (they follow the wording Django REST framework uses, since
//! the Akinon-style clients we serve already display those strings), so the API layer only
//! has to pick the field name the error belongs to.

use std::fmt;

/// A validation failure of a domain value or an offer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("This field may not be blank.")]
    Blank,
    #[error("A valid number is required.")]
    InvalidNumber,
    #[error("Ensure that there are no more than {0} decimal places.")]
    TooManyDecimalPlaces(u32),
    #[error("Ensure that there are no more than {0} digits before the decimal point.")]
    TooManyIntegerDigits(u32),
    #[error("Ensure this value is greater than or equal to 0.")]
    Negative,
    #[error("Ensure this value is greater than 0.")]
    NotPositive,
    /// The value is above its maximum; the payload is the maximum as shown to the user.
    #[error("Ensure this value is less than or equal to {0}.")]
    TooLarge(String),
    #[error("\"{0}\" is not a valid currency: use a three-letter ISO 4217 code.")]
    InvalidCurrency(String),
    #[error("Ensure this field has no more than {0} characters.")]
    TooLong(usize),
    #[error("Enter a valid code: letters, digits, \"-\" and \"_\" only.")]
    InvalidCode,
    /// A value outside a fixed set of choices (a voucher usage, …).
    #[error("\"{0}\" is not a valid choice.")]
    NotAChoice(String),
    #[error("Currencies differ: {0} and {1}.")]
    CurrencyMismatch(String, String),
    /// A basket line that the engine cannot price (see `PricingInput::validate`).
    #[error("{0}")]
    InvalidInput(String),
    /// Several field-keyed failures at once, as `Offer::validate` reports them.
    #[error("{0}")]
    Fields(FieldErrors),
}

/// Field-keyed validation messages: `(field path, message)`, e.g.
/// `("benefit.value", "Ensure this value is less than or equal to 100.")`.
///
/// Field paths use the names of the promotions API (`condition.value`, `end_datetime`, …) so
/// the API layer can turn them into `{"field": ["message"]}` without a mapping table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldErrors(pub Vec<(String, String)>);

impl FieldErrors {
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push((field.to_owned(), message.into()));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(f, m)| (f.as_str(), m.as_str()))
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (field, msg)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{field}: {msg}")?;
        }
        Ok(())
    }
}
