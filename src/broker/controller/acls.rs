//! ACL commands of the controller (Kafka's AclControlManager): CreateAcls validates each new
//! ACL and writes an AccessControlEntry record for those not stored yet (an identical ACL
//! is a success without a record); DeleteAcls writes a RemoveAccessControlEntry for every
//! stored ACL any filter matches and reports, per filter, what it removed.

use super::{Outcome, TopicError};
use crate::broker::metadata::{MetadataImage, MetadataRecord};
use crate::broker::security::acl::{AclBinding, AclFilter};
use kafka_protocol::error::ResponseError as E;
use std::collections::BTreeSet;
use uuid::Uuid;

fn invalid(m: String) -> TopicError {
    TopicError(E::InvalidRequest.code(), m)
}

/// The record that stores `b` under a new id, or None when an identical ACL exists.
pub(super) fn plan_create(img: &MetadataImage, b: &AclBinding) -> Outcome<Option<MetadataRecord>> {
    b.validate().map_err(invalid)?;
    if img.acls.values().any(|a| a == b) {
        return Ok(None);
    }
    let mut id = Uuid::new_v4();
    while img.acls.contains_key(&id) {
        id = Uuid::new_v4();
    }
    Ok(Some(MetadataRecord::AccessControlEntry { id, acl: b.clone() }))
}

/// Per filter the bindings it removes, and the removal records (an ACL matched by two
/// filters is reported by both and removed once, as Kafka does).
pub(super) fn plan_delete(img: &MetadataImage, filters: &[AclFilter]) -> (Vec<Outcome<Vec<AclBinding>>>, Vec<MetadataRecord>) {
    let mut removed: BTreeSet<Uuid> = BTreeSet::new();
    let results = filters
        .iter()
        .map(|f| {
            f.validate().map_err(invalid)?;
            let mut matched = Vec::new();
            for (id, a) in &img.acls {
                if f.matches(a) {
                    removed.insert(*id);
                    matched.push(a.clone());
                }
            }
            Ok(matched)
        })
        .collect();
    (results, removed.into_iter().map(|id| MetadataRecord::RemoveAccessControlEntry { id }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::security::acl::{Op, pattern, permission, resource};

    fn read_acl(topic: &str) -> AclBinding {
        AclBinding {
            resource_type: resource::TOPIC,
            resource_name: topic.into(),
            pattern_type: pattern::LITERAL,
            principal: "User:alice".into(),
            host: "*".into(),
            operation: Op::Read.code(),
            permission: permission::ALLOW,
        }
    }

    #[test]
    fn create_is_idempotent_and_delete_reports_per_filter() {
        let mut img = MetadataImage::default();
        let rec = plan_create(&img, &read_acl("a")).unwrap().unwrap();
        img.apply(&rec);
        assert!(plan_create(&img, &read_acl("a")).unwrap().is_none(), "an identical ACL is not stored twice");
        img.apply(&plan_create(&img, &read_acl("b")).unwrap().unwrap());
        let mut bad = read_acl("c");
        bad.pattern_type = pattern::MATCH;
        assert_eq!(plan_create(&img, &bad).unwrap_err().0, E::InvalidRequest.code());

        let only_a = AclFilter { resource_name: Some("a".into()), ..AclFilter::any() };
        let (results, recs) = plan_delete(&img, &[only_a, AclFilter::any()]);
        assert_eq!(results[0].as_ref().unwrap().len(), 1);
        assert_eq!(results[1].as_ref().unwrap().len(), 2);
        assert_eq!(recs.len(), 2, "each ACL is removed once");
        for r in &recs {
            img.apply(r);
        }
        assert!(img.acls.is_empty());
    }
}
