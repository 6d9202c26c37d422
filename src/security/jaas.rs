//! Kafka's `sasl.jaas.config` values: `<LoginModule class> <flag> key="value" ... ;`. The
//! broker reads its PLAIN users (`user_<name>="password"`) and OAUTHBEARER validator
//! options from them, clients their `username` / `password`, so Java-style config files
//! work unchanged.

use std::collections::BTreeMap;

/// A parsed JAAS entry: the login module class and its options.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JaasConfig {
    pub module: String,
    pub options: BTreeMap<String, String>,
}

/// Parses one JAAS entry; errors name what is wrong.
pub fn parse(text: &str) -> Result<JaasConfig, String> {
    let t = text.trim();
    let t = t.strip_suffix(';').unwrap_or(t).trim();
    let mut words = t.splitn(3, char::is_whitespace);
    let module = words.next().filter(|m| !m.is_empty()).ok_or("sasl.jaas.config: no login module given")?.to_string();
    let flag = words.next().unwrap_or("").trim();
    if !["required", "requisite", "sufficient", "optional"].contains(&flag) {
        return Err(format!("sasl.jaas.config: expected a control flag (required) after {module}, got '{flag}'"));
    }
    let mut rest = words.next().unwrap_or("").trim();
    let mut options = BTreeMap::new();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=').ok_or_else(|| format!("sasl.jaas.config: expected key=value, got '{rest}'"))?;
        let key = key.trim().to_string();
        let after = after.trim_start();
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            // A quoted value; \" and \\ escape.
            let mut v = String::new();
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => v.push(c),
                }
            }
            let end = end.ok_or_else(|| format!("sasl.jaas.config: unterminated quoted value for {key}"))?;
            (v, &q[end..])
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (after[..end].to_string(), &after[end..])
        };
        if key.is_empty() {
            return Err("sasl.jaas.config: an option without a name".into());
        }
        options.insert(key, value);
        rest = next.trim_start();
    }
    Ok(JaasConfig { module, options })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kafka_style_entries() {
        let j = parse(r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="a b\"c" user_alice="alice-secret";"#)
            .unwrap();
        assert_eq!(j.module, "org.apache.kafka.common.security.plain.PlainLoginModule");
        assert_eq!(j.options["username"], "admin");
        assert_eq!(j.options["password"], "a b\"c");
        assert_eq!(j.options["user_alice"], "alice-secret");
        let u = parse("org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=bob;")
            .unwrap();
        assert_eq!(u.options["unsecuredLoginStringClaim_sub"], "bob");
        assert!(parse("Module bogusflag a=1;").is_err());
        assert!(parse(r#"M required a="x"#).is_err());
    }
}
