//! Program settings over time: `loyalty-admin program show|set` and `tenant list`.
//!
//! A change is a new version of the rules, in force from a stated instant, never an edit
//! of an old one ([`loyalty::manage::change_program`] states the rules; the console's
//! change goes through the same code and the same audit log).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use loyalty::actor::Actor;
use loyalty::deps::Deps;
use loyalty::domain::TenantSlug;
use loyalty::error::ApiError;
use loyalty::manage;
use loyalty::program::{CategoryBonus, Program, ProgramVersion, ProgramVersions, Tier};
use loyalty::store::TenantEntry;

use crate::admin::AdminError;

/// The rules `program set` may change; every one left out keeps its value. The
/// currency is not among them: amounts already recorded are in it.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ProgramChange {
    /// The program's name.
    #[arg(long)]
    pub name: Option<String>,
    /// What members call their points.
    #[arg(long)]
    pub points_name: Option<String>,
    /// Points earned per currency unit, up to three decimals (`100`, `2.5`).
    #[arg(long, value_parser = earn_rate_milli)]
    pub earn_rate: Option<u32>,
    /// Points that buy one currency unit off.
    #[arg(long)]
    pub redemption_rate: Option<u32>,
    /// Every tier, lowest first, as JSON: `[{"name":"Silver","min_lifetime_points":0,
    /// "multiplier_milli":1000,"priority_service":false,"color":"#C0C0C0"}, ...]`.
    // `::std::vec::Vec`: one JSON value, not clap's repeated values.
    #[arg(long, value_parser = tiers)]
    pub tiers: Option<::std::vec::Vec<Tier>>,
    /// Every category bonus as JSON: `[{"category":"beverages","multiplier_milli":2000}]`
    /// (`[]` for none).
    #[arg(long, value_parser = bonuses)]
    pub category_bonuses: Option<::std::vec::Vec<CategoryBonus>>,
    /// The program's offset from UTC in minutes (IST = 330).
    #[arg(long, allow_hyphen_values = true)]
    pub utc_offset_minutes: Option<i32>,
    /// Days a reward's voucher stays valid.
    #[arg(long)]
    pub voucher_validity_days: Option<u32>,
    #[arg(long)]
    pub otp_sms_per_hour: Option<u32>,
    #[arg(long)]
    pub otp_sms_per_day: Option<u32>,
    #[arg(long)]
    pub otp_wrong_guesses_per_day: Option<u32>,
    /// Points earned in a month expire at the end of the month this many months later
    /// (1 to 120), or `never`.
    #[arg(long, value_parser = points_expiry)]
    pub points_expiry_months: Option<PointsExpiry>,
    /// Tiers qualify on the points earned in the last this many months (1 to 36, the
    /// current one included; reviewed monthly by the daily job), or `lifetime`.
    #[arg(long, value_parser = tier_period)]
    pub tier_qualifying_months: Option<TierPeriod>,
    /// Monthly reviews a member may fail before it moves down (0 to 24; needs a period).
    #[arg(long)]
    pub tier_grace_months: Option<u32>,
    /// When the new version is in force (RFC 3339); default: now plus the program
    /// cache's lifetime (`LOYALTY_PROGRAM_CACHE_SECONDS`, 60 s unless set).
    #[arg(long, value_parser = instant)]
    pub effective_from: Option<DateTime<Utc>>,
}

impl ProgramChange {
    /// The change as the management API takes it.
    pub fn to_change(&self) -> manage::ProgramChange {
        manage::ProgramChange {
            name: self.name.clone(),
            points_name: self.points_name.clone(),
            earn_rate_milli: self.earn_rate,
            redemption_rate: self.redemption_rate,
            tiers: self.tiers.clone(),
            category_bonuses: self.category_bonuses.clone(),
            utc_offset_minutes: self.utc_offset_minutes,
            voucher_validity_days: self.voucher_validity_days,
            otp_sms_per_hour: self.otp_sms_per_hour,
            otp_sms_per_day: self.otp_sms_per_day,
            otp_wrong_guesses_per_day: self.otp_wrong_guesses_per_day,
            points_expiry_months: self.points_expiry_months.map(|PointsExpiry(m)| m),
            tier_qualifying_months: self.tier_qualifying_months.map(|TierPeriod(m)| m),
            tier_grace_months: self.tier_grace_months,
            effective_from: self.effective_from,
        }
    }

    /// `base` with this change's rules.
    pub fn apply(&self, base: &Program) -> Program {
        self.to_change().apply(base)
    }
}

/// `--points-expiry-months`: a number of months, or `None` for `never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointsExpiry(pub Option<u32>);

fn points_expiry(s: &str) -> Result<PointsExpiry, String> {
    match s.trim() {
        "never" => Ok(PointsExpiry(None)),
        n => n
            .parse()
            .map(|n| PointsExpiry(Some(n)))
            .map_err(|_| format!("expected a number of months or never, not {s:?}")),
    }
}

/// `--tier-qualifying-months`: a number of months, or `None` for `lifetime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierPeriod(pub Option<u32>);

fn tier_period(s: &str) -> Result<TierPeriod, String> {
    match s.trim() {
        "lifetime" => Ok(TierPeriod(None)),
        n => n
            .parse()
            .map(|n| TierPeriod(Some(n)))
            .map_err(|_| format!("expected a number of months or lifetime, not {s:?}")),
    }
}

/// Every version of a tenant's program.
pub async fn program_versions(deps: &Deps, tenant: &TenantSlug) -> Result<ProgramVersions, AdminError> {
    deps.store.get_program_versions(tenant).await?.ok_or_else(|| AdminError::NotFound(format!("no tenant {tenant}")))
}

/// Adds a version of the tenant's program (see the module's rules) as the operator,
/// audited like a change from the console, and returns it.
pub async fn set_program(
    deps: &Deps,
    tenant: &TenantSlug,
    change: &ProgramChange,
) -> Result<ProgramVersion, AdminError> {
    let actor = Actor::operator(tenant.clone());
    let changed = manage::change_program(deps, &actor, &change.to_change(), None).await.map_err(|e| match e {
        ApiError::NotFound(_) => AdminError::NotFound(format!("no tenant {tenant}")),
        e @ ApiError::Invalid { .. } => AdminError::Invalid(e.to_string()),
        e => AdminError::Api(e),
    })?;
    let rules: Program =
        serde_json::from_value(changed.version.rules).map_err(|_| AdminError::Api(ApiError::Internal))?;
    Ok(ProgramVersion { effective_from: changed.version.effective_from, rules: Arc::new(rules) })
}

/// Every tenant, from the tenant index (one Query, never a scan).
pub async fn list_tenants(deps: &Deps) -> Result<Vec<TenantEntry>, AdminError> {
    Ok(deps.store.list_tenants().await?)
}

/// A version as `program show` prints it: `effective_from` is `null` for the rules the
/// tenant was created with.
pub fn version_json(v: &ProgramVersion) -> Value {
    // Optional rules shown always (`null`: points never expire).
    json!({
        "effective_from": v.effective_from.map(text),
        "rules": manage::rules_json(&v.rules),
    })
}

/// `program show --json`: the version in force now and every version, oldest first.
pub fn versions_json(tenant: &TenantSlug, versions: &ProgramVersions, now: DateTime<Utc>) -> Value {
    let current = versions.versions().filter(|v| v.effective_from.is_none_or(|from| from <= now)).last();
    json!({
        "tenant": tenant.as_str(),
        "current": current.map(version_json),
        "versions": versions.versions().map(version_json).collect::<Vec<_>>(),
    })
}

pub fn tenant_json(t: &TenantEntry) -> Value {
    json!({ "tenant": t.tenant.as_str(), "name": t.name, "created_at": text(t.created_at) })
}

fn text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Points per unit with up to three decimals, as thousandths.
fn earn_rate_milli(s: &str) -> Result<u32, String> {
    let bad = || format!("expected points per currency unit with at most three decimals, not {s:?}");
    let (whole, frac) = s.trim().split_once('.').unwrap_or((s.trim(), ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 3 {
        return Err(bad());
    }
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let frac: u64 = format!("{frac:0<3}").parse().map_err(|_| bad())?;
    let milli = whole.checked_mul(1000).and_then(|w| w.checked_add(frac)).ok_or_else(bad)?;
    u32::try_from(milli).map_err(|_| bad())
}

fn tiers(s: &str) -> Result<Vec<Tier>, String> {
    serde_json::from_str(s).map_err(|e| format!("tiers must be a JSON list of tiers: {e}"))
}

fn bonuses(s: &str) -> Result<Vec<CategoryBonus>, String> {
    serde_json::from_str(s).map_err(|e| format!("category bonuses must be a JSON list: {e}"))
}

fn instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.to_utc())
        .map_err(|_| "expected an RFC 3339 date and time such as 2026-04-01T00:00:00+05:30".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earn_rates_are_read_exactly() {
        assert_eq!(earn_rate_milli("100"), Ok(100_000));
        assert_eq!(earn_rate_milli("2.5"), Ok(2_500));
        assert_eq!(earn_rate_milli("0.001"), Ok(1));
        for bad in ["", "1.2345", "-1", "1e3", "abc", ".5", "99999999999"] {
            assert!(earn_rate_milli(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tier_period_is_months_or_lifetime_with_a_grace_and_validated_whole() {
        assert_eq!(tier_period("12"), Ok(TierPeriod(Some(12))));
        assert_eq!(tier_period("lifetime"), Ok(TierPeriod(None)));
        assert!(tier_period("a year").is_err());
        let base = loyalty::program::default_program("x");
        let on = ProgramChange {
            tier_qualifying_months: Some(TierPeriod(Some(12))),
            tier_grace_months: Some(2),
            ..Default::default()
        };
        let program = on.apply(&base);
        assert_eq!((program.tier_qualifying_months, program.tier_grace_months), (Some(12), 2));
        assert_eq!(program.validate(), Ok(()));
        let off = ProgramChange { tier_qualifying_months: Some(TierPeriod(None)), ..Default::default() };
        let off = off.apply(&program);
        assert_eq!((off.tier_qualifying_months, off.tier_grace_months), (None, 0), "lifetime drops the grace");
        let grace_alone = ProgramChange { tier_grace_months: Some(1), ..Default::default() };
        assert!(grace_alone.apply(&base).validate().is_err(), "a grace needs a period");
        let too_long = ProgramChange { tier_qualifying_months: Some(TierPeriod(Some(37))), ..Default::default() };
        assert!(too_long.apply(&base).validate().is_err());
    }

    #[test]
    fn points_expiry_is_months_or_never_and_validated_whole() {
        assert_eq!(points_expiry("12"), Ok(PointsExpiry(Some(12))));
        assert_eq!(points_expiry("never"), Ok(PointsExpiry(None)));
        assert!(points_expiry("-1").is_err() && points_expiry("a year").is_err());
        let base = loyalty::program::default_program("x");
        let on = ProgramChange { points_expiry_months: Some(PointsExpiry(Some(12))), ..Default::default() };
        let program = on.apply(&base);
        assert_eq!(program.points_expiry_months, Some(12));
        let off = ProgramChange { points_expiry_months: Some(PointsExpiry(None)), ..Default::default() };
        assert_eq!(off.apply(&program).points_expiry_months, None);
        assert_eq!(ProgramChange::default().apply(&program).points_expiry_months, Some(12), "kept when not named");
        let bad = ProgramChange { points_expiry_months: Some(PointsExpiry(Some(121))), ..Default::default() };
        assert!(bad.apply(&base).validate().is_err());
        let shown = version_json(&ProgramVersion { effective_from: None, rules: Arc::new(base) });
        assert_eq!(shown["rules"]["points_expiry_months"], Value::Null);
        assert_eq!(
            (&shown["rules"]["tier_qualifying_months"], &shown["rules"]["tier_grace_months"]),
            (&Value::Null, &json!(0))
        );
    }
}
