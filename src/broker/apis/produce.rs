//! Produce: checks each partition (leader, acks, min.insync.replicas), hands the batches
//! to the replica manager (which validates and appends them as sent, with offsets and
//! leader epoch patched in place, and for acks=all waits in its purgatory) and answers per
//! partition; acks=0 gets no response at all.

use super::{Ctx, MaybeResponse, code, sb};
use crate::broker::log::{AppendOrigin, LogError};
use crate::broker::metadata::MetadataImage;
use crate::broker::replica::{Partition, PendingAppend};
use crate::broker::security::acl::{Op, Resource};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::*;
use uuid::Uuid;

/// Resolves a request's topic reference: by id from v13 (Produce) / v13 (Fetch), else name.
pub fn topic_name(image: &MetadataImage, name: &TopicName, id: Uuid, by_id: bool) -> Result<String, E> {
    if by_id { image.ids.get(&id).cloned().ok_or(E::UnknownTopicId) } else { Ok(name.0.to_string()) }
}

/// The producer (id, epoch) of a transactional batch, None for other batches.
fn transactional_header(records: &[u8]) -> Option<(i64, i16)> {
    let h = crate::broker::log::batch::BatchHeader::parse(records).ok()?;
    h.is_transactional().then_some((h.producer_id, h.producer_epoch))
}

/// KIP-890 part 1: a transactional write to a partition where the producer has no open
/// transaction must be to a partition its coordinator added. Ok(guard) lets the append
/// check that no marker arrived in between; errors are mapped as Kafka maps them.
async fn verify(ctx: &Ctx<'_>, id: Option<&TransactionalId>, partition: &Partition, pid: i64, epoch: i16) -> Result<Option<u64>, i16> {
    let b = ctx.broker;
    let Some(guard) = partition.txn_guard(pid) else { return Ok(None) };
    if !b.config.txn.verification {
        return Ok(None);
    }
    let id = id.map(|s| s.0.as_str()).unwrap_or("");
    let mut verdict = b.txns.verify(id, pid, epoch, &partition.topic, partition.index);
    if verdict == Err(code(E::NotCoordinator)) && b.quorum.is_some() {
        // The transaction's coordinator is another broker: ask it (AddPartitionsToTxn,
        // verify only), as Kafka's partition leaders do.
        verdict = verify_remote(b, id, pid, epoch, &partition.topic, partition.index).await;
    }
    match verdict {
        Ok(()) => Ok(Some(guard)),
        Err(c) if c == code(E::ProducerFenced) => Err(code(E::InvalidProducerEpoch)),
        Err(c) if c == code(E::TransactionAbortable) && ctx.version <= 10 => Err(code(E::InvalidTxnState)),
        Err(c)
            if [E::ConcurrentTransactions, E::CoordinatorLoadInProgress, E::CoordinatorNotAvailable, E::NotCoordinator]
                .iter()
                .any(|e| code(*e) == c) =>
        {
            // Retriable for every client version.
            Err(code(E::NotEnoughReplicas))
        }
        Err(c) => Err(c),
    }
}

/// AddPartitionsToTxn (v4+, verify only) to the transaction's coordinator elsewhere.
async fn verify_remote(b: &crate::broker::Broker, id: &str, pid: i64, epoch: i16, topic: &str, partition: i32) -> Result<(), i16> {
    use crate::broker::coordinator::txn::store::{TXN_TOPIC, partition_for};
    use kafka_protocol::messages::add_partitions_to_txn_request::{AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction};
    let Some(coordinator) = b.coordinator_of(TXN_TOPIC, partition_for(id, b.config.txn.partitions)) else {
        return Err(code(E::CoordinatorNotAvailable));
    };
    let req = AddPartitionsToTxnRequest::default().with_transactions(vec![
        AddPartitionsToTxnTransaction::default()
            .with_transactional_id(TransactionalId(sb(id.to_string())))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_verify_only(true)
            .with_topics(vec![
                AddPartitionsToTxnTopic::default().with_name(TopicName(sb(topic.to_string()))).with_partitions(vec![partition]),
            ]),
    ]);
    let addr = format!("{}:{}", coordinator.host, coordinator.port);
    let resp = b
        .interbroker
        .send(coordinator.id, &addr, &req, std::time::Duration::from_secs(10))
        .await
        .map_err(|_| code(E::CoordinatorNotAvailable))?;
    if resp.error_code != 0 {
        return Err(resp.error_code);
    }
    let c = resp
        .results_by_transaction
        .iter()
        .flat_map(|t| t.topic_results.iter())
        .flat_map(|t| t.results_by_partition.iter())
        .map(|p| p.partition_error_code)
        .find(|c| *c != 0)
        .unwrap_or(0);
    if c == 0 { Ok(()) } else { Err(c) }
}

pub async fn handle(ctx: &Ctx<'_>, req: ProduceRequest) -> MaybeResponse<ProduceResponse> {
    let b = ctx.broker;
    let throttle = super::quotas::produce(ctx, &req);
    let image = b.image();
    let by_id = ctx.version >= 13;
    let acks_ok = matches!(req.acks, -1..=1);
    let acl = ctx.acl();
    // Transactional batches need WRITE on the transactional id: without it Kafka refuses
    // every partition of the request.
    let txn_denied = b.authorizer.enabled()
        && req.topic_data.iter().flat_map(|t| &t.partition_data).any(|p| p.records.as_deref().and_then(transactional_header).is_some())
        && !req.transactional_id.as_ref().is_some_and(|id| acl.allowed(Op::Write, Resource::TransactionalId(&id.0)));
    // First the checks, then the appends (in parallel when large), then the answer.
    let mut topics = Vec::with_capacity(req.topic_data.len());
    let mut appends: Vec<PendingAppend> = Vec::new();
    let mut slots: Vec<(usize, usize)> = Vec::new();
    for mut topic in req.topic_data {
        let name = topic_name(&image, &topic.name, topic.topic_id, by_id);
        let mut parts = Vec::with_capacity(topic.partition_data.len());
        for pd in topic.partition_data.iter_mut() {
            let resp = PartitionProduceResponse::default()
                .with_index(pd.index)
                .with_base_offset(-1)
                .with_log_append_time_ms(-1)
                .with_log_start_offset(-1);
            let fail = |e: E, msg: Option<String>| resp.clone().with_error_code(code(e)).with_error_message(msg.map(sb));
            let partition = match &name {
                Err(e) => {
                    parts.push(fail(*e, None));
                    continue;
                }
                Ok(n) => b.replicas.get(n, pd.index),
            };
            if txn_denied {
                parts.push(fail(E::TransactionalIdAuthorizationFailed, None));
                continue;
            }
            if name.as_ref().is_ok_and(|n| !acl.allowed(Op::Write, Resource::Topic(n))) {
                parts.push(fail(E::TopicAuthorizationFailed, None));
                continue;
            }
            if !acks_ok {
                parts.push(fail(E::InvalidRequiredAcks, None));
                continue;
            }
            let Some(partition) = partition else {
                let offline = name.as_ref().ok().and_then(|n| b.replicas.offline_reason(n, pd.index));
                match offline {
                    Some(why) => parts.push(fail(E::KafkaStorageError, Some(why))),
                    None => parts.push(fail(E::UnknownTopicOrPartition, None)),
                }
                continue;
            };
            if !partition.is_leader() {
                parts.push(fail(E::NotLeaderOrFollower, None));
                continue;
            }
            // acks=all needs at least min.insync.replicas in the ISR (Kafka refuses the
            // write up front with NOT_ENOUGH_REPLICAS).
            if req.acks == -1 {
                let isr = partition.state().isr.len();
                let min = partition.min_insync_replicas();
                if isr < min {
                    let msg = format!("The size of the current ISR {isr} is insufficient to satisfy the min.isr requirement of {min}");
                    parts.push(fail(E::NotEnoughReplicas, Some(msg)));
                    continue;
                }
            }
            let Some(records) = pd.records.take() else {
                parts.push(fail(E::InvalidRecord, Some("produce request carried no records".into())));
                continue;
            };
            // Transactional writes need the request's transactional id and (KIP-890) a
            // partition added to the transaction by the coordinator.
            let guard = match transactional_header(&records) {
                None => None,
                Some(_) if req.transactional_id.is_none() => {
                    parts.push(fail(E::TransactionalIdAuthorizationFailed, None));
                    continue;
                }
                Some((pid, epoch)) => match verify(ctx, req.transactional_id.as_ref(), &partition, pid, epoch).await {
                    Ok(g) => g,
                    Err(c) => {
                        parts.push(resp.clone().with_error_code(c));
                        continue;
                    }
                },
            };
            // One copy into a mutable buffer: offsets are patched in place, then written as is.
            let buf = bytes::BytesMut::from(&records[..]);
            appends.push(PendingAppend { partition, buf, result: None, guard });
            slots.push((topics.len(), parts.len()));
            parts.push(resp);
        }
        topics.push((topic.name, topic.topic_id, parts));
    }
    let timeout = std::time::Duration::from_millis(req.timeout_ms.max(0) as u64);
    let appends = b.replicas.append_records(appends, req.acks, timeout, AppendOrigin::Client).await;
    for (a, slot) in appends.into_iter().zip(slots) {
        let resp = &mut topics[slot.0].2[slot.1];
        let result = a.result.unwrap_or_else(|| Err(LogError::Io(std::io::Error::other("the append did not run"))));
        b.metrics.produced(&a.partition.topic, result.as_ref().map(|i| (i.record_count, a.buf.len())).map_err(|e| e.code()));
        match result {
            Ok(info) => {
                resp.base_offset = info.base_offset;
                resp.log_append_time_ms = info.log_append_time;
                resp.log_start_offset = info.log_start_offset;
            }
            Err(e) => {
                tracing::debug!(topic = %a.partition.topic, partition = resp.index, "produce refused: {e}");
                resp.error_code = e.code();
                if resp.error_code == code(E::KafkaStorageError) {
                    tracing::error!(topic = %a.partition.topic, partition = resp.index, "cannot append: {e}");
                }
                if let LogError::RecordErrors { message, errors, .. } = e {
                    // v8+: which records of the batch were refused and why (KIP-467).
                    resp.error_message = Some(sb(message));
                    resp.record_errors = errors
                        .into_iter()
                        .map(|(i, m)| {
                            produce_response::BatchIndexAndErrorMessage::default()
                                .with_batch_index(i)
                                .with_batch_index_error_message(Some(sb(m)))
                        })
                        .collect();
                } else {
                    resp.error_message = Some(sb(e.to_string()));
                }
            }
        }
    }
    if req.acks == 0 {
        return MaybeResponse(None);
    }
    let mut topics = topics;
    // Only a refused partition needs the image: the common answer costs nothing extra.
    let refused = topics.iter().any(|(_, _, parts)| parts.iter().any(|p| p.error_code == code(E::NotLeaderOrFollower)));
    let node_endpoints = if ctx.version >= 10 && refused { leader_hints(ctx, &mut topics) } else { Vec::new() };
    let responses = topics
        .into_iter()
        .map(|(name, id, parts)| TopicProduceResponse::default().with_name(name).with_topic_id(id).with_partition_responses(parts))
        .collect();
    MaybeResponse(Some(
        ProduceResponse::default().with_responses(responses).with_node_endpoints(node_endpoints).with_throttle_time_ms(throttle),
    ))
}

/// KIP-951: a partition refused with NOT_LEADER_OR_FOLLOWER names its current leader, and
/// the response carries that broker's endpoint, so the client redirects at once instead of
/// waiting for a metadata refresh (a failover or controlled shutdown costs a round trip).
fn leader_hints(
    ctx: &Ctx<'_>,
    topics: &mut [(TopicName, uuid::Uuid, Vec<PartitionProduceResponse>)],
) -> Vec<produce_response::NodeEndpoint> {
    let image = ctx.broker.image();
    let mut leaders = std::collections::BTreeSet::new();
    for (name, id, parts) in topics.iter_mut() {
        let topic = if name.0.is_empty() { image.topics.values().find(|t| t.id == *id) } else { image.topic(name.0.as_str()) };
        let Some(topic) = topic else { continue };
        for p in parts.iter_mut().filter(|p| p.error_code == code(E::NotLeaderOrFollower)) {
            if let Some(img) = topic.partitions.get(&p.index).filter(|i| i.leader >= 0) {
                p.current_leader =
                    produce_response::LeaderIdAndEpoch::default().with_leader_id(BrokerId(img.leader)).with_leader_epoch(img.leader_epoch);
                leaders.insert(img.leader);
            }
        }
    }
    ctx.broker
        .endpoints_for(&ctx.conn.listener)
        .into_iter()
        .filter(|e| leaders.contains(&e.id))
        .map(|e| {
            produce_response::NodeEndpoint::default()
                .with_node_id(BrokerId(e.id))
                .with_host(sb(e.host))
                .with_port(e.port)
                .with_rack(e.rack.map(sb))
        })
        .collect()
}
