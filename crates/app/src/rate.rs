//! A request-rate limiter: at most `n` requests per minute per key, with bursts of up to
//! `n` (the generic cell rate algorithm: each key keeps one instant, the theoretical
//! arrival time of its next request, so the limit holds over every sliding minute and
//! never lets 2n through at a window's edge). The access-token use case asks it per caller
//! address and per client id ([`crate::identity::client_token`]).
//!
//! Like the login throttle ([`crate::throttle`]) it is in-process: each node of a
//! PostgreSQL deployment limits on its own. It reads the clock once per call, its
//! arithmetic saturates, and a poisoned lock is recovered (every update leaves the map
//! consistent), so it never panics with the lock held nor answers 500 after one panic. The
//! map is bounded ([`RateLimiter::CAPACITY`] keys): a key whose bucket has refilled holds
//! no information and goes first; when every key is busy, those closest to refilled go.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// At most `per_minute` requests per key per minute (`0`: no limit).
pub struct RateLimiter {
    per_minute: u32,
    next: Mutex<HashMap<String, Instant>>,
    capacity: usize,
}

const MINUTE: Duration = Duration::from_secs(60);

impl RateLimiter {
    /// How many keys are remembered at most.
    pub const CAPACITY: usize = 10_000;

    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter::with_capacity(per_minute, Self::CAPACITY)
    }

    pub fn with_capacity(per_minute: u32, capacity: usize) -> RateLimiter {
        RateLimiter { per_minute, next: Mutex::new(HashMap::new()), capacity: capacity.max(1) }
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, Instant>> {
        self.next.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a request for `key`; `Err(seconds to wait)` when it is over the rate (it is
    /// then not counted).
    pub fn check(&self, key: &str) -> Result<(), u64> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        // One request every `interval`; up to `per_minute` at once.
        let interval = MINUTE / self.per_minute;
        let burst = MINUTE.saturating_sub(interval);
        let mut map = self.map();
        if !map.contains_key(key) && map.len() >= self.capacity {
            evict(&mut map, self.capacity, now);
        }
        let tat = map.get(key).copied().map_or(now, |t| t.max(now));
        let ahead = tat.saturating_duration_since(now);
        if ahead > burst {
            let wait = ahead - burst;
            return Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
        }
        map.insert(key.to_owned(), tat + interval);
        Ok(())
    }

    /// How many keys are remembered (for tests).
    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Makes room in a full map: refilled keys first, then the least busy, down to nine tenths
/// of the capacity (one sort per tenth of the capacity of new keys).
fn evict(map: &mut HashMap<String, Instant>, capacity: usize, now: Instant) {
    map.retain(|_, t| *t > now);
    let target = capacity - capacity / 10 - 1;
    if map.len() <= target {
        return;
    }
    let mut order: Vec<(Instant, String)> = map.iter().map(|(k, t)| (*t, k.clone())).collect();
    order.sort_unstable();
    for (_, k) in &order[..map.len() - target] {
        map.remove(k);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_burst_of_n_then_one_per_interval() {
        let r = RateLimiter::new(6);
        let t0 = Instant::now();
        for _ in 0..6 {
            r.check_at("a", t0).expect("the burst");
        }
        let wait = r.check_at("a", t0).expect_err("the 7th in the same instant");
        assert_eq!(wait, 10, "one more every 10 s at 6 a minute");
        r.check_at("b", t0).expect("another key has its own budget");
        // A refused request is not counted: 10 s later exactly one more passes.
        r.check_at("a", t0 + Duration::from_secs(10)).expect("refilled by one");
        assert!(r.check_at("a", t0 + Duration::from_secs(10)).is_err());
        // Over any sliding minute no more than 6 + what refilled.
        let mut passed = 0;
        for s in 0..60 {
            if r.check_at("a", t0 + Duration::from_secs(20 + s)).is_ok() {
                passed += 1;
            }
        }
        assert_eq!(passed, 6);
    }

    #[test]
    fn zero_means_unlimited() {
        let r = RateLimiter::new(0);
        for _ in 0..1000 {
            r.check("a").expect("no limit");
        }
        assert!(r.is_empty());
    }

    #[test]
    fn the_map_is_bounded_and_busy_keys_stay() {
        let r = RateLimiter::with_capacity(2, 100);
        let t0 = Instant::now();
        r.check_at("busy", t0).expect("1");
        r.check_at("busy", t0).expect("2");
        for i in 0..1000 {
            r.check_at(&format!("k{i}"), t0).expect("fresh key");
            assert!(r.len() <= 100);
        }
        // Every key is equally busy except `busy`, whose next slot is furthest away.
        assert!(r.check_at("busy", t0).is_err(), "the busiest key kept its state");
    }

    #[test]
    fn a_poisoned_lock_is_recovered() {
        let r = Arc::new(RateLimiter::new(1));
        let r2 = Arc::clone(&r);
        let joined = std::thread::spawn(move || {
            let _guard = r2.next.lock().expect("lock");
            panic!("a panic while holding the limiter's lock");
        })
        .join();
        assert!(joined.is_err());
        r.check("a").expect("still answering");
        assert!(r.check("a").is_err(), "and still counting");
    }
}
