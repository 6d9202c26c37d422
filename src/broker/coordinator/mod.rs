//! Coordinators: the classic consumer-group coordinator (offsets in `__consumer_offsets`);
//! the transaction coordinator joins it when exactly-once lands.

pub mod group;
