//! The `__consumer_offsets` record format (Kafka's own key/value schemas, so Kafka's
//! formatters can read it): OffsetCommitKey v1 / OffsetCommitValue v3 and
//! GroupMetadataKey v2 / GroupMetadataValue v3; and which partition a group lives on.

use bytes::{Buf, BufMut, Bytes, BytesMut};

pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Java's `String.hashCode` (UTF-16 code units), so a group maps to the same partition as
/// in Kafka: `abs(hashCode) % partitions`.
pub fn partition_for(group: &str, partitions: i32) -> i32 {
    let mut h: i32 = 0;
    for unit in group.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(unit as i32);
    }
    // Kafka's Utils.abs maps i32::MIN to 0.
    let abs = if h == i32::MIN { 0 } else { h.abs() };
    abs % partitions.max(1)
}

#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Offset { group: String, topic: String, partition: i32 },
    Group { group: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct OffsetValue {
    pub offset: i64,
    pub leader_epoch: i32,
    /// Kafka's schema has a non-null string; rk writes length -1 for a null commit
    /// metadata so it comes back null after a restart too.
    pub metadata: Option<String>,
    pub commit_timestamp: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemberValue {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout: i32,
    pub session_timeout: i32,
    pub subscription: Bytes,
    pub assignment: Bytes,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupValue {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub current_state_timestamp: i64,
    pub members: Vec<MemberValue>,
}

fn put_str(b: &mut BytesMut, s: &str) {
    b.put_i16(s.len() as i16);
    b.put_slice(s.as_bytes());
}
fn put_nstr(b: &mut BytesMut, s: Option<&str>) {
    match s {
        Some(s) => put_str(b, s),
        None => b.put_i16(-1),
    }
}
fn put_bytes(b: &mut BytesMut, v: &[u8]) {
    b.put_i32(v.len() as i32);
    b.put_slice(v);
}

/// A decoding failure: the stored record is not in a format rk understands.
#[derive(Debug, thiserror::Error)]
#[error("unreadable __consumer_offsets record: {0}")]
pub struct FormatError(&'static str);

fn need(b: &Bytes, n: usize) -> Result<(), FormatError> {
    if b.remaining() < n { Err(FormatError("truncated")) } else { Ok(()) }
}
fn get_nstr(b: &mut Bytes) -> Result<Option<String>, FormatError> {
    need(b, 2)?;
    let len = b.get_i16();
    if len < 0 {
        return Ok(None);
    }
    need(b, len as usize)?;
    let s = b.split_to(len as usize);
    String::from_utf8(s.to_vec()).map(Some).map_err(|_| FormatError("bad utf-8"))
}
fn get_str(b: &mut Bytes) -> Result<String, FormatError> {
    get_nstr(b)?.ok_or(FormatError("unexpected null string"))
}
fn get_bytes(b: &mut Bytes) -> Result<Bytes, FormatError> {
    need(b, 4)?;
    let len = b.get_i32();
    if len < 0 {
        return Ok(Bytes::new());
    }
    need(b, len as usize)?;
    Ok(b.split_to(len as usize))
}

impl Key {
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::new();
        match self {
            Key::Offset { group, topic, partition } => {
                b.put_i16(1);
                put_str(&mut b, group);
                put_str(&mut b, topic);
                b.put_i32(*partition);
            }
            Key::Group { group } => {
                b.put_i16(2);
                put_str(&mut b, group);
            }
        }
        b.freeze()
    }

    pub fn decode(mut b: Bytes) -> Result<Key, FormatError> {
        need(&b, 2)?;
        match b.get_i16() {
            0 | 1 => {
                let group = get_str(&mut b)?;
                let topic = get_str(&mut b)?;
                need(&b, 4)?;
                Ok(Key::Offset { group, topic, partition: b.get_i32() })
            }
            2 => Ok(Key::Group { group: get_str(&mut b)? }),
            _ => Err(FormatError("unknown key version")),
        }
    }
}

impl OffsetValue {
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::new();
        b.put_i16(3);
        b.put_i64(self.offset);
        b.put_i32(self.leader_epoch);
        put_nstr(&mut b, self.metadata.as_deref());
        b.put_i64(self.commit_timestamp);
        b.freeze()
    }

    pub fn decode(mut b: Bytes) -> Result<OffsetValue, FormatError> {
        need(&b, 2)?;
        let v = b.get_i16();
        need(&b, 8)?;
        let offset = b.get_i64();
        let leader_epoch = if v >= 3 {
            need(&b, 4)?;
            b.get_i32()
        } else {
            -1
        };
        let metadata = get_nstr(&mut b)?;
        need(&b, 8)?;
        let commit_timestamp = b.get_i64();
        Ok(OffsetValue { offset, leader_epoch, metadata, commit_timestamp })
    }
}

impl GroupValue {
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::new();
        b.put_i16(3);
        put_str(&mut b, &self.protocol_type);
        b.put_i32(self.generation);
        put_nstr(&mut b, self.protocol.as_deref());
        put_nstr(&mut b, self.leader.as_deref());
        b.put_i64(self.current_state_timestamp);
        b.put_i32(self.members.len() as i32);
        for m in &self.members {
            put_str(&mut b, &m.member_id);
            put_nstr(&mut b, m.group_instance_id.as_deref());
            put_str(&mut b, &m.client_id);
            put_str(&mut b, &m.client_host);
            b.put_i32(m.rebalance_timeout);
            b.put_i32(m.session_timeout);
            put_bytes(&mut b, &m.subscription);
            put_bytes(&mut b, &m.assignment);
        }
        b.freeze()
    }

    pub fn decode(mut b: Bytes) -> Result<GroupValue, FormatError> {
        need(&b, 2)?;
        let v = b.get_i16();
        if !(0..=4).contains(&v) {
            return Err(FormatError("unknown group metadata version"));
        }
        let protocol_type = get_str(&mut b)?;
        need(&b, 4)?;
        let generation = b.get_i32();
        let protocol = get_nstr(&mut b)?;
        let leader = get_nstr(&mut b)?;
        let current_state_timestamp = if v >= 2 {
            need(&b, 8)?;
            b.get_i64()
        } else {
            -1
        };
        need(&b, 4)?;
        let n = b.get_i32();
        if n < 0 || n as usize > b.remaining() {
            return Err(FormatError("bad member count"));
        }
        let mut members = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let member_id = get_str(&mut b)?;
            let group_instance_id = if v >= 3 { get_nstr(&mut b)? } else { None };
            let client_id = get_str(&mut b)?;
            let client_host = get_str(&mut b)?;
            need(&b, 4)?;
            let rebalance_timeout = if v >= 1 { b.get_i32() } else { 0 };
            need(&b, 4)?;
            let session_timeout = b.get_i32();
            let subscription = get_bytes(&mut b)?;
            let assignment = get_bytes(&mut b)?;
            members.push(MemberValue {
                member_id,
                group_instance_id,
                client_id,
                client_host,
                rebalance_timeout,
                session_timeout,
                subscription,
                assignment,
            });
        }
        Ok(GroupValue { protocol_type, generation, protocol, leader, current_state_timestamp, members })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_matches_java_hashcode() {
        // "my-group".hashCode() == -1906497762 in Java; "" hashes to 0.
        assert_eq!(partition_for("my-group", 50), 1906497762 % 50);
        assert_eq!(partition_for("", 50), 0);
        assert!((0..50).contains(&partition_for("console-consumer-12345", 50)));
    }

    #[test]
    fn round_trips() {
        let k = Key::Offset { group: "g".into(), topic: "t".into(), partition: 3 };
        assert_eq!(Key::decode(k.encode()).unwrap(), k);
        let k = Key::Group { group: "g".into() };
        assert_eq!(Key::decode(k.encode()).unwrap(), k);
        let v = OffsetValue { offset: 9, leader_epoch: 2, metadata: Some("m".into()), commit_timestamp: 5 };
        assert_eq!(OffsetValue::decode(v.encode()).unwrap(), v);
        let v = OffsetValue { metadata: None, ..v };
        assert_eq!(OffsetValue::decode(v.encode()).unwrap(), v);
        let g = GroupValue {
            protocol_type: "consumer".into(),
            generation: 4,
            protocol: Some("range".into()),
            leader: Some("a".into()),
            current_state_timestamp: 7,
            members: vec![MemberValue {
                member_id: "a".into(),
                group_instance_id: Some("i".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout: 1,
                session_timeout: 2,
                subscription: Bytes::from_static(b"s"),
                assignment: Bytes::from_static(b"x"),
            }],
        };
        assert_eq!(GroupValue::decode(g.encode()).unwrap(), g);
        assert!(GroupValue::decode(Bytes::from_static(&[0, 3, 0])).is_err());
    }
}
