//! The storage engine: segmented partition logs on disk (Kafka's UnifiedLog/LogSegment),
//! crash recovery, retention and the log-start-offset checkpoint.

pub mod batch;
pub mod cleaner;
pub mod codec;
pub mod partition;
pub mod segment;

pub use partition::{FileRegion, PartitionLog, ReadResult};

use kafka_protocol::error::ResponseError;

/// Storage-level failures, each mapped to the Kafka error code a client expects.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("offset {offset} is out of range [{start}, {end}]")]
    OffsetOutOfRange { offset: i64, start: i64, end: i64 },
    #[error("corrupt record batch: {0}")]
    Corrupt(#[from] batch::BatchError),
    #[error("record batch of {size} bytes exceeds the maximum of {max} bytes")]
    MessageTooLarge { size: usize, max: usize },
    #[error("record batch of {size} bytes is larger than the segment size {max}")]
    RecordListTooLarge { size: usize, max: u64 },
    #[error("timestamp {ts} of a record is out of the acceptable range")]
    InvalidTimestamp { ts: i64 },
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    #[error("storage error: {0}")]
    Io(#[from] std::io::Error),
}

impl LogError {
    pub fn code(&self) -> i16 {
        match self {
            LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange.code(),
            LogError::Corrupt(_) => ResponseError::CorruptMessage.code(),
            LogError::MessageTooLarge { .. } => ResponseError::MessageTooLarge.code(),
            LogError::RecordListTooLarge { .. } => ResponseError::RecordListTooLarge.code(),
            LogError::InvalidTimestamp { .. } => ResponseError::InvalidTimestamp.code(),
            LogError::InvalidRecord(_) => ResponseError::InvalidRecord.code(),
            LogError::Io(_) => ResponseError::KafkaStorageError.code(),
        }
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
