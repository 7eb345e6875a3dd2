//! The program's rules over time, as the console (`/v1/admin/program`) and
//! `loyalty-admin program` read and change them.
//!
//! A change is a new version of the rules, in force from a stated instant, never an edit
//! of an old one: a sale (a late bill too) is priced by the version in force at its sale
//! time. A new version starts from the rules in force at its instant, changes what the
//! request named, and is validated whole by [`Program::validate`], the error naming the
//! field (`tiers[1].min_lifetime_points`). It must start after every version already
//! written (history only grows) and not in the past; by default it starts once every
//! warm function's program cache has expired ([`crate::deps::CacheLifetimes::programs`]),
//! so no function applies old rules after the new ones are in force. Owners and
//! managers change the rules; everyone of the tenant reads them.

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};

use super::Change;
use crate::actor::{Actor, Permission};
use crate::domain::IdempotencyKey;
use crate::error::ApiError;
use crate::program::{CategoryBonus, Program, ProgramError, ProgramVersion, ProgramVersions, Tier};
use crate::Deps;

/// The rules a change may set; every one left out keeps its value. The currency is not
/// among them: amounts already recorded are in it.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points_name: Option<String>,
    /// Points per currency unit, in thousandths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earn_rate_milli: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redemption_rate: Option<u32>,
    /// Every tier, lowest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Vec<Tier>>,
    /// Every category bonus (`[]` for none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_bonuses: Option<Vec<CategoryBonus>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_offset_minutes: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voucher_validity_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_sms_per_hour: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_sms_per_day: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_wrong_guesses_per_day: Option<u32>,
    /// `Some(None)` (`null`): points never expire.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub points_expiry_months: Option<Option<u32>>,
    /// `Some(None)` (`null`): tiers qualify on lifetime points.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub tier_qualifying_months: Option<Option<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_grace_months: Option<u32>,
    /// When the new version is in force; default: now plus the program cache's lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_from: Option<DateTime<Utc>>,
}

/// A field that is there, `null` included: `Some(None)` for `null`, `None` (by
/// `default`) when left out.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl ProgramChange {
    /// `base` with this change's rules.
    pub fn apply(&self, base: &Program) -> Program {
        let mut p = base.clone();
        let set = |field: &mut u32, v: Option<u32>| *field = v.unwrap_or(*field);
        if let Some(v) = &self.name {
            p.name = v.clone();
        }
        if let Some(v) = &self.points_name {
            p.points_name = v.clone();
        }
        if let Some(v) = &self.tiers {
            p.tiers = v.clone();
        }
        if let Some(v) = &self.category_bonuses {
            p.category_bonuses = v.clone();
        }
        p.utc_offset_minutes = self.utc_offset_minutes.unwrap_or(p.utc_offset_minutes);
        set(&mut p.earn_rate_milli, self.earn_rate_milli);
        set(&mut p.redemption_rate, self.redemption_rate);
        set(&mut p.voucher_validity_days, self.voucher_validity_days);
        set(&mut p.otp_sms_per_hour, self.otp_sms_per_hour);
        set(&mut p.otp_sms_per_day, self.otp_sms_per_day);
        set(&mut p.otp_wrong_guesses_per_day, self.otp_wrong_guesses_per_day);
        if let Some(months) = self.points_expiry_months {
            p.points_expiry_months = months;
        }
        if let Some(months) = self.tier_qualifying_months {
            p.tier_qualifying_months = months;
            // Back on lifetime points: no grace to keep.
            if months.is_none() && self.tier_grace_months.is_none() {
                p.tier_grace_months = 0;
            }
        }
        set(&mut p.tier_grace_months, self.tier_grace_months);
        p.normalised()
    }
}

/// One version as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionView {
    /// `null` for the rules the tenant was created with.
    pub effective_from: Option<DateTime<Utc>>,
    /// `in_force`, `upcoming` (not yet in force) or `superseded`.
    pub status: String,
    /// Every rule, the unset ones as `null` (`points_expiry_months`: never expire).
    pub rules: Value,
}

/// `GET /v1/admin/program`: the rules in force now, every version (newest first), the
/// ones not yet in force, and how long a change takes to reach every function.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgramRules {
    pub current: VersionView,
    pub versions: Vec<VersionView>,
    pub upcoming: Vec<VersionView>,
    /// The program cache's lifetime: a change made now is in force everywhere after it.
    pub cache_seconds: u64,
    /// The earliest `effective_from` a change may have now (the default).
    pub earliest_effective_from: DateTime<Utc>,
}

/// `POST /v1/admin/program/versions`: the version written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramChanged {
    pub version: VersionView,
    pub cache_seconds: u64,
}

/// The rules as JSON with every optional rule shown (`null` when unset).
pub fn rules_json(rules: &Program) -> Value {
    let mut value = serde_json::to_value(rules).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.entry("points_expiry_months").or_insert(Value::Null);
        map.entry("tier_qualifying_months").or_insert(Value::Null);
        map.entry("tier_grace_months").or_insert(json!(0));
    }
    value
}

fn view(v: &ProgramVersion, current: Option<DateTime<Utc>>, now: DateTime<Utc>) -> VersionView {
    let status = match v.effective_from {
        Some(from) if from > now => "upcoming",
        from if from == current => "in_force",
        _ => "superseded",
    };
    VersionView { effective_from: v.effective_from, status: status.into(), rules: rules_json(&v.rules) }
}

/// The program cache's lifetime, as a time span.
fn cache_lifetime(deps: &Deps) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(deps.cache_lifetimes().programs).unwrap_or(chrono::TimeDelta::zero())
}

/// Every version of the tenant's program (404 for a tenant without one).
pub async fn program_versions(deps: &Deps, actor: &Actor) -> Result<ProgramVersions, ApiError> {
    actor.require(Permission::Read)?;
    deps.store.get_program_versions(&actor.tenant).await?.ok_or(ApiError::NotFound("Program"))
}

/// The rules in force now and every version.
pub async fn program_rules(deps: &Deps, actor: &Actor) -> Result<ProgramRules, ApiError> {
    let versions = program_versions(deps, actor).await?;
    let now = deps.now();
    Ok(rules_of(&versions, now, cache_lifetime(deps)))
}

/// The console's view of `versions` at `now`.
pub fn rules_of(versions: &ProgramVersions, now: DateTime<Utc>, lifetime: chrono::TimeDelta) -> ProgramRules {
    let in_force = versions.versions().filter(|v| v.effective_from.is_none_or(|from| from <= now)).last();
    let current_from = in_force.and_then(|v| v.effective_from);
    let mut all: Vec<VersionView> = versions.versions().map(|v| view(v, current_from, now)).collect();
    all.reverse();
    let current = in_force.map(|v| view(v, current_from, now)).unwrap_or_else(|| view(versions.latest(), None, now));
    ProgramRules {
        current,
        upcoming: all.iter().filter(|v| v.status == "upcoming").cloned().collect(),
        versions: all,
        cache_seconds: lifetime.num_seconds().max(0) as u64,
        earliest_effective_from: (now + lifetime).trunc_subsecs(3),
    }
}

/// Adds a version of the tenant's program (see the module's rules), audited as
/// `program.change` with the rules before (in force at its instant) and after.
pub async fn change_program(
    deps: &Deps,
    actor: &Actor,
    change: &ProgramChange,
    idem: Option<&IdempotencyKey>,
) -> Result<ProgramChanged, ApiError> {
    actor.require(Permission::Manage)?;
    let audit = Change::new(actor, "admin-program-change", idem, change)?;
    if let Some(done) = audit.replay(deps).await? {
        return Ok(done);
    }
    let versions = deps.store.get_program_versions(&actor.tenant).await?.ok_or(ApiError::NotFound("Program"))?;
    let now = deps.now();
    let lifetime = cache_lifetime(deps);
    // Stored with milliseconds: the instant written is the instant read back.
    let from = change.effective_from.unwrap_or(now + lifetime).trunc_subsecs(3);
    if from < now.trunc_subsecs(3) {
        return Err(ApiError::invalid(
            "effective_from",
            format!("{} is in the past: a change never rewrites history", text(from)),
        ));
    }
    if let Some(latest) = versions.latest().effective_from.filter(|latest| from <= *latest) {
        return Err(ApiError::invalid(
            "effective_from",
            format!("must be later than {}, when the newest version starts: history only grows", text(latest)),
        ));
    }
    let before = versions.at(from);
    let rules = change.apply(before);
    rules.validate().map_err(|e| ApiError::invalid(field_of(&rules, &e), format!("is not valid: {e}")))?;
    let version = ProgramVersion { effective_from: Some(from), rules: Arc::new(rules) };
    let result =
        ProgramChanged { version: view(&version, None, now), cache_seconds: lifetime.num_seconds().max(0) as u64 };
    let record = audit.record(
        now,
        "program.change",
        format!("program from {}", text(from)),
        Some(rules_json(before)),
        Some(rules_json(&version.rules)),
        &result,
    )?;
    if let Err(e) = deps.store.put_program_version_audited(&actor.tenant, from, &version.rules, now, &record).await {
        return audit
            .failed(e, ApiError::invalid("effective_from", format!("is taken: a version from {} exists", text(from))));
    }
    deps.store.put_tenant_index(&actor.tenant, &version.rules.name, now).await?;
    Ok(result)
}

fn text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The request field a validation error is about, as the change names it
/// (`tiers[1].min_lifetime_points`).
pub fn field_of(p: &Program, e: &ProgramError) -> String {
    // The first tier (or bonus) that, as the last of a prefix, makes the prefix fail the
    // same way: the ordering checks come first, so every prefix of valid order is valid
    // up to the text checks.
    let tier_at = |field: &str| {
        let bad = (1..=p.tiers.len()).find(|&n| {
            let mut q = p.clone();
            q.tiers.truncate(n);
            q.validate().err().as_ref() == Some(e)
        });
        bad.map_or_else(|| "tiers".to_owned(), |n| format!("tiers[{}].{field}", n - 1))
    };
    let bonus_at = |field: &str| {
        let bad = (1..=p.category_bonuses.len()).find(|&n| {
            let mut q = p.clone();
            q.category_bonuses.truncate(n);
            q.validate().err().as_ref() == Some(e)
        });
        bad.map_or_else(|| "category_bonuses".to_owned(), |n| format!("category_bonuses[{}].{field}", n - 1))
    };
    let multiplier_ok = |m: u32| (1000..=crate::program::MAX_MULTIPLIER_MILLI).contains(&m);
    match e {
        ProgramError::NoBaseTier if p.tiers.is_empty() => "tiers".into(),
        ProgramError::NoBaseTier => "tiers[0].min_lifetime_points".into(),
        ProgramError::TiersOutOfOrder => {
            let i = p.tiers.windows(2).position(|w| w[0].min_lifetime_points >= w[1].min_lifetime_points);
            i.map_or_else(|| "tiers".into(), |i| format!("tiers[{}].min_lifetime_points", i + 1))
        }
        ProgramError::ZeroRedemptionRate => "redemption_rate".into(),
        ProgramError::MultiplierBelowOne | ProgramError::OutOfRange => {
            if let Some(i) = p.tiers.iter().position(|t| !multiplier_ok(t.multiplier_milli)) {
                format!("tiers[{i}].multiplier_milli")
            } else if let Some(i) = p.category_bonuses.iter().position(|b| !multiplier_ok(b.multiplier_milli)) {
                format!("category_bonuses[{i}].multiplier_milli")
            } else {
                "earn_rate_milli".into()
            }
        }
        ProgramError::BadText("a tier's name", _) => tier_at("name"),
        ProgramError::BadText("a bonus's category", _) => bonus_at("category"),
        ProgramError::BadText(field, _) => (*field).into(),
        ProgramError::BadCurrency => "currency".into(),
        ProgramError::BadColor => tier_at("color"),
        ProgramError::TooManyOrRepeated => {
            let first_repeat = |names: Vec<String>| (1..names.len()).find(|&i| names[..i].contains(&names[i]));
            let tiers = first_repeat(p.tiers.iter().map(|t| t.name.to_lowercase()).collect());
            let bonuses = first_repeat(p.category_bonuses.iter().map(|b| b.category.trim().to_lowercase()).collect());
            match (tiers, bonuses) {
                _ if p.tiers.len() > crate::program::MAX_TIERS => "tiers".into(),
                (Some(i), _) => format!("tiers[{i}].name"),
                (None, Some(i)) => format!("category_bonuses[{i}].category"),
                (None, None) => "category_bonuses".into(),
            }
        }
        ProgramError::BadUtcOffset => "utc_offset_minutes".into(),
        ProgramError::BadVoucherValidity => "voucher_validity_days".into(),
        ProgramError::BadOtpLimits => {
            let ok = |l: u32| (1..=crate::program::MAX_OTP_LIMIT).contains(&l);
            if !ok(p.otp_sms_per_hour) {
                "otp_sms_per_hour".into()
            } else if !ok(p.otp_wrong_guesses_per_day) {
                "otp_wrong_guesses_per_day".into()
            } else {
                "otp_sms_per_day".into()
            }
        }
        ProgramError::BadPointsExpiry => "points_expiry_months".into(),
        ProgramError::BadTierPeriod => {
            let period = crate::tiers::MIN_QUALIFYING_MONTHS..=crate::tiers::MAX_QUALIFYING_MONTHS;
            if p.tier_qualifying_months.is_some_and(|m| !period.contains(&m)) {
                "tier_qualifying_months".into()
            } else {
                "tier_grace_months".into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{default_program, tier};

    fn field(change: impl FnOnce(&mut Program)) -> String {
        let mut p = default_program("Spice Garden");
        change(&mut p);
        let e = p.validate().expect_err("invalid");
        field_of(&p, &e)
    }

    #[test]
    fn a_validation_error_names_its_field() {
        assert_eq!(field(|p| p.tiers[1].min_lifetime_points = 0), "tiers[1].min_lifetime_points");
        assert_eq!(field(|p| p.tiers[2].min_lifetime_points = 10), "tiers[2].min_lifetime_points");
        assert_eq!(field(|p| p.tiers[0].min_lifetime_points = 5), "tiers[0].min_lifetime_points");
        assert_eq!(field(|p| p.tiers.clear()), "tiers");
        assert_eq!(field(|p| p.tiers[2].multiplier_milli = 999), "tiers[2].multiplier_milli");
        assert_eq!(field(|p| p.tiers[1].color = "gold".into()), "tiers[1].color");
        assert_eq!(field(|p| p.tiers[2].name = " ".into()), "tiers[2].name");
        assert_eq!(field(|p| p.tiers[2].name = "GOLD".into()), "tiers[2].name");
        assert_eq!(field(|p| p.earn_rate_milli = u32::MAX), "earn_rate_milli");
        assert_eq!(field(|p| p.redemption_rate = 0), "redemption_rate");
        assert_eq!(field(|p| p.name = String::new()), "name");
        assert_eq!(field(|p| p.points_name = "x".repeat(41)), "points_name");
        assert_eq!(field(|p| p.voucher_validity_days = 0), "voucher_validity_days");
        assert_eq!(field(|p| p.otp_sms_per_day = 1), "otp_sms_per_day");
        assert_eq!(field(|p| p.otp_sms_per_hour = 0), "otp_sms_per_hour");
        assert_eq!(field(|p| p.points_expiry_months = Some(121)), "points_expiry_months");
        assert_eq!(field(|p| p.tier_grace_months = 1), "tier_grace_months");
        assert_eq!(field(|p| p.tier_qualifying_months = Some(40)), "tier_qualifying_months");
        let bonus = |category: &str| CategoryBonus { category: category.into(), multiplier_milli: 2000 };
        assert_eq!(
            field(|p| p.category_bonuses = vec![bonus("Drinks"), bonus("\u{200B}")]),
            "category_bonuses[1].category"
        );
        assert_eq!(field(|p| p.category_bonuses = vec![bonus("a"), bonus(" A")]), "category_bonuses[1].category");
        assert_eq!(
            field(|p| p.category_bonuses = vec![CategoryBonus { category: "a".into(), multiplier_milli: 1 }]),
            "category_bonuses[0].multiplier_milli"
        );
        assert_eq!(field(|p| p.tiers.push(tier("Diamond", 2_000_000, 1000, true, "#12"))), "tiers[3].color");
    }

    #[test]
    fn a_change_keeps_what_it_leaves_out_and_null_clears() {
        let base = Program { points_expiry_months: Some(12), ..default_program("x") };
        let change: ProgramChange = serde_json::from_str(r#"{"earn_rate_milli": 2500}"#).unwrap();
        let p = change.apply(&base);
        assert_eq!((p.earn_rate_milli, p.points_expiry_months, &p.tiers), (2500, Some(12), &base.tiers));
        let never: ProgramChange = serde_json::from_str(r#"{"points_expiry_months": null}"#).unwrap();
        assert_eq!(never.points_expiry_months, Some(None));
        assert_eq!(never.apply(&base).points_expiry_months, None);
        assert!(serde_json::from_str::<ProgramChange>(r#"{"currency": "USD"}"#).is_err(), "the currency stays");
        let on: ProgramChange =
            serde_json::from_str(r#"{"tier_qualifying_months": 12, "tier_grace_months": 2}"#).unwrap();
        let on = on.apply(&base);
        let off: ProgramChange = serde_json::from_str(r#"{"tier_qualifying_months": null}"#).unwrap();
        assert_eq!((off.apply(&on).tier_qualifying_months, off.apply(&on).tier_grace_months), (None, 0));
    }

    #[test]
    fn versions_are_listed_newest_first_with_what_is_in_force() {
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().to_utc();
        let rate = |earn_rate_milli| Arc::new(Program { earn_rate_milli, ..default_program("x") });
        let versions = ProgramVersions::new(vec![
            ProgramVersion { effective_from: None, rules: rate(1000) },
            ProgramVersion { effective_from: Some(at("2026-04-01T00:00:00Z")), rules: rate(2000) },
            ProgramVersion { effective_from: Some(at("2026-05-01T00:00:00Z")), rules: rate(3000) },
        ])
        .unwrap();
        let rules = rules_of(&versions, at("2026-04-15T00:00:00Z"), chrono::TimeDelta::seconds(60));
        assert_eq!(rules.current.rules["earn_rate_milli"], 2000);
        let statuses: Vec<&str> = rules.versions.iter().map(|v| v.status.as_str()).collect();
        assert_eq!(statuses, ["upcoming", "in_force", "superseded"]);
        assert_eq!(rules.upcoming.len(), 1);
        assert_eq!((rules.cache_seconds, rules.earliest_effective_from), (60, at("2026-04-15T00:01:00Z")));
        assert_eq!(rules.current.rules["points_expiry_months"], Value::Null);
    }
}
