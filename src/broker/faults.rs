//! Fault injection for tests and the chaos suite: `RK_FAULTS=name=value,...` in the
//! broker's environment turns on named delays at points where ordering or timing matters
//! (e.g. `metadata.publish.jitter.ms=5` delays each metadata publication by 0..5 ms;
//! `log.write.jitter.ms` and `log.flush.jitter.ms` make every log write / fsync a slow
//! disk's).
//! Unset, every check is one relaxed load of a lazily parsed, empty table.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

fn table() -> &'static HashMap<String, u64> {
    static T: OnceLock<HashMap<String, u64>> = OnceLock::new();
    T.get_or_init(|| {
        std::env::var("RK_FAULTS")
            .unwrap_or_default()
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .filter_map(|(k, v)| Some((k.trim().to_string(), v.trim().parse().ok()?)))
            .collect()
    })
}

/// The configured value of a fault, if it is on.
pub fn value(name: &str) -> Option<u64> {
    table().get(name).copied()
}

/// Sleeps a random 0..=N ms when the jitter fault `name` is set to N.
pub fn jitter(name: &str) {
    if let Some(max) = value(name).filter(|m| *m > 0) {
        std::thread::sleep(Duration::from_micros(rand::random_range(0..=max * 1000)));
    }
}
