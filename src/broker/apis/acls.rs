//! DescribeAcls, CreateAcls and DeleteAcls (Kafka's AclApis): SECURITY_DISABLED without an
//! authorizer; describing needs DESCRIBE on the cluster, changing needs ALTER; changes are
//! controller commands (controller/acls.rs), reads come from the metadata image.

use super::{Ctx, code, sb};
use crate::broker::controller::TopicError;
use crate::broker::security::acl::{AclBinding, AclFilter, Op, Resource};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::delete_acls_response::{DeleteAclsFilterResult, DeleteAclsMatchingAcl};
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::*;
use std::collections::BTreeMap;

/// Why the request as a whole is refused: no authorizer, or `op` on the cluster denied.
fn refused(ctx: &Ctx<'_>, op: Op, disabled_message: &str) -> Option<(i16, String)> {
    if !ctx.broker.authorizer.enabled() {
        return Some((code(E::SecurityDisabled), disabled_message.to_string()));
    }
    if !ctx.authorize(op, Resource::Cluster) {
        return Some((code(E::ClusterAuthorizationFailed), E::ClusterAuthorizationFailed.to_string()));
    }
    None
}

fn filter(
    resource_type: i8,
    name: Option<&kafka_protocol::protocol::StrBytes>,
    pattern_type: i8,
    principal: Option<&kafka_protocol::protocol::StrBytes>,
    host: Option<&kafka_protocol::protocol::StrBytes>,
    operation: i8,
    permission: i8,
) -> AclFilter {
    AclFilter {
        resource_type,
        resource_name: name.map(|s| s.to_string()),
        pattern_type,
        principal: principal.map(|s| s.to_string()),
        host: host.map(|s| s.to_string()),
        operation,
        permission,
    }
}

pub async fn describe_acls(ctx: &Ctx<'_>, req: DescribeAclsRequest) -> DescribeAclsResponse {
    if let Some((c, m)) = refused(ctx, Op::Describe, "No Authorizer is configured on the broker") {
        return DescribeAclsResponse::default().with_error_code(c).with_error_message(Some(sb(m)));
    }
    let f = filter(
        req.resource_type_filter,
        req.resource_name_filter.as_ref(),
        req.pattern_type_filter,
        req.principal_filter.as_ref(),
        req.host_filter.as_ref(),
        req.operation,
        req.permission_type,
    );
    if let Err(m) = f.validate() {
        return DescribeAclsResponse::default().with_error_code(code(E::InvalidRequest)).with_error_message(Some(sb(m)));
    }
    let image = ctx.broker.image();
    // Grouped by resource pattern, in a stable order.
    let mut by_pattern: BTreeMap<(i8, String, i8), Vec<AclBinding>> = BTreeMap::new();
    for b in image.acls.values().filter(|b| f.matches(b)).cloned() {
        by_pattern.entry((b.resource_type, b.resource_name.clone(), b.pattern_type)).or_default().push(b);
    }
    let resources = by_pattern
        .into_iter()
        .map(|((rt, name, pt), mut acls)| {
            acls.sort();
            DescribeAclsResource::default().with_resource_type(rt).with_resource_name(sb(name)).with_pattern_type(pt).with_acls(
                acls.into_iter()
                    .map(|a| {
                        AclDescription::default()
                            .with_principal(sb(a.principal))
                            .with_host(sb(a.host))
                            .with_operation(a.operation)
                            .with_permission_type(a.permission)
                    })
                    .collect(),
            )
        })
        .collect();
    DescribeAclsResponse::default().with_resources(resources)
}

pub async fn create_acls(ctx: &Ctx<'_>, req: CreateAclsRequest) -> CreateAclsResponse {
    let result = |c: i16, m: Option<String>| AclCreationResult::default().with_error_code(c).with_error_message(m.map(sb));
    if let Some((c, m)) = refused(ctx, Op::Alter, "No Authorizer is configured.") {
        return CreateAclsResponse::default().with_results(req.creations.iter().map(|_| result(c, Some(m.clone()))).collect());
    }
    let acls: Vec<AclBinding> = req
        .creations
        .iter()
        .map(|a| AclBinding {
            resource_type: a.resource_type,
            resource_name: a.resource_name.to_string(),
            pattern_type: a.resource_pattern_type,
            principal: a.principal.to_string(),
            host: a.host.to_string(),
            operation: a.operation,
            permission: a.permission_type,
        })
        .collect();
    let results = ctx
        .broker
        .controller
        .create_acls(acls)
        .await
        .into_iter()
        .map(|o| match o {
            Ok(()) => result(0, None),
            Err(TopicError(c, m)) => result(c, Some(m)),
        })
        .collect();
    CreateAclsResponse::default().with_results(results)
}

pub async fn delete_acls(ctx: &Ctx<'_>, req: DeleteAclsRequest) -> DeleteAclsResponse {
    let failed = |c: i16, m: String| DeleteAclsFilterResult::default().with_error_code(c).with_error_message(Some(sb(m)));
    if let Some((c, m)) = refused(ctx, Op::Alter, "No Authorizer is configured.") {
        return DeleteAclsResponse::default().with_filter_results(req.filters.iter().map(|_| failed(c, m.clone())).collect());
    }
    let filters = req
        .filters
        .iter()
        .map(|f| {
            filter(
                f.resource_type_filter,
                f.resource_name_filter.as_ref(),
                f.pattern_type_filter,
                f.principal_filter.as_ref(),
                f.host_filter.as_ref(),
                f.operation,
                f.permission_type,
            )
        })
        .collect();
    let results = ctx
        .broker
        .controller
        .delete_acls(filters)
        .await
        .into_iter()
        .map(|o| match o {
            Err(TopicError(c, m)) => failed(c, m),
            Ok(mut removed) => {
                removed.sort();
                DeleteAclsFilterResult::default().with_matching_acls(
                    removed
                        .into_iter()
                        .map(|a| {
                            DeleteAclsMatchingAcl::default()
                                .with_resource_type(a.resource_type)
                                .with_resource_name(sb(a.resource_name))
                                .with_pattern_type(a.pattern_type)
                                .with_principal(sb(a.principal))
                                .with_host(sb(a.host))
                                .with_operation(a.operation)
                                .with_permission_type(a.permission)
                        })
                        .collect(),
                )
            }
        })
        .collect();
    DeleteAclsResponse::default().with_filter_results(results)
}
