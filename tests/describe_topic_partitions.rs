//! The newer describe APIs on the real broker: DescribeTopicPartitions (KIP-966: name order,
//! the partition limit and the cursor to continue from, unknown topics, an invalid cursor)
//! and ListConfigResources (KIP-1142).

mod common;

use common::{TestBroker, create_topic, sb};
use kafka_protocol::messages::describe_topic_partitions_request::{Cursor, TopicRequest};
use kafka_protocol::messages::*;

fn names(r: &DescribeTopicPartitionsResponse) -> Vec<(String, Vec<i32>, i16)> {
    r.topics
        .iter()
        .map(|t| {
            (
                t.name.as_ref().map(|n| n.to_string()).unwrap_or_default(),
                t.partitions.iter().map(|p| p.partition_index).collect(),
                t.error_code,
            )
        })
        .collect()
}

#[tokio::test]
async fn pages_through_topics_with_a_cursor() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    for (t, n) in [("dtp-a", 3), ("dtp-b", 2), ("dtp-c", 1)] {
        assert_eq!(create_topic(&mut c, t, n, &[]).await, 0);
    }
    let ask = |topics: &[&str], limit: i32, cursor: Option<(&str, i32)>| {
        DescribeTopicPartitionsRequest::default()
            .with_topics(topics.iter().map(|t| TopicRequest::default().with_name(TopicName(sb(t)))).collect())
            .with_response_partition_limit(limit)
            .with_cursor(cursor.map(|(t, p)| Cursor::default().with_topic_name(TopicName(sb(t))).with_partition_index(p)))
    };
    let first = c.send(&ask(&["dtp-c", "dtp-a", "dtp-b"], 4, None)).await.unwrap();
    assert_eq!(names(&first), vec![("dtp-a".into(), vec![0, 1, 2], 0), ("dtp-b".into(), vec![0], 0)]);
    let next = first.next_cursor.expect("a cursor: partitions remain");
    assert_eq!((next.topic_name.as_str(), next.partition_index), ("dtp-b", 1));
    let second = c.send(&ask(&["dtp-c", "dtp-a", "dtp-b"], 4, Some(("dtp-b", 1)))).await.unwrap();
    assert_eq!(names(&second), vec![("dtp-b".into(), vec![1], 0), ("dtp-c".into(), vec![0], 0)]);
    assert!(second.next_cursor.is_none());
    // All topics (an empty list), limited to one partition: the cursor names the next one.
    let all = c.send(&ask(&[], 1, None)).await.unwrap();
    assert_eq!(all.topics.len(), 1);
    assert!(all.next_cursor.is_some());
    // Unknown topics answer UNKNOWN_TOPIC_OR_PARTITION; a cursor outside the list is invalid.
    let unknown = c.send(&ask(&["nope"], 10, None)).await.unwrap();
    assert_eq!(names(&unknown), vec![("nope".into(), vec![], 3)]);
    let invalid = c.send(&ask(&["dtp-a"], 10, Some(("dtp-z", 0)))).await.unwrap();
    assert_eq!(invalid.topics[0].error_code, 42, "INVALID_REQUEST");
}

#[tokio::test]
async fn list_config_resources_names_topics_and_brokers() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    assert_eq!(create_topic(&mut c, "lcr-t", 1, &[]).await, 0);
    let all = c.send(&ListConfigResourcesRequest::default()).await.unwrap();
    assert_eq!(all.error_code, 0);
    let got: Vec<(String, i8)> = all.config_resources.iter().map(|r| (r.resource_name.to_string(), r.resource_type)).collect();
    assert!(got.contains(&("lcr-t".into(), 2)), "{got:?}");
    assert!(got.contains(&("1".into(), 4)), "the broker: {got:?}");
    let topics_only = c.send(&ListConfigResourcesRequest::default().with_resource_types(vec![2])).await.unwrap();
    assert!(topics_only.config_resources.iter().all(|r| r.resource_type == 2));
    let bad = c.send(&ListConfigResourcesRequest::default().with_resource_types(vec![99])).await.unwrap();
    assert_eq!(bad.error_code, 35, "UNSUPPORTED_VERSION for an unknown resource type");
}
