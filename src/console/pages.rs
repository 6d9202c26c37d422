//! The console's views, server-rendered so a page with thousands of topics is one request
//! and one table (filtered in the browser): the cluster, topics, a topic's partitions and
//! configs, the message browser, consumer groups and a group's lag.

use super::html::{self, esc, url};
use super::{State, auth};
use crate::client::admin::OffsetSpec;
use crate::client::consumer::{Consumer, ConsumerConfig, StartAt};
use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::collections::BTreeMap;
use std::time::Duration;

/// Renders `body` (or its error) in the layout of cluster `c`.
pub(super) fn render(state: &State, headers: &HeaderMap, c: &str, title: &str, body: Result<String, String>) -> Response {
    let csrf = auth::csrf_of(state, headers).unwrap_or_default();
    let body = body.unwrap_or_else(|e| html::error(&e));
    Html(html::page(title, c, &state.order, &csrf, &body)).into_response()
}

fn entry_has_metrics(state: &State, c: &str) -> bool {
    state.entry(c).is_ok_and(|e| e.config.props.get("metrics.url").is_some_and(|u| !u.trim().is_empty()))
}

pub async fn home(axum::extract::State(state): axum::extract::State<State>) -> Redirect {
    Redirect::to(&format!("/c/{}/topics", url(state.order.first().map(String::as_str).unwrap_or("default"))))
}

pub async fn overview(axum::extract::State(state): axum::extract::State<State>, Path(c): Path<String>, headers: HeaderMap) -> Response {
    let body = async {
        let cluster = state.entry(&c)?.cluster().await?;
        let meta = cluster.metadata();
        let rows: Vec<Vec<String>> = meta
            .brokers
            .iter()
            .map(|(id, (h, p))| vec![id.to_string(), esc(h), p.to_string(), if *id == meta.controller { "controller".into() } else { String::new() }])
            .collect();
        let (topics, partitions) = (meta.topics.len(), meta.topics.values().map(|t| t.partitions.len()).sum::<usize>());
        // What the brokers speak: the API version ranges ApiVersions reports, and the
        // finalized features (metadata.version) when the cluster has them.
        let versions = match cluster.send(None, &kafka_protocol::messages::ApiVersionsRequest::default()).await {
            Ok(v) => {
                let key = |k: kafka_protocol::messages::ApiKey| {
                    v.api_keys.iter().find(|a| a.api_key == k as i16).map(|a| format!("{k:?} v{}–{}", a.min_version, a.max_version))
                };
                use kafka_protocol::messages::ApiKey as K;
                let mut parts: Vec<String> = [K::Produce, K::Fetch, K::Metadata, K::JoinGroup].into_iter().filter_map(key).collect();
                parts.insert(0, format!("{} APIs", v.api_keys.len()));
                parts.extend(v.finalized_features.iter().map(|f| format!("{} {}", f.name, f.max_version_level)));
                esc(&parts.join(" · "))
            }
            Err(e) => esc(&e.to_string()),
        };
        let live = if entry_has_metrics(&state, &c) {
            format!(
                "<section id=\"live\" data-url=\"/api/c/{}/live\"><h2>Live</h2><figure><figcaption>Throughput (bytes/s): <span class=\"in\">in</span> · <span class=\"out\">out</span> <span id=\"live-now\"></span></figcaption><svg id=\"chart-throughput\" viewBox=\"0 0 600 120\" preserveAspectRatio=\"none\"></svg></figure>\
<figure><figcaption>Consumer lag (records) <span id=\"lag-now\"></span></figcaption><svg id=\"chart-lag\" viewBox=\"0 0 600 120\" preserveAspectRatio=\"none\"></svg></figure></section>",
                url(&c)
            )
        } else {
            "<p class=\"muted\">Live charts: give the cluster its brokers' metrics endpoints (<code>--metrics-url</code>, or <code>&lt;name&gt;.metrics.url</code> in the clusters file) when it runs rk.</p>".to_string()
        };
        Ok(format!(
            "{live}<dl class=\"facts\"><dt>Cluster id</dt><dd id=\"cluster-id\">{}</dd><dt>Controller</dt><dd>{}</dd><dt>Brokers</dt><dd>{}</dd><dt>Topics</dt><dd>{topics}</dd><dt>Partitions</dt><dd>{partitions}</dd><dt>Versions</dt><dd id=\"versions\">{versions}</dd></dl>{}",
            esc(meta.cluster_id.as_deref().unwrap_or("")),
            meta.controller,
            meta.brokers.len(),
            html::table("brokers", &["Broker", "Host", "Port", ""], &rows)
        ))
    }
    .await;
    render(&state, &headers, &c, &format!("Cluster {c}"), body)
}

pub(super) use super::stats::offsets;

pub async fn topics(axum::extract::State(state): axum::extract::State<State>, Path(c): Path<String>, headers: HeaderMap) -> Response {
    let body = async {
        let entry = state.entry(&c)?;
        let admin = entry.admin().await?;
        let meta = admin.cluster.metadata();
        let list: Vec<(String, Vec<i32>)> = meta.topics.values().map(|t| (t.name.clone(), t.partitions.iter().map(|p| p.index).collect())).collect();
        let offs = offsets(&admin, &list).await;
        let sizes = super::stats::sizes(&admin).await;
        let rows: Vec<Vec<String>> = meta
            .topics
            .values()
            .map(|t| {
                let msgs: i64 = t.partitions.iter().filter_map(|p| offs.get(&(t.name.clone(), p.index))).map(|(e, l)| l - e).sum();
                let rf = t.partitions.first().map_or(0, |p| p.replicas.len());
                vec![
                    format!("<a href=\"/c/{}/topics/{}\">{}</a>", url(&c), url(&t.name), esc(&t.name)),
                    t.partitions.len().to_string(),
                    rf.to_string(),
                    msgs.to_string(),
                    sizes.get(&t.name).map(|s| super::stats::human(*s)).unwrap_or_default(),
                    if t.internal { "internal".into() } else { String::new() },
                ]
            })
            .collect();
        let create = if state.read_only {
            String::new()
        } else {
            format!(
                "<details><summary>Create a topic</summary><form method=\"post\" action=\"/c/{}/topics\" class=\"grid\">{}<label>Name <input name=\"name\" required></label>\
<label>Partitions <input name=\"partitions\" type=\"number\" min=\"1\" value=\"1\"></label><label>Replication factor <input name=\"replication_factor\" type=\"number\" min=\"1\" value=\"1\"></label>\
<label>Configs (key=value per line) <textarea name=\"configs\"></textarea></label><button>Create</button></form></details>",
                url(&c),
                html::csrf_field(&auth::csrf_of(&state, &headers).unwrap_or_default())
            )
        };
        Ok(format!(
            "{create}<input type=\"search\" class=\"filter\" data-table=\"topics\" placeholder=\"Search topics\" aria-label=\"search topics\">{}",
            html::table("topics", &["Topic", "Partitions", "Replication", "Messages", "Size", ""], &rows)
        ))
    }
    .await;
    render(&state, &headers, &c, "Topics", body)
}

pub async fn topic(
    axum::extract::State(state): axum::extract::State<State>,
    Path((c, t)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let csrf = auth::csrf_of(&state, &headers).unwrap_or_default();
    let body = async {
        let admin = state.entry(&c)?.admin().await?;
        admin.cluster.refresh(Some(std::slice::from_ref(&t))).await.map_err(|e| e.to_string())?;
        let meta = admin.cluster.metadata();
        let tm = meta.topics.get(&t).filter(|m| m.error == 0).ok_or_else(|| format!("Topic {t} does not exist"))?;
        let parts: Vec<i32> = tm.partitions.iter().map(|p| p.index).collect();
        let offs = offsets(&admin, &[(t.clone(), parts)]).await;
        let list = |v: &[i32]| v.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(",");
        let rows: Vec<Vec<String>> = tm
            .partitions
            .iter()
            .map(|p| {
                let (e, l) = offs.get(&(t.clone(), p.index)).copied().unwrap_or((-1, -1));
                vec![
                    format!("<a href=\"/c/{}/topics/{}/messages?partition={}\">{}</a>", url(&c), url(&t), p.index, p.index),
                    p.leader.to_string(),
                    list(&p.replicas),
                    list(&p.isr),
                    e.to_string(),
                    l.to_string(),
                ]
            })
            .collect();
        let configs = admin.describe_topic_configs(std::slice::from_ref(&t)).await.map_err(|e| e.to_string())?;
        let cfg_rows: Vec<Vec<String>> = configs
            .into_iter()
            .next()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                let v = if e.sensitive { "(sensitive)".into() } else { e.value.clone().unwrap_or_default() };
                vec![esc(&e.name), esc(&v), if e.is_default() { "default".into() } else { "override".into() }]
            })
            .collect();
        let changes = if state.read_only {
            String::new()
        } else {
            let (cu, tu, f) = (url(&c), url(&t), html::csrf_field(&csrf));
            format!(
                "<details><summary>Alter a config</summary><form method=\"post\" action=\"/c/{cu}/topics/{tu}/config\" class=\"grid\">{f}<label>Config <input name=\"name\" required></label>\
<label>Value (empty: back to the default) <input name=\"value\"></label><button>Apply</button></form></details>\
<details><summary>Delete the topic</summary><form method=\"post\" action=\"/c/{cu}/topics/{tu}/delete\" class=\"danger\">{f}<label>Type the topic name to confirm <input name=\"confirm\" required></label><button>Delete</button></form></details>"
            )
        };
        Ok(format!(
            "<p><a class=\"button\" href=\"/c/{}/topics/{}/messages\">Browse messages</a></p>{}<h2>Configs</h2>{}{changes}",
            url(&c),
            url(&t),
            html::table("partitions", &["Partition", "Leader", "Replicas", "ISR", "Earliest", "Latest"], &rows),
            html::table("configs", &["Name", "Value", "Source"], &cfg_rows)
        ))
    }
    .await;
    render(&state, &headers, &c, &format!("Topic {t}"), body)
}

#[derive(serde::Deserialize, Default)]
pub struct MessageQuery {
    partition: Option<i32>,
    offset: Option<i64>,
    limit: Option<usize>,
    /// A date-time (yyyy-MM-ddTHH:mm:ss, as rk consumer-groups --to-datetime) to start at.
    from: Option<String>,
}

/// Reads up to `limit` records of one partition from `start` (stopping at the end).
pub(super) async fn read_records(
    entry: &super::ClusterEntry,
    topic: &str,
    partition: i32,
    start: i64,
    end: i64,
    limit: usize,
) -> Result<Vec<crate::client::consumer::ConsumedRecord>, String> {
    let cluster = entry.cluster().await?;
    let cfg = ConsumerConfig::from_props(&entry.config.props)?;
    let mut consumer = Consumer::new(cluster, cfg);
    consumer.assign(vec![(topic.to_string(), partition, StartAt::Offset(start))]).await.map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while out.len() < limit && tokio::time::Instant::now() < deadline {
        if out.last().is_some_and(|r: &crate::client::consumer::ConsumedRecord| r.offset + 1 >= end) {
            break;
        }
        let batch = consumer.poll(Duration::from_millis(300)).await.map_err(|e| e.to_string())?;
        out.extend(batch.into_iter().filter(|r| r.offset < end));
    }
    out.truncate(limit);
    Ok(out)
}

fn bytes_cell(b: &Option<bytes::Bytes>) -> String {
    use base64::Engine;
    match b {
        None => "<span class=\"null\">null</span>".into(),
        Some(v) => format!(
            "<span class=\"payload\" data-b64=\"{}\">{}</span>",
            base64::engine::general_purpose::STANDARD.encode(v),
            esc(&String::from_utf8_lossy(v))
        ),
    }
}

pub async fn messages(
    axum::extract::State(state): axum::extract::State<State>,
    Path((c, t)): Path<(String, String)>,
    Query(q): Query<MessageQuery>,
    headers: HeaderMap,
) -> Response {
    let csrf = auth::csrf_of(&state, &headers).unwrap_or_default();
    let body = async {
        let entry = state.entry(&c)?;
        let admin = entry.admin().await?;
        let partition = q.partition.unwrap_or(0);
        let limit = q.limit.unwrap_or(50).clamp(1, 1000);
        let offs = offsets(&admin, &[(t.clone(), vec![partition])]).await;
        let (early, late) = *offs.get(&(t.clone(), partition)).ok_or_else(|| format!("{t}-{partition}: no such partition"))?;
        let start = match (&q.from, q.offset) {
            (Some(from), _) if !from.trim().is_empty() => {
                let ts = crate::cli::consumer_groups::reset::parse_datetime(from.trim()).map_err(|e| e.to_string())?;
                let found = admin.list_offsets(&t, &[partition], OffsetSpec::Timestamp(ts)).await.map_err(|e| e.to_string())?;
                found.into_iter().next().and_then(|(_, r)| r.ok()).map(|(o, _)| if o < 0 { late } else { o }).unwrap_or(late)
            }
            (_, Some(o)) => o.clamp(early, late),
            // Newest first: the last `limit` records.
            _ => (late - limit as i64).max(early),
        };
        let mut records = read_records(entry, &t, partition, start, late, limit).await?;
        let newest_first = q.offset.is_none() && q.from.as_deref().is_none_or(|f| f.trim().is_empty());
        if newest_first {
            records.reverse();
        }
        let rows: Vec<Vec<String>> = records
            .iter()
            .map(|r| {
                let hdrs: Vec<String> = r.headers.iter().map(|(k, v)| format!("{}={}", esc(k), v.as_ref().map(|v| esc(&String::from_utf8_lossy(v))).unwrap_or_else(|| "null".into()))).collect();
                let ts = chrono::DateTime::from_timestamp_millis(r.timestamp).map(|d| d.format("%Y-%m-%d %H:%M:%S%.3f").to_string()).unwrap_or_default();
                vec![r.offset.to_string(), ts, bytes_cell(&r.key), bytes_cell(&r.value), hdrs.join("<br>")]
            })
            .collect();
        let produce = if state.read_only {
            String::new()
        } else {
            format!(
                "<details><summary>Produce a message</summary><form method=\"post\" action=\"/c/{}/topics/{}/produce\" class=\"grid\">{}<input type=\"hidden\" name=\"partition\" value=\"{partition}\">\
<label>Key <input name=\"key\"></label><label>Value <textarea name=\"value\"></textarea></label><label>Headers (key=value per line) <textarea name=\"headers\"></textarea></label><button>Send</button></form></details>",
                url(&c),
                url(&t),
                html::csrf_field(&csrf)
            )
        };
        Ok(format!(
            "<form method=\"get\" class=\"grid controls\"><label>Partition <input name=\"partition\" type=\"number\" min=\"0\" value=\"{partition}\"></label>\
<label>From offset <input name=\"offset\" type=\"number\" placeholder=\"newest first\" value=\"{}\"></label><label>From time <input name=\"from\" placeholder=\"2026-01-31T12:00:00\" value=\"{}\"></label>\
<label>Limit <input name=\"limit\" type=\"number\" min=\"1\" max=\"1000\" value=\"{limit}\"></label><button>Load</button></form>\
<p class=\"muted\">Offsets {early}–{late} · showing {} · <label>Show as <select id=\"payload-format\"><option value=\"text\">text</option><option value=\"json\">JSON</option><option value=\"hex\">hex</option></select></label>\
<input type=\"search\" class=\"filter\" data-table=\"messages\" placeholder=\"Search loaded messages\" aria-label=\"search messages\"></p>{}{produce}",
            q.offset.map(|o| o.to_string()).unwrap_or_default(),
            esc(q.from.as_deref().unwrap_or("")),
            records.len(),
            html::table("messages", &["Offset", "Timestamp", "Key", "Value", "Headers"], &rows)
        ))
    }
    .await;
    render(&state, &headers, &c, &format!("Messages of {t}"), body)
}

pub async fn groups(axum::extract::State(state): axum::extract::State<State>, Path(c): Path<String>, headers: HeaderMap) -> Response {
    let body = async {
        let admin = state.entry(&c)?.admin().await?;
        let list = admin.list_groups(&[], &[]).await.map_err(|e| e.to_string())?;
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|g| {
                vec![
                    format!("<a href=\"/c/{}/groups/{}\">{}</a>", url(&c), url(&g.group_id), esc(&g.group_id)),
                    esc(&g.state),
                    esc(&g.protocol_type),
                ]
            })
            .collect();
        Ok(format!(
            "<input type=\"search\" class=\"filter\" data-table=\"groups\" placeholder=\"Search groups\" aria-label=\"search groups\">{}",
            html::table("groups", &["Group", "State", "Protocol"], &rows)
        ))
    }
    .await;
    render(&state, &headers, &c, "Consumer groups", body)
}

/// A group's lag: (topic, partition) → (committed, latest).
pub(super) async fn group_lag(admin: &crate::client::admin::Admin, group: &str) -> Result<BTreeMap<(String, i32), (i64, i64)>, String> {
    let committed = admin.group_offsets(group).await.map_err(|e| e.to_string())?;
    let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for (t, p) in committed.keys() {
        by_topic.entry(t.clone()).or_default().push(*p);
    }
    let mut out = BTreeMap::new();
    for (t, ps) in by_topic {
        for (p, r) in admin.list_offsets(&t, &ps, OffsetSpec::Latest).await.map_err(|e| e.to_string())? {
            let latest = r.map(|(o, _)| o).unwrap_or(-1);
            out.insert((t.clone(), p), (committed[&(t.clone(), p)], latest));
        }
    }
    Ok(out)
}

pub async fn group(
    axum::extract::State(state): axum::extract::State<State>,
    Path((c, g)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let csrf = auth::csrf_of(&state, &headers).unwrap_or_default();
    let body = async {
        let admin = state.entry(&c)?.admin().await?;
        let d = admin.describe_group(&g).await.map_err(|e| e.to_string())?;
        let lag = group_lag(&admin, &g).await?;
        let owner = |t: &str, p: i32| d.members.iter().find(|m| m.assignment.contains(&(t.to_string(), p))).map(|m| esc(&m.client_id)).unwrap_or_default();
        let rows: Vec<Vec<String>> = lag
            .iter()
            .map(|((t, p), (c, l))| vec![esc(t), p.to_string(), c.to_string(), l.to_string(), (l - c).max(0).to_string(), owner(t, *p)])
            .collect();
        let total: i64 = lag.values().map(|(c, l)| (l - c).max(0)).sum();
        let members: Vec<Vec<String>> = d
            .members
            .iter()
            .map(|m| {
                let a: Vec<String> = m.assignment.iter().map(|(t, p)| format!("{}-{p}", esc(t))).collect();
                vec![esc(&m.member_id), esc(&m.client_id), esc(&m.host), a.join(", ")]
            })
            .collect();
        let reset = if state.read_only {
            String::new()
        } else {
            format!(
                "<details><summary>Reset offsets</summary><form method=\"post\" action=\"/c/{}/groups/{}/reset\" class=\"grid\">{}<label>Scenario <select name=\"scenario\">\
<option value=\"to-earliest\">to earliest</option><option value=\"to-latest\">to latest</option><option value=\"to-current\">to current</option><option value=\"to-offset\">to offset</option><option value=\"shift-by\">shift by</option><option value=\"to-datetime\">to date-time</option><option value=\"by-duration\">by duration</option></select></label>\
<label>Topic (empty: every topic of the group) <input name=\"topic\"></label><label>Value (offset, shift, date-time or duration PnDTnHnMnS) <input name=\"value\"></label><button>Preview (dry run)</button></form></details>",
                url(&c),
                url(&g),
                html::csrf_field(&csrf)
            )
        };
        Ok(format!(
            "<dl class=\"facts\"><dt>State</dt><dd id=\"group-state\">{}</dd><dt>Assignor</dt><dd>{}</dd><dt>Coordinator</dt><dd>{}</dd><dt>Total lag</dt><dd id=\"total-lag\">{total}</dd></dl>\
<h2>Lag</h2>{}<h2>Members</h2>{}{reset}",
            esc(&d.state),
            esc(&d.assignment_strategy),
            d.coordinator.0,
            html::table("lag", &["Topic", "Partition", "Committed", "Latest", "Lag", "Consumer"], &rows),
            html::table("members", &["Member", "Client", "Host", "Assignment"], &members)
        ))
    }
    .await;
    render(&state, &headers, &c, &format!("Group {g}"), body)
}
