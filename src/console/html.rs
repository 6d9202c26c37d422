//! HTML building blocks of the console: escaping, the page layout (navigation, cluster
//! switcher, dark mode), tables and forms carrying the CSRF token.

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment or query value.
pub fn url(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn head(title: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{} · rk console</title><link rel=\"stylesheet\" href=\"/assets/console.css\"><script src=\"/assets/console.js\" defer></script></head>",
        esc(title)
    )
}

/// A page: navigation for `cluster`, the cluster switcher, the body.
pub fn page(title: &str, cluster: &str, clusters: &[String], csrf: &str, body: &str) -> String {
    let c = url(cluster);
    let options: String = clusters
        .iter()
        .map(|n| format!("<option value=\"/c/{}\"{}>{}</option>", url(n), if n == cluster { " selected" } else { "" }, esc(n)))
        .collect();
    format!(
        "{}<body><header><a class=\"brand\" href=\"/c/{c}\">rk console</a><nav><a href=\"/c/{c}\">Cluster</a><a href=\"/c/{c}/topics\">Topics</a>\
<a href=\"/c/{c}/groups\">Consumer groups</a><a href=\"/c/{c}/acls\">ACLs</a><a href=\"/c/{c}/users\">Users</a></nav><select id=\"cluster-switch\" aria-label=\"cluster\">{options}</select>\
<button id=\"theme\" type=\"button\" title=\"dark mode\">◐</button><form method=\"post\" action=\"/logout\" class=\"inline\">{}<button>Log out</button></form></header>\
<main data-csrf=\"{}\"><h1>{}</h1>{body}</main></body></html>",
        head(title),
        csrf_field(csrf),
        esc(csrf),
        esc(title)
    )
}

pub fn csrf_field(csrf: &str) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", esc(csrf))
}

/// A table from a header row and rows of already-escaped cells.
pub fn table(id: &str, headers: &[&str], rows: &[Vec<String>]) -> String {
    let th: String = headers.iter().map(|h| format!("<th>{}</th>", esc(h))).collect();
    let body: String = rows.iter().map(|r| format!("<tr>{}</tr>", r.iter().map(|c| format!("<td>{c}</td>")).collect::<String>())).collect();
    format!("<table id=\"{id}\"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>")
}

pub fn error(msg: &str) -> String {
    format!("<p class=\"error\" role=\"alert\">{}</p>", esc(msg))
}

pub fn login(message: Option<&str>) -> String {
    format!(
        "{}<body class=\"login\"><main><h1>rk console</h1>{}<form method=\"post\" action=\"/login\"><label>User name <input name=\"username\" autocomplete=\"username\" required></label>\
<label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label><button type=\"submit\">Log in</button></form></main></body></html>",
        head("Log in"),
        message.map(error).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_urls() {
        assert_eq!(esc("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(url("a b/c?d"), "a%20b%2Fc%3Fd");
        let p = page("T<1>", "c&d", &["c&d".to_string()], "tok", "<p>body</p>");
        assert!(p.contains("<h1>T&lt;1&gt;</h1>") && p.contains("href=\"/c/c%26d/topics\"") && p.contains("value=\"tok\""));
    }
}
