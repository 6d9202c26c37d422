//! The authorizer (Kafka's StandardAuthorizer): super users, then the ACLs of the metadata
//! image, indexed once per image (by resource type, then literal name and prefix) so a
//! check is a few hash lookups. DENY wins over ALLOW; an ALLOW of READ, WRITE, DELETE or
//! ALTER implies DESCRIBE and one of ALTER_CONFIGS implies DESCRIBE_CONFIGS; a resource no
//! ACL applies to is allowed only with `allow.everyone.if.no.acl.found`. Without
//! `authorizer.class.name` everything is allowed and the image is never looked at.

use super::{CLUSTER_NAME, Op, WILDCARD, WILDCARD_PRINCIPAL, permission, resource, supported_ops};
use crate::broker::config::BrokerConfig;
use crate::broker::metadata::MetadataImage;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

/// A resource an operation is checked on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource<'a> {
    Topic(&'a str),
    Group(&'a str),
    Cluster,
    TransactionalId(&'a str),
    DelegationToken(&'a str),
}

impl Resource<'_> {
    pub fn type_code(&self) -> i8 {
        match self {
            Resource::Topic(_) => resource::TOPIC,
            Resource::Group(_) => resource::GROUP,
            Resource::Cluster => resource::CLUSTER,
            Resource::TransactionalId(_) => resource::TRANSACTIONAL_ID,
            Resource::DelegationToken(_) => resource::DELEGATION_TOKEN,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Resource::Topic(n) | Resource::Group(n) | Resource::TransactionalId(n) | Resource::DelegationToken(n) => n,
            Resource::Cluster => CLUSTER_NAME,
        }
    }
}

/// One ACL's entry, as the index keeps it under its resource pattern.
#[derive(Debug)]
struct Entry {
    principal: String,
    host: String,
    op: i8,
    allow: bool,
}

impl Entry {
    /// Kafka's findResult: None when the ACL does not apply to (principal, host, op),
    /// else whether it allows. Implied operations count for ALLOW ACLs only: a DENY of
    /// READ does not deny DESCRIBE.
    fn verdict(&self, principal: &str, host: &str, op: Op) -> Option<bool> {
        if self.principal != principal && self.principal != WILDCARD_PRINCIPAL {
            return None;
        }
        if self.host != WILDCARD && self.host != host {
            return None;
        }
        if self.op != Op::All.code() {
            let applies = match op {
                _ if !self.allow => self.op == op.code(),
                Op::Describe => [Op::Describe, Op::Read, Op::Write, Op::Delete, Op::Alter].iter().any(|o| o.code() == self.op),
                Op::DescribeConfigs => self.op == Op::DescribeConfigs.code() || self.op == Op::AlterConfigs.code(),
                _ => self.op == op.code(),
            };
            if !applies {
                return None;
            }
        }
        Some(self.allow)
    }
}

/// The ACLs of one resource type.
#[derive(Debug, Default)]
struct TypeIndex {
    /// Literal resource names (the `*` wildcard included) → entries.
    literal: HashMap<String, Vec<Entry>>,
    prefixed: HashMap<String, Vec<Entry>>,
    /// The lengths prefixed names have: a check looks up only these prefixes.
    prefix_lens: Vec<usize>,
}

/// The ACLs of one metadata image, indexed for checks.
#[derive(Debug, Default)]
pub struct AclIndex {
    /// Which image this is (its offset and ACL count).
    key: (i64, usize),
    by_type: HashMap<i8, TypeIndex>,
}

impl AclIndex {
    pub fn build(image: &MetadataImage) -> AclIndex {
        let mut by_type: HashMap<i8, TypeIndex> = HashMap::new();
        for a in image.acls.values() {
            let t = by_type.entry(a.resource_type).or_default();
            let e =
                Entry { principal: a.principal.clone(), host: a.host.clone(), op: a.operation, allow: a.permission == permission::ALLOW };
            match a.pattern_type {
                super::pattern::LITERAL => t.literal.entry(a.resource_name.clone()).or_default().push(e),
                super::pattern::PREFIXED => {
                    if !t.prefix_lens.contains(&a.resource_name.len()) {
                        t.prefix_lens.push(a.resource_name.len());
                    }
                    t.prefixed.entry(a.resource_name.clone()).or_default().push(e)
                }
                _ => {}
            }
        }
        for t in by_type.values_mut() {
            t.prefix_lens.sort_unstable();
        }
        AclIndex { key: (image.offset, image.acls.len()), by_type }
    }

    /// Kafka's findAclRule: Some(allowed) when an ACL of the resource applies or the
    /// resource has ACLs at all (then the answer is DENY), None when it has none.
    fn find(&self, principal: &str, host: &str, op: Op, r: &Resource<'_>) -> Option<bool> {
        let t = self.by_type.get(&r.type_code())?;
        let name = r.name();
        let mut sections: Vec<&Vec<Entry>> = Vec::new();
        sections.extend(t.literal.get(name));
        if name != WILDCARD {
            sections.extend(t.literal.get(WILDCARD));
        }
        for len in t.prefix_lens.iter().copied().take_while(|l| *l <= name.len()) {
            if name.is_char_boundary(len) {
                sections.extend(t.prefixed.get(&name[..len]));
            }
        }
        let mut allowed = false;
        for e in sections.iter().flat_map(|s| s.iter()) {
            match e.verdict(principal, host, op) {
                Some(false) => return Some(false),
                Some(true) => allowed = true,
                None => {}
            }
        }
        if sections.is_empty() { None } else { Some(allowed) }
    }

    /// Every (pattern type, name, entry) of a resource type.
    fn all_of(&self, resource_type: i8) -> impl Iterator<Item = (i8, &str, &Entry)> {
        let t = self.by_type.get(&resource_type);
        let lit = t
            .into_iter()
            .flat_map(|t| t.literal.iter())
            .flat_map(|(n, es)| es.iter().map(move |e| (super::pattern::LITERAL, n.as_str(), e)));
        let pre = t
            .into_iter()
            .flat_map(|t| t.prefixed.iter())
            .flat_map(|(n, es)| es.iter().map(move |e| (super::pattern::PREFIXED, n.as_str(), e)));
        lit.chain(pre)
    }
}

/// The broker's authorizer: its configuration and the index of the newest image.
pub struct Authorizer {
    enabled: bool,
    super_users: HashSet<String>,
    allow_if_no_acl: bool,
    cache: RwLock<Arc<AclIndex>>,
}

impl Authorizer {
    pub fn new(enabled: bool, super_users: impl IntoIterator<Item = String>, allow_if_no_acl: bool) -> Authorizer {
        let cache = RwLock::new(Arc::new(AclIndex { key: (-1, 0), by_type: HashMap::new() }));
        Authorizer { enabled, super_users: super_users.into_iter().collect(), allow_if_no_acl, cache }
    }

    /// From `authorizer.class.name` (non-empty: enforce), `super.users` (`;`-separated)
    /// and `allow.everyone.if.no.acl.found`.
    pub fn from_config(cfg: &BrokerConfig) -> Authorizer {
        let enabled = cfg.props.get("authorizer.class.name").is_some_and(|v| !v.trim().is_empty());
        let supers: Option<Vec<String>> =
            cfg.props.get("super.users").map(|v| v.split(';').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect());
        Authorizer::new(enabled, supers.unwrap_or_default(), cfg.flag("allow.everyone.if.no.acl.found"))
    }

    /// Whether ACLs are enforced (an authorizer is configured).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The index of `image`, built on the first check after a metadata change.
    pub fn index(&self, image: &MetadataImage) -> Arc<AclIndex> {
        let key = (image.offset, image.acls.len());
        {
            let cur = self.cache.read().unwrap_or_else(|e| e.into_inner());
            if cur.key == key {
                return cur.clone();
            }
        }
        let built = Arc::new(AclIndex::build(image));
        let mut cur = self.cache.write().unwrap_or_else(|e| e.into_inner());
        // Another request may have indexed a newer image meanwhile: keep the newest.
        if cur.key.0 <= key.0 {
            *cur = built.clone();
        }
        built
    }

    /// The checks of one request's principal. `image` is only called when ACLs are
    /// enforced, so a broker without an authorizer pays nothing.
    pub fn check<'a, I: AsRef<MetadataImage>>(&'a self, image: impl FnOnce() -> I, principal: &'a str, host: &'a str) -> AclCheck<'a> {
        if !self.enabled {
            return AclCheck { index: None, principal, host, super_user: true, allow_if_no_acl: true };
        }
        let super_user = self.super_users.contains(principal);
        let index = (!super_user).then(|| self.index(image().as_ref()));
        AclCheck { index, principal, host, super_user, allow_if_no_acl: self.allow_if_no_acl }
    }
}

/// A principal's checks against one ACL index.
pub struct AclCheck<'a> {
    index: Option<Arc<AclIndex>>,
    principal: &'a str,
    host: &'a str,
    /// A super user, or no authorizer: everything is allowed.
    super_user: bool,
    allow_if_no_acl: bool,
}

impl AclCheck<'_> {
    /// Everything allowed (no authorizer configured).
    pub fn allow_all() -> AclCheck<'static> {
        AclCheck { index: None, principal: "", host: "", super_user: true, allow_if_no_acl: true }
    }

    /// May the principal do `op` on `r`?
    pub fn allowed(&self, op: Op, r: Resource<'_>) -> bool {
        let Some(index) = self.index.as_ref().filter(|_| !self.super_user) else { return true };
        index.find(self.principal, self.host, op, &r).unwrap_or(self.allow_if_no_acl)
    }

    /// Kafka's authorizeByResourceType: may the principal do `op` on at least one resource
    /// of the type (an ALLOW not overridden by a DENY of the same or a shorter prefix)?
    /// Only the exact operation or ALL counts; nothing is implied.
    pub fn allowed_on_any(&self, op: Op, resource_type: i8) -> bool {
        let hardcoded = match resource_type {
            resource::TOPIC => Resource::Topic("hardcode"),
            resource::GROUP => Resource::Group("hardcode"),
            resource::TRANSACTIONAL_ID => Resource::TransactionalId("hardcode"),
            resource::DELEGATION_TOKEN => Resource::DelegationToken("hardcode"),
            _ => Resource::Cluster,
        };
        if self.allowed(op, hardcoded) {
            return true;
        }
        let Some(index) = &self.index else { return true };
        let (mut deny_lit, mut deny_pre, mut allow) = (HashSet::new(), HashSet::new(), Vec::new());
        for (pt, name, e) in index.all_of(resource_type) {
            let applies = (e.principal == self.principal || e.principal == WILDCARD_PRINCIPAL)
                && (e.host == WILDCARD || e.host == self.host)
                && (e.op == op.code() || e.op == Op::All.code());
            if !applies {
                continue;
            }
            match (e.allow, pt == super::pattern::LITERAL) {
                (false, true) if name == WILDCARD => return false,
                (false, true) => {
                    deny_lit.insert(name);
                }
                (false, false) => {
                    deny_pre.insert(name);
                }
                (true, true) if name == WILDCARD => return true,
                (true, literal) => allow.push((literal, name)),
            }
        }
        allow.iter().any(|(literal, name)| {
            let denied_exactly = *literal && deny_lit.contains(name);
            let denied_by_prefix = (1..=name.len()).any(|l| name.is_char_boundary(l) && deny_pre.contains(&name[..l]));
            !denied_exactly && !denied_by_prefix
        })
    }

    /// The authorized-operations bit field Kafka returns (bit n = operation code n) for
    /// the operations the resource type supports.
    pub fn authorized_ops(&self, r: Resource<'_>) -> i32 {
        supported_ops(r.type_code()).iter().filter(|op| self.allowed(**op, r)).fold(0, |bits, op| bits | (1 << op.code()))
    }
}

#[cfg(test)]
#[path = "authorizer_tests.rs"]
mod tests;
