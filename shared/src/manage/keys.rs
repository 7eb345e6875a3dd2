//! API keys ("Settings > API Keys"): list, issue (the secret answered once), change
//! scopes, revoke, rotate. Owners only. A key id of another tenant is "not found".

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{json, Change};
use crate::actor::{Actor, Permission};
use crate::domain::IdempotencyKey;
use crate::error::ApiError;
use crate::keys::{generate_key, Channel, KeyMode, KeyRecord, KeyStatus, Scope};
use crate::store::KeyInfo;
use crate::Deps;

/// A key as the console lists it; never its secret or hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyView {
    pub key_id: String,
    pub label: String,
    pub mode: KeyMode,
    pub channel: Channel,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    /// The day (UTC) it last authenticated a request, as noted at most hourly.
    pub last_used_on: Option<NaiveDate>,
    pub status: KeyStatus,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&KeyInfo> for KeyView {
    fn from(k: &KeyInfo) -> Self {
        let r = &k.record;
        KeyView {
            key_id: r.key_id.clone(),
            label: r.label.clone(),
            mode: r.mode,
            channel: r.channel,
            scopes: r.scopes.clone(),
            created_at: r.created_at,
            last_used_on: k.last_used_on,
            status: r.status,
            revoked_at: k.revoked_at,
        }
    }
}

fn view(record: &KeyRecord) -> KeyView {
    KeyView::from(&KeyInfo { record: record.clone(), revoked_at: None, last_used_on: None })
}

/// What a new key is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKeySpec {
    pub mode: KeyMode,
    pub channel: Channel,
    pub scopes: Vec<Scope>,
    pub label: String,
}

/// A new key: the secret is in the first answer only (a second submission of the same
/// `Idempotency-Key` answers the key without it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedKey {
    pub key: KeyView,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub secret: Option<String>,
}

/// The tenant's keys, newest first, from the per-tenant index.
pub async fn list_keys(deps: &Deps, actor: &Actor) -> Result<Vec<KeyView>, ApiError> {
    actor.require(Permission::Keys)?;
    let mut keys: Vec<KeyView> = deps.store.list_key_infos(&actor.tenant).await?.iter().map(KeyView::from).collect();
    keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.key_id.cmp(&b.key_id)));
    Ok(keys)
}

fn scopes_of(scopes: &[Scope]) -> Result<Vec<Scope>, ApiError> {
    let mut out: Vec<Scope> = Scope::ALL.into_iter().filter(|s| scopes.contains(s)).collect();
    out.dedup();
    if out.is_empty() {
        return Err(ApiError::invalid("scopes", "must name at least one scope"));
    }
    Ok(out)
}

fn new_record(actor: &Actor, spec: &NewKeySpec, now: DateTime<Utc>) -> (String, KeyRecord) {
    let new = generate_key(spec.mode, &actor.tenant);
    let record = KeyRecord {
        key_id: new.key_id,
        hash: new.hash,
        tenant: actor.tenant.clone(),
        mode: spec.mode,
        channel: spec.channel,
        scopes: spec.scopes.clone(),
        status: KeyStatus::Active,
        label: spec.label.clone(),
        created_at: now,
    };
    (new.plain, record)
}

/// An instant as the store keeps it (to the millisecond), so a new key's first answer
/// and every later one agree.
fn stored_instant(at: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    at.trunc_subsecs(3)
}

/// Issues a key; the answer holds its secret, which is stored nowhere.
pub async fn issue_key(
    deps: &Deps,
    actor: &Actor,
    spec: &NewKeySpec,
    idem: Option<&IdempotencyKey>,
) -> Result<IssuedKey, ApiError> {
    actor.require(Permission::Keys)?;
    let spec = NewKeySpec {
        label: crate::domain::text::key_label(&spec.label)
            .map_err(|e| ApiError::invalid("label", e.trim_start_matches("label ")))?,
        scopes: scopes_of(&spec.scopes)?,
        ..spec.clone()
    };
    let change = Change::new(actor, "admin-key-issue", idem, &spec)?;
    if let Some(done) = change.replay(deps).await? {
        return Ok(done);
    }
    let now = stored_instant(deps.now());
    let (plain, record) = new_record(actor, &spec, now);
    let key = view(&record);
    let answer = IssuedKey { key: key.clone(), secret: None };
    let admin = change.record(now, "key.issue", &record.key_id, None, json(&key), &answer)?;
    match deps.store.put_key_audited(&record, &admin).await {
        Ok(()) => Ok(IssuedKey { secret: Some(plain), ..answer }),
        Err(e) => change.failed(e, ApiError::Contended),
    }
}

/// The tenant's key with this id, or 404 (also for another tenant's key).
async fn own_key(deps: &Deps, actor: &Actor, key_id: &str) -> Result<KeyInfo, ApiError> {
    let found = deps.store.get_key_info(key_id).await?;
    found.filter(|k| k.record.tenant == actor.tenant).ok_or(ApiError::NotFound("API key"))
}

fn active(info: &KeyInfo) -> Result<(), ApiError> {
    if info.record.status != KeyStatus::Active {
        return Err(ApiError::Conflict("the key is revoked".into()));
    }
    Ok(())
}

#[derive(Serialize)]
struct KeyTarget<'a, T: Serialize> {
    key_id: &'a str,
    #[serde(flatten)]
    with: T,
}

/// Replaces a key's scopes.
pub async fn set_key_scopes(
    deps: &Deps,
    actor: &Actor,
    key_id: &str,
    scopes: &[Scope],
    idem: Option<&IdempotencyKey>,
) -> Result<KeyView, ApiError> {
    actor.require(Permission::Keys)?;
    let scopes = scopes_of(scopes)?;
    #[derive(Serialize)]
    struct Ask<'a> {
        scopes: &'a [Scope],
    }
    let change = Change::new(actor, "admin-key-scopes", idem, &KeyTarget { key_id, with: Ask { scopes: &scopes } })?;
    if let Some(done) = change.replay(deps).await? {
        return Ok(done);
    }
    let info = own_key(deps, actor, key_id).await?;
    active(&info)?;
    let before = KeyView::from(&info);
    let after = KeyView { scopes: scopes.clone(), ..before.clone() };
    let admin = change.record(deps.now(), "key.scopes", key_id, json(&before), json(&after), &after)?;
    match deps.store.set_key_scopes(&info.record, &scopes, &admin).await {
        Ok(()) => {
            deps.keys.remove(&info.record.hash);
            Ok(after)
        }
        Err(e) => change.failed(e, ApiError::Conflict("the key was revoked meanwhile".into())),
    }
}

/// Revokes a key: it stops working within the key cache's lifetime.
pub async fn revoke_key(
    deps: &Deps,
    actor: &Actor,
    key_id: &str,
    idem: Option<&IdempotencyKey>,
) -> Result<KeyView, ApiError> {
    actor.require(Permission::Keys)?;
    let change = Change::new(actor, "admin-key-revoke", idem, &KeyTarget { key_id, with: () })?;
    if let Some(done) = change.replay(deps).await? {
        return Ok(done);
    }
    let info = own_key(deps, actor, key_id).await?;
    active(&info)?;
    let now = deps.now();
    let before = KeyView::from(&info);
    let after = KeyView { status: KeyStatus::Revoked, revoked_at: Some(now), ..before.clone() };
    let admin = change.record(now, "key.revoke", key_id, json(&before), json(&after), &after)?;
    match deps.store.revoke_key_audited(&info.record, now, &admin).await {
        Ok(()) => {
            deps.keys.remove(&info.record.hash);
            Ok(after)
        }
        Err(e) => change.failed(e, ApiError::Conflict("the key was revoked meanwhile".into())),
    }
}

/// A new key with the old one's label, mode, channel and scopes, and the old one
/// revoked, in one transaction. The answer holds the new secret.
pub async fn rotate_key(
    deps: &Deps,
    actor: &Actor,
    key_id: &str,
    idem: Option<&IdempotencyKey>,
) -> Result<IssuedKey, ApiError> {
    actor.require(Permission::Keys)?;
    let change = Change::new(actor, "admin-key-rotate", idem, &KeyTarget { key_id, with: () })?;
    if let Some(done) = change.replay(deps).await? {
        return Ok(done);
    }
    let info = own_key(deps, actor, key_id).await?;
    active(&info)?;
    let now = stored_instant(deps.now());
    let old = &info.record;
    let spec =
        NewKeySpec { mode: old.mode, channel: old.channel, scopes: old.scopes.clone(), label: old.label.clone() };
    let (plain, record) = new_record(actor, &spec, now);
    let before = KeyView::from(&info);
    let revoked = KeyView { status: KeyStatus::Revoked, revoked_at: Some(now), ..before.clone() };
    let answer = IssuedKey { key: view(&record), secret: None };
    #[derive(Serialize)]
    struct Rotated<'a> {
        old: &'a KeyView,
        new: &'a KeyView,
    }
    let after = json(&Rotated { old: &revoked, new: &answer.key });
    let admin = change.record(now, "key.rotate", key_id, json(&before), after, &answer)?;
    match deps.store.rotate_key(old, &record, now, &admin).await {
        Ok(()) => {
            deps.keys.remove(&old.hash);
            Ok(IssuedKey { secret: Some(plain), ..answer })
        }
        Err(e) => change.failed(e, ApiError::Conflict("the key was revoked meanwhile".into())),
    }
}
