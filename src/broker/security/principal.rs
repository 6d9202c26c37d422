//! Principals from TLS client certificates: the certificate's distinguished name mapped by
//! `ssl.principal.mapping.rules` (Kafka's SslPrincipalMapper): `RULE:pattern/replacement/`
//! with an optional `L` or `U` (lower/upper case) and `DEFAULT` (the DN unchanged), tried
//! in order; the first rule whose pattern matches the whole DN names the principal.

use regex::Regex;

#[derive(Debug)]
enum Rule {
    Default,
    Replace { pattern: Regex, replacement: String, case: Option<char> },
}

#[derive(Debug)]
pub struct PrincipalMapper {
    rules: Vec<Rule>,
}

/// Reads up to an unescaped '/'; returns (text, rest after the '/').
fn until_slash(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, n)) = chars.next() {
                    if n != '/' {
                        out.push('\\');
                    }
                    out.push(n);
                }
            }
            '/' => return Some((out, &s[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

impl PrincipalMapper {
    pub fn parse(rules: &str) -> Result<PrincipalMapper, String> {
        let bad = |r: &str| format!("Invalid value {rules} for configuration ssl.principal.mapping.rules: bad rule at '{r}'");
        let mut out = Vec::new();
        // Java's $1 is the regex crate's ${1} (so "$1x" is not read as a group "1x").
        let java_group = Regex::new(r"\$(\d+)").map_err(|e| e.to_string())?;
        let mut rest = rules.trim();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("DEFAULT") {
                out.push(Rule::Default);
                rest = r;
            } else if let Some(r) = rest.strip_prefix("RULE:") {
                let (pattern, r) = until_slash(r).ok_or_else(|| bad(rest))?;
                let (replacement, r) = until_slash(r).ok_or_else(|| bad(rest))?;
                let (case, r) = match r.chars().next() {
                    Some(c @ ('L' | 'U')) => (Some(c), &r[1..]),
                    _ => (None, r),
                };
                let pattern = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| format!("{}: {e}", bad(rest)))?;
                let replacement = java_group.replace_all(&replacement, "$${$1}").into_owned();
                out.push(Rule::Replace { pattern, replacement, case });
                rest = r;
            } else {
                return Err(bad(rest));
            }
            rest = rest.trim_start();
            match rest.strip_prefix(',') {
                Some(r) => rest = r.trim_start(),
                None if rest.is_empty() => {}
                None => return Err(bad(rest)),
            }
        }
        if out.is_empty() {
            out.push(Rule::Default);
        }
        Ok(PrincipalMapper { rules: out })
    }

    /// The principal name for a DN; None when no rule matches (the handshake fails).
    pub fn map(&self, dn: &str) -> Option<String> {
        for r in &self.rules {
            match r {
                Rule::Default => return Some(dn.to_string()),
                Rule::Replace { pattern, replacement, case } => {
                    if pattern.is_match(dn) {
                        let v = pattern.replace(dn, replacement.as_str()).into_owned();
                        return Some(match case {
                            Some('L') => v.to_lowercase(),
                            Some('U') => v.to_uppercase(),
                            _ => v,
                        });
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_rule_examples() {
        let m = PrincipalMapper::parse("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L,DEFAULT").unwrap();
        assert_eq!(m.map("CN=kafka-server1,OU=ServiceUsers,O=org,C=US").unwrap(), "kafka-server1");
        assert_eq!(m.map("CN=Duke,OU=JavaSoft,O=Sun Microsystems,L=Santa Clara,ST=CA,C=US").unwrap(), "duke@javasoft");
        assert_eq!(m.map("OU=x,CN=Admin.One").unwrap(), "admin.one");
        let d = PrincipalMapper::parse("DEFAULT").unwrap();
        assert_eq!(d.map("CN=a,O=b").unwrap(), "CN=a,O=b");
        let none = PrincipalMapper::parse("RULE:^CN=(x)$/$1/").unwrap();
        assert!(none.map("CN=y").is_none());
        assert!(PrincipalMapper::parse("BOGUS").is_err());
    }
}
