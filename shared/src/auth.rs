//! Who is calling: the `X-API-Key` header (any case) resolved to a tenant, a mode, a
//! channel and scopes. Order of checks: key shape and checksum (401, no read), the
//! tenant the key's text names against the Partner path's slug (401, no read), key and
//! its tenant (401), scope (403), channel (403). Every kind of bad key answers
//! the same 401, so a caller learns nothing about other tenants' keys.

use std::sync::Arc;

use lambda_http::Request;

use crate::deps::Deps;
use crate::domain::TenantSlug;
use crate::error::ApiError;
use crate::http::path_param;
use crate::keys::{Channel, KeyHash, KeyMode, KeyRecord, KeyStatus, PresentedKey, Scope};
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
/// key's channel (one of `channels`). A key whose text names another tenant than the
/// path is refused before any read. For a route that reads the program (`program`), a
/// cold function reads the key and the program at once (see [`key_and_program`]).
pub async fn partner(
    deps: &Deps,
    req: &Request,
    scope: Scope,
    channels: &[Channel],
    program: bool,
) -> Result<Caller, ApiError> {
    let slug = path_param(req, "tenant").unwrap_or_default();
    let record = key_and_program(deps, req, Some(slug), program).await?;
    if slug != record.tenant.as_str() {
        return Err(ApiError::Unauthorized);
    }
    authorise(record, scope, channels)
}

/// Public dialect: the key alone names the tenant. For a route that reads the program,
/// a cold function reads the key and the program of the tenant the key's text names at
/// once (see [`key_and_program`]).
pub async fn public(
    deps: &Deps,
    req: &Request,
    scope: Scope,
    channels: &[Channel],
    program: bool,
) -> Result<Caller, ApiError> {
    let record = key_and_program(deps, req, None, program).await?;
    authorise(record, scope, channels)
}

/// Writes the key's "last used" day when this process has not written it within the
/// interval ([`Deps::with_key_use_notes`]). Never fails the request: a failed note is
/// logged and tried again after the interval. The endpoint runs it beside the request's
/// work, so it adds no round trip of its own.
pub async fn note_use(deps: &Deps, key_id: String) {
    let Some(uses) = &deps.key_uses else {
        return;
    };
    if uses.get(&key_id).is_some() {
        return;
    }
    // Marked before the write: concurrent requests of this process write once.
    uses.insert(key_id.clone(), ());
    if let Err(err) = deps.store.touch_key(&key_id, deps.now().date_naive()).await {
        tracing::warn!(key_id = %key_id, error = %err, "could not note the key's use");
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

/// The key's record: from memory while fresh (a known key, or a remembered unknown one),
/// else one strongly consistent read. A key whose shape or checksum is wrong, or whose
/// text names another tenant than `slug` (a Partner path's), never reaches the store.
///
/// With `program`, when neither the key nor the program of the tenant its text names is
/// in memory, both are read at once: the text names the tenant, so neither read waits
/// for the other. The text is never trusted: the record's own tenant must be the one the
/// text names (else 401), and the program is kept only then. A refused key is answered
/// as soon as its own read is: the program read is dropped unawaited, so neither the
/// answer nor its time depends on whether the named tenant exists.
async fn key_and_program(deps: &Deps, req: &Request, slug: Option<&str>, program: bool) -> Result<KeyRecord, ApiError> {
    let header = req.headers().get(API_KEY_HEADER).and_then(|v| v.to_str().ok()).ok_or(ApiError::Unauthorized)?;
    let presented = PresentedKey::parse(header).ok_or(ApiError::Unauthorized)?;
    if slug.is_some_and(|slug| slug != presented.tenant.as_str()) {
        return Err(ApiError::Unauthorized);
    }
    let hash = presented.hash();
    if let Some(record) = deps.keys.get(&hash) {
        return checked(record, &presented);
    }
    let tenant = presented.tenant.as_str().to_owned();
    if !program || deps.programs.get(&tenant).is_some() {
        return checked(read_key(deps, hash).await?, &presented);
    }
    // Boxed: the store's futures are large, and every handler awaits this.
    let mut key = Box::pin(read_key(deps, hash));
    let mut versions = Box::pin(deps.store.get_program_versions(&presented.tenant));
    let mut read = None;
    let record = loop {
        tokio::select! {
            biased;
            record = &mut key => break record,
            got = &mut versions, if read.is_none() => read = Some(got),
        }
    };
    let record = checked(record?, &presented)?;
    let read = match read {
        Some(read) => read,
        None => versions.await,
    };
    // A failed read is not kept: the handler's own program read tries again.
    if let Ok(Some(versions)) = read {
        deps.programs.insert(tenant, Arc::new(versions));
    }
    Ok(record)
}

/// One strongly consistent read of a key's record, remembered (an unknown key too).
async fn read_key(deps: &Deps, hash: KeyHash) -> Result<Option<KeyRecord>, ApiError> {
    let record = deps.store.get_key(&hash).await?;
    deps.keys.insert(hash, record.clone());
    Ok(record)
}

/// A usable key: known, active, of the presented mode, and of the tenant its text names.
fn checked(record: Option<KeyRecord>, presented: &PresentedKey<'_>) -> Result<KeyRecord, ApiError> {
    let record = record.ok_or(ApiError::Unauthorized)?;
    if record.status != KeyStatus::Active || record.mode != presented.mode || record.tenant != presented.tenant {
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
