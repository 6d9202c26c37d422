//! KRaft-mode settings: `process.roles`, `controller.quorum.voters` (or
//! `controller.quorum.bootstrap.servers`), the CONTROLLER listener, `broker.rack` and the
//! broker-liveness and replication timings. Without quorum keys rk runs as one node, as
//! before; with them, the metadata is replicated by the Raft quorum.

use super::Listener;
use std::collections::BTreeMap;
use std::net::SocketAddr;

#[derive(Debug, Clone)]
pub struct KraftConfig {
    pub broker: bool,
    pub controller: bool,
    /// Voter id → host:port of its CONTROLLER listener.
    pub voters: BTreeMap<i32, String>,
    /// Where to reach a controller when this node is not a voter.
    pub bootstrap: Vec<String>,
    /// The bound CONTROLLER listener (controller role).
    pub controller_listen: Option<SocketAddr>,
    /// This node's CONTROLLER address as the others reach it.
    pub controller_advertised: Option<String>,
    pub rack: Option<String>,
    pub session_timeout_ms: u64,
    pub heartbeat_interval_ms: u64,
    pub election_timeout_ms: u64,
}

/// Parses `1@host:port,2@host:port`.
pub fn parse_voters(v: &str) -> Result<BTreeMap<i32, String>, String> {
    let mut out = BTreeMap::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = || format!("Invalid value {v} for configuration controller.quorum.voters: expected id@host:port, got '{item}'");
        let (id, addr) = item.split_once('@').ok_or_else(bad)?;
        let id: i32 = id.trim().parse().map_err(|_| bad())?;
        let (_, port) = addr.rsplit_once(':').ok_or_else(bad)?;
        port.parse::<u16>().map_err(|_| bad())?;
        if out.insert(id, addr.trim().to_string()).is_some() {
            return Err(format!("Invalid value {v} for configuration controller.quorum.voters: voter {id} is listed twice"));
        }
    }
    Ok(out)
}

/// The KRaft settings, or None for a single node without a quorum.
pub fn parse(
    get: &dyn Fn(&str) -> String,
    node_id: i32,
    listeners: &[Listener],
    controller_names: &[String],
) -> Result<Option<KraftConfig>, String> {
    let voters = parse_voters(&get("controller.quorum.voters"))?;
    let bootstrap: Vec<String> =
        get("controller.quorum.bootstrap.servers").split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    if voters.is_empty() && bootstrap.is_empty() {
        return Ok(None);
    }
    let roles: Vec<String> = get("process.roles").split(',').map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()).collect();
    let (broker, controller) = (roles.iter().any(|r| r == "broker"), roles.iter().any(|r| r == "controller"));
    if !broker && !controller {
        return Err("Invalid value for configuration process.roles: at least one of broker, controller".into());
    }
    let controller_listener = listeners.iter().find(|l| controller_names.contains(&l.name));
    let (controller_listen, controller_advertised) = if controller {
        if !voters.contains_key(&node_id) {
            return Err(format!(
                "If process.roles contains controller, the node id {node_id} must be included in the set of voters controller.quorum.voters={}",
                get("controller.quorum.voters")
            ));
        }
        let l = controller_listener.ok_or_else(|| {
            "The listeners config must contain a listener named in controller.listener.names when process.roles contains controller"
                .to_string()
        })?;
        let host = if l.host.is_empty() { "0.0.0.0" } else { l.host.as_str() };
        let listen = super::resolve(host, l.port)
            .ok_or_else(|| format!("Invalid value for configuration listeners: cannot resolve host '{host}'"))?;
        (Some(listen), voters.get(&node_id).cloned())
    } else {
        if controller_listener.is_some() {
            return Err("The listeners config must not contain a controller listener when process.roles is broker only".into());
        }
        (None, None)
    };
    let num = |k: &str| get(k).trim().parse::<u64>().unwrap_or(0);
    let rack = Some(get("broker.rack").trim().to_string()).filter(|r| !r.is_empty());
    Ok(Some(KraftConfig {
        broker,
        controller,
        voters,
        bootstrap,
        controller_listen,
        controller_advertised,
        rack,
        session_timeout_ms: num("broker.session.timeout.ms"),
        heartbeat_interval_ms: num("broker.heartbeat.interval.ms"),
        election_timeout_ms: num("controller.quorum.election.timeout.ms"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voters_parse_and_bad_ones_name_the_key() {
        let v = parse_voters("1@127.0.0.1:9093, 2@localhost:9094").unwrap();
        assert_eq!(v.get(&2).map(String::as_str), Some("localhost:9094"));
        assert!(parse_voters("1@host").unwrap_err().contains("controller.quorum.voters"));
        assert!(parse_voters("x@host:1").is_err());
        assert!(parse_voters("1@a:1,1@b:2").unwrap_err().contains("twice"));
    }
}
