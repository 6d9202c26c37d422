//! The console's security views: ACLs (list, add, remove) and SCRAM users (list with their
//! mechanisms and iterations, add or change a password, remove), over the same admin APIs
//! `rk acls` and `rk configs` use. Changes carry the CSRF token and respect --read-only.

use super::actions::{guard, outcome};
use super::html::{self, esc, url};
use super::pages::render;
use super::{State, auth};
use crate::broker::security::acl::{self, AclBinding, AclFilter, Op};
use crate::client::admin_configs::ScramChange;
use crate::security::scram::Mechanism;
use axum::extract::{Form, Path};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

fn hidden(name: &str, v: &str) -> String {
    format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", esc(v))
}

pub async fn acls(axum::extract::State(state): axum::extract::State<State>, Path(c): Path<String>, headers: HeaderMap) -> Response {
    let csrf = auth::csrf_of(&state, &headers).unwrap_or_default();
    let body = async {
        let admin = state.entry(&c)?.admin().await?;
        let list = admin.describe_acls(&AclFilter::any()).await.map_err(|e| e.to_string())?;
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|a| {
                let remove = if state.read_only {
                    String::new()
                } else {
                    format!(
                        "<form method=\"post\" action=\"/c/{}/acls/delete\" class=\"inline\">{}{}{}{}{}{}{}{}<button>Remove</button></form>",
                        url(&c),
                        html::csrf_field(&csrf),
                        hidden("resource_type", &a.resource_type.to_string()),
                        hidden("resource_name", &a.resource_name),
                        hidden("pattern_type", &a.pattern_type.to_string()),
                        hidden("principal", &a.principal),
                        hidden("host", &a.host),
                        hidden("operation", &a.operation.to_string()),
                        hidden("permission", &a.permission.to_string()),
                    )
                };
                vec![
                    esc(acl::resource_type_name(a.resource_type)),
                    esc(&a.resource_name),
                    esc(acl::pattern_type_name(a.pattern_type)),
                    esc(&a.principal),
                    esc(&a.host),
                    esc(acl::operation_name(a.operation)),
                    esc(acl::permission_name(a.permission)),
                    remove,
                ]
            })
            .collect();
        let ops: String = Op::EVERY.iter().map(|o| format!("<option>{}</option>", o.name())).collect();
        let add = if state.read_only {
            String::new()
        } else {
            format!(
                "<details><summary>Add an ACL</summary><form method=\"post\" action=\"/c/{}/acls\" class=\"grid\">{}\
<label>Resource <select name=\"resource_type\"><option value=\"2\">Topic</option><option value=\"3\">Group</option><option value=\"4\">Cluster</option><option value=\"5\">TransactionalId</option></select></label>\
<label>Name <input name=\"resource_name\" value=\"*\"></label><label>Pattern <select name=\"pattern_type\"><option value=\"3\">Literal</option><option value=\"4\">Prefixed</option></select></label>\
<label>Principal <input name=\"principal\" placeholder=\"User:alice\" required></label><label>Host <input name=\"host\" value=\"*\"></label>\
<label>Operation <select name=\"operation_name\">{ops}</select></label><label>Permission <select name=\"permission\"><option value=\"3\">Allow</option><option value=\"2\">Deny</option></select></label><button>Add</button></form></details>",
                url(&c),
                html::csrf_field(&csrf)
            )
        };
        Ok(format!("{add}{}", html::table("acls", &["Resource", "Name", "Pattern", "Principal", "Host", "Operation", "Permission", ""], &rows)))
    }
    .await;
    render(&state, &headers, &c, "ACLs", body)
}

#[derive(serde::Deserialize)]
pub struct AclForm {
    csrf: Option<String>,
    resource_type: i8,
    resource_name: Option<String>,
    pattern_type: i8,
    principal: String,
    host: Option<String>,
    operation: Option<i8>,
    operation_name: Option<String>,
    permission: i8,
}

impl AclForm {
    fn binding(&self) -> Result<AclBinding, String> {
        let operation = match (&self.operation_name, self.operation) {
            (Some(n), _) => Op::parse(n).ok_or_else(|| format!("unknown operation {n}"))?.code(),
            (None, Some(o)) => o,
            (None, None) => return Err("no operation given".into()),
        };
        let name = self.resource_name.clone().unwrap_or_default();
        Ok(AclBinding {
            resource_type: self.resource_type,
            resource_name: if self.resource_type == acl::resource::CLUSTER { acl::CLUSTER_NAME.into() } else { name.trim().to_string() },
            pattern_type: self.pattern_type,
            principal: self.principal.trim().to_string(),
            host: self.host.clone().unwrap_or_else(|| "*".into()).trim().to_string(),
            operation,
            permission: self.permission,
        })
    }
}

pub async fn add_acl(
    axum::extract::State(state): axum::extract::State<State>,
    Path(c): Path<String>,
    headers: HeaderMap,
    Form(f): Form<AclForm>,
) -> Response {
    if let Err(r) = guard(&state, &headers, f.csrf.as_deref()) {
        return r.into_response();
    }
    let done = async {
        let b = f.binding()?;
        let admin = state.entry(&c)?.admin().await?;
        admin.create_acls(&[b]).await.map_err(|e| e.to_string())?.into_iter().next().unwrap_or(Ok(())).map_err(|e| e.to_string())
    }
    .await;
    outcome(&state, &headers, &c, "ACLs", format!("/c/{}/acls", url(&c)), done.map_err(|e| format!("Cannot add the ACL: {e}")))
}

pub async fn delete_acl(
    axum::extract::State(state): axum::extract::State<State>,
    Path(c): Path<String>,
    headers: HeaderMap,
    Form(f): Form<AclForm>,
) -> Response {
    if let Err(r) = guard(&state, &headers, f.csrf.as_deref()) {
        return r.into_response();
    }
    let done = async {
        let b = f.binding()?;
        let filter = AclFilter {
            resource_type: b.resource_type,
            resource_name: Some(b.resource_name),
            pattern_type: b.pattern_type,
            principal: Some(b.principal),
            host: Some(b.host),
            operation: b.operation,
            permission: b.permission,
        };
        let admin = state.entry(&c)?.admin().await?;
        admin
            .delete_acls(&[filter])
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .next()
            .unwrap_or(Ok(Vec::new()))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
    .await;
    outcome(&state, &headers, &c, "ACLs", format!("/c/{}/acls", url(&c)), done.map_err(|e| format!("Cannot remove the ACL: {e}")))
}

pub async fn users(axum::extract::State(state): axum::extract::State<State>, Path(c): Path<String>, headers: HeaderMap) -> Response {
    let csrf = auth::csrf_of(&state, &headers).unwrap_or_default();
    let body = async {
        let admin = state.entry(&c)?.admin().await?;
        let list = admin.describe_user_scram(None).await.map_err(|e| e.to_string())?;
        let mut rows = Vec::new();
        for (user, creds) in &list {
            for (m, iterations) in creds.as_ref().map(|v| v.as_slice()).unwrap_or(&[]) {
                let remove = if state.read_only {
                    String::new()
                } else {
                    format!(
                        "<form method=\"post\" action=\"/c/{}/users/delete\" class=\"inline\">{}{}{}<button>Remove</button></form>",
                        url(&c),
                        html::csrf_field(&csrf),
                        hidden("user", user),
                        hidden("mechanism", m.name())
                    )
                };
                rows.push(vec![esc(user), m.name().into(), iterations.to_string(), remove]);
            }
        }
        let add = if state.read_only {
            String::new()
        } else {
            format!(
                "<details><summary>Add a user or change a password</summary><form method=\"post\" action=\"/c/{}/users\" class=\"grid\">{}<label>User <input name=\"user\" required></label>\
<label>Mechanism <select name=\"mechanism\"><option value=\"SCRAM-SHA-256\">SCRAM-SHA-256</option><option value=\"SCRAM-SHA-512\">SCRAM-SHA-512</option></select></label><label>Iterations <input name=\"iterations\" type=\"number\" value=\"8192\" min=\"4096\" max=\"16384\"></label>\
<label>Password <input name=\"password\" type=\"password\" autocomplete=\"new-password\" required></label><button>Save</button></form></details>",
                url(&c),
                html::csrf_field(&csrf)
            )
        };
        Ok(format!("{add}{}", html::table("users", &["User", "Mechanism", "Iterations", ""], &rows)))
    }
    .await;
    render(&state, &headers, &c, "SCRAM users", body)
}

#[derive(serde::Deserialize)]
pub struct UserForm {
    csrf: Option<String>,
    user: String,
    mechanism: String,
    iterations: Option<i32>,
    password: Option<String>,
}

async fn change_user(state: &State, c: &str, headers: &HeaderMap, f: UserForm, delete: bool) -> Response {
    if let Err(r) = guard(state, headers, f.csrf.as_deref()) {
        return r.into_response();
    }
    let done = async {
        let mechanism = Mechanism::from_name(&f.mechanism).ok_or_else(|| format!("unknown mechanism {}", f.mechanism))?;
        let user = f.user.trim().to_string();
        let change = if delete {
            ScramChange::Delete { user, mechanism }
        } else {
            let password = f.password.clone().filter(|p| !p.is_empty()).ok_or("a password is needed")?;
            ScramChange::Upsert { user, mechanism, iterations: f.iterations.unwrap_or(8192), password }
        };
        state.entry(c)?.admin().await?.alter_user_scram(&[change]).await.map_err(|e| e.to_string())
    }
    .await;
    outcome(
        state,
        headers,
        c,
        "SCRAM users",
        format!("/c/{}/users", url(c)),
        done.map_err(|e| format!("Cannot change user {}: {e}", f.user)),
    )
}

pub async fn save_user(
    axum::extract::State(state): axum::extract::State<State>,
    Path(c): Path<String>,
    headers: HeaderMap,
    Form(f): Form<UserForm>,
) -> Response {
    change_user(&state, &c, &headers, f, false).await
}

pub async fn delete_user(
    axum::extract::State(state): axum::extract::State<State>,
    Path(c): Path<String>,
    headers: HeaderMap,
    Form(f): Form<UserForm>,
) -> Response {
    change_user(&state, &c, &headers, f, true).await
}
