//! The audit log: newest first, a page at a time. Everyone of the tenant may read it.

use crate::actor::{Actor, Permission};
use crate::error::ApiError;
use crate::store::{decode_audit_cursor, AuditPage};
use crate::Deps;

/// A page of the tenant's audit log (`limit` from [`crate::engine::page_limit`]).
pub async fn audit_log(deps: &Deps, actor: &Actor, limit: u32, cursor: Option<&str>) -> Result<AuditPage, ApiError> {
    actor.require(Permission::Read)?;
    let after = cursor
        .map(|c| decode_audit_cursor(c).ok_or_else(|| ApiError::invalid("cursor", "is not one this API gave out")))
        .transpose()?;
    let limit = limit.clamp(1, crate::engine::MAX_PAGE) as i32;
    Ok(deps.store.audit_page(&actor.tenant, limit, after).await?)
}
