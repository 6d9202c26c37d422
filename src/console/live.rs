//! Live charts for rk clusters: the console reads the brokers' Prometheus endpoints (a
//! cluster's `metrics.url` property, comma-separated for several brokers) and answers
//! `/api/c/<cluster>/live` with one snapshot of the cumulative counters (bytes and records
//! in, bytes out, per-group lag); the page polls it and draws rates and lag as SVG lines.

use super::State;
use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use std::collections::BTreeMap;
use std::time::Duration;

/// GET of an http:// URL (the metrics endpoints are plain HTTP on a private network).
async fn fetch(url: &str) -> Result<String, String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("{url}: only http:// metrics endpoints are read"));
    }
    let host = uri.host().ok_or_else(|| format!("{url}: no host"))?.to_string();
    let port = uri.port_u16().unwrap_or(80);
    let path = uri.path_and_query().map_or("/metrics".to_string(), |p| p.to_string());
    let work = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| e.to_string())?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await.map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let req = hyper::Request::get(path)
            .header("host", host.as_str())
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .map_err(|e| e.to_string())?;
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("{url}: HTTP {}", resp.status()));
        }
        let body = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(String::from_utf8_lossy(&body).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(5), work).await.map_err(|_| format!("{url}: no answer within 5 s"))?
}

/// One sample line of the text format: (metric name, labels text, value).
fn sample(line: &str) -> Option<(&str, &str, f64)> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let (head, value) = line.rsplit_once(' ')?;
    let value: f64 = value.trim().parse().ok()?;
    match head.split_once('{') {
        Some((name, labels)) => Some((name, labels.trim_end_matches('}'), value)),
        None => Some((head.trim(), "", value)),
    }
}

fn label<'a>(labels: &'a str, key: &str) -> Option<&'a str> {
    labels.split(',').find_map(|kv| kv.strip_prefix(key)?.strip_prefix("=\"")?.strip_suffix('"'))
}

/// Totals over every broker: bytes/records in, bytes out, and lag per group.
fn summarize(texts: &[String]) -> serde_json::Value {
    let (mut bytes_in, mut bytes_out, mut records_in) = (0.0, 0.0, 0.0);
    let mut lag: BTreeMap<String, f64> = BTreeMap::new();
    for t in texts {
        for (name, labels, v) in t.lines().filter_map(sample) {
            match name {
                "kafka_server_brokertopicmetrics_bytesin_total" => bytes_in += v,
                "kafka_server_brokertopicmetrics_bytesout_total" => bytes_out += v,
                "kafka_server_brokertopicmetrics_messagesin_total" => records_in += v,
                "kafka_consumergroup_lag" => *lag.entry(label(labels, "consumergroup").unwrap_or("").to_string()).or_default() += v,
                _ => {}
            }
        }
    }
    serde_json::json!({ "bytes_in": bytes_in, "bytes_out": bytes_out, "records_in": records_in, "lag": lag })
}

pub async fn snapshot(axum::extract::State(state): axum::extract::State<State>, Path(c): Path<String>) -> Response {
    let Ok(entry) = state.entry(&c) else { return (StatusCode::NOT_FOUND, "no such cluster").into_response() };
    let Some(urls) = entry.config.props.get("metrics.url").filter(|u| !u.trim().is_empty()) else {
        return (StatusCode::NOT_FOUND, Json(serde_json::json!({"error": "no metrics.url configured for this cluster"}))).into_response();
    };
    let mut texts = Vec::new();
    for u in urls.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        match fetch(&format!("{}/metrics", u.trim_end_matches('/').trim_end_matches("/metrics"))).await {
            Ok(t) => texts.push(t),
            Err(e) => return (StatusCode::BAD_GATEWAY, Json(serde_json::json!({ "error": e }))).into_response(),
        }
    }
    let mut v = summarize(&texts);
    v["t"] =
        serde_json::json!(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0));
    Json(v).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_across_brokers_and_lag_per_group() {
        let a = "# TYPE x counter\nkafka_server_brokertopicmetrics_bytesin_total{topic=\"a\"} 100\nkafka_consumergroup_lag{consumergroup=\"g\",topic=\"a\",partition=\"0\"} 5\n# EOF\n";
        let b = "kafka_server_brokertopicmetrics_bytesin_total{topic=\"b\"} 50\nkafka_consumergroup_lag{consumergroup=\"g\",topic=\"b\",partition=\"0\"} 2\nkafka_server_brokertopicmetrics_messagesin_total{topic=\"b\"} 7\n";
        let v = summarize(&[a.to_string(), b.to_string()]);
        assert_eq!(v["bytes_in"], 150.0);
        assert_eq!(v["records_in"], 7.0);
        assert_eq!(v["lag"]["g"], 7.0);
    }
}
