//! Unit tests of ACL evaluation: implied operations, deny wins, literal / prefixed /
//! wildcard patterns, wildcard principal and host, super users, the no-ACL default and
//! authorizeByResourceType.

use super::*;
use crate::broker::metadata::MetadataRecord;
use crate::broker::security::acl::{AclBinding, pattern};
use uuid::Uuid;

const ALICE: &str = "User:alice";
const HOST: &str = "10.0.0.1";

/// (resource type, name, pattern, principal, host, op, allow)
type Spec<'a> = (i8, &'a str, i8, &'a str, &'a str, Op, bool);

/// Each image gets offsets no other image of the test run has (the index is per offset).
fn image(acls: &[Spec<'_>]) -> Arc<MetadataImage> {
    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);
    let mut img = MetadataImage::default();
    for (rt, name, pt, principal, host, op, allow) in acls {
        let acl = AclBinding {
            resource_type: *rt,
            resource_name: name.to_string(),
            pattern_type: *pt,
            principal: principal.to_string(),
            host: host.to_string(),
            operation: op.code(),
            permission: if *allow { permission::ALLOW } else { permission::DENY },
        };
        img.apply(&MetadataRecord::AccessControlEntry { id: Uuid::new_v4(), acl });
        img.offset = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    Arc::new(img)
}

fn auth(supers: &[&str], allow_if_none: bool) -> Authorizer {
    Authorizer::new(true, supers.iter().map(|s| s.to_string()), allow_if_none)
}

fn allowed(a: &Authorizer, img: &Arc<MetadataImage>, principal: &str, op: Op, r: Resource<'_>) -> bool {
    a.check(|| img.clone(), principal, HOST).allowed(op, r)
}

const T: i8 = resource::TOPIC;
const LIT: i8 = pattern::LITERAL;
const PRE: i8 = pattern::PREFIXED;

#[test]
fn disabled_allows_everything_without_looking_at_the_image() {
    let a = Authorizer::new(false, Vec::new(), false);
    let c = a.check(|| -> Arc<MetadataImage> { panic!("the image must not be read") }, ALICE, HOST);
    assert!(c.allowed(Op::Alter, Resource::Cluster));
}

#[test]
fn implied_operations_are_for_allow_only() {
    let a = auth(&[], false);
    let img = image(&[(T, "t", LIT, ALICE, "*", Op::Write, true), (resource::TOPIC, "c", LIT, ALICE, "*", Op::AlterConfigs, true)]);
    assert!(allowed(&a, &img, ALICE, Op::Write, Resource::Topic("t")));
    assert!(allowed(&a, &img, ALICE, Op::Describe, Resource::Topic("t")), "WRITE implies DESCRIBE");
    assert!(!allowed(&a, &img, ALICE, Op::Read, Resource::Topic("t")));
    assert!(allowed(&a, &img, ALICE, Op::DescribeConfigs, Resource::Topic("c")), "ALTER_CONFIGS implies DESCRIBE_CONFIGS");
    assert!(!allowed(&a, &img, ALICE, Op::Describe, Resource::Topic("c")));
    // A DENY of READ does not deny DESCRIBE.
    let img = image(&[(T, "t", LIT, ALICE, "*", Op::All, true), (T, "t", LIT, ALICE, "*", Op::Read, false)]);
    assert!(!allowed(&a, &img, ALICE, Op::Read, Resource::Topic("t")));
    assert!(allowed(&a, &img, ALICE, Op::Describe, Resource::Topic("t")));
    assert!(allowed(&a, &img, ALICE, Op::Write, Resource::Topic("t")), "ALL allows every operation");
}

#[test]
fn deny_wins_over_allow_from_any_pattern() {
    let a = auth(&[], false);
    let img = image(&[(T, "*", LIT, "User:*", "*", Op::Read, true), (T, "secret", PRE, ALICE, "*", Op::Read, false)]);
    assert!(allowed(&a, &img, ALICE, Op::Read, Resource::Topic("public")));
    assert!(!allowed(&a, &img, ALICE, Op::Read, Resource::Topic("secret-1")));
    assert!(allowed(&a, &img, "User:bob", Op::Read, Resource::Topic("secret-1")));
}

#[test]
fn prefixed_patterns_match_names_starting_with_them() {
    let a = auth(&[], false);
    let img = image(&[(T, "app-", PRE, ALICE, "*", Op::Read, true), (T, "ap", LIT, ALICE, "*", Op::Write, true)]);
    assert!(allowed(&a, &img, ALICE, Op::Read, Resource::Topic("app-")));
    assert!(allowed(&a, &img, ALICE, Op::Read, Resource::Topic("app-orders")));
    assert!(!allowed(&a, &img, ALICE, Op::Read, Resource::Topic("app")));
    assert!(!allowed(&a, &img, ALICE, Op::Write, Resource::Topic("app-orders")), "a literal is not a prefix");
    assert!(allowed(&a, &img, ALICE, Op::Write, Resource::Topic("ap")));
    assert!(!allowed(&a, &img, ALICE, Op::Read, Resource::Group("app-orders")), "patterns are per resource type");
}

#[test]
fn wildcard_principal_host_and_resource() {
    let a = auth(&[], false);
    let img = image(&[(T, "t", LIT, "User:*", "*", Op::Read, true), (T, "h", LIT, ALICE, "10.9.9.9", Op::Read, true)]);
    assert!(allowed(&a, &img, "User:anyone", Op::Read, Resource::Topic("t")));
    assert!(!allowed(&a, &img, ALICE, Op::Read, Resource::Topic("h")), "another host");
    assert!(a.check(|| img.clone(), ALICE, "10.9.9.9").allowed(Op::Read, Resource::Topic("h")));
    let img = image(&[(resource::GROUP, "*", LIT, ALICE, HOST, Op::Read, true)]);
    assert!(allowed(&a, &img, ALICE, Op::Read, Resource::Group("any-group")));
    assert!(!allowed(&a, &img, "User:bob", Op::Read, Resource::Group("any-group")));
}

#[test]
fn super_users_and_the_no_acl_default() {
    let img = image(&[(T, "t", LIT, "User:bob", "*", Op::Read, false)]);
    let a = auth(&["User:admin"], false);
    assert!(allowed(&a, &img, "User:admin", Op::Alter, Resource::Cluster));
    assert!(!allowed(&a, &img, ALICE, Op::Describe, Resource::Topic("other")), "no ACL, no default allow");
    let open = auth(&[], true);
    assert!(allowed(&open, &img, ALICE, Op::Describe, Resource::Topic("other")), "allow.everyone.if.no.acl.found");
    // A resource with ACLs (even for someone else) is closed to everyone else.
    assert!(!allowed(&open, &img, ALICE, Op::Read, Resource::Topic("t")));
}

#[test]
fn the_index_follows_the_image() {
    let a = auth(&[], false);
    let first = image(&[(T, "t", LIT, ALICE, "*", Op::Read, true)]);
    assert!(allowed(&a, &first, ALICE, Op::Read, Resource::Topic("t")));
    let second = image(&[(T, "t", LIT, ALICE, "*", Op::Read, true), (T, "t", LIT, ALICE, "*", Op::Read, false)]);
    assert!(!allowed(&a, &second, ALICE, Op::Read, Resource::Topic("t")));
}

#[test]
fn authorize_by_resource_type() {
    let a = auth(&[], false);
    let on_any = |img: &Arc<MetadataImage>| a.check(|| img.clone(), ALICE, HOST).allowed_on_any(Op::Write, T);
    assert!(!on_any(&image(&[])));
    assert!(on_any(&image(&[(T, "t", LIT, ALICE, "*", Op::Write, true)])));
    assert!(!on_any(&image(&[(T, "t", LIT, ALICE, "*", Op::Write, true), (T, "t", PRE, ALICE, "*", Op::Write, false)])));
    assert!(!on_any(&image(&[(T, "t", LIT, ALICE, "*", Op::Read, true)])), "nothing is implied");
    assert!(on_any(&image(&[(T, "ab", PRE, ALICE, "*", Op::All, true), (T, "abc", PRE, ALICE, "*", Op::Write, false)])));
    assert!(!on_any(&image(&[(T, "x", LIT, ALICE, "*", Op::Write, true), (T, "*", LIT, ALICE, "*", Op::Write, false)])));
}

#[test]
fn authorized_operations_bit_field() {
    let a = auth(&[], false);
    let img = image(&[(T, "t", LIT, ALICE, "*", Op::Read, true)]);
    let bits = a.check(|| img.clone(), ALICE, HOST).authorized_ops(Resource::Topic("t"));
    assert_eq!(bits, (1 << Op::Read.code()) | (1 << Op::Describe.code()));
    let all = AclCheck::allow_all().authorized_ops(Resource::Cluster);
    assert_eq!(all.count_ones() as usize, supported_ops(resource::CLUSTER).len());
}
