//! The `__transaction_state` record format (Kafka's TransactionLogKey v0 and
//! TransactionLogValue v0, so Kafka's tools can read it) and which partition a
//! transactional id lives on.

use super::state::{TxnMetadata, TxnState};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::collections::BTreeMap;

pub const TXN_TOPIC: &str = "__transaction_state";

/// `abs(javaHashCode(id)) % partitions`, as for groups.
pub fn partition_for(transactional_id: &str, partitions: i32) -> i32 {
    crate::broker::coordinator::group::store::partition_for(transactional_id, partitions)
}

pub fn encode_key(transactional_id: &str) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(0);
    b.put_i16(transactional_id.len() as i16);
    b.put_slice(transactional_id.as_bytes());
    b.freeze()
}

#[derive(Debug, thiserror::Error)]
#[error("unreadable __transaction_state record: {0}")]
pub struct FormatError(&'static str);

fn need(b: &Bytes, n: usize) -> Result<(), FormatError> {
    if b.remaining() < n { Err(FormatError("truncated")) } else { Ok(()) }
}

fn get_str(b: &mut Bytes) -> Result<String, FormatError> {
    need(b, 2)?;
    let n = b.get_i16();
    if n < 0 {
        return Err(FormatError("null string"));
    }
    need(b, n as usize)?;
    String::from_utf8(b.split_to(n as usize).to_vec()).map_err(|_| FormatError("bad utf-8"))
}

pub fn decode_key(mut b: Bytes) -> Result<String, FormatError> {
    need(&b, 2)?;
    if b.get_i16() != 0 {
        return Err(FormatError("unknown key version"));
    }
    get_str(&mut b)
}

pub fn encode_value(m: &TxnMetadata) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(0);
    b.put_i64(m.producer_id);
    b.put_i16(m.producer_epoch);
    b.put_i32(m.timeout_ms);
    b.put_i8(m.state as i8);
    if m.state == TxnState::Empty {
        b.put_i32(-1);
    } else {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (t, p) in &m.partitions {
            by_topic.entry(t.as_str()).or_default().push(*p);
        }
        b.put_i32(by_topic.len() as i32);
        for (t, ps) in by_topic {
            b.put_i16(t.len() as i16);
            b.put_slice(t.as_bytes());
            b.put_i32(ps.len() as i32);
            for p in ps {
                b.put_i32(p);
            }
        }
    }
    b.put_i64(m.last_update_ms);
    b.put_i64(m.start_ms);
    b.freeze()
}

pub fn decode_value(transactional_id: &str, mut b: Bytes) -> Result<TxnMetadata, FormatError> {
    need(&b, 2 + 8 + 2 + 4 + 1 + 4)?;
    let version = b.get_i16();
    if version != 0 {
        // v1 (flexible, Kafka 4's transaction version 2) is not written by rk; refuse loudly.
        return Err(FormatError("unsupported value version"));
    }
    let producer_id = b.get_i64();
    let producer_epoch = b.get_i16();
    let timeout_ms = b.get_i32();
    let state = TxnState::from_id(b.get_i8()).ok_or(FormatError("unknown transaction state"))?;
    let topics = b.get_i32();
    let mut partitions = std::collections::BTreeSet::new();
    for _ in 0..topics.max(0) {
        let t = get_str(&mut b)?;
        need(&b, 4)?;
        let n = b.get_i32();
        if n < 0 || n as usize > b.remaining() / 4 {
            return Err(FormatError("bad partition count"));
        }
        for _ in 0..n {
            partitions.insert((t.clone(), b.get_i32()));
        }
    }
    need(&b, 16)?;
    let last_update_ms = b.get_i64();
    let start_ms = b.get_i64();
    Ok(TxnMetadata {
        transactional_id: transactional_id.to_string(),
        producer_id,
        last_producer_id: -1,
        producer_epoch,
        last_producer_epoch: -1,
        timeout_ms,
        state,
        partitions,
        start_ms,
        last_update_ms,
        pending: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_and_value_round_trip() {
        assert_eq!(decode_key(encode_key("tx-1")).unwrap(), "tx-1");
        let mut m = TxnMetadata::new("tx-1", 42, 60_000, 1000);
        m.state = TxnState::Ongoing;
        m.producer_epoch = 3;
        m.partitions.insert(("a".into(), 1));
        m.partitions.insert(("a".into(), 0));
        m.partitions.insert(("b".into(), 7));
        m.start_ms = 900;
        let back = decode_value("tx-1", encode_value(&m)).unwrap();
        assert_eq!((back.producer_id, back.producer_epoch, back.state, back.timeout_ms), (42, 3, TxnState::Ongoing, 60_000));
        assert_eq!(back.partitions, m.partitions);
        assert_eq!((back.start_ms, back.last_update_ms), (900, 1000));
        // Kafka writes a null partition list for Empty.
        let empty = TxnMetadata::new("tx-2", 1, 1, 1);
        assert_eq!(&encode_value(&empty)[17..21], &(-1i32).to_be_bytes());
        assert!(decode_value("x", Bytes::from_static(&[0, 1])).is_err());
    }
}
