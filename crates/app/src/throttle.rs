//! The failed-login throttle: after [`Throttle::MAX_FAILURES`] failures for one login name
//! within [`Throttle::WINDOW`], further attempts are refused until the window passes.
//! In-process: on a multi-node PostgreSQL deployment each node throttles on its own
//! (documented). The logins of the `identity` use cases ask it.
//!
//! Three properties hold under attack:
//! - An attempt is *reserved* under the lock before the password is verified
//!   ([`Throttle::begin`]): attempts in flight count against the limit, so any number of
//!   concurrent guesses for one name lets at most [`Throttle::MAX_FAILURES`] reach the
//!   password check.
//! - Every operation reads the clock once and its arithmetic saturates, so nothing panics
//!   while the lock is held; and a poisoned lock (a panic elsewhere) is recovered, since
//!   every update leaves the map consistent. One bad request never turns every later login
//!   into a 500.
//! - The map is bounded: at most [`Throttle::CAPACITY`] names. When full, expired windows go
//!   first, then the oldest windows of names that are neither locked nor in flight, then the
//!   oldest of the rest, in a batch down to nine tenths of the capacity (amortised: one
//!   sort per tenth of the capacity of new names). The trade-off: an attacker who floods
//!   the map with [`Throttle::CAPACITY`] fresh names can evict a real lockout and earn
//!   [`Throttle::MAX_FAILURES`] more guesses for it; that costs them ten thousand
//!   requests (each paying an argon2 verification) per five guesses, and keeps memory at
//!   about a megabyte whatever they send.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// One login name's record: failures in the window that began at `since`, and the attempts
/// reserved but not yet settled.
#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    in_flight: u32,
    since: Instant,
}

impl Entry {
    fn fresh(now: Instant) -> Entry {
        Entry { failures: 0, in_flight: 0, since: now }
    }

    fn expired(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.since) >= Throttle::WINDOW
    }

    fn locked(&self) -> bool {
        self.failures >= Throttle::MAX_FAILURES
    }
}

/// Failures by lower-cased login name.
pub struct Throttle {
    failures: Mutex<HashMap<String, Entry>>,
    capacity: usize,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::with_capacity(Throttle::CAPACITY)
    }
}

/// A reserved login attempt: settle it with [`Attempt::succeed`], [`Attempt::fail`] or
/// [`Attempt::release`]. Dropped unsettled (the request was cancelled mid-check) it counts
/// as a failure, so cancelling cannot be used to guess for free.
#[must_use = "an attempt counts as a failure unless settled"]
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    key: String,
    settled: bool,
}

enum Outcome {
    Success,
    Failure,
    Released,
}

impl Throttle {
    pub const MAX_FAILURES: u32 = 5;
    pub const WINDOW: Duration = Duration::from_secs(300);
    /// How many login names are remembered at most.
    pub const CAPACITY: usize = 10_000;

    /// A throttle remembering at most `capacity` names (at least one).
    pub fn with_capacity(capacity: usize) -> Throttle {
        Throttle { failures: Mutex::new(HashMap::new()), capacity: capacity.max(1) }
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves an attempt for `login` before its password is checked; `Err(seconds to
    /// wait)` when the failures plus the attempts in flight already reach the limit.
    pub fn begin(&self, login: &str) -> Result<Attempt<'_>, u64> {
        self.begin_at(login, Instant::now())
    }

    fn begin_at(&self, login: &str, now: Instant) -> Result<Attempt<'_>, u64> {
        let key = login.to_lowercase();
        let mut map = self.map();
        if !map.contains_key(&key) && map.len() >= self.capacity {
            evict(&mut map, self.capacity, now);
        }
        let e = map.entry(key.clone()).or_insert_with(|| Entry::fresh(now));
        if e.expired(now) {
            *e = Entry { in_flight: e.in_flight, ..Entry::fresh(now) };
        }
        if e.failures.saturating_add(e.in_flight) >= Self::MAX_FAILURES {
            let left = Self::WINDOW.saturating_sub(now.saturating_duration_since(e.since));
            return Err(left.as_secs().max(1));
        }
        e.in_flight = e.in_flight.saturating_add(1);
        Ok(Attempt { throttle: self, key, settled: false })
    }

    fn settle(&self, key: &str, outcome: Outcome) {
        let now = Instant::now();
        let mut map = self.map();
        let Some(e) = map.get_mut(key) else {
            // Evicted while in flight: only a failure is worth remembering.
            if matches!(outcome, Outcome::Failure) {
                if map.len() >= self.capacity {
                    evict(&mut map, self.capacity, now);
                }
                map.insert(key.to_owned(), Entry { failures: 1, ..Entry::fresh(now) });
            }
            return;
        };
        e.in_flight = e.in_flight.saturating_sub(1);
        match outcome {
            Outcome::Success => e.failures = 0,
            Outcome::Failure if e.expired(now) => *e = Entry { failures: 1, in_flight: e.in_flight, since: now },
            Outcome::Failure => e.failures = e.failures.saturating_add(1),
            Outcome::Released => {}
        }
        if e.failures == 0 && e.in_flight == 0 {
            map.remove(key);
        }
    }

    /// How many names are remembered (for tests and metrics).
    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Makes room in a full map: see the module documentation for the order.
fn evict(map: &mut HashMap<String, Entry>, capacity: usize, now: Instant) {
    map.retain(|_, e| e.in_flight > 0 || !e.expired(now));
    let target = capacity - capacity / 10 - 1;
    if map.len() <= target {
        return;
    }
    let mut order: Vec<(bool, bool, Instant, &String)> =
        map.iter().map(|(k, e)| (e.in_flight > 0, e.locked(), e.since, k)).collect();
    order.sort_unstable();
    let doomed: Vec<String> = order[..map.len() - target].iter().map(|(.., k)| (*k).clone()).collect();
    for k in doomed {
        map.remove(&k);
    }
}

impl Attempt<'_> {
    /// The password was right: the name's failures are forgotten.
    pub fn succeed(mut self) {
        self.settled = true;
        self.throttle.settle(&self.key, Outcome::Success);
    }

    /// The password was wrong: one more failure.
    pub fn fail(mut self) {
        self.settled = true;
        self.throttle.settle(&self.key, Outcome::Failure);
    }

    /// The check could not be made (the store failed): the attempt does not count.
    pub fn release(mut self) {
        self.settled = true;
        self.throttle.settle(&self.key, Outcome::Released);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.throttle.settle(&self.key, Outcome::Failure);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};

    use super::*;

    #[test]
    fn locks_a_name_after_the_failures_until_a_success() {
        let t = Throttle::default();
        for _ in 0..Throttle::MAX_FAILURES {
            t.begin("Ada").expect("not locked yet").fail();
        }
        let wait = t.begin("ada").err().expect("locked, whatever the case");
        assert!((1..=Throttle::WINDOW.as_secs()).contains(&wait), "{wait}");
        t.begin("someone-else").expect("another name").fail();
        // A success (the lock lifted some other way, as here by hand) forgets the failures.
        t.map().get_mut("ada").expect("entry").failures = Throttle::MAX_FAILURES - 1;
        t.begin("ADA").expect("one left").succeed();
        for _ in 0..Throttle::MAX_FAILURES {
            t.begin("Ada").expect("forgotten").fail();
        }
        assert!(t.begin("Ada").is_err());
    }

    #[test]
    fn a_released_attempt_does_not_count_and_an_abandoned_one_does() {
        let t = Throttle::default();
        for _ in 0..10 {
            t.begin("ada").expect("released attempts never lock").release();
        }
        assert!(t.is_empty(), "nothing to remember");
        for _ in 0..Throttle::MAX_FAILURES {
            drop(t.begin("ada").expect("not locked yet"));
        }
        assert!(t.begin("ada").is_err(), "a cancelled check counts as a failure");
    }

    /// The lockout ends exactly at the window's end, and the wait is computed from the one
    /// clock reading of the call: an attempt at any instant around the boundary answers
    /// (never panics), including a reading from before the window began.
    #[test]
    fn the_window_boundary_never_panics() {
        let t = Throttle::default();
        let start = Instant::now();
        for _ in 0..Throttle::MAX_FAILURES {
            t.begin_at("ada", start).expect("open").fail();
        }
        // `fail` stamps its own clock reading; pin the window start for the test.
        t.map().get_mut("ada").expect("entry").since = start;
        for nanos_before_end in [2_000_000_000u64, 1, 0] {
            let at = start + Throttle::WINDOW - Duration::from_nanos(nanos_before_end);
            match t.begin_at("ada", at) {
                Err(wait) => assert!((1..=2).contains(&wait), "{wait}"),
                Ok(_) => assert_eq!(nanos_before_end, 0, "open only once the window has passed"),
            }
        }
        // A reading taken before the window began (another thread's stale `now`).
        let mut t2 = Throttle::default();
        for _ in 0..Throttle::MAX_FAILURES {
            t2.begin("bob").expect("open").fail();
        }
        t2.failures.get_mut().expect("lock").get_mut("bob").expect("entry").since = start + Duration::from_secs(10);
        assert_eq!(t2.begin_at("bob", start).err(), Some(Throttle::WINDOW.as_secs()));
    }

    /// A panic on another thread while it held the lock does not make the throttle panic
    /// forever after (every login would answer 500 until a restart).
    #[test]
    fn a_poisoned_lock_is_recovered() {
        let t = Arc::new(Throttle::default());
        t.begin("ada").expect("open").fail();
        let t2 = Arc::clone(&t);
        let joined = std::thread::spawn(move || {
            let _guard = t2.failures.lock().expect("lock");
            panic!("a panic while holding the throttle's lock");
        })
        .join();
        assert!(joined.is_err());
        assert!(t.failures.is_poisoned());
        for _ in 1..Throttle::MAX_FAILURES {
            t.begin("ada").expect("still answering").fail();
        }
        assert!(t.begin("ada").is_err(), "and still counting");
    }

    /// Many guesses for one name at once: at most the limit reach the password check, the
    /// rest are refused before it.
    #[test]
    fn concurrent_guesses_cannot_all_pass() {
        const GUESSES: usize = 64;
        let t = Arc::new(Throttle::default());
        let start = Arc::new(Barrier::new(GUESSES));
        let checked = Arc::new(Barrier::new(GUESSES));
        let verified = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..GUESSES)
            .map(|_| {
                let (t, start, checked, verified) =
                    (Arc::clone(&t), Arc::clone(&start), Arc::clone(&checked), Arc::clone(&verified));
                std::thread::spawn(move || {
                    start.wait();
                    let attempt = t.begin("victim");
                    // Every guess has been let through or refused before any password is
                    // verified: the widest possible race.
                    checked.wait();
                    if let Ok(attempt) = attempt {
                        verified.fetch_add(1, Ordering::SeqCst);
                        attempt.fail();
                    }
                })
            })
            .collect();
        for th in threads {
            th.join().expect("guess");
        }
        assert_eq!(verified.load(Ordering::SeqCst), Throttle::MAX_FAILURES as usize);
        assert!(t.begin("victim").is_err(), "locked once they failed");
    }

    /// Random names do not grow the map past its capacity; the names in flight and locked
    /// ones are the last to go.
    #[test]
    fn the_map_is_bounded() {
        let t = Throttle::default();
        for _ in 0..Throttle::MAX_FAILURES {
            t.begin("victim").expect("open").fail();
        }
        let held = t.begin("in-flight").expect("open");
        for i in 0..3 * Throttle::CAPACITY {
            t.begin(&format!("random-{i}")).expect("fresh name").fail();
            assert!(t.len() <= Throttle::CAPACITY, "{} names after {i}", t.len());
        }
        assert!(t.map().contains_key("in-flight"), "an attempt in flight is not forgotten");
        // Only fresh (unlocked) names were added, so the lockout survived the flood.
        assert!(t.begin("victim").is_err(), "the lockout survived the flood");
        held.fail();

        let small = Throttle::with_capacity(10);
        for i in 0..100 {
            small.begin(&format!("n{i}")).expect("open").fail();
            assert!(small.len() <= 10);
        }
    }
}
