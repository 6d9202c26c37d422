//! `rk acls` (kafka-acls.sh): add, remove and list ACLs with Kafka's flags (--producer and
//! --consumer conveniences included), argument checks and output text, plus
//! `--output json|table`. The ACL model is `broker::security::acl`; the wire calls are
//! `client::admin_acls`.

use super::common::{ClientArgs, usage_error};
use crate::broker::security::acl::{AclBinding, AclFilter, CLUSTER_NAME, Op, pattern, permission, resource, supported_ops};
use crate::client::Cluster;
use crate::client::admin::Admin;
use clap::Args;
use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;

pub use super::common::ListOutput as Output;

#[derive(Args, Debug)]
pub struct AclsArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Controllers to connect to (host:port,...); rk nodes answer on their client port.
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_controller: Option<String>,
    /// Indicates you are trying to add ACLs.
    #[arg(long)]
    pub add: bool,
    /// Indicates you are trying to remove ACLs.
    #[arg(long)]
    pub remove: bool,
    /// List ACLs for the specified resource, use --topic <topic> or --group <group> or
    /// --cluster to specify a resource.
    #[arg(long)]
    pub list: bool,
    /// Principal in principalType:name format; User:* is the wildcard for all users.
    #[arg(long, value_name = "PRINCIPAL")]
    pub allow_principal: Vec<String>,
    /// Principal in principalType:name format to deny (deny rules take precedence).
    #[arg(long, value_name = "PRINCIPAL")]
    pub deny_principal: Vec<String>,
    /// Host from which --allow-principal has access (default: * when a principal is given).
    #[arg(long, value_name = "HOST")]
    pub allow_host: Vec<String>,
    /// Host from which --deny-principal is denied access (default: *).
    #[arg(long, value_name = "HOST")]
    pub deny_host: Vec<String>,
    /// Operation being allowed or denied: All, Read, Write, Create, Delete, Alter, Describe,
    /// ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, CreateTokens,
    /// DescribeTokens (repeatable; default All).
    #[arg(long, value_name = "OPERATION")]
    pub operation: Vec<String>,
    /// Topic to which ACLs should be added or removed; * means all topics.
    #[arg(long, value_name = "TOPIC")]
    pub topic: Vec<String>,
    /// Consumer group to which ACLs should be added or removed; * means all groups.
    #[arg(long, value_name = "GROUP")]
    pub group: Vec<String>,
    /// Add/Remove cluster ACLs.
    #[arg(long)]
    pub cluster: bool,
    /// Transactional id to which ACLs should be added or removed; * means all.
    #[arg(long, value_name = "TRANSACTIONAL-ID")]
    pub transactional_id: Vec<String>,
    /// Delegation token to which ACLs should be added or removed; * means all.
    #[arg(long, value_name = "DELEGATION-TOKEN")]
    pub delegation_token: Vec<String>,
    /// A user principal as a resource (CreateTokens / DescribeTokens).
    #[arg(long, value_name = "USER-PRINCIPAL")]
    pub user_principal: Vec<String>,
    /// literal or prefixed when adding; also match or any when listing or removing.
    #[arg(long, value_name = "TYPE", default_value = "literal")]
    pub resource_pattern_type: String,
    /// Convenience: ACLs for a producer (WRITE, DESCRIBE, CREATE on topics).
    #[arg(long)]
    pub producer: bool,
    /// Convenience: ACLs for a consumer (READ, DESCRIBE on topics, READ on groups).
    #[arg(long)]
    pub consumer: bool,
    /// With --producer: IDEMPOTENT_WRITE on the cluster too.
    #[arg(long)]
    pub idempotent: bool,
    /// Assume Yes to all queries and do not prompt.
    #[arg(long)]
    pub force: bool,
    /// With --list: only the ACLs of this principal (repeatable).
    #[arg(long, value_name = "PRINCIPAL")]
    pub principal: Vec<String>,
    /// Output format: Kafka's text, JSON or a table.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// A usage error (exit 2) or a failed operation (exit 1), with its message.
enum Stop {
    Usage(String),
    Failed(String),
}

/// A resource pattern filter as the flags name it: (type, name, pattern type).
type Pattern = (i8, String, i8);

fn pattern_type(s: &str) -> Option<i8> {
    match s.to_ascii_lowercase().as_str() {
        "literal" => Some(pattern::LITERAL),
        "prefixed" => Some(pattern::PREFIXED),
        "match" => Some(pattern::MATCH),
        "any" => Some(pattern::ANY),
        _ => None,
    }
}

fn principals(list: &[String]) -> Result<Vec<String>, Stop> {
    list.iter()
        .map(|p| {
            let p = p.trim();
            match p.split_once(':') {
                Some(_) => Ok(p.to_string()),
                None => Err(Stop::Failed(format!("expected a string in format principalType:principalName but got {p}"))),
            }
        })
        .collect()
}

/// AclCommand.checkArgs, with Kafka's messages.
fn check_args(a: &AclsArgs) -> Result<(), String> {
    if [a.add, a.remove, a.list].iter().filter(|x| **x).count() != 1 {
        return Err("Command must include exactly one action: --list, --add, --remove. ".into());
    }
    let invalid = |used: (&str, bool), others: &[(&str, bool)]| -> Result<(), String> {
        match others.iter().find(|(_, set)| used.1 && *set) {
            Some((o, _)) => Err(format!("Option \"[{}]\" can't be used with option \"[{o}]\"", used.0)),
            None => Ok(()),
        }
    };
    let (allow_h, allow_p, deny_h, deny_p) =
        (!a.allow_host.is_empty(), !a.allow_principal.is_empty(), !a.deny_host.is_empty(), !a.deny_principal.is_empty());
    invalid(
        ("list", a.list),
        &[
            ("producer", a.producer),
            ("consumer", a.consumer),
            ("allow-host", allow_h),
            ("allow-principal", allow_p),
            ("deny-host", deny_h),
            ("deny-principal", deny_p),
        ],
    )?;
    let ops = !a.operation.is_empty();
    invalid(("producer", a.producer), &[("operation", ops), ("deny-principal", deny_p), ("deny-host", deny_h)])?;
    invalid(("consumer", a.consumer), &[("operation", ops), ("deny-principal", deny_p), ("deny-host", deny_h)])?;
    if !a.principal.is_empty() && !a.list {
        return Err("The --principal option is only available if --list is set".into());
    }
    if a.producer && a.topic.is_empty() {
        return Err("With --producer you must specify a --topic".into());
    }
    if a.idempotent && !a.producer {
        return Err("The --idempotent option is only available if --producer is set".into());
    }
    if a.consumer && (a.topic.is_empty() || a.group.is_empty() || (!a.producer && (a.cluster || !a.transactional_id.is_empty()))) {
        return Err(
            "With --consumer you must specify a --topic and a --group and no --cluster or --transactional-id option should be specified."
                .into(),
        );
    }
    Ok(())
}

/// AclCommand.getResourceFilter: the resources the flags name, in Kafka's order.
fn resources(a: &AclsArgs, pt: i8) -> Vec<Pattern> {
    let mut out: Vec<Pattern> = Vec::new();
    let mut add = |p: Pattern| {
        if !out.contains(&p) {
            out.push(p)
        }
    };
    a.topic.iter().for_each(|t| add((resource::TOPIC, t.trim().to_string(), pt)));
    if pt == pattern::LITERAL && (a.cluster || a.idempotent) {
        add((resource::CLUSTER, CLUSTER_NAME.to_string(), pattern::LITERAL));
    }
    a.group.iter().for_each(|g| add((resource::GROUP, g.trim().to_string(), pt)));
    a.transactional_id.iter().for_each(|t| add((resource::TRANSACTIONAL_ID, t.to_string(), pt)));
    a.delegation_token.iter().for_each(|t| add((resource::DELEGATION_TOKEN, t.trim().to_string(), pt)));
    a.user_principal.iter().for_each(|u| add((resource::USER, u.trim().to_string(), pt)));
    out
}

/// (principal, host, operation, permission) entries.
type Entry = (String, String, i8, i8);

/// AclCommand.getAcl: allowed and denied principals × operations × hosts.
fn entries(a: &AclsArgs, ops: &[i8]) -> Result<BTreeSet<Entry>, Stop> {
    let mut out = BTreeSet::new();
    for (who, hosts, perm) in [(&a.allow_principal, &a.allow_host, permission::ALLOW), (&a.deny_principal, &a.deny_host, permission::DENY)]
    {
        let hosts: Vec<String> = if hosts.is_empty() { vec!["*".into()] } else { hosts.iter().map(|h| h.trim().to_string()).collect() };
        for p in principals(who)? {
            for op in ops {
                for h in &hosts {
                    out.insert((p.clone(), h.clone(), *op, perm));
                }
            }
        }
    }
    Ok(out)
}

/// AclCommand.getResourceFilterToAcls: per resource filter, the entries the flags make.
fn filter_to_acls(a: &AclsArgs, pt: i8) -> Result<Vec<(Pattern, BTreeSet<Entry>)>, Stop> {
    let res = resources(a, pt);
    if res.is_empty() {
        return Err(Stop::Usage(
            "You must provide at least one resource: --topic <topic> or --cluster or --group <group> or --delegation-token <Delegation Token ID>"
                .into(),
        ));
    }
    let codes = |ops: &[Op]| ops.iter().map(|o| o.code()).collect::<Vec<_>>();
    let mut out: Vec<(Pattern, BTreeSet<Entry>)> = Vec::new();
    let mut merge = |p: Pattern, e: BTreeSet<Entry>| match out.iter_mut().find(|(q, _)| *q == p) {
        Some((_, have)) => have.extend(e),
        None => out.push((p, e)),
    };
    if !a.producer && !a.consumer {
        let ops: Vec<i8> = if a.operation.is_empty() {
            vec![Op::All.code()]
        } else {
            a.operation.iter().map(|o| Op::parse(o).map_or(0, |op| op.code())).collect()
        };
        let e = entries(a, &ops)?;
        res.iter().for_each(|p| merge(p.clone(), e.clone()));
    }
    if a.producer {
        for p in res.iter().filter(|p| p.0 == resource::TOPIC) {
            merge(p.clone(), entries(a, &codes(&[Op::Write, Op::Describe, Op::Create]))?);
        }
        for p in res.iter().filter(|p| p.0 == resource::TRANSACTIONAL_ID) {
            merge(p.clone(), entries(a, &codes(&[Op::Write, Op::Describe]))?);
        }
        if a.idempotent {
            merge((resource::CLUSTER, CLUSTER_NAME.into(), pattern::LITERAL), entries(a, &codes(&[Op::IdempotentWrite]))?);
        }
    }
    if a.consumer {
        for p in res.iter().filter(|p| p.0 == resource::TOPIC) {
            merge(p.clone(), entries(a, &codes(&[Op::Read, Op::Describe]))?);
        }
        for p in res.iter().filter(|p| p.0 == resource::GROUP) {
            merge(p.clone(), entries(a, &codes(&[Op::Read]))?);
        }
    }
    // AclCommand.validateOperation.
    for (p, e) in &out {
        let valid: Vec<Op> = supported_ops(p.0).iter().copied().chain([Op::All]).collect();
        if e.iter().any(|x| !valid.iter().any(|o| o.code() == x.2)) {
            let names: Vec<String> = valid.iter().map(|o| o.pascal_name()).collect();
            let rt = crate::broker::security::acl::resource_type_name(p.0);
            return Err(Stop::Usage(format!("ResourceType {rt} only supports operations {}", names.join(", "))));
        }
    }
    Ok(out)
}

fn binding(p: &Pattern, e: &Entry) -> AclBinding {
    AclBinding {
        resource_type: p.0,
        resource_name: p.1.clone(),
        pattern_type: p.2,
        principal: e.0.clone(),
        host: e.1.clone(),
        operation: e.2,
        permission: e.3,
    }
}

fn pattern_filter(p: &Pattern) -> AclFilter {
    AclFilter { resource_type: p.0, resource_name: Some(p.1.clone()), pattern_type: p.2, ..AclFilter::any() }
}

/// Kafka's block: "<title> `<pattern>`: \n \t<entry>\n\t<entry> \n" (then println's newline).
fn block(title: &str, pattern: &str, acls: &[AclBinding]) -> String {
    let lines: Vec<String> = acls.iter().map(|b| format!("\t{}", b.entry_string())).collect();
    format!("{title} `{pattern}`: \n {} \n", lines.join("\n"))
}

fn confirm(force: bool, msg: &str) -> bool {
    if force {
        return true;
    }
    println!("{msg}");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).is_ok() && line.trim().eq_ignore_ascii_case("y")
}

pub fn run(a: AclsArgs) -> anyhow::Result<i32> {
    if let Err(m) = check_args(&a) {
        return usage_error(&m);
    }
    let Some(pt) = pattern_type(&a.resource_pattern_type) else {
        return usage_error(&format!("Unknown resource-pattern-type: {}", a.resource_pattern_type));
    };
    let mut client = a.client.clone();
    if client.bootstrap_server.is_none() {
        client.bootstrap_server = a.bootstrap_controller.clone();
    }
    let cfg = client.config("rk-acls")?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let result = rt.block_on(async {
        let cluster = Cluster::connect(cfg).await.map_err(|e| Stop::Failed(format!("cannot reach the cluster: {e}")))?;
        let admin = Admin::new(cluster);
        if a.add {
            add(&admin, &a, pt).await
        } else if a.remove {
            remove(&admin, &a, pt).await
        } else {
            list(&admin, &a, pt).await
        }
    });
    match result {
        Ok(()) => Ok(0),
        Err(Stop::Usage(m)) => usage_error(&m),
        Err(Stop::Failed(m)) => {
            eprintln!("Error while executing ACL command: {m}");
            Ok(1)
        }
    }
}

async fn add(admin: &Admin, a: &AclsArgs, pt: i8) -> Result<(), Stop> {
    if pt != pattern::LITERAL && pt != pattern::PREFIXED {
        let name = crate::broker::security::acl::pattern_type_name(pt);
        return Err(Stop::Usage(format!("A '--resource-pattern-type' value of '{name}' is not valid when adding acls.")));
    }
    let todo = filter_to_acls(a, pt)?;
    if todo.iter().any(|(_, e)| e.is_empty()) {
        return Err(Stop::Usage("You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.".into()));
    }
    let mut added = Vec::new();
    for (p, e) in &todo {
        let acls: Vec<AclBinding> = e.iter().map(|x| binding(p, x)).collect();
        if a.output == Output::Text {
            println!("{}", block("Adding ACLs for resource", &acls[0].pattern_string(), &acls));
        }
        let results = admin.create_acls(&acls).await.map_err(|e| Stop::Failed(e.to_string()))?;
        if let Some(Err(e)) = results.into_iter().find(|r| r.is_err()) {
            return Err(Stop::Failed(e.to_string()));
        }
        added.extend(acls);
    }
    render(a.output, &added);
    Ok(())
}

async fn remove(admin: &Admin, a: &AclsArgs, pt: i8) -> Result<(), Stop> {
    let mut removed = Vec::new();
    for (p, e) in filter_to_acls(a, pt)? {
        let f = pattern_filter(&p);
        let filters: Vec<AclFilter> = if e.is_empty() {
            if !confirm(a.force, &format!("Are you sure you want to delete all ACLs for resource filter `{}`? (y/n)", f.pattern_string())) {
                continue;
            }
            vec![f]
        } else {
            let lines: Vec<String> = e.iter().map(|x| format!("\t{}", binding(&p, x).entry_string())).collect();
            let msg = format!(
                "Are you sure you want to remove ACLs: \n {} \n from resource filter `{}`? (y/n)",
                lines.join("\n"),
                f.pattern_string()
            );
            if !confirm(a.force, &msg) {
                continue;
            }
            e.iter()
                .map(|x| AclFilter { principal: Some(x.0.clone()), host: Some(x.1.clone()), operation: x.2, permission: x.3, ..f.clone() })
                .collect()
        };
        for r in admin.delete_acls(&filters).await.map_err(|e| Stop::Failed(e.to_string()))? {
            removed.extend(r.map_err(|e| Stop::Failed(e.to_string()))?);
        }
    }
    if a.output != Output::Text {
        render(a.output, &removed);
    }
    Ok(())
}

async fn list(admin: &Admin, a: &AclsArgs, pt: i8) -> Result<(), Stop> {
    let filters: Vec<AclFilter> = match resources(a, pt) {
        r if r.is_empty() => vec![AclFilter::any()],
        r => r.iter().map(pattern_filter).collect(),
    };
    let mut found: BTreeSet<AclBinding> = BTreeSet::new();
    for f in &filters {
        found.extend(admin.describe_acls(f).await.map_err(|e| Stop::Failed(e.to_string()))?);
    }
    let wanted = principals(&a.principal)?;
    let all: Vec<AclBinding> = found.into_iter().filter(|b| wanted.is_empty() || wanted.contains(&b.principal)).collect();
    if a.output != Output::Text {
        render(a.output, &all);
        return Ok(());
    }
    let print = |acls: &[&AclBinding]| {
        let mut by_pattern: BTreeMap<Pattern, Vec<AclBinding>> = BTreeMap::new();
        for b in acls {
            by_pattern.entry((b.resource_type, b.resource_name.clone(), b.pattern_type)).or_default().push((*b).clone());
        }
        for acls in by_pattern.values() {
            println!("{}", block("Current ACLs for resource", &acls[0].pattern_string(), acls));
        }
    };
    if wanted.is_empty() {
        print(&all.iter().collect::<Vec<_>>());
    }
    for p in &wanted {
        println!("ACLs for principal `{p}`");
        print(&all.iter().filter(|b| b.principal == *p).collect::<Vec<_>>());
    }
    Ok(())
}

/// --output json / table (text is printed as Kafka does by each command).
fn render(output: Output, acls: &[AclBinding]) {
    use crate::broker::security::acl::{operation_name, pattern_type_name, permission_name, resource_type_name};
    match output {
        Output::Text => {}
        Output::Json => {
            let v: Vec<serde_json::Value> = acls
                .iter()
                .map(|b| {
                    serde_json::json!({
                        "resourceType": resource_type_name(b.resource_type),
                        "name": b.resource_name,
                        "patternType": pattern_type_name(b.pattern_type),
                        "principal": b.principal,
                        "host": b.host,
                        "operation": operation_name(b.operation),
                        "permissionType": permission_name(b.permission),
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(v));
        }
        Output::Table => {
            let mut t = comfy_table::Table::new();
            t.set_header(["RESOURCE TYPE", "NAME", "PATTERN TYPE", "PRINCIPAL", "HOST", "OPERATION", "PERMISSION"]);
            for b in acls {
                t.add_row([
                    resource_type_name(b.resource_type),
                    &b.resource_name,
                    pattern_type_name(b.pattern_type),
                    &b.principal,
                    &b.host,
                    operation_name(b.operation),
                    permission_name(b.permission),
                ]);
            }
            println!("{t}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: AclsArgs,
    }

    fn args(v: &[&str]) -> AclsArgs {
        T::parse_from(std::iter::once("rk").chain(v.iter().copied())).a
    }

    #[test]
    fn argument_checks_have_kafkas_messages() {
        assert_eq!(
            check_args(&args(&["--list", "--add"])).unwrap_err(),
            "Command must include exactly one action: --list, --add, --remove. "
        );
        assert_eq!(
            check_args(&args(&["--list", "--producer", "--topic", "t"])).unwrap_err(),
            "Option \"[list]\" can't be used with option \"[producer]\""
        );
        assert_eq!(check_args(&args(&["--add", "--producer"])).unwrap_err(), "With --producer you must specify a --topic");
        assert!(check_args(&args(&["--add", "--consumer", "--topic", "t"])).is_err());
        assert!(check_args(&args(&["--add", "--consumer", "--topic", "t", "--group", "g"])).is_ok());
    }

    #[test]
    fn producer_and_consumer_conveniences() {
        let a = args(&["--add", "--producer", "--consumer", "--topic", "t", "--group", "g", "--allow-principal", "User:a", "--idempotent"]);
        let out = filter_to_acls(&a, pattern::LITERAL).unwrap_or_else(|_| panic!("valid"));
        let ops = |rt: i8| -> BTreeSet<i8> { out.iter().filter(|(p, _)| p.0 == rt).flat_map(|(_, e)| e.iter().map(|x| x.2)).collect() };
        let codes = |v: &[Op]| v.iter().map(|o| o.code()).collect::<BTreeSet<i8>>();
        assert_eq!(ops(resource::TOPIC), codes(&[Op::Write, Op::Describe, Op::Create, Op::Read]));
        assert_eq!(ops(resource::GROUP), codes(&[Op::Read]));
        assert_eq!(ops(resource::CLUSTER), codes(&[Op::IdempotentWrite]));
    }

    #[test]
    fn unsupported_operations_are_refused() {
        let a = args(&["--add", "--group", "g", "--allow-principal", "User:a", "--operation", "Write"]);
        match filter_to_acls(&a, pattern::LITERAL) {
            Err(Stop::Usage(m)) => assert!(m.starts_with("ResourceType GROUP only supports operations Read"), "{m}"),
            _ => panic!("WRITE on a group must be refused"),
        }
    }

    #[test]
    fn text_blocks() {
        let b = binding(
            &(resource::TOPIC, "t".into(), pattern::LITERAL),
            &("User:alice".into(), "*".into(), Op::Read.code(), permission::ALLOW),
        );
        assert_eq!(
            block("Adding ACLs for resource", &b.pattern_string(), std::slice::from_ref(&b)),
            "Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name=t, patternType=LITERAL)`: \n \t(principal=User:alice, host=*, operation=READ, permissionType=ALLOW) \n"
        );
    }
}
