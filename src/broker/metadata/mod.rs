//! Cluster metadata as a log of records applied to an immutable image. Only the controller
//! writes records (`controller/`); the publisher applies each committed batch, in offset
//! order, to the image and then to every listener. The same records are what a Raft
//! quorum replicates.

mod image;
pub mod log;
pub mod publisher;
mod records;

pub use image::{BrokerImage, MetadataDelta, MetadataImage, PartitionImage, QuotaEntity, ScramCredentialImage, TopicImage};
pub use records::{MetadataRecord, RECORD_VERSION, RecordError};

/// Kafka's topic-name rules: 1..=249 chars of [a-zA-Z0-9._-], not "." or "..".
pub fn validate_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Topic name is illegal, it can't be empty".into());
    }
    if name == "." || name == ".." {
        return Err("Topic name cannot be \".\" or \"..\"".into());
    }
    if name.len() > 249 {
        return Err(format!("Topic name is illegal, it can't be longer than 249 characters, topic name: {name}"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-') {
        return Err(format!("Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names() {
        assert!(validate_topic_name("a.b-c_1").is_ok());
        assert!(validate_topic_name("..").is_err());
        assert!(validate_topic_name("bad name").is_err());
        assert!(validate_topic_name(&"x".repeat(250)).is_err());
    }
}
