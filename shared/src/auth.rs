//! Who is calling: the `X-API-Key` header (any case) resolved to a tenant, a mode, a
//! channel and scopes. Order of checks: key shape and checksum (401, no read), key
//! (401), tenant slug (401), scope (403), channel (403). Every kind of bad key answers
//! the same 401, so a caller learns nothing about other tenants' keys.

use std::sync::Arc;

use lambda_http::Request;

use crate::deps::Deps;
use crate::domain::TenantSlug;
use crate::error::ApiError;
use crate::http::path_param;
use crate::keys::{Channel, KeyMode, KeyRecord, KeyStatus, PresentedKey, Scope};
use crate::program::{Program, ProgramVersions};

pub const API_KEY_HEADER: &str = "x-api-key";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: TenantSlug,
    pub key_id: String,
    pub mode: KeyMode,
}

impl Caller {
    /// Sandbox keys read real data and write nothing.
    pub fn sandbox(&self) -> bool {
        self.mode == KeyMode::Test
    }
}

/// Partner dialect: the key, then the `{tenant}` path segment, then the scope, then the
/// key's channel (one of `channels`). For a route that reads the program (`program`),
/// a cold function reads the key and the slug's program at once: the slug names the
/// tenant, so neither read waits for the other. The program is kept only once the key
/// has proved the slug is its tenant's.
pub async fn partner(
    deps: &Deps,
    req: &Request,
    scope: Scope,
    channels: &[Channel],
    program: bool,
) -> Result<Caller, ApiError> {
    let slug = path_param(req, "tenant").unwrap_or_default();
    let prefetch = match TenantSlug::parse(slug) {
        Ok(tenant) if program && key_unknown(deps, req) && deps.programs.get(&slug.to_owned()).is_none() => {
            Some(tenant)
        }
        _ => None,
    };
    let (record, versions) = match prefetch {
        Some(tenant) => {
            // Boxed: the store's futures are large, and every Partner handler awaits this.
            let (record, versions) =
                Box::pin(async { tokio::join!(key_record(deps, req), deps.store.get_program_versions(&tenant)) }).await;
            (record, versions.ok().flatten())
        }
        None => (key_record(deps, req).await, None),
    };
    let record = record?;
    if slug != record.tenant.as_str() {
        return Err(ApiError::Unauthorized);
    }
    if let Some(versions) = versions {
        deps.programs.insert(slug.to_owned(), Arc::new(versions));
    }
    let caller = authorise(record, scope, channels)?;
    note_use(deps, &caller).await;
    Ok(caller)
}

/// Public dialect: the key alone names the tenant.
pub async fn public(deps: &Deps, req: &Request, scope: Scope, channels: &[Channel]) -> Result<Caller, ApiError> {
    let record = key_record(deps, req).await?;
    let caller = authorise(record, scope, channels)?;
    note_use(deps, &caller).await;
    Ok(caller)
}

/// Writes the key's "last used" day when this process has not written it within the
/// interval ([`Deps::with_key_use_notes`]). Never fails the request: a failed note is
/// logged and tried again after the interval.
pub async fn note_use(deps: &Deps, caller: &Caller) {
    let Some(uses) = &deps.key_uses else {
        return;
    };
    if uses.get(&caller.key_id).is_some() {
        return;
    }
    // Marked before the write: concurrent requests of this process write once.
    uses.insert(caller.key_id.clone(), ());
    if let Err(err) = deps.store.touch_key(&caller.key_id, deps.now().date_naive()).await {
        tracing::warn!(key_id = %caller.key_id, error = %err, "could not note the key's use");
    }
}

fn authorise(record: KeyRecord, scope: Scope, channels: &[Channel]) -> Result<Caller, ApiError> {
    if !record.allows(scope) {
        return Err(ApiError::Forbidden(scope));
    }
    if !channels.contains(&record.channel) {
        return Err(ApiError::ForbiddenChannel(record.channel));
    }
    tracing::info!(
        key_id = %record.key_id,
        tenant = %record.tenant,
        mode = record.mode.as_str(),
        channel = record.channel.as_str(),
        "authenticated"
    );
    Ok(Caller { tenant: record.tenant, key_id: record.key_id, mode: record.mode })
}

/// Whether the presented key is well formed but not in memory (its record needs a read).
fn key_unknown(deps: &Deps, req: &Request) -> bool {
    let header = req.headers().get(API_KEY_HEADER).and_then(|v| v.to_str().ok());
    header.and_then(PresentedKey::parse).is_some_and(|key| deps.keys.get(&key.hash()).is_none())
}

/// The key's record: from memory while fresh (a known key, or a remembered unknown one),
/// else one strongly consistent read. A key whose shape or checksum is wrong never
/// reaches the store.
async fn key_record(deps: &Deps, req: &Request) -> Result<KeyRecord, ApiError> {
    let header = req.headers().get(API_KEY_HEADER).and_then(|v| v.to_str().ok()).ok_or(ApiError::Unauthorized)?;
    let presented = PresentedKey::parse(header).ok_or(ApiError::Unauthorized)?;
    let hash = presented.hash();
    let record = match deps.keys.get(&hash) {
        Some(record) => record,
        None => {
            let record = deps.store.get_key(&hash).await?;
            deps.keys.insert(hash, record.clone());
            record
        }
    }
    .ok_or(ApiError::Unauthorized)?;
    if record.status != KeyStatus::Active || record.mode != presented.mode {
        return Err(ApiError::Unauthorized);
    }
    Ok(record)
}

/// The caller's program in force now.
pub async fn program(deps: &Deps, tenant: &TenantSlug) -> Result<Arc<Program>, ApiError> {
    Ok(program_versions(deps, tenant).await?.at(deps.now()).clone())
}

/// Every version of the caller's program, from memory when fresh, else one Query. A
/// tenant without a program has no usable keys: 401 like any other bad key.
pub async fn program_versions(deps: &Deps, tenant: &TenantSlug) -> Result<Arc<ProgramVersions>, ApiError> {
    if let Some(versions) = deps.programs.get(&tenant.as_str().to_owned()) {
        return Ok(versions);
    }
    let versions = Arc::new(deps.store.get_program_versions(tenant).await?.ok_or(ApiError::Unauthorized)?);
    deps.programs.insert(tenant.as_str().to_owned(), versions.clone());
    Ok(versions)
}
