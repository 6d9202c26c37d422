//! The JSON API the scripts can call with a session (GET only; changes go through the
//! CSRF-protected forms): topics with partitions, replication and message counts, and
//! consumer groups.

use super::State;
use super::pages::offsets;
use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

fn failed(e: String) -> Response {
    (StatusCode::BAD_GATEWAY, Json(json!({ "error": e }))).into_response()
}

pub async fn topics_default(axum::extract::State(state): axum::extract::State<State>) -> Response {
    let first = state.order.first().cloned().unwrap_or_default();
    topics(axum::extract::State(state), Path(first)).await
}

pub async fn topics(axum::extract::State(state): axum::extract::State<State>, Path(c): Path<String>) -> Response {
    let r = async {
        let admin = state.entry(&c)?.admin().await?;
        let meta = admin.cluster.metadata();
        let list: Vec<(String, Vec<i32>)> = meta.topics.values().map(|t| (t.name.clone(), t.partitions.iter().map(|p| p.index).collect())).collect();
        let offs = offsets(&admin, &list).await;
        let topics: Vec<_> = meta
            .topics
            .values()
            .map(|t| {
                let partitions: Vec<_> = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let (e, l) = offs.get(&(t.name.clone(), p.index)).copied().unwrap_or((-1, -1));
                        json!({"partition": p.index, "leader": p.leader, "replicas": p.replicas, "isr": p.isr, "earliest": e, "latest": l})
                    })
                    .collect();
                let messages: i64 = t.partitions.iter().filter_map(|p| offs.get(&(t.name.clone(), p.index))).map(|(e, l)| l - e).sum();
                json!({"name": t.name, "internal": t.internal, "partitions": partitions, "replication_factor": t.partitions.first().map_or(0, |p| p.replicas.len()), "messages": messages})
            })
            .collect();
        Ok::<_, String>(json!({ "cluster": c, "topics": topics }))
    }
    .await;
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => failed(e),
    }
}

pub async fn groups(axum::extract::State(state): axum::extract::State<State>, Path(c): Path<String>) -> Response {
    let r = async {
        let admin = state.entry(&c)?.admin().await?;
        let list = admin.list_groups(&[], &[]).await.map_err(|e| e.to_string())?;
        let groups: Vec<_> =
            list.iter().map(|g| json!({"group": g.group_id, "state": g.state, "protocol_type": g.protocol_type})).collect();
        Ok::<_, String>(json!({ "cluster": c, "groups": groups }))
    }
    .await;
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => failed(e),
    }
}
