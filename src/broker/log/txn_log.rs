//! The transactional half of PartitionLog (Kafka's UnifiedLog + ProducerStateManager +
//! TransactionIndex): producer state kept on every append, rebuilt at start from the newest
//! snapshot and a replay of the log after it; the aborted transactions of each segment in
//! its `.txnindex` (34-byte entries, Kafka's format), which read_committed fetches return;
//! and the first unstable offset the last stable offset is derived from.

use super::LogError;
use super::batch::BatchHeader;
use super::partition::PartitionLog;
use super::producer_state::{AbortedTxn, BatchMetadata, parse_end_marker};
use super::segment::file_name;
use std::io::{self, Write};

const TXN_INDEX_ENTRY: usize = 34;

fn txn_index_path(log: &PartitionLog, base: i64) -> std::path::PathBuf {
    log.dir().join(file_name(base, "txnindex"))
}

fn encode(t: &AbortedTxn) -> [u8; TXN_INDEX_ENTRY] {
    let mut b = [0u8; TXN_INDEX_ENTRY];
    b[2..10].copy_from_slice(&t.producer_id.to_be_bytes());
    b[10..18].copy_from_slice(&t.first_offset.to_be_bytes());
    b[18..26].copy_from_slice(&t.last_offset.to_be_bytes());
    b[26..34].copy_from_slice(&t.last_stable_offset.to_be_bytes());
    b
}

fn decode(b: &[u8]) -> Option<AbortedTxn> {
    if i16::from_be_bytes([b[0], b[1]]) != 0 {
        return None;
    }
    let at = |p: usize| i64::from_be_bytes(b[p..p + 8].try_into().expect("8 bytes"));
    Some(AbortedTxn { producer_id: at(2), first_offset: at(10), last_offset: at(18), last_stable_offset: at(26) })
}

impl PartitionLog {
    /// Loads the segments' `.txnindex` files and the producer state: the newest snapshot at
    /// or below the log end, then the batches after it. Without a snapshot, after a clean
    /// shutdown there were no producers; after a crash the recovered segments are replayed.
    pub(super) fn load_txn_state(&mut self, clean_shutdown: bool) -> Result<(), LogError> {
        let bases: Vec<i64> = self.segments.keys().copied().collect();
        for base in &bases {
            let Ok(data) = std::fs::read(txn_index_path(self, *base)) else { continue };
            for chunk in data.chunks_exact(TXN_INDEX_ENTRY) {
                if let Some(t) = decode(chunk)
                    && t.last_offset < self.log_end_offset()
                {
                    self.aborted.push((*base, t));
                }
            }
        }
        let end = self.log_end_offset();
        let from = match self.producers.load_snapshot(end) {
            Some(offset) => offset,
            None if clean_shutdown => {
                self.producers.clear(end);
                return Ok(());
            }
            None => {
                // Snapshots are taken at every roll once producers exist: none means the
                // recovered segments (the last two) hold all there is.
                let start = bases.len().checked_sub(2).map_or(self.log_start_offset(), |i| bases[i]).max(self.log_start_offset());
                self.producers.clear(start);
                start
            }
        };
        self.replay_producers(from, end)
    }

    /// Rebuilds producer state from the batches in [from, to) (replication semantics: no
    /// checks, markers complete transactions). Each batch is applied as the scan meets it
    /// (a marker read where it lies), so a replay over a long log holds no list of its
    /// batches and does no search per marker.
    fn replay_producers(&mut self, from: i64, to: i64) -> Result<(), LogError> {
        let producers = &mut self.producers;
        for seg in self.segments.values().filter(|s| s.next_offset > from && s.base_offset < to) {
            let mut failed: Option<io::Error> = None;
            seg.scan_headers(0, |pos, h| {
                if h.last_offset() < from || h.base_offset >= to || h.producer_id < 0 {
                    return true;
                }
                if !h.is_control() {
                    producers.update(h, None);
                    return true;
                }
                match seg.read(pos, h.size) {
                    Ok(raw) => {
                        if let Some(marker) = parse_end_marker(&raw) {
                            producers.update(h, Some(marker));
                        }
                        true
                    }
                    Err(e) => {
                        failed = Some(e);
                        false
                    }
                }
            })?;
            if let Some(e) = failed {
                return Err(e.into());
            }
        }
        self.producers.map_end_offset = to;
        Ok(())
    }

    /// A client batch's fate: Ok(Some) when it repeats a batch already stored.
    pub(super) fn check_producer(&self, h: &BatchHeader) -> Result<Option<BatchMetadata>, LogError> {
        self.producers.check_client_batch(h)
    }

    /// A coordinator's marker must not come from a fenced producer epoch or coordinator.
    pub(super) fn check_markers(&self, payload: &[u8], headers: &[(usize, BatchHeader)]) -> Result<(), LogError> {
        for (pos, h) in headers.iter().filter(|(_, h)| h.is_control() && h.producer_id >= 0) {
            let Some(m) = parse_end_marker(&payload[*pos..*pos + h.size]) else { continue };
            self.producers.check_marker(h, &m)?;
        }
        Ok(())
    }

    /// Records appended batches in the producer state; an aborted transaction's marker adds
    /// an entry to the active segment's `.txnindex`.
    pub(super) fn track_producers(&mut self, payload: &[u8], headers: &[(usize, BatchHeader)]) -> Result<(), LogError> {
        for (pos, h) in headers {
            if h.producer_id < 0 {
                self.producers.map_end_offset = self.producers.map_end_offset.max(h.next_offset());
                continue;
            }
            let marker = if h.is_control() { parse_end_marker(&payload[*pos..*pos + h.size]) } else { None };
            if h.is_control() && marker.is_none() {
                continue;
            }
            if let Some(done) = self.producers.update(h, marker)
                && done.aborted
            {
                let entry = AbortedTxn {
                    producer_id: done.producer_id,
                    first_offset: done.first_offset,
                    last_offset: done.marker_offset,
                    last_stable_offset: self.producers.last_stable_offset_after(&done),
                };
                let base = *self.segments.keys().next_back().expect("active segment");
                let mut f = std::fs::OpenOptions::new().create(true).append(true).open(txn_index_path(self, base))?;
                f.write_all(&encode(&entry))?;
                self.aborted.push((base, entry));
            }
        }
        Ok(())
    }

    /// Where read_committed reads must stop (before the HW cap is applied).
    pub fn first_unstable_offset(&self) -> Option<i64> {
        self.producers.first_unstable_offset().map(|o| o.max(self.log_start_offset()))
    }

    /// The high watermark moved: transactions completed below it are now stable.
    pub fn on_high_watermark(&mut self, hw: i64) {
        self.producers.on_high_watermark(hw);
    }

    /// Aborted transactions overlapping [from, to): what a read_committed consumer must
    /// drop from the batches it is sent, as (producer id, first offset).
    pub fn aborted_txns(&self, from: i64, to: i64) -> Vec<(i64, i64)> {
        self.aborted
            .iter()
            .filter(|(_, t)| t.last_offset >= from && t.first_offset < to)
            .map(|(_, t)| (t.producer_id, t.first_offset))
            .collect()
    }

    /// The aborted transactions overlapping [from, to), whole (the cleaner drops their
    /// records).
    pub fn aborted_in(&self, from: i64, to: i64) -> Vec<super::producer_state::AbortedTxn> {
        self.aborted.iter().filter(|(_, t)| t.last_offset >= from && t.first_offset < to).map(|(_, t)| *t).collect()
    }

    pub fn producer_state(&self) -> &super::producer_state::ProducerStateManager {
        &self.producers
    }

    /// Forgets producers idle past `producer.id.expiration.ms` (none with an open transaction).
    pub fn expire_producers(&mut self, now: i64, expiration_ms: i64) -> usize {
        self.producers.remove_expired(now, expiration_ms)
    }

    /// The log was truncated to `end`: index entries past it go, and producer state is
    /// reloaded from the newest snapshot at or below it and replayed.
    pub(super) fn txn_truncated(&mut self, end: i64) -> Result<(), LogError> {
        self.aborted.retain(|(_, t)| t.last_offset < end);
        self.rewrite_txn_indexes()?;
        self.producers.delete_snapshots_outside(self.log_start_offset(), end);
        let from = self.producers.load_snapshot(end).unwrap_or_else(|| {
            self.producers.clear(self.log_start_offset());
            self.log_start_offset()
        });
        self.replay_producers(from, end)
    }

    /// The log start moved (retention, DeleteRecords): entries and snapshots below it go.
    pub(super) fn txn_start_moved(&mut self) -> io::Result<()> {
        let start = self.log_start_offset();
        let before = self.aborted.len();
        self.aborted.retain(|(_, t)| t.last_offset >= start);
        if self.aborted.len() != before {
            self.rewrite_txn_indexes()?;
        }
        self.producers.delete_snapshots_outside(start, i64::MAX);
        Ok(())
    }

    fn rewrite_txn_indexes(&self) -> io::Result<()> {
        for base in self.segments.keys() {
            let entries: Vec<u8> = self.aborted.iter().filter(|(b, _)| b == base).flat_map(|(_, t)| encode(t)).collect();
            let path = txn_index_path(self, *base);
            if entries.is_empty() {
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            } else {
                std::fs::write(&path, entries)?;
            }
        }
        Ok(())
    }

    /// Writes a producer-state snapshot (at a roll, and at a clean shutdown).
    pub(super) fn snapshot_producers(&mut self, sync: bool) -> io::Result<()> {
        self.producers.take_snapshot(sync)
    }
}
