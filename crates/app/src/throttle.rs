//! The failed-login throttle: after [`Throttle::MAX_FAILURES`] failures for one login name
//! within [`Throttle::WINDOW`], further attempts are refused until the window passes.
//! In-process: on a multi-node PostgreSQL deployment each node throttles on its own
//! (documented). The logins of the `identity` use cases ask it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures by lower-cased login name, with the start of their window.
#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    pub const MAX_FAILURES: u32 = 5;
    pub const WINDOW: Duration = Duration::from_secs(300);

    /// `Err(seconds to wait)` when `login` is locked out.
    pub fn check(&self, login: &str) -> Result<(), u64> {
        let map = self.failures.lock().expect("throttle lock");
        match map.get(&login.to_lowercase()) {
            Some((n, since)) if *n >= Self::MAX_FAILURES && since.elapsed() < Self::WINDOW => {
                Err((Self::WINDOW - since.elapsed()).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    pub fn fail(&self, login: &str) {
        let mut map = self.failures.lock().expect("throttle lock");
        if map.len() > 100_000 {
            map.retain(|_, (_, since)| since.elapsed() < Self::WINDOW);
        }
        let e = map.entry(login.to_lowercase()).or_insert((0, Instant::now()));
        if e.1.elapsed() >= Self::WINDOW {
            *e = (0, Instant::now());
        }
        e.0 += 1;
    }

    pub fn succeed(&self, login: &str) {
        self.failures.lock().expect("throttle lock").remove(&login.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_a_name_after_the_failures_until_a_success() {
        let t = Throttle::default();
        for _ in 0..Throttle::MAX_FAILURES {
            assert_eq!(t.check("Ada"), Ok(()));
            t.fail("Ada");
        }
        let wait = t.check("ada").expect_err("locked, whatever the case");
        assert!((1..=Throttle::WINDOW.as_secs()).contains(&wait), "{wait}");
        assert_eq!(t.check("someone-else"), Ok(()));
        t.succeed("ADA");
        assert_eq!(t.check("Ada"), Ok(()));
    }
}
