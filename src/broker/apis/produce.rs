//! Produce: validates each partition's batches, appends them as sent (offsets and leader
//! epoch patched in place) and answers per partition; acks=0 gets no response at all.

use super::{Ctx, MaybeResponse, code, sb};
use crate::broker::metadata::MetadataImage;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::*;
use uuid::Uuid;

/// Resolves a request's topic reference: by id from v13 (Produce) / v13 (Fetch), else name.
pub fn topic_name(image: &MetadataImage, name: &TopicName, id: Uuid, by_id: bool) -> Result<String, E> {
    if by_id { image.ids.get(&id).cloned().ok_or(E::UnknownTopicId) } else { Ok(name.0.to_string()) }
}

pub async fn handle(ctx: &Ctx<'_>, req: ProduceRequest) -> MaybeResponse<ProduceResponse> {
    let b = ctx.broker;
    let image = b.controller.image();
    let by_id = ctx.version >= 13;
    let acks_ok = matches!(req.acks, -1..=1);
    let mut responses = Vec::with_capacity(req.topic_data.len());
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
            if !acks_ok {
                parts.push(fail(E::InvalidRequiredAcks, None));
                continue;
            }
            let Some(partition) = partition else {
                parts.push(fail(E::UnknownTopicOrPartition, None));
                continue;
            };
            // acks=all needs at least min.insync.replicas in the ISR (Kafka refuses the
            // write up front with NOT_ENOUGH_REPLICAS).
            if req.acks == -1 {
                let isr =
                    name.as_ref().ok().and_then(|n| image.topic(n)).and_then(|t| t.partitions.get(&pd.index)).map_or(0, |p| p.isr.len());
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
            // One copy into a mutable buffer: offsets are patched in place, then written as is.
            let mut buf = bytes::BytesMut::from(&records[..]);
            match partition.append(&mut buf) {
                Ok(info) => parts.push(
                    resp.with_base_offset(info.base_offset)
                        .with_log_append_time_ms(info.log_append_time)
                        .with_log_start_offset(info.log_start_offset),
                ),
                Err(e) => {
                    tracing::debug!(topic = %partition.topic, partition = pd.index, "produce refused: {e}");
                    parts.push(resp.with_error_code(e.code()).with_error_message(Some(sb(e.to_string()))));
                }
            }
        }
        responses.push(TopicProduceResponse::default().with_name(topic.name).with_topic_id(topic.topic_id).with_partition_responses(parts));
    }
    if req.acks == 0 {
        return MaybeResponse(None);
    }
    MaybeResponse(Some(ProduceResponse::default().with_responses(responses)))
}
