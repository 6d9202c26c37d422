//! Kafka's offset checkpoint files (`replication-offset-checkpoint`: the high watermark of
//! every hosted partition): version line, count line, then `topic partition offset` lines,
//! written to a temporary file, fsynced and renamed so a crash leaves the old or the new.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;

pub const HW_CHECKPOINT_FILE: &str = "replication-offset-checkpoint";

/// Writes `data` to `path` atomically (tmp + fsync + rename).
pub fn write_atomically(path: &Path, data: &[u8]) -> io::Result<()> {
    write_replacing(path, data, true)
}

/// Writes `data` to `path` through a renamed temporary file; `durable` fsyncs it first.
/// Without it a crash may leave the old content (never a torn one): for files whose
/// content can be derived again (a new partition's metadata and first epoch).
pub fn write_replacing(path: &Path, data: &[u8], durable: bool) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        if durable {
            f.sync_all()?;
        }
    }
    std::fs::rename(tmp, path)
}

pub fn write_offsets(path: &Path, offsets: &[(String, i32, i64)]) -> io::Result<()> {
    let mut text = format!("0\n{}\n", offsets.len());
    for (t, p, o) in offsets {
        text.push_str(&format!("{t} {p} {o}\n"));
    }
    write_atomically(path, text.as_bytes())
}

/// Reads a checkpoint; a missing file is empty, an unreadable one is an error the caller
/// reports (the values are only an optimisation: HW recovers from the ISR).
pub fn read_offsets(path: &Path) -> io::Result<HashMap<(String, i32), i64>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(e),
    };
    let bad = || io::Error::new(io::ErrorKind::InvalidData, format!("malformed checkpoint file {}", path.display()));
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some("0") {
        return Err(bad());
    }
    let n: usize = lines.next().and_then(|l| l.trim().parse().ok()).ok_or_else(bad)?;
    let mut out = HashMap::with_capacity(n.min(1 << 20));
    for _ in 0..n {
        let line = lines.next().ok_or_else(bad)?;
        let mut parts = line.rsplitn(3, ' ');
        let o = parts.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
        let p = parts.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
        let t = parts.next().ok_or_else(bad)?;
        out.insert((t.to_string(), p), o);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HW_CHECKPOINT_FILE);
        assert!(read_offsets(&path).unwrap().is_empty());
        write_offsets(&path, &[("a".into(), 0, 5), ("b-c".into(), 3, 9)]).unwrap();
        let m = read_offsets(&path).unwrap();
        assert_eq!(m[&("b-c".to_string(), 3)], 9);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "0\n2\na 0 5\nb-c 3 9\n");
        std::fs::write(&path, "0\n2\na 0 5\n").unwrap();
        assert!(read_offsets(&path).is_err());
    }
}
