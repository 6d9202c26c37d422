use super::*;

fn message_v1(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut m = BytesMut::new();
    m.put_u32(0);
    m.put_i8(1);
    m.put_i8(0);
    m.put_i64(1234);
    m.put_i32(key.len() as i32);
    m.put_slice(key);
    m.put_i32(value.len() as i32);
    m.put_slice(value);
    let crc = crc32fast::hash(&m[4..]);
    m[..4].copy_from_slice(&crc.to_be_bytes());
    let mut e = BytesMut::new();
    e.put_i64(0);
    e.put_i32(m.len() as i32);
    e.put_slice(&m);
    e.to_vec()
}

fn produce_body(sets: &[(i32, Vec<u8>)]) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(-1);
    b.put_i32(5000);
    b.put_i32(1);
    put_str(&mut b, "t");
    b.put_i32(sets.len() as i32);
    for (p, set) in sets {
        b.put_i32(*p);
        b.put_i32(set.len() as i32);
        b.put_slice(set);
    }
    b.freeze()
}

#[test]
fn produce_v0_up_converts_each_partition_and_keeps_the_refused_ones_apart() {
    let mut bad = message_v1(b"k", b"v");
    *bad.last_mut().unwrap() ^= 0xff;
    let (req, refused) = produce_request(produce_body(&[(0, message_v1(b"k", b"v")), (1, bad)])).unwrap();
    assert_eq!(req.acks, -1);
    let parts = &req.topic_data[0].partition_data;
    assert_eq!(parts.len(), 1);
    let h = crate::broker::log::batch::validate(parts[0].records.as_ref().unwrap()).unwrap();
    assert_eq!((h.record_count, h.max_timestamp), (1, 1234));
    assert_eq!(refused, vec![("t".to_string(), 1, kafka_protocol::error::ResponseError::CorruptMessage.code())]);
    // The refused partition is answered next to the others.
    let resp = ProduceResponse::default().with_responses(vec![
        TopicProduceResponse::default()
            .with_name(TopicName(sb("t")))
            .with_partition_responses(vec![PartitionProduceResponse::default().with_index(0).with_base_offset(7)]),
    ]);
    let Frame::Plain(f) = produce_response(9, resp, refused, 2) else { panic!("plain frame") };
    let mut b = f.freeze();
    assert_eq!(b.get_i32() as usize, b.remaining());
    assert_eq!(b.get_i32(), 9); // correlation id
    assert_eq!(b.get_i32(), 1);
    assert_eq!(string(&mut b).unwrap().as_str(), "t");
    assert_eq!(b.get_i32(), 2);
    assert_eq!((b.get_i32(), b.get_i16(), b.get_i64(), b.get_i64()), (0, 0, 7, -1));
    assert_eq!((b.get_i32(), b.get_i16(), b.get_i64(), b.get_i64()), (1, 2, -1, -1));
    assert_eq!(b.get_i32(), 0); // throttle (v1+)
    assert!(!b.has_remaining());
}

#[test]
fn malformed_old_requests_are_refused_before_allocating() {
    // An array count far beyond the bytes left.
    let mut b = BytesMut::new();
    b.put_i16(1);
    b.put_i32(100);
    b.put_i32(i32::MAX);
    assert!(produce_request(b.freeze()).is_err());
    // Trailing bytes, a truncated field, a negative string length that is not -1.
    let mut f = BytesMut::new();
    f.put_i32(-1);
    f.put_i32(100);
    f.put_i32(1);
    f.put_i32(0);
    assert!(fetch_request(f.clone().freeze(), 2).is_ok());
    f.put_u8(0);
    assert!(fetch_request(f.freeze(), 2).is_err());
    assert!(offset_commit_request(Bytes::from_static(&[0, 1]), 1).is_err());
    assert!(offset_commit_request(Bytes::from_static(&[0xff, 0xfe, 0, 0, 0, 0]), 0).is_err());
    for v in [0, 1, 2, 3] {
        assert!(decode_only(ApiKey::Fetch, Bytes::from_static(&[0; 5]), v).is_err());
    }
}

#[test]
fn old_admin_requests_decode_as_the_newer_layout() {
    // CreateTopics v0: topics[name, partitions, rf, assignments[], configs[]], timeout.
    let mut b = BytesMut::new();
    b.put_i32(1);
    put_str(&mut b, "new");
    b.put_i32(3);
    b.put_i16(1);
    b.put_i32(0);
    b.put_i32(0);
    b.put_i32(30000);
    let (req, _): (CreateTopicsRequest, i16) = as_newer(b.clone().freeze(), ApiKey::CreateTopics, 0).unwrap();
    assert_eq!((req.topics[0].name.0.as_str(), req.topics[0].num_partitions, req.validate_only), ("new", 3, false));
    // v1 carries validate_only itself.
    b.put_u8(1);
    let (req, _): (CreateTopicsRequest, i16) = as_newer(b.freeze(), ApiKey::CreateTopics, 1).unwrap();
    assert!(req.validate_only);
    // DescribeConfigs v0: resources[type, name, keys], no include_synonyms.
    let mut d = BytesMut::new();
    d.put_i32(1);
    d.put_i8(2);
    put_str(&mut d, "t");
    d.put_i32(-1);
    let (req, _): (DescribeConfigsRequest, i16) = as_newer(d.freeze(), ApiKey::DescribeConfigs, 0).unwrap();
    assert_eq!((req.resources[0].resource_type, req.include_synonyms), (2, false));
}

#[test]
fn list_offsets_v0_answers_one_offset_when_asked_for_any() {
    let mut b = BytesMut::new();
    b.put_i32(-1);
    b.put_i32(1);
    put_str(&mut b, "t");
    b.put_i32(2);
    for (p, ts, max) in [(0, -1i64, 1), (1, -2, 0)] {
        b.put_i32(p);
        b.put_i64(ts);
        b.put_i32(max);
    }
    let (req, max) = list_offsets_request(b.freeze()).unwrap();
    assert_eq!(max, vec![1, 0]);
    assert_eq!(req.topics[0].partitions[1].timestamp, -2);
    let resp = ListOffsetsResponse::default().with_topics(vec![
        list_offsets_response::ListOffsetsTopicResponse::default().with_name(TopicName(sb("t"))).with_partitions(vec![
            list_offsets_response::ListOffsetsPartitionResponse::default().with_partition_index(0).with_offset(42),
            list_offsets_response::ListOffsetsPartitionResponse::default().with_partition_index(1).with_offset(3),
        ]),
    ]);
    let Frame::Plain(f) = list_offsets_response(1, &resp, &max) else { panic!("plain frame") };
    let mut b = f.freeze().slice(8..);
    assert_eq!(b.get_i32(), 1);
    string(&mut b).unwrap();
    assert_eq!(b.get_i32(), 2);
    assert_eq!((b.get_i32(), b.get_i16(), b.get_i32(), b.get_i64()), (0, 0, 1, 42));
    assert_eq!((b.get_i32(), b.get_i16(), b.get_i32()), (1, 0, 0));
    assert!(!b.has_remaining());
}

#[test]
fn old_acl_and_epoch_requests_decode_with_literal_patterns() {
    // DescribeAcls v0: type, name, principal, host, operation, permission.
    let mut b = BytesMut::new();
    b.put_i8(2);
    put_str(&mut b, "t");
    put_str(&mut b, "User:a");
    b.put_i16(-1);
    b.put_i8(1);
    b.put_i8(1);
    let req = admin::describe_acls_request(b.clone().freeze()).unwrap();
    assert_eq!((req.pattern_type_filter, req.host_filter.clone()), (3, None));
    b.put_u8(0);
    assert!(admin::describe_acls_request(b.freeze()).is_err(), "trailing bytes");
    // DeleteAcls v0 with an array count the bytes cannot hold.
    let mut d = BytesMut::new();
    d.put_i32(1000);
    assert!(admin::delete_acls_request(d.freeze()).is_err());
    // OffsetForLeaderEpoch v0/v1: topics[name, partitions[partition, epoch]].
    let mut e = BytesMut::new();
    e.put_i32(1);
    put_str(&mut e, "t");
    e.put_i32(1);
    e.put_i32(4);
    e.put_i32(7);
    let req = admin::offset_for_leader_epoch_request(e.freeze()).unwrap();
    let p = &req.topics[0].partitions[0];
    assert_eq!((p.partition, p.leader_epoch, p.current_leader_epoch), (4, 7, -1));
}
