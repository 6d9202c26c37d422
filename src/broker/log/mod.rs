//! The storage engine: segmented partition logs on disk (Kafka's UnifiedLog/LogSegment),
//! crash recovery, retention and the log-start-offset checkpoint.

pub mod batch;
pub mod cleaner;
pub mod codec;
pub mod epoch_cache;
pub mod file_cache;
pub mod message_set;
pub mod partition;
pub mod producer_state;
pub mod segment;
#[cfg(test)]
mod tests;
mod txn_log;
pub mod validator;

pub use partition::{FileRegion, PartitionLog, ReadResult};

/// Who is appending, which decides what is checked and who assigns offsets (Kafka's
/// AppendOrigin): clients get every validation and broker-assigned offsets; the broker's
/// own coordinators may write control batches; replication keeps the leader's offsets and
/// epochs as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOrigin {
    Client,
    Coordinator,
    Replication,
}

/// The clock the log reads (segment age, retention, flush intervals); tests drive it.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    #[default]
    System,
    Manual(std::sync::Arc<std::sync::atomic::AtomicI64>),
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        match self {
            Clock::System => now_ms(),
            Clock::Manual(t) => t.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// A manual clock at `start` and the handle that moves it.
    pub fn manual(start: i64) -> (Clock, std::sync::Arc<std::sync::atomic::AtomicI64>) {
        let t = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(start));
        (Clock::Manual(t.clone()), t)
    }
}

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
    #[error("corrupt message: {0}")]
    CorruptMessage(String),
    /// Per-record errors (ProduceResponse record_errors): the batch is refused as a whole.
    #[error("{message}")]
    RecordErrors { code: i16, message: String, errors: Vec<(i32, String)> },
    #[error("storage error: {0}")]
    Io(#[from] std::io::Error),
    #[error("this broker is not the leader of the partition")]
    NotLeaderOrFollower,
    #[error("the partition was deleted")]
    Deleted,
    /// A follower's fetch answered after its leadership changed (this broker leads now, or
    /// follows another epoch): the data is of a leadership that is over.
    #[error("the fetch was made for leader epoch {0}, which is over")]
    StaleFetch(i32),
    /// Idempotence and transactions: OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH,
    /// INVALID_TXN_STATE, TRANSACTION_COORDINATOR_FENCED, ... with Kafka's message.
    #[error("{1}")]
    Producer(i16, String),
    #[error("timed out waiting for the in-sync replicas to acknowledge the records")]
    RequestTimedOut,
    #[error("Messages are written to the log, but to fewer in-sync replicas than required.")]
    NotEnoughReplicasAfterAppend,
    #[error("replicated batch at offset {got} does not continue the log at {expected}")]
    UnexpectedAppendOffset { expected: i64, got: i64 },
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
            LogError::CorruptMessage(_) => ResponseError::CorruptMessage.code(),
            LogError::RecordErrors { code, .. } => *code,
            // Damage found while reading (a batch that cannot be valid) is CORRUPT_MESSAGE.
            LogError::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => ResponseError::CorruptMessage.code(),
            LogError::Io(_) => ResponseError::KafkaStorageError.code(),
            LogError::NotLeaderOrFollower => ResponseError::NotLeaderOrFollower.code(),
            LogError::StaleFetch(_) => ResponseError::FencedLeaderEpoch.code(),
            LogError::Deleted => ResponseError::UnknownTopicOrPartition.code(),
            LogError::RequestTimedOut => ResponseError::RequestTimedOut.code(),
            LogError::NotEnoughReplicasAfterAppend => ResponseError::NotEnoughReplicasAfterAppend.code(),
            LogError::Producer(code, _) => *code,
            LogError::UnexpectedAppendOffset { .. } => ResponseError::UnknownServerError.code(),
        }
    }
}

impl LogError {
    /// Kafka's RecordValidationException: INVALID_TIMESTAMP when any record's timestamp is
    /// out of range, else INVALID_RECORD, with every record's error listed.
    pub fn record_errors(errors: Vec<validator::RecordError>) -> LogError {
        let timestamp = errors.iter().any(|e| e.2);
        let (code, message) = if timestamp {
            (ResponseError::InvalidTimestamp.code(), "One or more records have been rejected due to invalid timestamp".to_string())
        } else {
            let first: Vec<String> = errors.iter().take(3).map(|(i, m, _)| format!("RecordError(batchIndex={i}, message='{m}')")).collect();
            (
                ResponseError::InvalidRecord.code(),
                format!(
                    "One or more records have been rejected due to {} record errors in total, and only showing the first three errors at most: [{}]",
                    errors.len(),
                    first.join(", ")
                ),
            )
        };
        LogError::RecordErrors { code, message, errors: errors.into_iter().map(|(i, m, _)| (i, m)).collect() }
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
