//! Coordinators: the classic consumer-group coordinator (offsets in `__consumer_offsets`)
//! and the transaction coordinator (`__transaction_state`), each sharded by the partitions
//! of its internal topic and moving with their leadership.

pub mod group;
pub mod txn;
