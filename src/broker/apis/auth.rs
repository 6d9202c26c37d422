//! Authorization in handlers: the ACL checks of the request's principal and host
//! (`ctx.authorize(Op::Write, Resource::Topic(name))`), and the error Kafka answers when a
//! resource of each type is refused. Without an authorizer every check is `true` at once.

use super::Ctx;
use crate::broker::security::acl::{AclCheck, Op, Resource};
use kafka_protocol::error::ResponseError as E;

impl Ctx<'_> {
    /// The checks of this request's principal, against the newest ACLs. Take it once for a
    /// request that checks many resources.
    pub fn acl(&self) -> AclCheck<'_> {
        self.broker.authorizer.check(|| self.broker.image(), &self.conn.principal, &self.conn.client_host)
    }

    /// May this request's principal do `op` on `r`?
    pub fn authorize(&self, op: Op, r: Resource<'_>) -> bool {
        self.acl().allowed(op, r)
    }
}

/// Kafka's AclEntry.authorizationError: the error for a refused resource of this type.
pub fn denied(r: Resource<'_>) -> E {
    match r {
        Resource::Topic(_) => E::TopicAuthorizationFailed,
        Resource::Group(_) => E::GroupAuthorizationFailed,
        Resource::Cluster => E::ClusterAuthorizationFailed,
        Resource::TransactionalId(_) => E::TransactionalIdAuthorizationFailed,
        Resource::DelegationToken(_) => E::DelegationTokenAuthorizationFailed,
    }
}

/// Not authorized, as a code.
pub fn denied_code(r: Resource<'_>) -> i16 {
    denied(r).code()
}
