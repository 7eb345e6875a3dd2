//! What the management API does, dialect-free: API keys, the reward catalogue, members
//! (find, profile, history, point adjustments, coupons), the program's rules, the team
//! (with the `cognito` feature), the daily report and the audit log, each for an
//! [`Actor`](crate::actor::Actor) whose role the operation checks first.
//!
//! Every change is one transaction with its audit entry (who, when, what, before and
//! after) and, when the request carried an `Idempotency-Key`, a request item under the
//! operation's route (`admin-adjust`, ...): a second submission of the key answers the
//! first result and applies nothing, a different request under the same key is a 409.

mod audit;
mod campaigns;
mod export;
mod import;
mod keys;
mod member_data;
mod members;
mod program;
mod reports;
mod rewards;
#[cfg(feature = "cognito")]
mod team;

pub use audit::audit_log;
pub use campaigns::{
    campaign_code, campaign_detail, create_campaign, list_campaigns, parse_mobiles, run_campaign, CampaignDetail,
    CampaignList, CampaignView, NewCampaign, SkippedMobile, BATCH, MAX_CAMPAIGN_BODY_BYTES, MAX_MOBILES, MAX_RUN,
};
pub use export::{
    export_ledger, export_members, CsvPage, DateRange, LEDGER_COLUMNS, LEDGER_MEMBERS_PER_PAGE, MAX_LEDGER_DAYS,
    MEMBER_COLUMNS,
};
pub use import::{
    import_members, ImportReport, RowResult, RowStatus, IMPORT_COLUMNS, MAX_IMPORT_ROWS, MAX_OPENING_POINTS,
};
pub use keys::{issue_key, list_keys, revoke_key, rotate_key, set_key_scopes, IssuedKey, KeyView, NewKeySpec};
pub use member_data::{edit_member, erase_member, Erased, MemberDetails, MemberEdit, ERASED_NAME, MAX_NAME_CHARS};
pub use members::{
    adjust_points, find_member, issue_coupon, member_history, member_profile, search_members, Adjusted, Adjustment,
    CouponSpec, CouponView, MemberProfile, MemberSummary, MAX_ADJUSTMENT, MAX_REASON_CHARS,
};
pub use program::{
    change_program, field_of, program_rules, program_versions, rules_json, rules_of, ProgramChange, ProgramChanged,
    ProgramRules, VersionView,
};
pub use reports::{daily_report, REPORT_DEFAULT_DAYS};
pub use rewards::{add_reward, archive_reward, edit_reward, list_rewards, validate_reward};
#[cfg(feature = "cognito")]
pub use team::{change_role, invite_person, list_team, remove_person, Invitation, InvitedPerson};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::actor::Actor;
use crate::domain::IdempotencyKey;
use crate::error::ApiError;
use crate::store::{AdminRecord, AdminRequest, AdminWriteError, AuditEntry, DoneRequest};
use crate::Deps;

/// One management change under way: who makes it, its route, the request's key and a
/// hash of what it asks.
pub(crate) struct Change<'a> {
    pub actor: &'a Actor,
    route: &'static str,
    key: Option<&'a IdempotencyKey>,
    hash: String,
}

impl<'a> Change<'a> {
    pub fn new<R: Serialize>(
        actor: &'a Actor,
        route: &'static str,
        key: Option<&'a IdempotencyKey>,
        request: &R,
    ) -> Result<Self, ApiError> {
        let body = serde_json::to_string(request).map_err(|_| ApiError::Internal)?;
        // The person is part of what was asked: another person's request under the same
        // key is a conflict, never a replay of someone else's answer.
        let hash = hex::encode(Sha256::digest(format!("{route}\n{}\n{body}", actor.who).as_bytes()));
        Ok(Change { actor, route, key, hash })
    }

    /// The first answer, if this key was used already (a different request under it is
    /// a 409).
    pub async fn replay<T: DeserializeOwned>(&self, deps: &Deps) -> Result<Option<T>, ApiError> {
        let Some(key) = self.key else {
            return Ok(None);
        };
        match deps.store.get_admin_request(&self.actor.tenant, self.route, key).await? {
            Some(done) => self.settle(done).map(Some),
            None => Ok(None),
        }
    }

    /// The answer a used key gives: its first result, if the request is the same.
    pub fn settle<T: DeserializeOwned>(&self, done: DoneRequest) -> Result<T, ApiError> {
        if done.request_hash != self.hash {
            return Err(ApiError::IdempotencyConflict("This Idempotency-Key was used with a different request".into()));
        }
        serde_json::from_str(&done.result).map_err(|e| {
            tracing::error!(error = %e, route = self.route, "stored management result does not decode");
            ApiError::Internal
        })
    }

    /// The audit entry (and request item) of this change; `result` is what a second
    /// submission answers.
    pub fn record<T: Serialize>(
        &self,
        now: DateTime<Utc>,
        action: &str,
        target: impl Into<String>,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
        result: &T,
    ) -> Result<AdminRecord, ApiError> {
        let request = match self.key {
            Some(key) => Some(AdminRequest {
                route: self.route.to_owned(),
                key: key.clone(),
                request_hash: self.hash.clone(),
                result: serde_json::to_string(result).map_err(|_| ApiError::Internal)?,
            }),
            None => None,
        };
        let audit = AuditEntry {
            // Time-ordered (and monotonic in this process), so entries of one
            // millisecond keep the order they were made in.
            id: uuid::Uuid::now_v7(),
            at: now,
            who: self.actor.who.clone(),
            role: self.actor.role,
            action: action.to_owned(),
            target: target.into(),
            before,
            after,
            request_key: self.key.map(|k| k.as_str().to_owned()),
        };
        Ok(AdminRecord { audit, request })
    }

    /// The answer of a change whose write failed: a used key's first result, or an
    /// error (`refused` when the change's own condition failed).
    pub fn failed<T: DeserializeOwned>(&self, err: AdminWriteError, refused: ApiError) -> Result<T, ApiError> {
        match err {
            AdminWriteError::Done(done) => self.settle(done),
            AdminWriteError::Refused => Err(refused),
            AdminWriteError::Conflict => Err(ApiError::Contended),
            AdminWriteError::Store(e) => Err(e.into()),
        }
    }
}

/// A value as audit JSON.
pub(crate) fn json<T: Serialize>(v: &T) -> Option<serde_json::Value> {
    serde_json::to_value(v).ok()
}
