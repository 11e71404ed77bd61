//! Money and the small value types that travel with it: [`Currency`], [`Money`],
//! [`NonNegative`], [`Percent`] and [`VoucherCode`].
//!
//! # Why integers
//! Money is an `i64` count of the currency's **minor unit** (kuruş, cent, fils). Every amount
//! the engine produces is a whole number of minor units, and the rounding rules (see
//! [`crate::engine`]) say where the fractions go, so there is never a hidden float or an
//! unrounded `Decimal` that could make Σ shares differ from a total. `rust_decimal` is used
//! only where a *rate* has a fraction ([`Percent`]).
//!
//! # Parsing
//! Decimal strings are parsed straight into minor units, digit by digit: `"199.90"` in TRY is
//! `19990`. A string with more fraction digits than the currency has is refused rather than
//! rounded (silently rounding a price is how ledgers drift), and more than 15 integer digits
//! is refused so that every amount and every sum of a realistic basket fits in `i64` with
//! room to spare.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

use crate::error::DomainError;

/// The largest number of digits before the decimal point a money string may have.
pub const MAX_INTEGER_DIGITS: u32 = 15;

/// A lowercase ISO 4217 code (`"try"`, `"usd"`, `"jpy"`). Parsing accepts any case, because
/// Akinon spells currencies in lowercase and Elastic Path in uppercase; storing one case
/// makes equality plain byte equality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Accepts exactly three ASCII letters, in any case, surrounding whitespace trimmed.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = s.trim();
        let b = t.as_bytes();
        if b.len() != 3 || !b.iter().all(u8::is_ascii_alphabetic) {
            return Err(DomainError::InvalidCurrency(s.to_owned()));
        }
        Ok(Currency([b[0].to_ascii_lowercase(), b[1].to_ascii_lowercase(), b[2].to_ascii_lowercase()]))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored, so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or("xxx")
    }

    /// Upper-case form, as Elastic Path shows it (`"TRY"`).
    pub fn upper(&self) -> String {
        self.as_str().to_ascii_uppercase()
    }

    /// Digits after the decimal point: ISO 4217's exponent for the currencies we know to
    /// differ from the common 2 (0 for JPY and KRW, 3 for the Gulf/North-African dinars).
    pub fn minor_digits(&self) -> u32 {
        // On the bytes, not `as_str`: every amount of an answer asks, and the UTF-8 check
        // cost more than the match.
        match &self.0 {
            b"jpy" | b"krw" => 0,
            b"kwd" | b"bhd" | b"jod" | b"omr" | b"tnd" => 3,
            _ => 2,
        }
    }

    /// `"199.90"` for 19990 in a two-digit currency.
    pub fn format(&self, minor: i64) -> String {
        format_minor(minor, self.minor_digits())
    }

    /// `minor` in this currency, as [`Currency::format`] writes it, without allocating.
    pub fn display(&self, minor: i64) -> Minor {
        Minor { minor, digits: self.minor_digits() }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Currency {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

/// Renders a minor-unit amount as a decimal string with exactly `digits` fraction digits:
/// `format_minor(19990, 2) == "199.90"`, `format_minor(-1500, 2) == "-15.00"`,
/// `format_minor(50, 0) == "50"`. Total for every `i64`.
pub fn format_minor(minor: i64, digits: u32) -> String {
    Minor { minor, digits }.to_string()
}

/// A minor-unit amount shown as [`format_minor`] shows it, written straight into a
/// formatter: the simulate answer writes tens of thousands of amounts, and this spares each
/// its own `String`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minor {
    pub minor: i64,
    pub digits: u32,
}

/// Room for any [`Minor`]'s text: a sign, 20 digits of `|i64::MIN|` or the zeros a small
/// amount is padded with (at most 40 fraction digits are written), and the point.
pub const MINOR_TEXT: usize = 64;

impl Minor {
    /// The text, written right-aligned into `buf` in one pass (digits from the last, the
    /// point dropped in on the way), so a serializer gets one `&str` rather than the several
    /// writes a `Display` through `collect_str` makes.
    pub fn write_into(self, buf: &mut [u8; MINOR_TEXT]) -> &str {
        let digits = (self.digits as usize).min(40);
        let mut n = self.minor.unsigned_abs();
        let mut at = buf.len();
        let mut written = 0;
        // Every fraction digit, then at least one integer digit.
        while written < digits + 1 || n > 0 {
            if written == digits && digits > 0 {
                at -= 1;
                buf[at] = b'.';
            }
            at -= 1;
            buf[at] = b'0' + (n % 10) as u8;
            n /= 10;
            written += 1;
        }
        if self.minor < 0 {
            at -= 1;
            buf[at] = b'-';
        }
        // Only ASCII digits, '.' and '-' were written.
        std::str::from_utf8(&buf[at..]).unwrap_or_default()
    }
}

impl fmt::Display for Minor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.write_into(&mut [0; MINOR_TEXT]))
    }
}

/// Parses a plain decimal string (`"199.90"`, `"50"`, `"50.5"`, `"-15.00"`) into minor units
/// with `digits` fraction digits, exactly. Grammar: optional `-`, one or more ASCII digits,
/// optionally `.` and one or more digits; surrounding whitespace is ignored. No exponents,
/// no thousands separators, no `+`.
pub fn parse_minor(s: &str, digits: u32) -> Result<i64, DomainError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(DomainError::Blank);
    }
    let (negative, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
        return Err(DomainError::InvalidNumber);
    }
    let frac = frac.unwrap_or("");
    if frac.len() > digits as usize {
        return Err(DomainError::TooManyDecimalPlaces(digits));
    }
    let significant = int.trim_start_matches('0');
    if significant.len() > MAX_INTEGER_DIGITS as usize {
        return Err(DomainError::TooManyIntegerDigits(MAX_INTEGER_DIGITS));
    }
    let mut value: i128 = 0;
    for b in significant.bytes().chain(frac.bytes()) {
        value = value * 10 + i128::from(b - b'0');
    }
    for _ in frac.len()..digits as usize {
        value = value.checked_mul(10).ok_or(DomainError::TooManyIntegerDigits(MAX_INTEGER_DIGITS))?;
    }
    let value = if negative { -value } else { value };
    i64::try_from(value).map_err(|_| DomainError::TooManyIntegerDigits(MAX_INTEGER_DIGITS))
}

/// An amount in a currency, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Money { minor: 0, currency }
    }

    /// Parses a decimal string in `currency` (see [`parse_minor`]); the sign is allowed.
    pub fn parse(s: &str, currency: Currency) -> Result<Self, DomainError> {
        Ok(Money { minor: parse_minor(s, currency.minor_digits())?, currency })
    }

    /// As [`Money::parse`], refusing negative amounts (prices, discount values, budgets).
    pub fn parse_non_negative(s: &str, currency: Currency) -> Result<Self, DomainError> {
        let m = Money::parse(s, currency)?;
        if m.minor < 0 {
            return Err(DomainError::Negative);
        }
        Ok(m)
    }

    /// `a + b`, refusing a currency mismatch or an overflow.
    pub fn checked_add(self, other: Money) -> Result<Money, DomainError> {
        if self.currency != other.currency {
            return Err(DomainError::CurrencyMismatch(self.currency.to_string(), other.currency.to_string()));
        }
        let minor = self.minor.checked_add(other.minor).ok_or(DomainError::TooManyIntegerDigits(MAX_INTEGER_DIGITS))?;
        Ok(Money { minor, currency: self.currency })
    }
}

impl fmt::Display for Money {
    /// The decimal string without the currency: `"199.90"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.currency.format(self.minor))
    }
}

/// A minor-unit amount known to be ≥ 0 (a price, a fixed discount value, a budget).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NonNegative(i64);

impl NonNegative {
    pub fn new(minor: i64) -> Result<Self, DomainError> {
        if minor < 0 { Err(DomainError::Negative) } else { Ok(NonNegative(minor)) }
    }
    pub fn parse(s: &str, currency: Currency) -> Result<Self, DomainError> {
        NonNegative::new(parse_minor(s, currency.minor_digits())?)
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

/// The tax inside a tax-inclusive amount: `amount × rate / (100 + rate)`, `rate` in
/// hundredths of a percent (1800 = 18 %), rounded half up to the minor unit (contract §8:
/// per unit, on its net). A negative rate or amount counts as 0.
pub fn tax_included(amount: i64, rate_hundredths: i64) -> i64 {
    let (a, r) = (i128::from(amount.max(0)), i128::from(rate_hundredths.max(0)));
    let (num, den) = (a * r, 10_000 + r);
    i64::try_from((2 * num + den) / (2 * den)).unwrap_or(i64::MAX)
}

/// A percentage in `(0, 100]` with at most [`Percent::MAX_DECIMAL_PLACES`] decimal places.
///
/// The bound on decimal places keeps the engine's "exact total, floored once" computation
/// in `i128` for every basket (see [`crate::engine`]), and no real campaign needs more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percent(Decimal);

impl Percent {
    pub const MAX_DECIMAL_PLACES: u32 = 4;

    /// Parses `"50"`, `"12.5"`, `"100.00"`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(DomainError::Blank);
        }
        let body = t.strip_prefix('-').unwrap_or(t);
        let ok = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        let valid = match body.split_once('.') {
            Some((i, f)) => ok(i) && ok(f),
            None => ok(body),
        };
        if !valid || body.len() > 40 {
            return Err(DomainError::InvalidNumber);
        }
        // Counted on the text: `Decimal` rounds digits past its 28-digit precision away, so
        // "10.0000000000000000000000000001" would otherwise read as 10.
        if let Some((_, f)) = body.split_once('.')
            && f.trim_end_matches('0').len() > Self::MAX_DECIMAL_PLACES as usize
        {
            return Err(DomainError::TooManyDecimalPlaces(Self::MAX_DECIMAL_PLACES));
        }
        let d = Decimal::from_str(t).map_err(|_| DomainError::InvalidNumber)?;
        Percent::from_decimal(d)
    }

    /// An integer percentage, as JSON numbers give it.
    pub fn from_int(p: i64) -> Result<Self, DomainError> {
        Percent::from_decimal(Decimal::from(p))
    }

    pub fn from_decimal(d: Decimal) -> Result<Self, DomainError> {
        let d = d.normalize();
        if d <= Decimal::ZERO {
            return Err(DomainError::NotPositive);
        }
        if d > Decimal::ONE_HUNDRED {
            return Err(DomainError::TooLarge("100".to_owned()));
        }
        if d.scale() > Self::MAX_DECIMAL_PLACES {
            return Err(DomainError::TooManyDecimalPlaces(Self::MAX_DECIMAL_PLACES));
        }
        Ok(Percent(d))
    }

    pub fn value(self) -> Decimal {
        self.0
    }

    /// `floor(base × self / 100)` in minor units, computed exactly. `base` is a sum of
    /// prices and may exceed `i64` (it is an `i128`); the result is clamped into
    /// `0..=base` (a percentage ≤ 100 of a non-negative base always is).
    pub fn floor_of(self, base: i128) -> i128 {
        if base <= 0 {
            return 0;
        }
        // value = mantissa / 10^scale with scale ≤ 4 and mantissa ≤ 100·10^4, so the
        // product stays far inside i128 for any base below 10^30.
        let mantissa = self.0.mantissa();
        let denom = 100i128 * 10i128.pow(self.0.scale());
        match base.checked_mul(mantissa) {
            Some(p) => (p / denom).clamp(0, base),
            None => base,
        }
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A voucher code: surrounding whitespace trimmed, 1–64 characters of `[A-Za-z0-9_-]`,
/// stored in UPPERCASE.
///
/// Oscar upper-cases voucher codes when it saves them and looks them up upper-cased, so a
/// customer typing `summer10` gets `SUMMER10`. We normalise once, here, so every lookup,
/// uniqueness check and comparison downstream is plain equality.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VoucherCode(String);

impl VoucherCode {
    pub const MAX_LEN: usize = 64;

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(DomainError::Blank);
        }
        if t.chars().count() > Self::MAX_LEN {
            return Err(DomainError::TooLong(Self::MAX_LEN));
        }
        if !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(DomainError::InvalidCode);
        }
        Ok(VoucherCode(t.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VoucherCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tax_inside_an_amount_rounds_half_up_per_unit() {
        // 133.27 at 18 %: 20.3293… → 20.33; 118.00 at 18 %: exactly 18.00; 0 % → 0.
        assert_eq!(tax_included(13327, 1800), 2033);
        assert_eq!(tax_included(11800, 1800), 1800);
        assert_eq!(tax_included(19990, 0), 0);
        // 0.05 at 10 %: 0.4545… → 0; 0.11 at 10 %: 1.0 exactly → 1; 1.05 at 5 %: 5.0 → 5.
        assert_eq!(tax_included(5, 1000), 0);
        assert_eq!(tax_included(11, 1000), 1);
        // A half goes up: 0.21 at 10 %: 1.909… → 2; 0.105 (10.5 minor) cannot occur, but
        // 2.10 at 5 % = 10.0 exactly, and 0.63 at 5 % = 3.0 exactly.
        assert_eq!(tax_included(21, 1000), 2);
        assert_eq!(tax_included(63, 500), 3);
        assert_eq!(tax_included(-5, 1800), 0);
    }

    fn c(s: &str) -> Currency {
        Currency::parse(s).unwrap()
    }

    #[test]
    fn currency() {
        assert_eq!(c("TRY").as_str(), "try");
        assert_eq!(c(" Usd ").as_str(), "usd");
        assert_eq!(c("try").minor_digits(), 2);
        assert_eq!(c("JPY").minor_digits(), 0);
        assert_eq!(c("krw").minor_digits(), 0);
        for k in ["kwd", "bhd", "jod", "omr", "tnd"] {
            assert_eq!(c(k).minor_digits(), 3);
        }
        for bad in ["", "tr", "tryy", "t1y", "çay", "  "] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Currency::parse("xx").unwrap_err().to_string(),
            "\"xx\" is not a valid currency: use a three-letter ISO 4217 code."
        );
    }

    #[test]
    fn parse_money() {
        let t = c("try");
        assert_eq!(Money::parse("199.90", t).unwrap().minor, 19990);
        assert_eq!(Money::parse("50", t).unwrap().minor, 5000);
        assert_eq!(Money::parse("50.5", t).unwrap().minor, 5050);
        assert_eq!(Money::parse("-15.00", t).unwrap().minor, -1500);
        assert_eq!(Money::parse("0.01", t).unwrap().minor, 1);
        assert_eq!(Money::parse("000123.4", t).unwrap().minor, 12340);
        assert_eq!(Money::parse("999999999999999.99", t).unwrap().minor, 99_999_999_999_999_999);
        assert_eq!(Money::parse("1500", c("jpy")).unwrap().minor, 1500);
        assert_eq!(Money::parse("1.234", c("kwd")).unwrap().minor, 1234);
        assert_eq!(Money::parse("1.2", c("kwd")).unwrap().minor, 1200);
        assert_eq!(Money::parse("1.5", c("jpy")), Err(DomainError::TooManyDecimalPlaces(0)));
        assert_eq!(Money::parse("1.999", t), Err(DomainError::TooManyDecimalPlaces(2)));
        assert_eq!(
            Money::parse("1.999", t).unwrap_err().to_string(),
            "Ensure that there are no more than 2 decimal places."
        );
        assert_eq!(Money::parse("1000000000000000", t), Err(DomainError::TooManyIntegerDigits(15)));
        assert_eq!(Money::parse("", t), Err(DomainError::Blank));
        for bad in ["abc", "1,5", "1.", ".5", "--1", "+1", "1e5", "1.2.3", "- 1", "٣"] {
            assert_eq!(Money::parse(bad, t), Err(DomainError::InvalidNumber), "{bad}");
        }
        assert_eq!(Money::parse_non_negative("-0.01", t), Err(DomainError::Negative));
        assert_eq!(Money::parse_non_negative("0", t).unwrap().minor, 0);
        assert_eq!(NonNegative::parse("12.30", t).unwrap().get(), 1230);
        assert!(NonNegative::parse("-1", t).is_err());
        assert_eq!(Money::parse("-0", t).unwrap().minor, 0);
    }

    #[test]
    fn format() {
        assert_eq!(format_minor(19990, 2), "199.90");
        assert_eq!(format_minor(-1500, 2), "-15.00");
        assert_eq!(format_minor(5, 2), "0.05");
        assert_eq!(format_minor(-5, 2), "-0.05");
        assert_eq!(format_minor(0, 2), "0.00");
        assert_eq!(format_minor(1500, 0), "1500");
        assert_eq!(format_minor(1, 3), "0.001");
        assert_eq!(format_minor(i64::MIN, 2), "-92233720368547758.08");
        assert_eq!(Money::new(12000, c("try")).to_string(), "120.00");
    }

    proptest::proptest! {
        /// The formatter that writes in place agrees with the plain string arithmetic it
        /// replaced, and parsing reads it back.
        #[test]
        fn minor_display_is_the_decimal_text(minor in proptest::prelude::any::<i64>(), digits in 0u32..4) {
            let abs = minor.unsigned_abs().to_string();
            let d = digits as usize;
            let expected = if d == 0 {
                format!("{}{abs}", if minor < 0 { "-" } else { "" })
            } else {
                let padded = if abs.len() <= d { format!("{}{abs}", "0".repeat(d + 1 - abs.len())) } else { abs };
                let (int, frac) = padded.split_at(padded.len() - d);
                format!("{}{int}.{frac}", if minor < 0 { "-" } else { "" })
            };
            proptest::prop_assert_eq!(format_minor(minor, digits), expected.clone());
            // The parser takes amounts a shop can hold (it refuses absurd integer parts).
            if minor.unsigned_abs() < 1_000_000_000_000 {
                proptest::prop_assert_eq!(parse_minor(&expected, digits), Ok(minor));
            }
        }
    }

    #[test]
    fn money_round_trip() {
        for minor in [-1_000_001, -1, 0, 1, 99, 100, 19990, 999_999_999_999_999] {
            for cur in ["try", "jpy", "kwd"] {
                let cur = c(cur);
                assert_eq!(Money::parse(&cur.format(minor), cur).unwrap().minor, minor);
            }
        }
    }

    #[test]
    fn percent() {
        assert_eq!(Percent::parse("50").unwrap().value(), Decimal::from(50));
        assert_eq!(Percent::parse("12.5").unwrap().to_string(), "12.5");
        assert_eq!(Percent::parse("100.00").unwrap().value(), Decimal::ONE_HUNDRED);
        assert_eq!(
            Percent::parse("100.01").unwrap_err().to_string(),
            "Ensure this value is less than or equal to 100."
        );
        assert_eq!(Percent::parse("0"), Err(DomainError::NotPositive));
        assert_eq!(Percent::parse("-5"), Err(DomainError::NotPositive));
        assert_eq!(Percent::parse("1.23456"), Err(DomainError::TooManyDecimalPlaces(4)));
        // Past `Decimal`'s precision the extra digits are refused, not rounded away.
        assert_eq!(Percent::parse("10.0000000000000000000000000001"), Err(DomainError::TooManyDecimalPlaces(4)));
        assert_eq!(Percent::parse("10.5000000000000000000000000000").unwrap().to_string(), "10.5");
        assert_eq!(Percent::parse("x"), Err(DomainError::InvalidNumber));
        assert_eq!(Percent::parse("1e2"), Err(DomainError::InvalidNumber));
        assert_eq!(Percent::from_int(101), Err(DomainError::TooLarge("100".into())));
        assert_eq!(Percent::from_int(10).unwrap().floor_of(1234), 123);
        assert_eq!(Percent::parse("33.3333").unwrap().floor_of(300), 99);
        assert_eq!(Percent::from_int(100).unwrap().floor_of(i128::from(i64::MAX)), i128::from(i64::MAX));
    }

    #[test]
    fn voucher_code() {
        assert_eq!(VoucherCode::parse("  summer-10_x ").unwrap().as_str(), "SUMMER-10_X");
        assert_eq!(VoucherCode::parse(""), Err(DomainError::Blank));
        assert_eq!(VoucherCode::parse(&"a".repeat(65)), Err(DomainError::TooLong(64)));
        assert!(VoucherCode::parse(&"a".repeat(64)).is_ok());
        assert_eq!(VoucherCode::parse("no spaces"), Err(DomainError::InvalidCode));
        assert_eq!(VoucherCode::parse("çğ"), Err(DomainError::InvalidCode));
    }
}
