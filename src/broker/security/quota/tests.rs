//! Unit tests of quota resolution (Kafka's eight-level precedence) and the rate and
//! throttle arithmetic.

use super::*;

fn name(s: &str) -> Side {
    Side::Name(s.to_string())
}

/// Every level configured, each with a distinct bound, then removed one by one from the
/// most specific: each step must fall to the next level in Kafka's documented order.
#[test]
fn precedence_follows_kafka_order() {
    let levels: Vec<((Side, Side), f64, Tags)> = vec![
        ((name("alice"), name("app")), 1.0, ("alice".into(), "app".into())),
        ((name("alice"), Side::Default), 2.0, ("alice".into(), "app".into())),
        ((name("alice"), Side::Absent), 3.0, ("alice".into(), "".into())),
        ((Side::Default, name("app")), 4.0, ("alice".into(), "app".into())),
        ((Side::Default, Side::Default), 5.0, ("alice".into(), "app".into())),
        ((Side::Default, Side::Absent), 6.0, ("alice".into(), "".into())),
        ((Side::Absent, name("app")), 7.0, ("".into(), "app".into())),
        ((Side::Absent, Side::Default), 8.0, ("".into(), "app".into())),
    ];
    let mut quotas: QuotaMap = levels.iter().map(|(k, v, _)| (k.clone(), *v)).collect();
    for (key, bound, tags) in &levels {
        assert_eq!(resolve(&quotas, "alice", "app"), Some((tags.clone(), *bound)), "level {bound}");
        quotas.remove(key);
    }
    assert_eq!(resolve(&quotas, "alice", "app"), None);
}

#[test]
fn other_clients_do_not_match_named_entities() {
    let mut quotas = QuotaMap::new();
    quotas.insert((name("alice"), Side::Absent), 10.0);
    quotas.insert((Side::Absent, name("app")), 20.0);
    assert_eq!(resolve(&quotas, "bob", "other"), None);
    assert_eq!(resolve(&quotas, "bob", "app"), Some((("".into(), "app".into()), 20.0)));
    // A user quota wins over a client-id quota.
    assert_eq!(resolve(&quotas, "alice", "app"), Some((("alice".into(), "".into()), 10.0)));
}

#[test]
fn throttle_time_is_excess_over_quota_times_window() {
    // Kafka's QuotaUtils.throttleTime: (observed - quota) / quota * window.
    assert_eq!(throttle_time(1500.0, 1000.0, 10_000), 5_000);
    assert_eq!(throttle_time(1000.0, 1000.0, 10_000), 0);
    assert_eq!(throttle_time(900.0, 1000.0, 10_000), 0);
    assert_eq!(throttle_time(2000.0, 1000.0, 3_000), 3_000);
}

#[test]
fn young_rate_is_measured_over_samples_minus_one_windows() {
    let w = Window { samples: 11, window_ms: 1000 };
    let mut r = Rate::default();
    r.record(w, 10_000.0, 0);
    // One sample just started: the window counts as 10 full windows.
    assert_eq!(r.window_size(w, 0), 10_000);
    assert!((r.measure(w, 0) - 1000.0).abs() < 1e-9);
    // 25 s later with steady recording, the span is the retained samples' age.
    let mut r = Rate::default();
    for t in 0..=25_000 {
        if t % 100 == 0 {
            r.record(w, 100.0, t);
        }
    }
    let rate = r.measure(w, 25_000);
    assert!((rate - 1000.0).abs() < 60.0, "steady 1000/s measured as {rate}");
    assert!(r.window_size(w, 25_000) <= 12_000);
}

#[test]
fn idle_samples_expire() {
    let w = Window { samples: 2, window_ms: 1000 };
    let mut r = Rate::default();
    r.record(w, 5000.0, 0);
    assert!(r.measure(w, 500) > 0.0);
    assert_eq!(r.measure(w, 10_000), 0.0);
}

#[test]
fn manager_throttles_over_quota_and_not_under() {
    let m = ClientQuotaManager::new(Window { samples: 11, window_ms: 1000 }, Window { samples: 11, window_ms: 1000 });
    assert!(!m.enabled(QuotaType::Produce));
    assert_eq!(m.record(QuotaType::Produce, "u", "c", 1e9, 0), 0, "no quota: never throttled");
    let mut img = MetadataImage::default();
    img.client_quotas.insert(vec![("client-id".into(), None)], [("producer_byte_rate".to_string(), 1000.0)].into());
    m.update(&img);
    assert!(m.enabled(QuotaType::Produce) && !m.enabled(QuotaType::Fetch));
    // 10 windows * 1000 B/s may be taken at once; beyond that the client is throttled.
    assert_eq!(m.record(QuotaType::Produce, "u", "c", 10_000.0, 0), 0);
    let t = m.record(QuotaType::Produce, "u", "c", 5_000.0, 0);
    assert_eq!(t, 5_000, "(1500 - 1000) / 1000 * 10 s");
    // Another client id has its own sensor under the default client-id quota.
    assert_eq!(m.record(QuotaType::Produce, "u", "other", 10_000.0, 0), 0);
    m.unrecord(QuotaType::Produce, "u", "c", 5_000.0, 0);
    assert_eq!(m.record(QuotaType::Produce, "u", "c", 0.0, 0), 0);
    assert_eq!(m.max_value_in_window(QuotaType::Produce, "u", "c"), Some(10_000.0));
}

#[test]
fn request_throttle_is_bounded_by_one_window() {
    let m = ClientQuotaManager::new(Window { samples: 11, window_ms: 1000 }, Window { samples: 11, window_ms: 1000 });
    let mut img = MetadataImage::default();
    img.client_quotas.insert(vec![("user".into(), None)], [("request_percentage".to_string(), 1.0)].into());
    m.update(&img);
    assert_eq!(m.record(QuotaType::Request, "u", "c", 1000.0, 0), 1000);
}

#[test]
fn strict_mutation_quota_refuses_once_the_bucket_is_empty() {
    let w = Window { samples: 2, window_ms: 1000 };
    let m = ClientQuotaManager::new(w, w);
    let mut img = MetadataImage::default();
    img.client_quotas.insert(vec![("user".into(), Some("u".into()))], [("controller_mutation_rate".to_string(), 2.0)].into());
    m.update(&img);
    let now = 1_000_000;
    // Burst: 2 samples * 1 s * 2/s = 4 tokens. 10 permits go through (tokens were >= 0)...
    assert_eq!(m.mutation("u", "c", 10.0, true, now), Mutation::Allowed(3000));
    // ...and the bucket is at -6 now: strict refuses, permissive takes and throttles.
    assert_eq!(m.mutation("u", "c", 1.0, true, now), Mutation::Refused(3000));
    assert_eq!(m.mutation("u", "c", 1.0, false, now), Mutation::Allowed(3500));
    // Refilled after 3.5 s.
    assert_eq!(m.mutation("u", "c", 1.0, true, now + 3500), Mutation::Allowed(500));
    assert_eq!(m.mutation("other", "c", 1.0, true, now), Mutation::Allowed(0), "no quota for other users");
}

#[test]
fn bucket_throttle_arithmetic() {
    assert_eq!(bucket_throttle_time(-6.0, 2.0), 3000);
    assert_eq!(bucket_throttle_time(0.0, 2.0), 0);
}
