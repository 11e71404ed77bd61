//! Instants as the engine sees them.
//!
//! The core has no clock and no calendar library: an instant is a [`Timestamp`], microseconds
//! since the Unix epoch in UTC, which is exactly what both stores (SQLite integers,
//! PostgreSQL `timestamptz`) can hold without loss. The engine only needs to compare
//! instants and to print a civil date in a human detail ("starts 2026-12-01"), so the
//! proleptic-Gregorian conversion lives here (Howard Hinnant's `days_from_civil` /
//! `civil_from_days`, valid for every `i64` day count we can produce).

use std::fmt;

/// Microseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

const MICROS_PER_SEC: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SEC;

impl Timestamp {
    /// Builds an instant from a UTC civil date and time. Returns `None` for an impossible
    /// date (month 13, 31 April, 29 February in a common year, …) or one outside the `i64`
    /// microsecond range.
    pub fn from_civil(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<Self> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let days = days_from_civil(year, month, day)?;
        let secs = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
        days.checked_mul(MICROS_PER_DAY)?.checked_add(secs * MICROS_PER_SEC).map(Timestamp)
    }

    /// The UTC civil date and time: `(year, month, day, hour, minute, second, microsecond)`.
    pub fn to_civil(self) -> (i64, u32, u32, u32, u32, u32, u32) {
        let days = self.0.div_euclid(MICROS_PER_DAY);
        let rem = self.0.rem_euclid(MICROS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let secs = rem / MICROS_PER_SEC;
        let micros = (rem % MICROS_PER_SEC) as u32;
        (y, m, d, (secs / 3600) as u32, ((secs / 60) % 60) as u32, (secs % 60) as u32, micros)
    }

    /// `YYYY-MM-DD`, the form used in human details such as "starts 2026-12-01".
    pub fn date_string(self) -> String {
        let (y, m, d, ..) = self.to_civil();
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// ISO 8601 in UTC with microseconds and `Z`: `2021-05-11T06:42:55.684412Z`, the form
    /// the Akinon dialects use.
    pub fn to_iso8601(self) -> String {
        let (y, mo, d, h, mi, s, us) = self.to_civil();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{us:06}Z")
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso8601())
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic-Gregorian date (`None` on overflow).
fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    let y = if m <= 2 { y.checked_sub(1)? } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era.checked_mul(146_097)?.checked_add(doe - 719_468)
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    // `z` comes from an i64 of microseconds divided by a day, so it is far from overflow.
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_dates() {
        assert_eq!(Timestamp(0).date_string(), "1970-01-01");
        let t = Timestamp::from_civil(2026, 12, 1, 0, 0, 0).unwrap();
        assert_eq!(t.date_string(), "2026-12-01");
        assert_eq!(Timestamp(1_620_715_375_684_412).to_iso8601(), "2021-05-11T06:42:55.684412Z");
        assert_eq!(Timestamp(-1).to_iso8601(), "1969-12-31T23:59:59.999999Z");
        assert_eq!(Timestamp::from_civil(2000, 2, 29, 12, 0, 0).unwrap().date_string(), "2000-02-29");
        assert!(Timestamp::from_civil(1900, 2, 29, 0, 0, 0).is_none());
        assert!(Timestamp::from_civil(2025, 4, 31, 0, 0, 0).is_none());
    }

    #[test]
    fn round_trips_and_extremes() {
        for days in (-800_000i64..800_000).step_by(997) {
            let t = Timestamp(days * MICROS_PER_DAY + 3_723_000_042);
            let (y, m, d, h, mi, s, us) = t.to_civil();
            assert_eq!(Timestamp::from_civil(y, m, d, h, mi, s).unwrap().0 + i64::from(us), t.0);
        }
        // No panic at the ends of the range.
        let _ = Timestamp(i64::MIN).to_iso8601();
        let _ = Timestamp(i64::MAX).to_iso8601();
    }
}
