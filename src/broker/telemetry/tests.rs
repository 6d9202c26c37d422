//! ClientMetricsManager: Kafka's request checks and the receiver's rendering.

use super::*;

fn image(subs: &[(&str, &str, &str)]) -> MetadataImage {
    let mut img = MetadataImage::default();
    for (s, k, v) in subs {
        img.client_metrics.insert((s.to_string(), k.to_string()), v.to_string());
    }
    img
}

fn java() -> ClientInfo {
    ClientInfo {
        client_id: "app-1".into(),
        software_name: "apache-kafka-java".into(),
        software_version: "4.1.0".into(),
        ..Default::default()
    }
}

fn req(instance_id: Uuid, subscription_id: i32, terminating: bool, compression: i8, payload: &[u8]) -> Push<'_> {
    Push { instance_id, subscription_id, terminating, compression, payload }
}

/// An empty, uncompressed push.
fn push_as(m: &ClientMetricsManager, img: &MetadataImage, id: Uuid, sub: i32) -> Result<(), Refusal> {
    m.push(img, req(id, sub, false, 0, b""), java())
}

#[test]
fn without_a_subscription_a_client_gets_no_metrics_and_the_default_interval() {
    let m = ClientMetricsManager::new(1 << 20);
    let a = m.get_subscriptions(&image(&[]), Uuid::nil(), java()).unwrap();
    assert!(!a.instance_id.is_nil());
    assert!(a.metrics.is_empty());
    assert_eq!(a.interval_ms, subscription::DEFAULT_INTERVAL_MS);
    // Asking again at once is throttled, as in Kafka.
    let again = m.get_subscriptions(&image(&[]), a.instance_id, java()).unwrap_err();
    assert_eq!(again.0, E::ThrottlingQuotaExceeded.code());
}

#[test]
fn a_changed_subscription_is_answered_at_once_and_matching_is_per_client() {
    let m = ClientMetricsManager::new(1 << 20);
    let a = m.get_subscriptions(&image(&[]), Uuid::nil(), java()).unwrap();
    let img = image(&[
        ("java", "metrics", "org.apache.kafka.producer."),
        ("java", "interval.ms", "1000"),
        ("java", "match", "client_software_name=apache-kafka-java"),
        ("rdkafka", "metrics", "*"),
        ("rdkafka", "match", "client_software_name=librdkafka"),
    ]);
    let b = m.get_subscriptions(&img, a.instance_id, java()).unwrap();
    assert_eq!(b.metrics, vec!["org.apache.kafka.producer."]);
    assert_eq!(b.interval_ms, 1000);
    assert_ne!(a.subscription_id, b.subscription_id);
    let rd = ClientInfo { software_name: "librdkafka".into(), ..java() };
    let c = m.get_subscriptions(&img, Uuid::nil(), rd).unwrap();
    assert_eq!(c.metrics, vec!["*"]);
    assert_eq!(c.interval_ms, subscription::DEFAULT_INTERVAL_MS);
}

#[test]
fn pushes_are_checked_in_kafkas_order() {
    let img = image(&[("all", "metrics", "*"), ("all", "interval.ms", "100")]);
    let m = ClientMetricsManager::new(64);
    let a = m.get_subscriptions(&img, Uuid::nil(), java()).unwrap();
    let push = |sub: i32, term: bool, comp: i8, payload: &[u8]| m.push(&img, req(a.instance_id, sub, term, comp, payload), java());
    assert_eq!(push_as(&m, &img, Uuid::nil(), a.subscription_id).unwrap_err().0, E::InvalidRequest.code());
    // Wrong subscription id: refused, and the client may ask again at once.
    assert_eq!(push(a.subscription_id ^ 1, false, 0, b"").unwrap_err().0, E::UnknownSubscriptionId.code());
    let a2 = m.get_subscriptions(&img, a.instance_id, java()).unwrap();
    assert_eq!(a2.subscription_id, a.subscription_id);
    push(a.subscription_id, false, 0, b"").unwrap();
    assert_eq!(push(a.subscription_id, false, 0, b"").unwrap_err().0, E::ThrottlingQuotaExceeded.code(), "too early");
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(push(a.subscription_id, false, 9, b"").unwrap_err().0, E::UnsupportedCompressionType.code());
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(push(a.subscription_id, false, 0, &[0u8; 65]).unwrap_err().0, E::TelemetryTooLarge.code());
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(push(a.subscription_id, false, 0, &[0x0a, 0x05, 0x12]).unwrap_err().0, E::InvalidRecord.code());
    // A terminating push is accepted early; nothing is accepted after it.
    push(a.subscription_id, true, 0, b"").unwrap();
    assert_eq!(push(a.subscription_id, false, 0, b"").unwrap_err().0, E::InvalidRequest.code());
}

#[test]
fn the_subscription_id_is_the_same_on_every_broker() {
    let img = image(&[("all", "metrics", "*")]);
    let a = ClientMetricsManager::new(1 << 20).get_subscriptions(&img, Uuid::nil(), java()).unwrap();
    let other = ClientMetricsManager::new(1 << 20);
    push_as(&other, &img, a.instance_id, a.subscription_id).unwrap();
}

#[test]
fn pushed_metrics_render_with_client_labels_and_deltas_accumulate() {
    let img = image(&[("all", "metrics", "*"), ("all", "interval.ms", "100")]);
    let m = ClientMetricsManager::new(1 << 20);
    let a = m.get_subscriptions(&img, Uuid::nil(), java()).unwrap();
    let payload = otlp::sample(&[
        ("org.apache.kafka.producer.record.queue.time.avg", false, 2.5),
        ("org.apache.kafka.producer.record.send.total", true, 3.0),
    ]);
    m.push(&img, req(a.instance_id, a.subscription_id, false, 0, &payload), java()).unwrap();
    std::thread::sleep(Duration::from_millis(120));
    let zstd = zstd::encode_all(&payload[..], 3).unwrap();
    m.push(&img, req(a.instance_id, a.subscription_id, false, 4, &zstd), java()).unwrap();
    let text = m.render();
    let id = crate::client::admin_quorum::kafka_uuid(&a.instance_id);
    assert!(text.contains("# TYPE org_apache_kafka_producer_record_send counter"), "{text}");
    let labels = format!(
        "{{client_instance_id=\"{id}\",client_id=\"app-1\",client_software_name=\"apache-kafka-java\",client_software_version=\"4.1.0\",node_id=\"1\"}}"
    );
    assert!(text.contains(&format!("org_apache_kafka_producer_record_send_total{labels} 6")), "{text}");
    assert!(text.contains(&format!("org_apache_kafka_producer_record_queue_time_avg{labels} 2.5")), "{text}");
    assert!(text.contains("rk_client_telemetry_instances 1"), "{text}");
}
