//! The leader's replication throttle (Kafka's ReplicationQuotaManager, leader side): bytes
//! sent to followers of throttled replicas (`leader.replication.throttled.replicas`) are
//! held to `leader.replication.throttled.rate` bytes/s, so a reassignment's catch-up does
//! not starve clients. A token bucket holding at most one second of credit.

use std::sync::Mutex;
use std::time::Instant;

#[derive(Default)]
pub struct Throttle {
    state: Mutex<Option<(f64, Instant)>>,
}

impl Throttle {
    /// How many of `want` bytes may go now at `rate` bytes/s; they are taken.
    pub fn take(&self, rate: i64, want: usize) -> usize {
        if rate <= 0 || rate == i64::MAX {
            return want;
        }
        let rate = rate as f64;
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let (tokens, last) = s.get_or_insert((rate, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(rate);
        *last = now;
        let allowed = (*tokens).max(0.0).min(want as f64) as usize;
        *tokens -= allowed as f64;
        allowed
    }
}

/// Whether `partition`'s replica on `broker` is listed in a `*.replication.throttled.replicas`
/// value ("*" or "partition:broker,...").
pub fn is_throttled(list: &str, partition: i32, broker: i32) -> bool {
    let list = list.trim();
    list == "*" || list.split(',').any(|item| item.trim() == format!("{partition}:{broker}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_holds_a_second_and_the_list_matches_entries() {
        let t = Throttle::default();
        assert_eq!(t.take(1000, 600), 600);
        assert_eq!(t.take(1000, 600), 400, "only a second's worth of credit");
        assert_eq!(t.take(i64::MAX, 5), 5, "no throttle");
        assert!(is_throttled("0:1, 1:2", 1, 2) && is_throttled("*", 9, 9) && !is_throttled("0:1", 0, 2) && !is_throttled("", 0, 1));
    }
}
