//! Concurrent metadata changes against live producers: creators, deleters, auto-creating
//! producers and producers writing by topic id all run at once. Every acknowledged record
//! of a topic incarnation (topic id) that still exists must read back at its offset, no
//! deleted topic id may come back, and no partition directory may outlive its topic —
//! also after a kill -9 in the middle of the run.

mod common;

use common::*;
use kafka_protocol::messages::*;
use rk::client::Connection;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

const NAMES: usize = 24;
const PARTITIONS: i32 = 2;

fn name(i: usize) -> String {
    format!("race-{i}")
}

/// What the workload observed: acknowledged records per (topic id, partition) and the ids
/// whose deletion succeeded.
#[derive(Default, Clone)]
struct History {
    acked: HashMap<(Uuid, i32), Vec<(i64, String)>>,
    deleted: HashSet<Uuid>,
}

async fn topic_ids(c: &Connection, names: Option<Vec<String>>, auto_create: bool) -> Option<BTreeMap<String, Uuid>> {
    let topics = names.map(|ns| ns.iter().map(|n| metadata_request::MetadataRequestTopic::default().with_name(Some(tn(n)))).collect());
    let req = MetadataRequest::default().with_topics(topics).with_allow_auto_topic_creation(auto_create);
    let resp = c.send_at(&req, 12).await.ok()?;
    Some(resp.topics.iter().filter(|t| t.error_code == 0).filter_map(|t| Some((t.name.as_ref()?.0.to_string(), t.topic_id))).collect())
}

async fn create(c: &Connection, n: &str) {
    let t = create_topics_request::CreatableTopic::default().with_name(tn(n)).with_num_partitions(PARTITIONS).with_replication_factor(1);
    let _ = c.send(&CreateTopicsRequest::default().with_topics(vec![t]).with_timeout_ms(5000)).await;
}

async fn delete(c: &Connection, n: &str, h: &Mutex<History>) {
    let req = DeleteTopicsRequest::default()
        .with_topics(vec![delete_topics_request::DeleteTopicState::default().with_name(Some(tn(n)))])
        .with_timeout_ms(5000);
    if let Ok(resp) = c.send_at(&req, 6).await {
        for r in resp.responses {
            if r.error_code == 0 && !r.topic_id.is_nil() {
                h.lock().unwrap().deleted.insert(r.topic_id);
            }
        }
    }
}

/// Produces one record by topic id (Produce v13), so an acknowledgement names exactly the
/// incarnation of the topic that took it.
async fn produce_by_id(c: &Connection, id: Uuid, partition: i32, value: &str, h: &Mutex<History>) {
    let rec = record(0, None, Some(value), now_ms());
    let req = ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(vec![
        produce_request::TopicProduceData::default().with_topic_id(id).with_partition_data(vec![
            produce_request::PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(batch(&[rec], kafka_protocol::records::Compression::None))),
        ]),
    ]);
    if let Ok(resp) = c.send_at(&req, 13).await {
        let p = &resp.responses[0].partition_responses[0];
        if p.error_code == 0 {
            h.lock().unwrap().acked.entry((id, partition)).or_default().push((p.base_offset, value.to_string()));
        }
    }
}

async fn worker(addr: String, role: usize, until: Instant, h: Arc<Mutex<History>>) {
    let Ok(c) = Connection::connect(&addr, "race").await else { return };
    let mut i = 0usize;
    while Instant::now() < until {
        i += 1;
        let n = name((i * 7 + role * 3) % NAMES);
        match role % 8 {
            0 | 1 => create(&c, &n).await,
            2 if i.is_multiple_of(4) => delete(&c, &n, &h).await,
            2 => create(&c, &n).await,
            // Producers (half of them auto-create through Metadata), writing by id.
            _ => {
                let Some(ids) = topic_ids(&c, Some(vec![n.clone()]), role % 2 == 1).await else { return };
                if let Some(id) = ids.get(&n) {
                    for p in 0..PARTITIONS {
                        produce_by_id(&c, *id, p, &format!("{role}-{i}-{p}"), &h).await;
                    }
                }
            }
        }
        if c.send(&ApiVersionsRequest::default()).await.is_err() {
            return; // the broker went away (kill -9 phase)
        }
    }
}

fn snapshot(h: &Mutex<History>) -> History {
    h.lock().unwrap().clone()
}

async fn run_workload(addr: &str, for_how_long: Duration, h: &Arc<Mutex<History>>) -> Vec<tokio::task::JoinHandle<()>> {
    let until = Instant::now() + for_how_long;
    (0..16).map(|role| tokio::spawn(worker(addr.to_string(), role, until, h.clone()))).collect()
}

/// Checks the invariants against the running broker; returns how many records were checked.
async fn verify(b: &TestBroker, h: &History) -> usize {
    let mut c = b.connect().await;
    let live = topic_ids(&c, None, false).await.expect("metadata");
    let live_ids: HashMap<Uuid, String> = live.iter().map(|(n, id)| (*id, n.clone())).collect();
    for id in &h.deleted {
        assert!(!live_ids.contains_key(id), "deleted topic id {id} ({:?}) came back", live_ids.get(id));
    }
    // Every partition of every live topic is hosted (a stale image must not have removed it).
    for n in live.keys() {
        for p in 0..PARTITIONS {
            let d = fetch(&mut c, n, p, 0, 0).await;
            assert!(d.error_code == 0, "{n}-{p} exists in metadata but is not served (error {})", d.error_code);
        }
    }
    let mut checked = 0;
    for ((id, p), recs) in &h.acked {
        let Some(n) = live_ids.get(id) else { continue };
        let mut expected: Vec<(i64, String)> = recs.clone();
        expected.sort();
        let mut got = BTreeMap::new();
        let mut offset = 0;
        loop {
            let d = fetch(&mut c, n, *p, offset, 0).await;
            assert_eq!(d.error_code, 0, "fetch {n}-{p} at {offset}");
            let rs = decode(&d.records);
            if rs.is_empty() {
                break;
            }
            for r in rs {
                offset = r.offset + 1;
                got.insert(r.offset, value_str(&r));
            }
        }
        for (o, v) in &expected {
            assert_eq!(got.get(o), Some(v), "acknowledged record {v} at {n}-{p}@{o} (topic id {id}) is lost");
            checked += 1;
        }
    }
    // Every partition directory belongs to a live topic.
    for e in std::fs::read_dir(b.data_dir()).unwrap().flatten() {
        let d = e.file_name().to_string_lossy().to_string();
        if let Some((t, idx)) = d.rsplit_once('-')
            && t.starts_with("race-")
            && idx.parse::<i32>().is_ok()
        {
            assert!(live.contains_key(t), "directory {d} outlived its topic");
        }
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_deletes_and_produces_lose_nothing_acknowledged() {
    // Publication jitter makes concurrent changes finish in any order: the image they
    // publish must still be applied in metadata-log order.
    let mut b = TestBroker::start_with_env(&["num.partitions=2"], &[("RK_FAULTS", "metadata.publish.jitter.ms=10")]);
    let h = Arc::new(Mutex::new(History::default()));
    for t in run_workload(&b.addr(), Duration::from_secs(6), &h).await {
        t.await.unwrap();
    }
    let checked = verify(&b, &snapshot(&h)).await;
    eprintln!("checked {checked} records, {} deletions", h.lock().unwrap().deleted.len());
    assert!(checked > 50, "the workload acknowledged too little to prove anything ({checked})");

    // A clean restart keeps all of it.
    b.restart();
    verify(&b, &snapshot(&h)).await;

    // kill -9 in the middle of the workload: nothing acknowledged is lost either.
    let tasks = run_workload(&b.addr(), Duration::from_secs(30), &h).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    b.kill9();
    for t in tasks {
        t.await.unwrap();
    }
    b.start_again();
    let checked = verify(&b, &snapshot(&h)).await;
    assert!(checked > 50);
}
