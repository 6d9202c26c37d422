//! DescribeProducers for transactions admin: partition leaders from fresh metadata (waiting
//! while a partition has none), one request per broker, and the Java admin client's
//! handling of moved leaders and per-partition errors.

use super::{Backoff, ProducerState, TopicPartition, err, sb, tp_string};
use crate::client::admin::Admin;
use crate::client::connection::ClientError;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use std::collections::{BTreeMap, BTreeSet};

impl Admin {
    /// The leader of a partition from fresh metadata. LEADER_NOT_AVAILABLE is retriable;
    /// an unknown topic or partition is not.
    pub(super) async fn partition_leader(&self, tp: &TopicPartition) -> Result<i32, ClientError> {
        let meta = self.cluster.refresh(Some(std::slice::from_ref(&tp.0))).await?;
        let name = tp_string(tp);
        let Some(t) = meta.topics.get(&tp.0) else {
            return Err(err(
                E::UnknownTopicOrPartition,
                Some(format!("Failed to fetch metadata for partition {name} because metadata for topic `{}` could not be found", tp.0)),
            ));
        };
        if t.error != 0 {
            let e = E::try_from_code(t.error).unwrap_or(E::UnknownServerError);
            let msg = match e {
                E::UnknownTopicOrPartition => {
                    format!("Failed to fetch metadata for partition {name} because metadata for topic `{}` could not be found", tp.0)
                }
                E::LeaderNotAvailable => format!("There is no leader for partition {name}"),
                E::InvalidTopicException => format!("Failed to fetch metadata for partition {name} due to invalid topic `{}`", tp.0),
                _ => format!("Failed to fetch metadata for partition {name} due to unexpected error for topic `{}`", tp.0),
            };
            return Err(err(e, Some(msg)));
        }
        let Some(p) = t.partitions.iter().find(|p| p.index == tp.1) else {
            return Err(err(
                E::UnknownTopicOrPartition,
                Some(format!("Partition {name} does not exist: topic `{}` has {} partitions", tp.0, t.partitions.len())),
            ));
        };
        if p.leader < 0 {
            return Err(err(E::LeaderNotAvailable, Some(format!("There is no leader for partition {name}"))));
        }
        Ok(p.leader)
    }

    /// The leader, waiting (until the request timeout) while the partition has none.
    pub(super) async fn wait_for_leader(&self, tp: &TopicPartition, backoff: &mut Backoff) -> Result<i32, ClientError> {
        loop {
            match self.partition_leader(tp).await {
                Err(e) if e.code() == Some(E::LeaderNotAvailable.code()) && backoff.again().await => continue,
                other => return other,
            }
        }
    }

    /// DescribeProducers for partitions, at their leaders or at `broker`: one result per
    /// partition.
    pub async fn describe_producers(
        &self,
        partitions: &[TopicPartition],
        broker: Option<i32>,
    ) -> BTreeMap<TopicPartition, Result<Vec<ProducerState>, ClientError>> {
        let mut out = BTreeMap::new();
        let mut pending: BTreeSet<TopicPartition> = partitions.iter().cloned().collect();
        let mut backoff = self.backoff();
        while !pending.is_empty() {
            let mut by_node: BTreeMap<i32, Vec<TopicPartition>> = BTreeMap::new();
            for tp in std::mem::take(&mut pending) {
                let node = match broker {
                    Some(b) => Ok(b),
                    None => self.wait_for_leader(&tp, &mut backoff).await,
                };
                match node {
                    Ok(n) => by_node.entry(n).or_default().push(tp),
                    Err(e) => {
                        out.insert(tp, Err(e));
                    }
                }
            }
            let mut retry = Vec::new();
            for (node, tps) in by_node {
                match self.describe_producers_at(node, &tps, broker.is_some()).await {
                    Err(e) => {
                        for tp in tps {
                            out.insert(tp, Err(dup(&e)));
                        }
                    }
                    Ok(results) => {
                        for (tp, r) in results {
                            match r {
                                Answer::Done(r) => {
                                    out.insert(tp, r);
                                }
                                Answer::Retry(e) => retry.push((tp, e)),
                            }
                        }
                    }
                }
            }
            if !retry.is_empty() {
                let again = backoff.again().await;
                for (tp, e) in retry {
                    if again {
                        pending.insert(tp);
                    } else {
                        out.insert(tp, Err(err(e, None)));
                    }
                }
            }
        }
        out
    }

    /// One DescribeProducers request: an answer per partition.
    async fn describe_producers_at(
        &self,
        node: i32,
        tps: &[TopicPartition],
        explicit_broker: bool,
    ) -> Result<Vec<(TopicPartition, Answer)>, ClientError> {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (t, p) in tps {
            by_topic.entry(t).or_default().push(*p);
        }
        let req = DescribeProducersRequest::default().with_topics(
            by_topic
                .into_iter()
                .map(|(t, ps)| describe_producers_request::TopicRequest::default().with_name(TopicName(sb(t))).with_partition_indexes(ps))
                .collect(),
        );
        let resp = self.cluster.send(Some(node), &req).await?;
        let mut answered = BTreeMap::new();
        for t in resp.topics {
            for p in t.partitions {
                answered.insert((t.name.0.to_string(), p.partition_index), p);
            }
        }
        let mut out = Vec::new();
        for tp in tps {
            let name = tp_string(tp);
            let Some(p) = answered.remove(tp) else {
                let e = ClientError::Protocol(format!("DescribeProducers response did not include {name}"));
                out.push((tp.clone(), Answer::Done(Err(e))));
                continue;
            };
            let c = p.error_code;
            let r = match E::try_from_code(c) {
                None => Ok(p
                    .active_producers
                    .iter()
                    .map(|s| ProducerState {
                        producer_id: s.producer_id.0,
                        producer_epoch: s.producer_epoch,
                        last_sequence: s.last_sequence,
                        last_timestamp: s.last_timestamp,
                        coordinator_epoch: (s.coordinator_epoch >= 0).then_some(s.coordinator_epoch),
                        current_txn_start_offset: (s.current_txn_start_offset >= 0).then_some(s.current_txn_start_offset),
                    })
                    .collect()),
                Some(e @ (E::NotLeaderOrFollower | E::UnknownTopicOrPartition)) if explicit_broker => {
                    Err(err(e, Some(format!("Failed to describe active producers for partition {name} on brokerId {node}"))))
                }
                Some(e @ (E::NotLeaderOrFollower | E::UnknownTopicOrPartition)) => {
                    out.push((tp.clone(), Answer::Retry(e)));
                    continue;
                }
                Some(E::InvalidTopicException) => {
                    let detail = p.error_message.as_ref().map_or_else(|| E::InvalidTopicException.to_string(), |m| m.to_string());
                    Err(err(
                        E::InvalidTopicException,
                        Some(format!("Failed to fetch metadata for partition {name} due to invalid topic error: {detail}")),
                    ))
                }
                Some(E::TopicAuthorizationFailed) => Err(err(
                    E::TopicAuthorizationFailed,
                    Some(format!(
                        "Failed to describe active producers for partition {name} due to authorization failure on topic `{}`",
                        tp.0
                    )),
                )),
                Some(e) => Err(err(e, Some(format!("Failed to describe active producers for partition {name} due to unexpected error")))),
            };
            out.push((tp.clone(), Answer::Done(r)));
        }
        Ok(out)
    }
}

/// A partition's DescribeProducers outcome: final, or to be asked again (moved leader).
enum Answer {
    Done(Result<Vec<ProducerState>, ClientError>),
    Retry(E),
}

/// ClientError is not Clone (it may hold an io::Error): a copy keeping the text and code.
fn dup(e: &ClientError) -> ClientError {
    match e {
        ClientError::Kafka { code, message } => ClientError::Kafka { code: *code, message: message.clone() },
        ClientError::Unsupported(k) => ClientError::Unsupported(*k),
        ClientError::Timeout(d) => ClientError::Timeout(*d),
        other => ClientError::Protocol(other.to_string()),
    }
}
