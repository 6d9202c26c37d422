//! Java `.properties` files, as both sides read them: `server.properties` for the broker,
//! `--command-config` / `--producer.config` files for the tools.

/// Parses a Java .properties text (key=value or key:value, # and ! comments, trailing-
/// backslash continuation lines). Later duplicates are kept in order; callers let the
/// last one win.
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!')) {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            pending.push_str(cont);
            continue;
        }
        pending.push_str(line);
        let full = std::mem::take(&mut pending);
        let split = full.find(['=', ':']);
        let (k, v) = match split {
            Some(i) => (full[..i].trim(), full[i + 1..].trim()),
            None => (full.trim(), ""),
        };
        out.push((k.to_string(), v.to_string()));
    }
    out
}

/// Reads a Java .properties file into key/value pairs.
pub fn read_properties(path: &std::path::Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(parse_properties(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_parser() {
        let p = parse_properties("# c\nlisteners=PLAINTEXT://:9092\nlog.dirs = /tmp/x\nmulti=a,\\\n  b\n! bang\nk: v\n");
        assert_eq!(p[0], ("listeners".into(), "PLAINTEXT://:9092".into()));
        assert_eq!(p[1], ("log.dirs".into(), "/tmp/x".into()));
        assert_eq!(p[2], ("multi".into(), "a,b".into()));
        assert_eq!(p[3], ("k".into(), "v".into()));
    }
}
