//! Admin operations on ACLs, as Kafka's Admin client does them: DescribeAcls with one
//! binding filter, CreateAcls with a batch of bindings (one outcome each), DeleteAcls with
//! a batch of filters (per filter the bindings removed). Any broker answers (they forward
//! changes to the controller). Errors carry the broker's code and message.

use super::admin::Admin;
use super::connection::ClientError;
use crate::broker::security::acl::{AclBinding, AclFilter};
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn check(code: i16, message: Option<&StrBytes>) -> Result<(), ClientError> {
    if code == 0 { Ok(()) } else { Err(ClientError::kafka_msg(code, message.map(|m| m.as_str()))) }
}

impl Admin {
    /// The ACLs matching `f` (sorted).
    pub async fn describe_acls(&self, f: &AclFilter) -> Result<Vec<AclBinding>, ClientError> {
        let req = DescribeAclsRequest::default()
            .with_resource_type_filter(f.resource_type)
            .with_resource_name_filter(f.resource_name.as_deref().map(sb))
            .with_pattern_type_filter(f.pattern_type)
            .with_principal_filter(f.principal.as_deref().map(sb))
            .with_host_filter(f.host.as_deref().map(sb))
            .with_operation(f.operation)
            .with_permission_type(f.permission);
        let resp = self.cluster.send(None, &req).await?;
        check(resp.error_code, resp.error_message.as_ref())?;
        let mut out: Vec<AclBinding> = resp
            .resources
            .iter()
            .flat_map(|r| {
                r.acls.iter().map(move |a| AclBinding {
                    resource_type: r.resource_type,
                    resource_name: r.resource_name.to_string(),
                    pattern_type: r.pattern_type,
                    principal: a.principal.to_string(),
                    host: a.host.to_string(),
                    operation: a.operation,
                    permission: a.permission_type,
                })
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// Creates `acls`: each one's outcome, in order.
    pub async fn create_acls(&self, acls: &[AclBinding]) -> Result<Vec<Result<(), ClientError>>, ClientError> {
        let creations = acls
            .iter()
            .map(|b| {
                AclCreation::default()
                    .with_resource_type(b.resource_type)
                    .with_resource_name(sb(&b.resource_name))
                    .with_resource_pattern_type(b.pattern_type)
                    .with_principal(sb(&b.principal))
                    .with_host(sb(&b.host))
                    .with_operation(b.operation)
                    .with_permission_type(b.permission)
            })
            .collect();
        let resp = self.cluster.send(None, &CreateAclsRequest::default().with_creations(creations)).await?;
        if resp.results.len() != acls.len() {
            return Err(ClientError::Protocol(format!("CreateAcls answered {} results for {} ACLs", resp.results.len(), acls.len())));
        }
        Ok(resp.results.iter().map(|r| check(r.error_code, r.error_message.as_ref())).collect())
    }

    /// Deletes what `filters` match: per filter, the ACLs removed (or its error).
    pub async fn delete_acls(&self, filters: &[AclFilter]) -> Result<Vec<Result<Vec<AclBinding>, ClientError>>, ClientError> {
        let wire = filters
            .iter()
            .map(|f| {
                DeleteAclsFilter::default()
                    .with_resource_type_filter(f.resource_type)
                    .with_resource_name_filter(f.resource_name.as_deref().map(sb))
                    .with_pattern_type_filter(f.pattern_type)
                    .with_principal_filter(f.principal.as_deref().map(sb))
                    .with_host_filter(f.host.as_deref().map(sb))
                    .with_operation(f.operation)
                    .with_permission_type(f.permission)
            })
            .collect();
        let resp = self.cluster.send(None, &DeleteAclsRequest::default().with_filters(wire)).await?;
        if resp.filter_results.len() != filters.len() {
            return Err(ClientError::Protocol(format!(
                "DeleteAcls answered {} results for {} filters",
                resp.filter_results.len(),
                filters.len()
            )));
        }
        Ok(resp
            .filter_results
            .iter()
            .map(|r| {
                check(r.error_code, r.error_message.as_ref())?;
                Ok(r.matching_acls
                    .iter()
                    .map(|a| AclBinding {
                        resource_type: a.resource_type,
                        resource_name: a.resource_name.to_string(),
                        pattern_type: a.pattern_type,
                        principal: a.principal.to_string(),
                        host: a.host.to_string(),
                        operation: a.operation,
                        permission: a.permission_type,
                    })
                    .collect())
            })
            .collect())
    }
}
