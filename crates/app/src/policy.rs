//! The operator's settings the use cases obey: how long API tokens, storefront sessions,
//! Elastic Path access tokens and idempotency keys live, how often the expired ones are
//! purged, and how fast access tokens may be asked for. The binary reads them from its
//! flags and environment ([`parse_duration`] reads `14d`, `24h`, `90m`, `30s`); every one
//! has a default that suits a single shop, [`Policy::default`].
//!
//! Lifetimes are **fixed** from the moment of issue, not sliding: a sliding lifetime would
//! write on every authenticated request, and on SQLite every write queues behind the one
//! writer and moves the data generation, which empties every read cache. A client that
//! needs longer signs in again (a login costs one argon2 verification).

use std::time::Duration;

/// How many access tokens may be asked for per minute, and by whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRates {
    /// Per caller address (`0`: unlimited). Behind a proxy every caller has the proxy's
    /// address: raise it, or turn it off and keep the per-client bound.
    pub per_peer: u32,
    /// Per `client_id` (`0`: unlimited). Shoppers with implicit tokens share their
    /// storefront's public client id, so this one is the larger.
    pub per_client: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// API tokens issued at a login (or by the CLI).
    pub token_ttl: Duration,
    /// Storefront sessions (the `osessionid` cookie).
    pub session_ttl: Duration,
    /// Elastic Path access tokens (`expires_in`).
    pub client_token_ttl: Duration,
    /// How long a checkout's `Idempotency-Key` is remembered: a retry within it is
    /// answered with the first answer, a key older than it is a new request.
    pub idempotency_ttl: Duration,
    /// How often the purge deletes what has expired.
    pub purge_every: Duration,
    pub token_rates: TokenRates,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            // Two weeks, Django's session age; Elastic Path's hour; a day for a retry.
            token_ttl: Duration::from_secs(14 * 86_400),
            session_ttl: Duration::from_secs(14 * 86_400),
            client_token_ttl: Duration::from_secs(3_600),
            idempotency_ttl: Duration::from_secs(86_400),
            purge_every: Duration::from_secs(600),
            token_rates: TokenRates { per_peer: 60, per_client: 600 },
        }
    }
}

/// `Duration` as microseconds, the unit of every stored timestamp (saturating).
pub fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Reads a duration: a whole number followed by `s`, `m`, `h` or `d` (`14d`, `24h`), or a
/// bare number of seconds. At least one second, at most about a century.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = digits.parse().map_err(|_| format!("{s:?} is not a duration: write e.g. 14d, 24h, 90m or 30s"))?;
    let unit_secs = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        other => return Err(format!("unknown unit {other:?} in {s:?}: use s, m, h or d")),
    };
    let secs = n.checked_mul(unit_secs).filter(|&x| (1..=100 * 365 * 86_400).contains(&x));
    secs.map(Duration::from_secs).ok_or_else(|| format!("{s:?} must be between 1s and 100 years"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_written() {
        assert_eq!(parse_duration("14d"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("3600"), Ok(Duration::from_secs(3_600)));
        assert_eq!(parse_duration(" 2s "), Ok(Duration::from_secs(2)));
        for bad in ["", "d", "0s", "1w", "-1h", "1.5h", "99999999999999999999d", "36600d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_defaults_are_the_documented_ones() {
        let p = Policy::default();
        assert_eq!(p.client_token_ttl.as_secs(), 3_600, "the contract's expires_in");
        assert_eq!(micros(p.idempotency_ttl), 86_400_000_000);
        assert_eq!(micros(Duration::MAX), i64::MAX);
    }
}
