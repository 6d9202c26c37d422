//! The ACL model shared by the broker, the controller and `rk acls`: Kafka's wire codes and
//! names for resource types, pattern types, operations and permissions, an ACL binding,
//! binding filters (DescribeAcls/DeleteAcls) with Kafka's matching rules, and the
//! validation Kafka applies to new ACLs. The authorizer (evaluation) is `authorizer.rs`.

mod authorizer;

pub use authorizer::{AclCheck, AclIndex, Authorizer, Resource};

use serde::{Deserialize, Serialize};

/// Resource types (Kafka's ResourceType codes).
pub mod resource {
    pub const ANY: i8 = 1;
    pub const TOPIC: i8 = 2;
    pub const GROUP: i8 = 3;
    pub const CLUSTER: i8 = 4;
    pub const TRANSACTIONAL_ID: i8 = 5;
    pub const DELEGATION_TOKEN: i8 = 6;
    pub const USER: i8 = 7;
}

/// Pattern types (Kafka's PatternType codes); ANY and MATCH only in filters.
pub mod pattern {
    pub const ANY: i8 = 1;
    pub const MATCH: i8 = 2;
    pub const LITERAL: i8 = 3;
    pub const PREFIXED: i8 = 4;
}

/// Permission types (Kafka's AclPermissionType codes).
pub mod permission {
    pub const ANY: i8 = 1;
    pub const DENY: i8 = 2;
    pub const ALLOW: i8 = 3;
}

/// The name of the one CLUSTER resource.
pub const CLUSTER_NAME: &str = "kafka-cluster";
/// A literal resource name, host or principal name that matches every one.
pub const WILDCARD: &str = "*";
pub const WILDCARD_PRINCIPAL: &str = "User:*";

/// ACL operations with Kafka's codes (AclOperation); ANY (1) exists only in filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(i8)]
pub enum Op {
    All = 2,
    Read = 3,
    Write = 4,
    Create = 5,
    Delete = 6,
    Alter = 7,
    Describe = 8,
    ClusterAction = 9,
    DescribeConfigs = 10,
    AlterConfigs = 11,
    IdempotentWrite = 12,
    CreateTokens = 13,
    DescribeTokens = 14,
}

/// Filter code for "any operation".
pub const OP_ANY: i8 = 1;

impl Op {
    pub const EVERY: [Op; 13] = [
        Op::All,
        Op::Read,
        Op::Write,
        Op::Create,
        Op::Delete,
        Op::Alter,
        Op::Describe,
        Op::ClusterAction,
        Op::DescribeConfigs,
        Op::AlterConfigs,
        Op::IdempotentWrite,
        Op::CreateTokens,
        Op::DescribeTokens,
    ];

    pub fn code(self) -> i8 {
        self as i8
    }

    pub fn from_code(c: i8) -> Option<Op> {
        Op::EVERY.into_iter().find(|o| o.code() == c)
    }

    /// Kafka's enum name (READ, IDEMPOTENT_WRITE, ...), as ACLs are printed.
    pub fn name(self) -> &'static str {
        match self {
            Op::All => "ALL",
            Op::Read => "READ",
            Op::Write => "WRITE",
            Op::Create => "CREATE",
            Op::Delete => "DELETE",
            Op::Alter => "ALTER",
            Op::Describe => "DESCRIBE",
            Op::ClusterAction => "CLUSTER_ACTION",
            Op::DescribeConfigs => "DESCRIBE_CONFIGS",
            Op::AlterConfigs => "ALTER_CONFIGS",
            Op::IdempotentWrite => "IDEMPOTENT_WRITE",
            Op::CreateTokens => "CREATE_TOKENS",
            Op::DescribeTokens => "DESCRIBE_TOKENS",
        }
    }

    /// Kafka's SecurityUtils.operationName: PascalCase (IdempotentWrite), as
    /// kafka-acls.sh's --operation takes it.
    pub fn pascal_name(self) -> String {
        pascal(self.name())
    }

    /// kafka-acls.sh's --operation parsing (SecurityUtils.operation): the PascalCase name,
    /// or it without case (Read, READ, read, IdempotentWrite, IDEMPOTENTWRITE).
    pub fn parse(s: &str) -> Option<Op> {
        let s = s.trim();
        Op::EVERY.into_iter().find(|o| o.pascal_name() == s || o.pascal_name().eq_ignore_ascii_case(s))
    }
}

fn pascal(name: &str) -> String {
    name.split('_').map(|w| w[..1].to_string() + &w[1..].to_ascii_lowercase()).collect()
}

/// The operations a resource type has (Kafka's AclEntry.supportedOperations), which make
/// up the authorized-operations bit fields.
pub fn supported_ops(resource_type: i8) -> &'static [Op] {
    use Op::*;
    match resource_type {
        resource::TOPIC => &[Read, Write, Create, Describe, Delete, Alter, DescribeConfigs, AlterConfigs],
        resource::GROUP => &[Read, Describe, Delete, DescribeConfigs, AlterConfigs],
        resource::CLUSTER => &[Create, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, Alter, Describe],
        resource::TRANSACTIONAL_ID => &[Describe, Write],
        resource::DELEGATION_TOKEN => &[Describe],
        resource::USER => &[CreateTokens, DescribeTokens],
        _ => &[],
    }
}

/// Kafka's ResourceType enum name.
pub fn resource_type_name(c: i8) -> &'static str {
    match c {
        resource::ANY => "ANY",
        resource::TOPIC => "TOPIC",
        resource::GROUP => "GROUP",
        resource::CLUSTER => "CLUSTER",
        resource::TRANSACTIONAL_ID => "TRANSACTIONAL_ID",
        resource::DELEGATION_TOKEN => "DELEGATION_TOKEN",
        resource::USER => "USER",
        _ => "UNKNOWN",
    }
}

/// Kafka's PatternType enum name.
pub fn pattern_type_name(c: i8) -> &'static str {
    match c {
        pattern::ANY => "ANY",
        pattern::MATCH => "MATCH",
        pattern::LITERAL => "LITERAL",
        pattern::PREFIXED => "PREFIXED",
        _ => "UNKNOWN",
    }
}

/// Kafka's AclOperation enum name (ANY/UNKNOWN included, for filters).
pub fn operation_name(c: i8) -> &'static str {
    match (c, Op::from_code(c)) {
        (_, Some(op)) => op.name(),
        (OP_ANY, None) => "ANY",
        _ => "UNKNOWN",
    }
}

/// Kafka's AclPermissionType enum name.
pub fn permission_name(c: i8) -> &'static str {
    match c {
        permission::ANY => "ANY",
        permission::DENY => "DENY",
        permission::ALLOW => "ALLOW",
        _ => "UNKNOWN",
    }
}

/// One ACL: a resource pattern and an access control entry, in wire codes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AclBinding {
    pub resource_type: i8,
    pub resource_name: String,
    pub pattern_type: i8,
    pub principal: String,
    pub host: String,
    pub operation: i8,
    /// Stored as Kafka's record names it.
    #[serde(rename = "permission_type")]
    pub permission: i8,
}

impl AclBinding {
    /// Kafka's ResourcePattern.toString.
    pub fn pattern_string(&self) -> String {
        format!(
            "ResourcePattern(resourceType={}, name={}, patternType={})",
            resource_type_name(self.resource_type),
            self.resource_name,
            pattern_type_name(self.pattern_type)
        )
    }

    /// Kafka's AccessControlEntry.toString.
    pub fn entry_string(&self) -> String {
        format!(
            "(principal={}, host={}, operation={}, permissionType={})",
            self.principal,
            self.host,
            operation_name(self.operation),
            permission_name(self.permission)
        )
    }

    /// Kafka's validation of a new ACL (AclControlManager.validateNewAcl and the broker's
    /// checks in AclApis): the message of the INVALID_REQUEST answer.
    pub fn validate(&self) -> Result<(), String> {
        if !(resource::TOPIC..=resource::USER).contains(&self.resource_type) {
            return Err(format!("Invalid resourceType {}", resource_type_name(self.resource_type)));
        }
        if self.pattern_type != pattern::LITERAL && self.pattern_type != pattern::PREFIXED {
            return Err(format!("Invalid patternType {}", pattern_type_name(self.pattern_type)));
        }
        if Op::from_code(self.operation).is_none() {
            return Err(format!("Invalid operation {}", operation_name(self.operation)));
        }
        if self.permission != permission::ALLOW && self.permission != permission::DENY {
            return Err(format!("Invalid permissionType {}", permission_name(self.permission)));
        }
        if self.resource_name.is_empty() {
            return Err("Invalid empty resource name".into());
        }
        if self.resource_type == resource::CLUSTER && self.resource_name != CLUSTER_NAME {
            return Err(format!("The only valid name for the CLUSTER resource is {CLUSTER_NAME}"));
        }
        validate_principal(&self.principal)
    }
}

/// A principal must be `Type:name` (Kafka's KafkaPrincipal form).
pub fn validate_principal(p: &str) -> Result<(), String> {
    match p.split_once(':') {
        Some((t, _)) if !t.is_empty() => Ok(()),
        _ => {
            Err(format!("Could not parse principal from `{p}` (no colon is present separating the principal type from the principal name)"))
        }
    }
}

/// A filter over bindings (Kafka's AclBindingFilter): None / ANY match everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclFilter {
    pub resource_type: i8,
    pub resource_name: Option<String>,
    pub pattern_type: i8,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: i8,
    pub permission: i8,
}

impl AclFilter {
    /// Matches every binding.
    pub fn any() -> AclFilter {
        AclFilter {
            resource_type: resource::ANY,
            resource_name: None,
            pattern_type: pattern::ANY,
            principal: None,
            host: None,
            operation: OP_ANY,
            permission: permission::ANY,
        }
    }

    /// Kafka's ResourcePatternFilter.toString (`name=<any>` when unset).
    pub fn pattern_string(&self) -> String {
        format!(
            "ResourcePattern(resourceType={}, name={}, patternType={})",
            resource_type_name(self.resource_type),
            self.resource_name.as_deref().unwrap_or("<any>"),
            pattern_type_name(self.pattern_type)
        )
    }

    /// Codes Kafka does not know (UNKNOWN) make the filter invalid: the message.
    pub fn validate(&self) -> Result<(), String> {
        if !(resource::ANY..=resource::USER).contains(&self.resource_type) {
            return Err(format!("Unknown resource type filter {}", self.resource_type));
        }
        if !(pattern::ANY..=pattern::PREFIXED).contains(&self.pattern_type) {
            return Err(format!("Unknown pattern type filter {}", self.pattern_type));
        }
        if self.operation != OP_ANY && Op::from_code(self.operation).is_none() {
            return Err(format!("Unknown operation filter {}", self.operation));
        }
        if !(permission::ANY..=permission::ALLOW).contains(&self.permission) {
            return Err(format!("Unknown permission type filter {}", self.permission));
        }
        Ok(())
    }

    /// Kafka's AclBindingFilter.matches: ResourcePatternFilter (MATCH: every pattern that
    /// applies to the named resource: the literal, the `*` wildcard and prefixes of it) and
    /// AccessControlEntryFilter (equal fields or unset).
    pub fn matches(&self, b: &AclBinding) -> bool {
        if self.resource_type != resource::ANY && self.resource_type != b.resource_type {
            return false;
        }
        if ![pattern::ANY, pattern::MATCH, b.pattern_type].contains(&self.pattern_type) {
            return false;
        }
        let name_ok = match &self.resource_name {
            None => true,
            Some(n) if self.pattern_type == pattern::ANY || self.pattern_type == b.pattern_type => *n == b.resource_name,
            Some(n) => match b.pattern_type {
                pattern::LITERAL => *n == b.resource_name || b.resource_name == WILDCARD,
                pattern::PREFIXED => n.starts_with(&b.resource_name),
                _ => false,
            },
        };
        name_ok
            && self.principal.as_ref().is_none_or(|p| *p == b.principal)
            && self.host.as_ref().is_none_or(|h| *h == b.host)
            && (self.operation == OP_ANY || self.operation == b.operation)
            && (self.permission == permission::ANY || self.permission == b.permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(rt: i8, name: &str, pt: i8) -> AclBinding {
        AclBinding {
            resource_type: rt,
            resource_name: name.into(),
            pattern_type: pt,
            principal: "User:alice".into(),
            host: "*".into(),
            operation: Op::Read.code(),
            permission: permission::ALLOW,
        }
    }

    #[test]
    fn names_and_parsing() {
        assert_eq!(Op::IdempotentWrite.pascal_name(), "IdempotentWrite");
        assert_eq!(Op::parse("idempotentwrite"), Some(Op::IdempotentWrite));
        assert_eq!(Op::parse("Read"), Some(Op::Read));
        assert_eq!(Op::parse("READ"), Some(Op::Read));
        assert_eq!(Op::parse("DescribeConfigs"), Some(Op::DescribeConfigs));
        assert_eq!(Op::parse("bogus"), None);
        let b = binding(resource::TOPIC, "t", pattern::LITERAL);
        assert_eq!(b.pattern_string(), "ResourcePattern(resourceType=TOPIC, name=t, patternType=LITERAL)");
        assert_eq!(b.entry_string(), "(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)");
    }

    #[test]
    fn validation_of_new_acls() {
        assert!(binding(resource::TOPIC, "t", pattern::LITERAL).validate().is_ok());
        assert_eq!(binding(resource::ANY, "t", pattern::LITERAL).validate().unwrap_err(), "Invalid resourceType ANY");
        assert_eq!(binding(resource::TOPIC, "t", pattern::MATCH).validate().unwrap_err(), "Invalid patternType MATCH");
        assert!(binding(resource::CLUSTER, "other", pattern::LITERAL).validate().is_err());
        assert!(binding(resource::TOPIC, "", pattern::LITERAL).validate().is_err());
        let mut b = binding(resource::TOPIC, "t", pattern::LITERAL);
        b.principal = "alice".into();
        assert!(b.validate().is_err());
        b.principal = "User:alice".into();
        b.operation = OP_ANY;
        assert_eq!(b.validate().unwrap_err(), "Invalid operation ANY");
    }

    #[test]
    fn filter_matching() {
        let lit = binding(resource::TOPIC, "foo", pattern::LITERAL);
        let wild = binding(resource::TOPIC, "*", pattern::LITERAL);
        let pre = binding(resource::TOPIC, "fo", pattern::PREFIXED);
        let f =
            |pt: i8| AclFilter { resource_type: resource::TOPIC, resource_name: Some("foo".into()), pattern_type: pt, ..AclFilter::any() };
        // MATCH: everything that applies to topic foo.
        assert!(f(pattern::MATCH).matches(&lit) && f(pattern::MATCH).matches(&wild) && f(pattern::MATCH).matches(&pre));
        // ANY: the exact name under any pattern type.
        assert!(f(pattern::ANY).matches(&lit) && !f(pattern::ANY).matches(&wild) && !f(pattern::ANY).matches(&pre));
        assert!(f(pattern::LITERAL).matches(&lit) && !f(pattern::LITERAL).matches(&pre));
        assert!(!f(pattern::PREFIXED).matches(&pre), "a prefixed filter wants the exact prefix");
        assert!(AclFilter::any().matches(&pre));
        let other = AclFilter { principal: Some("User:bob".into()), ..AclFilter::any() };
        assert!(!other.matches(&lit));
        let group = AclFilter { resource_type: resource::GROUP, ..AclFilter::any() };
        assert!(!group.matches(&lit));
    }
}
