//! `rk console`: a web console for any Kafka-compatible cluster (kafka-map's job), served
//! by axum from this binary with its pages, script and styles embedded. It talks to the
//! clusters only through rk's client library. `auth.rs` owns login, sessions and CSRF;
//! `pages.rs` the server-rendered views; `actions.rs` the changes; `security.rs` ACLs and
//! SCRAM users; `api.rs` the JSON API.

mod actions;
mod api;
mod auth;
mod html;
mod live;
mod pages;
mod security;
mod stats;

use crate::client::admin::Admin;
use crate::client::{ClientConfig, Cluster};
use axum::Router;
use axum::routing::{get, post};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One configured cluster: its client config and, once used, its connection.
pub struct ClusterEntry {
    pub name: String,
    pub config: ClientConfig,
    conn: tokio::sync::Mutex<Option<Arc<Cluster>>>,
}

impl ClusterEntry {
    pub fn new(name: &str, config: ClientConfig) -> ClusterEntry {
        ClusterEntry { name: name.to_string(), config, conn: tokio::sync::Mutex::new(None) }
    }

    /// The cluster connection (bootstrapped on first use, kept afterwards), with fresh metadata.
    pub async fn cluster(&self) -> Result<Arc<Cluster>, String> {
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref() {
            if c.refresh(None).await.is_ok() {
                return Ok(c.clone());
            }
            *slot = None;
        }
        let c = Cluster::connect(self.config.clone()).await.map_err(|e| format!("cannot reach cluster {}: {e}", self.name))?;
        *slot = Some(c.clone());
        Ok(c)
    }

    pub async fn admin(&self) -> Result<Admin, String> {
        Ok(Admin::new(self.cluster().await?))
    }
}

/// What the console is started with.
pub struct ConsoleConfig {
    pub clusters: Vec<ClusterEntry>,
    pub username: String,
    pub password: String,
    pub read_only: bool,
}

/// Shared by every handler.
pub struct AppState {
    pub clusters: BTreeMap<String, ClusterEntry>,
    pub order: Vec<String>,
    pub username: String,
    pub password: String,
    pub read_only: bool,
    pub sessions: Mutex<auth::Sessions>,
}

pub type State = Arc<AppState>;

impl AppState {
    pub fn entry(&self, name: &str) -> Result<&ClusterEntry, String> {
        self.clusters.get(name).ok_or_else(|| format!("no cluster named {name}"))
    }
}

/// The router: pages under /c/<cluster>/..., the JSON API under /api/, login, assets.
pub fn router(cfg: ConsoleConfig) -> Router {
    let order: Vec<String> = cfg.clusters.iter().map(|c| c.name.clone()).collect();
    let state: State = Arc::new(AppState {
        clusters: cfg.clusters.into_iter().map(|c| (c.name.clone(), c)).collect(),
        order,
        username: cfg.username,
        password: cfg.password,
        read_only: cfg.read_only,
        sessions: Mutex::new(auth::Sessions::default()),
    });
    let protected = Router::new()
        .route("/", get(pages::home))
        .route("/c/{c}", get(pages::overview))
        .route("/c/{c}/topics", get(pages::topics).post(actions::create_topic))
        .route("/c/{c}/topics/{t}", get(pages::topic))
        .route("/c/{c}/topics/{t}/messages", get(pages::messages))
        .route("/c/{c}/topics/{t}/produce", post(actions::produce))
        .route("/c/{c}/topics/{t}/config", post(actions::alter_config))
        .route("/c/{c}/topics/{t}/delete", post(actions::delete_topic))
        .route("/c/{c}/groups", get(pages::groups))
        .route("/c/{c}/groups/{g}", get(pages::group))
        .route("/c/{c}/groups/{g}/reset", post(actions::reset_offsets))
        .route("/c/{c}/acls", get(security::acls).post(security::add_acl))
        .route("/c/{c}/acls/delete", post(security::delete_acl))
        .route("/c/{c}/users", get(security::users).post(security::save_user))
        .route("/c/{c}/users/delete", post(security::delete_user))
        .route("/api/topics", get(api::topics_default))
        .route("/api/c/{c}/topics", get(api::topics))
        .route("/api/c/{c}/groups", get(api::groups))
        .route("/api/c/{c}/live", get(live::snapshot))
        .route("/logout", post(auth::logout))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_login));
    Router::new()
        .route("/login", get(auth::login_page).post(auth::login))
        .route(
            "/assets/console.css",
            get(|| async { ([(axum::http::header::CONTENT_TYPE, "text/css")], include_str!("../../assets/console.css")) }),
        )
        .route(
            "/assets/console.js",
            get(|| async { ([(axum::http::header::CONTENT_TYPE, "text/javascript")], include_str!("../../assets/console.js")) }),
        )
        .merge(protected)
        .with_state(state)
}

/// Serves the console until the process is stopped.
pub async fn serve(listener: tokio::net::TcpListener, cfg: ConsoleConfig) -> std::io::Result<()> {
    axum::serve(listener, router(cfg)).await
}

/// Clusters from a properties file: `<name>.bootstrap.servers=...` and any other client
/// property as `<name>.<key>=...` (security settings included), in file order.
pub fn clusters_from_file(path: &std::path::Path) -> Result<Vec<ClusterEntry>, String> {
    let pairs = crate::client::config::read_properties(path)?;
    let mut by_name: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for (k, v) in pairs {
        let (name, key) = k.split_once('.').ok_or_else(|| format!("{}: '{k}' is not <cluster>.<property>", path.display()))?;
        match by_name.iter_mut().find(|(n, _)| n == name) {
            Some((_, props)) => props.push((key.to_string(), v)),
            None => by_name.push((name.to_string(), vec![(key.to_string(), v)])),
        }
    }
    by_name
        .into_iter()
        .map(|(name, props)| {
            let cfg = ClientConfig::new(None, props, "rk-console").map_err(|e| format!("cluster {name}: {e}"))?;
            Ok(ClusterEntry::new(&name, cfg))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn clusters_file_groups_properties_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("clusters.properties");
        std::fs::write(&f, "prod.bootstrap.servers=k1:9092,k2:9092\nprod.security.protocol=SSL\nprod.ssl.ca.location=/nonexistent-is-fine-until-used\nlocal.bootstrap.servers=localhost:9092\n").unwrap();
        let c = super::clusters_from_file(&f);
        // The SSL cluster's CA file is read when the config is built: a missing one is an error naming it.
        assert!(c.is_err_and(|e| e.contains("prod")));
        std::fs::write(&f, "prod.bootstrap.servers=k1:9092,k2:9092\nlocal.bootstrap.servers=localhost:9092\n").unwrap();
        let c = super::clusters_from_file(&f).unwrap();
        assert_eq!(c.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["prod", "local"]);
        assert_eq!(c[0].config.bootstrap, ["k1:9092", "k2:9092"]);
        std::fs::write(&f, "nodot=1\n").unwrap();
        assert!(super::clusters_from_file(&f).is_err());
    }
}
