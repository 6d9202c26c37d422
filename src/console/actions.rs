//! The console's changes, each a POST that must carry the session's CSRF token and is
//! refused in --read-only mode: create, alter and delete topics, produce a message, and
//! reset a group's offsets (a dry run is shown first; the confirmation executes it).

use super::html::{self, esc, url};
use super::pages::{group_lag, render};
use super::{State, auth};
use crate::client::admin::{NewTopic, OffsetSpec};
use crate::client::producer::{Producer, ProducerConfig, ProducerRecord};
use axum::extract::{Form, Path};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::BTreeMap;

/// CSRF and read-only checks shared by every action.
pub(super) fn guard(state: &State, headers: &HeaderMap, csrf: Option<&str>) -> Result<(), auth::Refused> {
    auth::check_csrf(state, headers, csrf)?;
    auth::check_writable(state)
}

/// The end of an action: back to `to` when it worked, else the page `title` with the error.
pub(super) fn outcome(state: &State, headers: &HeaderMap, c: &str, title: &str, to: String, done: Result<(), String>) -> Response {
    match done {
        Ok(()) => Redirect::to(&to).into_response(),
        Err(e) => render(state, headers, c, title, Err(e)),
    }
}

fn lines(s: &str) -> impl Iterator<Item = (String, String)> + '_ {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        (k.trim().to_string(), v.trim().to_string())
    })
}

#[derive(serde::Deserialize)]
pub struct CreateTopic {
    csrf: Option<String>,
    name: String,
    partitions: Option<i32>,
    replication_factor: Option<i16>,
    configs: Option<String>,
}

pub async fn create_topic(
    axum::extract::State(state): axum::extract::State<State>,
    Path(c): Path<String>,
    headers: HeaderMap,
    Form(f): Form<CreateTopic>,
) -> Response {
    if let Err(r) = guard(&state, &headers, f.csrf.as_deref()) {
        return r.into_response();
    }
    let done = async {
        let admin = state.entry(&c)?.admin().await?;
        let t = NewTopic {
            name: f.name.trim().to_string(),
            partitions: f.partitions.unwrap_or(-1),
            replication_factor: f.replication_factor.unwrap_or(-1),
            assignment: None,
            configs: lines(f.configs.as_deref().unwrap_or("")).collect(),
        };
        admin.create_topic(&t, false).await.map_err(|e| format!("Cannot create topic {}: {e}", f.name))
    }
    .await;
    outcome(&state, &headers, &c, "Topics", format!("/c/{}/topics/{}", url(&c), url(f.name.trim())), done)
}

#[derive(serde::Deserialize)]
pub struct AlterConfig {
    csrf: Option<String>,
    name: String,
    value: Option<String>,
}

pub async fn alter_config(
    axum::extract::State(state): axum::extract::State<State>,
    Path((c, t)): Path<(String, String)>,
    headers: HeaderMap,
    Form(f): Form<AlterConfig>,
) -> Response {
    if let Err(r) = guard(&state, &headers, f.csrf.as_deref()) {
        return r.into_response();
    }
    let done = async {
        let admin = state.entry(&c)?.admin().await?;
        let value = f.value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        let op = if value.is_some() { 0 } else { 1 };
        admin
            .alter_resource_configs(2, &t, &[(f.name.trim().to_string(), op, value)])
            .await
            .map_err(|e| format!("Cannot alter {}: {e}", f.name))
    }
    .await;
    outcome(&state, &headers, &c, &format!("Topic {t}"), format!("/c/{}/topics/{}", url(&c), url(&t)), done)
}

#[derive(serde::Deserialize)]
pub struct DeleteTopic {
    csrf: Option<String>,
    confirm: String,
}

pub async fn delete_topic(
    axum::extract::State(state): axum::extract::State<State>,
    Path((c, t)): Path<(String, String)>,
    headers: HeaderMap,
    Form(f): Form<DeleteTopic>,
) -> Response {
    if let Err(r) = guard(&state, &headers, f.csrf.as_deref()) {
        return r.into_response();
    }
    if f.confirm.trim() != t {
        return render(
            &state,
            &headers,
            &c,
            &format!("Topic {t}"),
            Err("The confirmation does not match the topic name; nothing was deleted.".into()),
        );
    }
    let done = async { state.entry(&c)?.admin().await?.delete_topic(&t).await.map_err(|e| format!("Cannot delete {t}: {e}")) }.await;
    outcome(&state, &headers, &c, &format!("Topic {t}"), format!("/c/{}/topics", url(&c)), done)
}

#[derive(serde::Deserialize)]
pub struct Produce {
    csrf: Option<String>,
    partition: Option<i32>,
    key: Option<String>,
    value: Option<String>,
    headers: Option<String>,
}

pub async fn produce(
    axum::extract::State(state): axum::extract::State<State>,
    Path((c, t)): Path<(String, String)>,
    headers: HeaderMap,
    Form(f): Form<Produce>,
) -> Response {
    if let Err(r) = guard(&state, &headers, f.csrf.as_deref()) {
        return r.into_response();
    }
    let partition = f.partition.unwrap_or(0);
    let done = async {
        let entry = state.entry(&c)?;
        let producer =
            Producer::new(entry.cluster().await?, ProducerConfig::from_props(&entry.config.props)?).await.map_err(|e| e.to_string())?;
        let record = ProducerRecord {
            topic: t.clone(),
            partition: Some(partition),
            key: f.key.filter(|k| !k.is_empty()).map(bytes::Bytes::from),
            value: f.value.map(|v| bytes::Bytes::from(v.replace("\r\n", "\n"))),
            headers: lines(f.headers.as_deref().unwrap_or("")).map(|(k, v)| (k, Some(bytes::Bytes::from(v)))).collect(),
            timestamp: None,
        };
        let meta = producer.send(record).wait().await.map_err(|e| e.to_string())?;
        producer.flush().await;
        Ok::<_, String>(meta.offset)
    }
    .await;
    match done {
        Ok(_) => Redirect::to(&format!("/c/{}/topics/{}/messages?partition={partition}", url(&c), url(&t))).into_response(),
        Err(e) => render(&state, &headers, &c, &format!("Messages of {t}"), Err(format!("Cannot produce: {e}"))),
    }
}

#[derive(serde::Deserialize)]
pub struct Reset {
    csrf: Option<String>,
    scenario: String,
    topic: Option<String>,
    value: Option<String>,
    execute: Option<String>,
}

async fn offset_of(admin: &crate::client::admin::Admin, t: &str, p: i32, spec: OffsetSpec) -> Option<i64> {
    admin.list_offsets(t, &[p], spec).await.ok()?.into_iter().next()?.1.ok().map(|(o, _)| o)
}

/// The new offsets of a reset, as `rk consumer-groups --reset-offsets` computes them.
async fn plan(admin: &crate::client::admin::Admin, group: &str, f: &Reset) -> Result<BTreeMap<(String, i32), (i64, i64)>, String> {
    let lag = group_lag(admin, group).await?;
    let topic = f.topic.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let value = f.value.as_deref().map(str::trim).unwrap_or("");
    let num = || value.parse::<i64>().map_err(|_| format!("'{value}' is not a number"));
    let mut out = BTreeMap::new();
    for ((t, p), (committed, _)) in lag.into_iter().filter(|((t, _), _)| topic.is_none_or(|x| x == t)) {
        let (earliest, latest) = (
            offset_of(admin, &t, p, OffsetSpec::Earliest).await.unwrap_or(0),
            offset_of(admin, &t, p, OffsetSpec::Latest).await.unwrap_or(0),
        );
        let target = match f.scenario.as_str() {
            "to-earliest" => earliest,
            "to-latest" => latest,
            "to-current" => committed,
            "to-offset" => num()?,
            "shift-by" => committed + num()?,
            "to-datetime" | "by-duration" => {
                let ts = if f.scenario == "to-datetime" {
                    crate::cli::consumer_groups::reset::parse_datetime(value).map_err(|e| e.to_string())?
                } else {
                    crate::broker::log::now_ms() - crate::cli::consumer_groups::reset::parse_duration(value).map_err(|e| e.to_string())?
                };
                offset_of(admin, &t, p, OffsetSpec::Timestamp(ts)).await.filter(|o| *o >= 0).unwrap_or(latest)
            }
            other => return Err(format!("unknown scenario {other}")),
        };
        out.insert((t.clone(), p), (committed, target.clamp(earliest, latest)));
    }
    if out.is_empty() {
        return Err(format!("group {group} has no committed offsets{}", topic.map(|t| format!(" for topic {t}")).unwrap_or_default()));
    }
    Ok(out)
}

pub async fn reset_offsets(
    axum::extract::State(state): axum::extract::State<State>,
    Path((c, g)): Path<(String, String)>,
    headers: HeaderMap,
    Form(f): Form<Reset>,
) -> Response {
    if let Err(r) = guard(&state, &headers, f.csrf.as_deref()) {
        return r.into_response();
    }
    let execute = f.execute.as_deref() == Some("1");
    let body = async {
        let admin = state.entry(&c)?.admin().await?;
        let planned = plan(&admin, &g, &f).await?;
        let rows: Vec<Vec<String>> = planned.iter().map(|((t, p), (old, new))| vec![esc(t), p.to_string(), old.to_string(), new.to_string()]).collect();
        let table = html::table("reset-plan", &["Topic", "Partition", "Current offset", "New offset"], &rows);
        if execute {
            let offsets = planned.iter().map(|(k, (_, new))| (k.clone(), *new)).collect();
            admin.commit_group_offsets(&g, &offsets).await.map_err(|e| format!("Cannot reset (the group must have no active members): {e}"))?;
            return Ok(format!("<p class=\"ok\" role=\"status\">Offsets reset.</p>{table}<p><a href=\"/c/{}/groups/{}\">Back to the group</a></p>", url(&c), url(&g)));
        }
        let keep = |name: &str, v: &str| format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", esc(v));
        Ok(format!(
            "<p role=\"status\">Dry run: nothing changed yet.</p>{table}<form method=\"post\" action=\"/c/{}/groups/{}/reset\">{}{}{}{}<input type=\"hidden\" name=\"execute\" value=\"1\"><button id=\"confirm-reset\">Execute the reset</button></form>",
            url(&c),
            url(&g),
            html::csrf_field(&auth::csrf_of(&state, &headers).unwrap_or_default()),
            keep("scenario", &f.scenario),
            keep("topic", f.topic.as_deref().unwrap_or("")),
            keep("value", f.value.as_deref().unwrap_or(""))
        ))
    }
    .await;
    render(&state, &headers, &c, &format!("Reset offsets of {g}"), body)
}
