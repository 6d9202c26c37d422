//! What a client can make the broker hold (Kafka's ConnectionQuotas and MemoryPool):
//! `max.connections` (the acceptor waits for a free slot, leaving new sockets in the
//! backlog), `max.connections.per.ip` with `max.connections.per.ip.overrides` (excess
//! connections are closed at once), and `queued.max.request.bytes` (request bodies draw
//! from a byte pool; a connection waits, unread, while the pool is empty).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

pub struct ConnectionQuotas {
    max_total: usize,
    max_per_ip: usize,
    overrides: HashMap<IpAddr, usize>,
    counts: Mutex<(usize, HashMap<IpAddr, usize>)>,
    freed: Notify,
    pool: Option<(Arc<Semaphore>, usize)>,
}

/// A live connection's place in the quotas; released when dropped.
pub struct ConnectionSlot {
    quotas: Arc<ConnectionQuotas>,
    ip: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut c = self.quotas.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.0 -= 1;
        if let Some(n) = c.1.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.1.remove(&self.ip);
            }
        }
        drop(c);
        self.quotas.freed.notify_one();
    }
}

/// Parses `host:n,ip:n` (Kafka's max.connections.per.ip.overrides); hosts are resolved.
pub fn parse_overrides(v: &str) -> Result<HashMap<IpAddr, usize>, String> {
    let mut out = HashMap::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (host, n) = item.rsplit_once(':').ok_or_else(|| format!("expected host:count, got '{item}'"))?;
        let n: usize = n.trim().parse().map_err(|_| format!("bad count in '{item}'"))?;
        let ips: Vec<IpAddr> = match host.trim().parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => {
                use std::net::ToSocketAddrs;
                (host.trim(), 0).to_socket_addrs().map_err(|e| format!("cannot resolve '{host}': {e}"))?.map(|a| a.ip()).collect()
            }
        };
        for ip in ips {
            out.insert(ip, n);
        }
    }
    Ok(out)
}

impl ConnectionQuotas {
    pub fn new(max_total: usize, max_per_ip: usize, overrides: HashMap<IpAddr, usize>, pool_bytes: Option<usize>) -> Arc<Self> {
        Arc::new(ConnectionQuotas {
            max_total,
            max_per_ip,
            overrides,
            counts: Mutex::new((0, HashMap::new())),
            freed: Notify::new(),
            pool: pool_bytes.map(|n| (Arc::new(Semaphore::new(n.min(Semaphore::MAX_PERMITS))), n.min(Semaphore::MAX_PERMITS))),
        })
    }

    /// Waits until the broker is below `max.connections` (new connections wait in the
    /// listen backlog meanwhile, as Kafka's acceptor does).
    pub async fn wait_for_slot(&self) {
        loop {
            let notified = self.freed.notified();
            if self.counts.lock().unwrap_or_else(|e| e.into_inner()).0 < self.max_total {
                return;
            }
            notified.await;
        }
    }

    /// Counts a new connection from `ip`; None when that address is at its limit (the
    /// connection is to be closed at once).
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<ConnectionSlot> {
        let max = self.overrides.get(&ip).copied().unwrap_or(self.max_per_ip);
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = c.1.entry(ip).or_insert(0);
        if *n >= max {
            if *n == 0 {
                c.1.remove(&ip);
            }
            return None;
        }
        *n += 1;
        c.0 += 1;
        Some(ConnectionSlot { quotas: self.clone(), ip })
    }

    /// Takes `size` bytes from the request pool (waiting while it is empty); a request
    /// larger than the whole pool takes all of it. None when there is no pool.
    pub async fn reserve(&self, size: usize) -> Option<OwnedSemaphorePermit> {
        let (pool, total) = self.pool.as_ref()?;
        let n = size.clamp(1, *total) as u32;
        pool.clone().acquire_many_owned(n).await.ok()
    }

    pub fn connections(&self) -> usize {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_limits_with_overrides_and_release_on_drop() {
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.1".parse().unwrap();
        let q = ConnectionQuotas::new(100, 2, parse_overrides("10.0.0.1:1").unwrap(), None);
        let a = q.admit(local).unwrap();
        let _b = q.admit(local).unwrap();
        assert!(q.admit(local).is_none(), "the third from one address is refused");
        let _c = q.admit(other).unwrap();
        assert!(q.admit(other).is_none(), "override: one from 10.0.0.1");
        assert_eq!(q.connections(), 3);
        drop(a);
        assert!(q.admit(local).is_some());
        assert!(parse_overrides("nohostcount").is_err());
    }

    #[tokio::test]
    async fn the_request_pool_makes_later_requests_wait() {
        let q = ConnectionQuotas::new(10, 10, HashMap::new(), Some(10_000));
        let held = q.reserve(9000).await.unwrap();
        let small = q.reserve(500).await.unwrap();
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(100), q.reserve(5000)).await;
        assert!(waiting.is_err(), "no room: the request waits");
        drop(held);
        drop(small);
        assert!(q.reserve(50_000).await.is_some(), "a request larger than the pool takes all of it");
        assert!(ConnectionQuotas::new(1, 1, HashMap::new(), None).reserve(5).await.is_none());
    }
}
