//! Transaction APIs: InitProducerId, AddPartitionsToTxn (client v0-3 and the batched,
//! verify-only broker form v4+), AddOffsetsToTxn, EndTxn, TxnOffsetCommit, WriteTxnMarkers
//! (admin aborts), and the transaction admin reads: DescribeProducers,
//! DescribeTransactions, ListTransactions. The state lives in `coordinator::txn`.
//! Authorization as Kafka's: WRITE on the transactional id (plus WRITE on topics, READ on
//! the group), CLUSTER_ACTION for broker-to-broker forms, DESCRIBE to read transactions.

use super::{Ctx, code, sb};
use crate::broker::coordinator::group::store::{OFFSETS_TOPIC, partition_for};
use crate::broker::coordinator::group::{Committer, OffsetToCommit};
use crate::broker::log::producer_state::EndMarker;
use crate::broker::security::acl::{Op, Resource, resource};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::*;

/// PRODUCER_FENCED is understood from these versions on; older clients get
/// INVALID_PRODUCER_EPOCH, as Kafka answers them.
fn fenced_for(version: i16, since: i16, c: i16) -> i16 {
    if c == code(E::ProducerFenced) && version < since { code(E::InvalidProducerEpoch) } else { c }
}

fn err_of<T>(r: Result<T, i16>) -> i16 {
    r.err().unwrap_or(0)
}

pub async fn init_producer_id(ctx: &Ctx<'_>, req: InitProducerIdRequest) -> InitProducerIdResponse {
    let b = ctx.broker;
    let id = req.transactional_id.as_ref().map(|s| s.0.to_string());
    let expected = match (req.producer_id.0, req.producer_epoch) {
        (-1, -1) => None,
        (-1, _) | (_, -1) => {
            return InitProducerIdResponse::default()
                .with_error_code(code(E::InvalidRequest))
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1);
        }
        (pid, epoch) => Some((pid, epoch)),
    };
    // A transactional producer needs WRITE on its id; an idempotent one IDEMPOTENT_WRITE on
    // the cluster or WRITE on some topic (KIP-679).
    let acl = ctx.acl();
    let denied = match &id {
        Some(t) if !acl.allowed(Op::Write, Resource::TransactionalId(t)) => Some(E::TransactionalIdAuthorizationFailed),
        None if !acl.allowed(Op::IdempotentWrite, Resource::Cluster) && !acl.allowed_on_any(Op::Write, resource::TOPIC) => {
            Some(E::ClusterAuthorizationFailed)
        }
        _ => None,
    };
    if let Some(e) = denied {
        return InitProducerIdResponse::default().with_error_code(code(e)).with_producer_id(ProducerId(-1)).with_producer_epoch(-1);
    }
    if id.is_some()
        && let Err(e) = b.ensure_txn_topic().await
    {
        tracing::warn!("{e}");
        return InitProducerIdResponse::default()
            .with_error_code(code(E::CoordinatorNotAvailable))
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
    }
    match b.txns.init_producer_id(id.as_deref(), req.transaction_timeout_ms, expected).await {
        Ok((pid, epoch)) => InitProducerIdResponse::default().with_producer_id(ProducerId(pid)).with_producer_epoch(epoch),
        Err(c) => InitProducerIdResponse::default()
            .with_error_code(fenced_for(ctx.version, 4, c))
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    }
}

fn partition_results(
    topics: &[add_partitions_to_txn_request::AddPartitionsToTxnTopic],
    err: impl Fn(&str, i32) -> i16,
) -> Vec<AddPartitionsToTxnTopicResult> {
    topics
        .iter()
        .map(|t| {
            AddPartitionsToTxnTopicResult::default().with_name(t.name.clone()).with_results_by_partition(
                t.partitions
                    .iter()
                    .map(|p| {
                        AddPartitionsToTxnPartitionResult::default().with_partition_index(*p).with_partition_error_code(err(&t.name.0, *p))
                    })
                    .collect(),
            )
        })
        .collect()
}

pub async fn add_partitions_to_txn(ctx: &Ctx<'_>, req: AddPartitionsToTxnRequest) -> AddPartitionsToTxnResponse {
    let b = ctx.broker;
    let acl = ctx.acl();
    if ctx.version <= 3 {
        let topics = &req.v3_and_below_topics;
        if !acl.allowed(Op::Write, Resource::TransactionalId(&req.v3_and_below_transactional_id.0)) {
            let results = partition_results(topics, |_, _| code(E::TransactionalIdAuthorizationFailed));
            return AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results);
        }
        // Refused and unknown partitions get their error; the others OPERATION_NOT_ATTEMPTED
        // (Kafka). Internal topics are never written by clients.
        let image = b.image();
        let refused = |t: &str| b.authorizer.enabled() && (t.starts_with("__") || !acl.allowed(Op::Write, Resource::Topic(t)));
        let unknown = |t: &str, p: i32| !image.topic(t).is_some_and(|x| x.partitions.contains_key(&p));
        let any_failed = topics.iter().any(|t| t.partitions.iter().any(|p| refused(&t.name.0) || unknown(&t.name.0, *p)));
        let results = if any_failed {
            partition_results(topics, |t, p| {
                if refused(t) {
                    code(E::TopicAuthorizationFailed)
                } else if unknown(t, p) {
                    code(E::UnknownTopicOrPartition)
                } else {
                    code(E::OperationNotAttempted)
                }
            })
        } else {
            let parts = topics.iter().flat_map(|t| t.partitions.iter().map(move |p| (t.name.0.to_string(), *p))).collect();
            let r = b
                .txns
                .add_partitions(
                    &req.v3_and_below_transactional_id.0,
                    req.v3_and_below_producer_id.0,
                    req.v3_and_below_producer_epoch,
                    parts,
                )
                .await;
            let c = fenced_for(ctx.version, 2, err_of(r));
            partition_results(topics, |_, _| c)
        };
        return AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results);
    }
    // v4+: the batched broker form; verify_only asks whether the partitions were added.
    if !acl.allowed(Op::ClusterAction, Resource::Cluster) {
        return AddPartitionsToTxnResponse::default().with_error_code(code(E::ClusterAuthorizationFailed));
    }
    let mut out = Vec::new();
    for t in &req.transactions {
        let id = t.transactional_id.0.to_string();
        let results = if t.verify_only {
            partition_results(&t.topics, |topic, p| err_of(b.txns.verify(&id, t.producer_id.0, t.producer_epoch, topic, p)))
        } else {
            let parts = t.topics.iter().flat_map(|x| x.partitions.iter().map(move |p| (x.name.0.to_string(), *p))).collect();
            let c = err_of(b.txns.add_partitions(&id, t.producer_id.0, t.producer_epoch, parts).await);
            partition_results(&t.topics, |_, _| c)
        };
        out.push(AddPartitionsToTxnResult::default().with_transactional_id(t.transactional_id.clone()).with_topic_results(results));
    }
    AddPartitionsToTxnResponse::default().with_results_by_transaction(out)
}

pub async fn add_offsets_to_txn(ctx: &Ctx<'_>, req: AddOffsetsToTxnRequest) -> AddOffsetsToTxnResponse {
    let b = ctx.broker;
    let acl = ctx.acl();
    if !acl.allowed(Op::Write, Resource::TransactionalId(&req.transactional_id.0)) {
        return AddOffsetsToTxnResponse::default().with_error_code(code(E::TransactionalIdAuthorizationFailed));
    }
    if !acl.allowed(Op::Read, Resource::Group(&req.group_id.0)) {
        return AddOffsetsToTxnResponse::default().with_error_code(code(E::GroupAuthorizationFailed));
    }
    if let Err(e) = b.ensure_offsets_topic().await {
        tracing::warn!("{e}");
        return AddOffsetsToTxnResponse::default().with_error_code(code(E::CoordinatorNotAvailable));
    }
    let p = partition_for(&req.group_id.0, b.groups.cfg.offsets_partitions);
    let r =
        b.txns.add_partitions(&req.transactional_id.0, req.producer_id.0, req.producer_epoch, vec![(OFFSETS_TOPIC.to_string(), p)]).await;
    AddOffsetsToTxnResponse::default().with_error_code(fenced_for(ctx.version, 2, err_of(r)))
}

pub async fn end_txn(ctx: &Ctx<'_>, req: EndTxnRequest) -> EndTxnResponse {
    if !ctx.authorize(Op::Write, Resource::TransactionalId(&req.transactional_id.0)) {
        return EndTxnResponse::default().with_error_code(code(E::TransactionalIdAuthorizationFailed));
    }
    let r = ctx.broker.txns.end_txn(&req.transactional_id.0, req.producer_id.0, req.producer_epoch, req.committed).await;
    EndTxnResponse::default().with_error_code(fenced_for(ctx.version, 2, err_of(r)))
}

pub async fn txn_offset_commit(ctx: &Ctx<'_>, req: TxnOffsetCommitRequest) -> TxnOffsetCommitResponse {
    let b = ctx.broker;
    let image = b.image();
    // WRITE on the transactional id, READ on the group (else every partition fails), READ
    // on each topic (refused topics are not committed).
    let acl = ctx.acl();
    let request_denied = if !acl.allowed(Op::Write, Resource::TransactionalId(&req.transactional_id.0)) {
        Some(code(E::TransactionalIdAuthorizationFailed))
    } else if !acl.allowed(Op::Read, Resource::Group(&req.group_id.0)) {
        Some(code(E::GroupAuthorizationFailed))
    } else {
        None
    };
    let topic_denied: std::collections::HashSet<String> =
        req.topics.iter().map(|t| t.name.0.to_string()).filter(|t| !acl.allowed(Op::Read, Resource::Topic(t))).collect();
    let offsets: Vec<OffsetToCommit> = req
        .topics
        .iter()
        .filter(|t| !topic_denied.contains(t.name.0.as_str()))
        .flat_map(|t| {
            t.partitions.iter().map(move |p| OffsetToCommit {
                topic: t.name.0.to_string(),
                partition: p.partition_index,
                offset: p.committed_offset,
                leader_epoch: if ctx.version >= 2 { p.committed_leader_epoch } else { -1 },
                metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
            })
        })
        .collect();
    let known = |t: &str, p: i32| image.topic(t).is_some_and(|t| t.partitions.contains_key(&p));
    let (generation, member) = if ctx.version >= 3 { (req.generation_id, req.member_id.to_string()) } else { (-1, String::new()) };
    let results = match request_denied {
        Some(c) => Err(c),
        None if offsets.is_empty() && !topic_denied.is_empty() => Ok(Vec::new()),
        None => super::on_disk(|| {
            b.groups.commit_offsets(
                &b.replicas,
                &req.group_id.0,
                &Committer {
                    generation,
                    member_id: &member,
                    instance_id: req.group_instance_id.as_deref(),
                    transactional: Some((req.producer_id.0, req.producer_epoch)),
                },
                offsets,
                known,
            )
        }),
    };
    // Before v2 clients do not know COORDINATOR_LOAD_IN_PROGRESS here.
    let adjust = |c: i16| if ctx.version < 2 && c == code(E::CoordinatorLoadInProgress) { code(E::CoordinatorNotAvailable) } else { c };
    let mut codes = results.as_ref().map(|v| v.clone().into_iter()).unwrap_or_default();
    let topics = req
        .topics
        .iter()
        .map(|t| {
            txn_offset_commit_response::TxnOffsetCommitResponseTopic::default().with_name(t.name.clone()).with_partitions(
                t.partitions
                    .iter()
                    .map(|p| {
                        let c = match &results {
                            Err(c) => *c,
                            Ok(_) if topic_denied.contains(t.name.0.as_str()) => code(E::TopicAuthorizationFailed),
                            Ok(_) => codes.next().unwrap_or(0),
                        };
                        txn_offset_commit_response::TxnOffsetCommitResponsePartition::default()
                            .with_partition_index(p.partition_index)
                            .with_error_code(adjust(c))
                    })
                    .collect(),
            )
        })
        .collect();
    TxnOffsetCommitResponse::default().with_topics(topics)
}

/// WriteTxnMarkers: markers for partitions this broker leads (from another coordinator,
/// or an admin's `abort` of a hanging transaction).
pub async fn write_txn_markers(ctx: &Ctx<'_>, req: WriteTxnMarkersRequest) -> WriteTxnMarkersResponse {
    let b = ctx.broker;
    // Brokers need CLUSTER_ACTION; an admin aborting a transaction ALTER on the cluster.
    let acl = ctx.acl();
    let allowed = acl.allowed(Op::Alter, Resource::Cluster) || acl.allowed(Op::ClusterAction, Resource::Cluster);
    let mut out = Vec::new();
    for m in &req.markers {
        let marker = EndMarker { commit: m.transaction_result, coordinator_epoch: m.coordinator_epoch };
        let mut topics = Vec::new();
        for t in &m.topics {
            let mut partitions = Vec::new();
            for p in &t.partition_indexes {
                let c = if allowed {
                    err_of(b.txns.write_marker_local(&t.name.0, *p, m.producer_id.0, m.producer_epoch, marker).await)
                } else {
                    code(E::ClusterAuthorizationFailed)
                };
                partitions.push(
                    write_txn_markers_response::WritableTxnMarkerPartitionResult::default().with_partition_index(*p).with_error_code(c),
                );
            }
            topics.push(
                write_txn_markers_response::WritableTxnMarkerTopicResult::default().with_name(t.name.clone()).with_partitions(partitions),
            );
        }
        out.push(write_txn_markers_response::WritableTxnMarkerResult::default().with_producer_id(m.producer_id).with_topics(topics));
    }
    WriteTxnMarkersResponse::default().with_markers(out)
}

pub async fn describe_producers(ctx: &Ctx<'_>, req: DescribeProducersRequest) -> DescribeProducersResponse {
    let b = ctx.broker;
    let acl = ctx.acl();
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let readable = acl.allowed(Op::Read, Resource::Topic(&t.name.0));
            let partitions = t
                .partition_indexes
                .iter()
                .map(|p| {
                    let r = describe_producers_response::PartitionResponse::default().with_partition_index(*p);
                    if !readable {
                        return r.with_error_code(code(E::TopicAuthorizationFailed));
                    }
                    if let Err(e) = crate::broker::metadata::validate_topic_name(&t.name.0) {
                        return r.with_error_code(code(E::InvalidTopicException)).with_error_message(Some(sb(e)));
                    }
                    let Some(part) = b.replicas.get(&t.name.0, *p) else {
                        return r.with_error_code(code(E::UnknownTopicOrPartition));
                    };
                    let producers = part.with_producers(|s| {
                        s.producers()
                            .map(|e| {
                                describe_producers_response::ProducerState::default()
                                    .with_producer_id(ProducerId(e.producer_id))
                                    .with_producer_epoch(e.epoch as i32)
                                    .with_last_sequence(e.last_seq())
                                    .with_last_timestamp(e.last_timestamp)
                                    .with_coordinator_epoch(e.coordinator_epoch)
                                    .with_current_txn_start_offset(e.current_txn_first_offset.unwrap_or(-1))
                            })
                            .collect()
                    });
                    r.with_active_producers(producers)
                })
                .collect();
            describe_producers_response::TopicResponse::default().with_name(t.name.clone()).with_partitions(partitions)
        })
        .collect();
    DescribeProducersResponse::default().with_topics(topics)
}

pub async fn describe_transactions(ctx: &Ctx<'_>, req: DescribeTransactionsRequest) -> DescribeTransactionsResponse {
    // DESCRIBE on the id; only partitions of topics the principal may describe are shown.
    let acl = ctx.acl();
    let states = req
        .transactional_ids
        .iter()
        .map(|id| {
            let base = describe_transactions_response::TransactionState::default()
                .with_transactional_id(id.clone())
                .with_transaction_state(sb(""));
            if !acl.allowed(Op::Describe, Resource::TransactionalId(&id.0)) {
                return base.with_error_code(code(E::TransactionalIdAuthorizationFailed));
            }
            match ctx.broker.txns.describe(&id.0) {
                Err(c) => base.with_error_code(c),
                Ok(m) => {
                    let mut by_topic: std::collections::BTreeMap<&str, Vec<i32>> = Default::default();
                    for (t, p) in m.partitions.iter().filter(|(t, _)| acl.allowed(Op::Describe, Resource::Topic(t))) {
                        by_topic.entry(t).or_default().push(*p);
                    }
                    base.with_transaction_state(sb(m.state.name()))
                        .with_transaction_timeout_ms(m.timeout_ms)
                        .with_transaction_start_time_ms(m.start_ms)
                        .with_producer_id(ProducerId(m.producer_id))
                        .with_producer_epoch(m.producer_epoch)
                        .with_topics(
                            by_topic
                                .into_iter()
                                .map(|(t, ps)| {
                                    describe_transactions_response::TopicData::default().with_topic(TopicName(sb(t))).with_partitions(ps)
                                })
                                .collect(),
                        )
                }
            }
        })
        .collect();
    DescribeTransactionsResponse::default().with_transaction_states(states)
}

pub async fn list_transactions(ctx: &Ctx<'_>, req: ListTransactionsRequest) -> ListTransactionsResponse {
    let b = ctx.broker;
    let states: Vec<String> = req.state_filters.iter().map(|s| s.to_string()).collect();
    let pids: Vec<i64> = req.producer_id_filters.iter().map(|p| p.0).collect();
    let duration = if ctx.version >= 1 { req.duration_filter } else { -1 };
    // KIP-1152: the pattern must match the whole id (Java's Matcher.matches); a pattern
    // that does not compile is the client's error, not "no filter".
    let pattern = match req.transactional_id_pattern.as_deref().filter(|p| ctx.version >= 2 && !p.is_empty()) {
        None => None,
        Some(p) => match regex::Regex::new(&format!("^(?:{p})$")) {
            Ok(re) => Some(re),
            Err(_) => return ListTransactionsResponse::default().with_error_code(code(E::InvalidRegularExpression)),
        },
    };
    // While a transaction-state partition loads, Kafka answers the error alone: a
    // partial list would look complete.
    if !b.txns.is_loaded() {
        return ListTransactionsResponse::default().with_error_code(code(E::CoordinatorLoadInProgress));
    }
    let (found, unknown) = b.txns.list(&states, &pids, duration);
    let acl = ctx.acl();
    ListTransactionsResponse::default().with_unknown_state_filters(unknown.into_iter().map(sb).collect()).with_transaction_states(
        found
            .into_iter()
            .filter(|(id, _, _)| pattern.as_ref().is_none_or(|re| re.is_match(id)))
            .filter(|(id, _, _)| acl.allowed(Op::Describe, Resource::TransactionalId(id)))
            .map(|(id, pid, state)| {
                list_transactions_response::TransactionState::default()
                    .with_transactional_id(TransactionalId(sb(id)))
                    .with_producer_id(ProducerId(pid))
                    .with_transaction_state(sb(state))
            })
            .collect(),
    )
}
