//! The old admin layouts: the ACL APIs v0 (before prefixed patterns, KIP-290: every
//! pattern is LITERAL), OffsetForLeaderEpoch v0–1 and DescribeConfigs v0's answer.

use super::{array, end, i8_, i32_, nullable_string, put_array, put_nullable_str, put_str, response, string};
use crate::broker::network::frame::Frame;
use bytes::{BufMut, Bytes};
use kafka_protocol::messages::*;

/// PatternType.LITERAL: what a v0 ACL request means.
const LITERAL: i8 = 3;

/// DescribeAcls v0: the v1 filter without its pattern type.
pub(super) fn describe_acls_request(mut b: Bytes) -> anyhow::Result<DescribeAclsRequest> {
    let r = DescribeAclsRequest::default()
        .with_resource_type_filter(i8_(&mut b)?)
        .with_resource_name_filter(nullable_string(&mut b)?)
        .with_pattern_type_filter(LITERAL)
        .with_principal_filter(nullable_string(&mut b)?)
        .with_host_filter(nullable_string(&mut b)?)
        .with_operation(i8_(&mut b)?)
        .with_permission_type(i8_(&mut b)?);
    end(&b)?;
    Ok(r)
}

pub(super) fn describe_acls_response(id: i32, r: &DescribeAclsResponse) -> Frame {
    response(id, |o| {
        o.put_i32(r.throttle_time_ms);
        o.put_i16(r.error_code);
        put_nullable_str(o, r.error_message.as_deref());
        // v0 cannot express other pattern types (Kafka leaves them out too).
        let literal: Vec<_> = r.resources.iter().filter(|x| x.pattern_type == LITERAL).collect();
        put_array(o, &literal, |o, res| {
            o.put_i8(res.resource_type);
            put_str(o, &res.resource_name);
            put_array(o, &res.acls, |o, a| {
                put_str(o, &a.principal);
                put_str(o, &a.host);
                o.put_i8(a.operation);
                o.put_i8(a.permission_type);
            });
        });
    })
}

/// CreateAcls v0: creations without the pattern type (LITERAL).
pub(super) fn create_acls_request(mut b: Bytes) -> anyhow::Result<CreateAclsRequest> {
    let creations = array(&mut b, 11, |b| {
        Ok(create_acls_request::AclCreation::default()
            .with_resource_type(i8_(b)?)
            .with_resource_name(string(b)?)
            .with_resource_pattern_type(LITERAL)
            .with_principal(string(b)?)
            .with_host(string(b)?)
            .with_operation(i8_(b)?)
            .with_permission_type(i8_(b)?))
    })?;
    end(&b)?;
    Ok(CreateAclsRequest::default().with_creations(creations))
}

/// DeleteAcls v0: filters without the pattern type (LITERAL).
pub(super) fn delete_acls_request(mut b: Bytes) -> anyhow::Result<DeleteAclsRequest> {
    let filters = array(&mut b, 11, |b| {
        Ok(delete_acls_request::DeleteAclsFilter::default()
            .with_resource_type_filter(i8_(b)?)
            .with_resource_name_filter(nullable_string(b)?)
            .with_pattern_type_filter(LITERAL)
            .with_principal_filter(nullable_string(b)?)
            .with_host_filter(nullable_string(b)?)
            .with_operation(i8_(b)?)
            .with_permission_type(i8_(b)?))
    })?;
    end(&b)?;
    Ok(DeleteAclsRequest::default().with_filters(filters))
}

pub(super) fn delete_acls_response(id: i32, r: &DeleteAclsResponse) -> Frame {
    response(id, |o| {
        o.put_i32(r.throttle_time_ms);
        put_array(o, &r.filter_results, |o, f| {
            o.put_i16(f.error_code);
            put_nullable_str(o, f.error_message.as_deref());
            put_array(o, &f.matching_acls, |o, m| {
                o.put_i16(m.error_code);
                put_nullable_str(o, m.error_message.as_deref());
                o.put_i8(m.resource_type);
                put_str(o, &m.resource_name);
                put_str(o, &m.principal);
                put_str(o, &m.host);
                o.put_i8(m.operation);
                o.put_i8(m.permission_type);
            });
        });
    })
}

/// OffsetForLeaderEpoch v0–1 (same request): topics[topic, partitions[partition, epoch]],
/// asked as a consumer (no current leader epoch to check).
pub(super) fn offset_for_leader_epoch_request(mut b: Bytes) -> anyhow::Result<OffsetForLeaderEpochRequest> {
    use offset_for_leader_epoch_request::{OffsetForLeaderPartition, OffsetForLeaderTopic};
    let topics = array(&mut b, 6, |b| {
        let topic = TopicName(string(b)?);
        let partitions = array(b, 8, |b| {
            Ok(OffsetForLeaderPartition::default().with_partition(i32_(b)?).with_leader_epoch(i32_(b)?).with_current_leader_epoch(-1))
        })?;
        Ok(OffsetForLeaderTopic::default().with_topic(topic).with_partitions(partitions))
    })?;
    end(&b)?;
    Ok(OffsetForLeaderEpochRequest::default().with_replica_id(BrokerId(-2)).with_topics(topics))
}

/// v0 answers (error, partition, end offset); v1 adds the leader epoch of that end.
pub(super) fn offset_for_leader_epoch_response(id: i32, r: &OffsetForLeaderEpochResponse, v: i16) -> Frame {
    response(id, |o| {
        put_array(o, &r.topics, |o, t| {
            put_str(o, &t.topic.0);
            put_array(o, &t.partitions, |o, p| {
                o.put_i16(p.error_code);
                o.put_i32(p.partition);
                if v >= 1 {
                    o.put_i32(p.leader_epoch);
                }
                o.put_i64(p.end_offset);
            });
        });
    })
}

/// DescribeConfigs v0: is_default where v1 has config_source (DEFAULT_CONFIG is 5), no
/// synonyms.
pub(super) fn describe_configs_response(id: i32, r: &DescribeConfigsResponse) -> Frame {
    response(id, |o| {
        o.put_i32(r.throttle_time_ms);
        put_array(o, &r.results, |o, res| {
            o.put_i16(res.error_code);
            put_nullable_str(o, res.error_message.as_deref());
            o.put_i8(res.resource_type);
            put_str(o, &res.resource_name);
            put_array(o, &res.configs, |o, c| {
                put_str(o, &c.name);
                put_nullable_str(o, c.value.as_deref());
                o.put_u8(c.read_only as u8);
                o.put_u8((c.config_source == 5) as u8);
                o.put_u8(c.is_sensitive as u8);
            });
        });
    })
}
