//! Campaigns: one coupon to each member of an audience: a list of mobiles (pasted or
//! from a CSV file) or every member of a tier, up to [`MAX_MOBILES`] either way.
//!
//! Creating one is an audited change (with its `Idempotency-Key`) that stores the
//! campaign and its list in parts. Running it issues coupons a batch of [`BATCH`] list
//! positions at a time, [`CONCURRENCY`] members at once, until the time budget (at most
//! [`MAX_RUN`]) is spent, then answers the progress; the console calls run again until
//! it is done. A member's coupon has a code derived from the campaign and the member
//! and is put only if new, so a batch cut short, done twice, done by two runners at
//! once, or a campaign run again never gives one member two coupons. The counts stay
//! exact: a batch's outcome for a position is the same whoever computes it (a code found
//! with the coupon id of this very position counts as issued), and a batch is recorded
//! (cursor moved, counts added) only while the cursor is still at its start.
//!
//! A tier audience is the tier's members when the campaign is created: their customer
//! ids, read from the keys-only members index (no profile read, no scan), stored in parts
//! like a list of mobiles and run the same way. A member who reaches the tier later is
//! not in it (a new campaign takes them).

use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{json, Change};
use crate::actor::{Actor, Permission};
use crate::domain::{Code, CustomerId, IdempotencyKey, Mobile, TenantSlug};
use crate::error::ApiError;
use crate::model::{end_of_local_day, CodeKind, CodeStatus, Coupon};
use crate::store::{CampaignBatch, CampaignRecord, CodePut, PART_SIZE};
use crate::Deps;

/// The most mobiles one campaign may list.
pub const MAX_MOBILES: usize = 50_000;
/// The largest create request's body: 50,000 mobiles with room for CSV columns.
pub const MAX_CAMPAIGN_BODY_BYTES: usize = 2 * 1024 * 1024;
/// The longest name.
pub const MAX_CAMPAIGN_NAME: usize = 80;
/// List positions per batch (a batch is recorded whole or not at all).
pub const BATCH: u64 = 100;
/// Members issued to at once.
pub const CONCURRENCY: usize = 16;
/// The longest one run may take: well under API Gateway's 30 s.
pub const MAX_RUN: Duration = Duration::from_secs(20);
/// How many bad lines an error names.
const NAMED_LINES: usize = 20;
/// The coupons' `source`.
pub const CAMPAIGN_SOURCE: &str = "campaign";

/// A new campaign as asked.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct NewCampaign {
    pub name: String,
    /// Exactly one of a fixed value (minor units) and a percent.
    #[serde(default)]
    pub value_minor: Option<i64>,
    #[serde(default)]
    pub percent: Option<u32>,
    /// The coupons' last valid day, in the program's time zone.
    pub expires: NaiveDate,
    /// One mobile a line, or a CSV whose first column is the mobile (a header line is
    /// skipped). Empty when the audience is a tier.
    #[serde(default)]
    pub mobiles: String,
    /// Every member of this tier instead of a list (the tier's name, any case).
    #[serde(default)]
    pub tier: Option<String>,
}

/// A campaign as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignView {
    pub campaign_id: String,
    pub name: String,
    pub value_minor: Option<i64>,
    pub percent: Option<u32>,
    pub expires: NaiveDate,
    /// `mobiles` or `tier`.
    pub audience: String,
    /// The tier of a `tier` audience.
    pub tier: Option<String>,
    /// `ready`, `running` or `done`.
    pub status: String,
    pub total: u64,
    /// How many list positions are done.
    pub done: u64,
    pub issued: u64,
    pub skipped_unknown: u64,
    pub skipped_already: u64,
    pub failed: u64,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
}

impl From<&CampaignRecord> for CampaignView {
    fn from(c: &CampaignRecord) -> Self {
        let status = if c.cursor >= c.total {
            "done"
        } else if c.cursor == 0 {
            "ready"
        } else {
            "running"
        };
        CampaignView {
            campaign_id: c.campaign_id.clone(),
            name: c.name.clone(),
            value_minor: c.value_minor,
            percent: c.percent,
            expires: c.expires,
            audience: c.audience.clone(),
            tier: c.tier.clone(),
            status: status.to_owned(),
            total: c.total,
            done: c.cursor,
            issued: c.issued,
            skipped_unknown: c.skipped_unknown,
            skipped_already: c.skipped_already,
            failed: c.failed,
            created_at: c.created_at,
            created_by: c.created_by.clone(),
            updated_at: c.updated_at,
        }
    }
}

/// A mobile (a customer id, for a tier audience) that got no coupon, and why
/// (`unknown`: no member has it; `already`: the member has this campaign's coupon;
/// `failed`: the store failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedMobile {
    pub mobile: String,
    pub reason: String,
}

/// A campaign with the mobiles that got no coupon so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignDetail {
    #[serde(flatten)]
    pub campaign: CampaignView,
    pub skipped: Vec<SkippedMobile>,
}

/// The tenant's campaigns, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignList {
    pub campaigns: Vec<CampaignView>,
}

/// The mobiles of a pasted list or CSV: normalised, duplicates folded (first kept), or
/// the bad lines named.
pub fn parse_mobiles(text: &str) -> Result<Vec<Mobile>, ApiError> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let field = line.split([',', ';', '\t']).next().unwrap_or("").trim().trim_matches('"').trim();
        if field.is_empty() {
            continue;
        }
        match Mobile::parse(field) {
            Ok(m) => {
                if seen.insert(m.to_string()) {
                    out.push(m);
                }
            }
            // A CSV's header line.
            Err(_) if out.is_empty() && bad.is_empty() && field.chars().any(|c| c.is_alphabetic()) => {}
            Err(_) => bad.push(n + 1),
        }
    }
    if !bad.is_empty() {
        let mut named: Vec<String> = bad.iter().take(NAMED_LINES).map(|n| n.to_string()).collect();
        if bad.len() > NAMED_LINES {
            named.push(format!("and {} more", bad.len() - NAMED_LINES));
        }
        let s = if bad.len() == 1 { "" } else { "s" };
        return Err(ApiError::invalid(
            "mobiles",
            format!("line{s} {} must be a 10-digit mobile number, or + and the country code", named.join(", ")),
        ));
    }
    if out.is_empty() {
        return Err(ApiError::invalid("mobiles", "list at least one mobile number"));
    }
    if out.len() > MAX_MOBILES {
        return Err(ApiError::invalid("mobiles", format!("at most {MAX_MOBILES} different mobile numbers")));
    }
    Ok(out)
}

#[derive(Serialize)]
struct CampaignAsk<'a> {
    name: &'a str,
    value_minor: Option<i64>,
    percent: Option<u32>,
    expires: NaiveDate,
    mobiles: Vec<String>,
    tier: Option<String>,
}

/// Who a new campaign is for: a list of mobiles, or a tier (as the program spells it).
enum Audience {
    Mobiles(Vec<String>),
    Tier(String),
}

async fn audience(deps: &Deps, tenant: &TenantSlug, new: &NewCampaign) -> Result<Audience, ApiError> {
    let tier = new.tier.as_deref().map(str::trim).filter(|t| !t.is_empty());
    match (tier, new.mobiles.trim().is_empty()) {
        (Some(_), false) => Err(ApiError::invalid("tier", "or mobiles: give one audience, not both")),
        (Some(tier), true) => {
            let program = crate::auth::program(deps, tenant).await?;
            let found = program.tiers.iter().find(|t| t.name.eq_ignore_ascii_case(tier));
            let named = found.ok_or_else(|| {
                let names: Vec<&str> = program.tiers.iter().map(|t| t.name.as_str()).collect();
                ApiError::invalid("tier", format!("must be one of the program's tiers: {}", names.join(", ")))
            })?;
            Ok(Audience::Tier(named.name.clone()))
        }
        (None, _) => Ok(Audience::Mobiles(parse_mobiles(&new.mobiles)?.iter().map(ToString::to_string).collect())),
    }
}

/// Creates a campaign (owners, managers), audited; nothing is issued until it runs.
pub async fn create_campaign(
    deps: &Deps,
    actor: &Actor,
    new: &NewCampaign,
    idem: Option<&IdempotencyKey>,
) -> Result<CampaignView, ApiError> {
    actor.require(Permission::Manage)?;
    let name = crate::domain::nfc(new.name.trim());
    if name.is_empty() || name.chars().count() > MAX_CAMPAIGN_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::invalid("name", format!("is required: 1 to {MAX_CAMPAIGN_NAME} characters")));
    }
    match (new.value_minor, new.percent) {
        (Some(v), None) if v > 0 => {}
        (None, Some(p)) if (1..=100).contains(&p) => {}
        (Some(_), None) => return Err(ApiError::invalid("value_minor", "must be positive")),
        (None, Some(_)) => return Err(ApiError::invalid("percent", "must be from 1 to 100")),
        _ => return Err(ApiError::bad_request("give exactly one of value_minor or percent")),
    }
    let now = deps.now();
    if new.expires < now.date_naive() {
        return Err(ApiError::invalid("expires", "must not be in the past"));
    }
    let audience = audience(deps, &actor.tenant, new).await?;
    let (mobiles, tier) = match &audience {
        Audience::Mobiles(m) => (m.clone(), None),
        Audience::Tier(t) => (Vec::new(), Some(t.clone())),
    };
    let ask = CampaignAsk {
        name: &name,
        value_minor: new.value_minor,
        percent: new.percent,
        expires: new.expires,
        mobiles,
        tier,
    };
    let change = Change::new(actor, "admin-campaign", idem, &ask)?;
    if let Some(done) = change.replay(deps).await? {
        return Ok(done);
    }
    // The list: the mobiles, or the tier's members now (customer ids).
    let (kind, entries) = match audience {
        Audience::Mobiles(m) => ("mobiles", m),
        Audience::Tier(t) => {
            let ids = deps.store.member_ids_of_tier(&actor.tenant, &t, MAX_MOBILES).await?;
            if ids.is_empty() {
                return Err(ApiError::invalid("tier", format!("{t} has no members")));
            }
            if ids.len() > MAX_MOBILES {
                return Err(ApiError::invalid("tier", format!("{t} has more than {MAX_MOBILES} members: send lists")));
            }
            ("tier", ids.iter().map(ToString::to_string).collect())
        }
    };
    let record = CampaignRecord {
        campaign_id: uuid::Uuid::now_v7().to_string(),
        name: name.clone(),
        value_minor: new.value_minor,
        percent: new.percent,
        expires: new.expires,
        audience: kind.to_owned(),
        tier: ask.tier.clone(),
        total: entries.len() as u64,
        cursor: 0,
        issued: 0,
        skipped_unknown: 0,
        skipped_already: 0,
        failed: 0,
        created_at: now,
        created_by: actor.who.clone(),
        updated_at: now,
    };
    let view = CampaignView::from(&record);
    let parts: Vec<Vec<String>> = entries.chunks(PART_SIZE as usize).map(<[String]>::to_vec).collect();
    let admin = change.record(now, "campaign.create", record.campaign_id.clone(), None, json(&view), &view)?;
    match deps.store.put_campaign(&actor.tenant, &record, &parts, &admin).await {
        Ok(()) => {
            tracing::info!(campaign_id = %record.campaign_id, total = record.total, who = %actor.who, "campaign created");
            Ok(view)
        }
        Err(e) => change.failed(e, ApiError::Conflict("the campaign exists already".into())),
    }
}

/// The tenant's latest 100 campaigns, newest first.
pub async fn list_campaigns(deps: &Deps, actor: &Actor) -> Result<CampaignList, ApiError> {
    actor.require(Permission::Read)?;
    let records = deps.store.list_campaigns(&actor.tenant, 100).await?;
    Ok(CampaignList { campaigns: records.iter().map(CampaignView::from).collect() })
}

fn campaign_id(id: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(id).map(|u| u.to_string()).map_err(|_| ApiError::NotFound("Campaign"))
}

async fn get(deps: &Deps, tenant: &TenantSlug, id: &str) -> Result<CampaignRecord, ApiError> {
    deps.store.get_campaign(tenant, &campaign_id(id)?).await?.ok_or(ApiError::NotFound("Campaign"))
}

/// A campaign and the mobiles that got no coupon so far, in list order.
pub async fn campaign_detail(deps: &Deps, actor: &Actor, id: &str) -> Result<CampaignDetail, ApiError> {
    actor.require(Permission::Read)?;
    let record = get(deps, &actor.tenant, id).await?;
    let batches = deps.store.campaign_batches(&actor.tenant, &record.campaign_id).await?;
    let mut skipped = Vec::new();
    for b in batches {
        for (reason, list) in [("unknown", b.unknown), ("already", b.already), ("failed", b.failed)] {
            skipped.extend(list.into_iter().map(|mobile| SkippedMobile { mobile, reason: reason.to_owned() }));
        }
    }
    Ok(CampaignDetail { campaign: CampaignView::from(&record), skipped })
}

/// The code a campaign gives a member: the same every time (`CAMP-` and 10 characters
/// from an alphabet without look-alikes, about 50 bits of a hash of both).
pub fn campaign_code(campaign_id: &str, member: &CustomerId) -> Code {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let hash = Sha256::digest(format!("campaign-code\n{campaign_id}\n{member}").as_bytes());
    let suffix: String = hash.iter().take(10).map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
    Code::parse(&format!("CAMP-{suffix}")).unwrap_or_else(|_| Code::generate("CAMP"))
}

/// The coupon id of a list position's coupon: a code found with it was issued by this
/// very position (in an earlier attempt or by another runner).
fn coupon_id(campaign_id: &str, position: u64, member: &CustomerId) -> uuid::Uuid {
    let hash = Sha256::digest(format!("campaign-coupon\n{campaign_id}\n{position}\n{member}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

enum Outcome {
    Issued,
    Unknown,
    Already,
    Failed,
}

/// What a run needs to issue one coupon.
struct Issue<'a> {
    deps: &'a Deps,
    tenant: &'a TenantSlug,
    record: &'a CampaignRecord,
    expires_at: DateTime<Utc>,
}

impl Issue<'_> {
    /// Issues the coupon of one list position: a mobile, or (a tier audience) a
    /// customer id.
    async fn one(&self, position: u64, entry: &str) -> Outcome {
        let member = if self.record.audience == "tier" {
            match CustomerId::parse(entry) {
                Ok(id) => id,
                Err(_) => return Outcome::Unknown,
            }
        } else {
            let Ok(mobile) = Mobile::parse(entry) else { return Outcome::Unknown };
            match self.deps.store.customer_id_by_mobile(self.tenant, &mobile).await {
                Ok(Some(id)) => id,
                Ok(None) => return Outcome::Unknown,
                Err(e) => {
                    tracing::warn!(error = %e, "campaign lookup failed");
                    return Outcome::Failed;
                }
            }
        };
        let r = self.record;
        let id = coupon_id(&r.campaign_id, position, &member);
        let (kind, value_minor) = match r.value_minor {
            Some(v) => (CodeKind::Fixed, v),
            None => (CodeKind::Percent, 0),
        };
        let coupon = Coupon {
            coupon_id: id,
            code: campaign_code(&r.campaign_id, &member),
            customer_id: Some(member),
            kind,
            value_minor,
            discount_percent: r.percent,
            source: CAMPAIGN_SOURCE.to_owned(),
            reward_id: None,
            reward_name: Some(r.name.clone()),
            status: CodeStatus::Active,
            expires_at: self.expires_at,
            expiry_date: r.expires,
            created_at: self.deps.now(),
            used_at: None,
        };
        match self.deps.store.put_campaign_code(self.tenant, &coupon).await {
            Ok(CodePut::Written) => Outcome::Issued,
            Ok(CodePut::Exists(found)) if found == id => Outcome::Issued,
            Ok(CodePut::Exists(_)) => Outcome::Already,
            Err(e) => {
                tracing::warn!(error = %e, "campaign coupon put failed");
                Outcome::Failed
            }
        }
    }
}

/// Runs a campaign for at most `budget` (capped at [`MAX_RUN`]; at least one batch is
/// always tried) and answers its progress.
pub async fn run_campaign(deps: &Deps, actor: &Actor, id: &str, budget: Duration) -> Result<CampaignView, ApiError> {
    actor.require(Permission::Manage)?;
    let started = Instant::now();
    let budget = budget.min(MAX_RUN);
    let tenant = &actor.tenant;
    let mut record = get(deps, tenant, id).await?;
    let program = crate::auth::program(deps, tenant).await?;
    let expires_at = end_of_local_day(record.expires, program.utc_offset_minutes);
    let mut part: Option<(u32, Vec<String>)> = None;
    let mut slowest = Duration::ZERO;
    let mut first = true;
    while record.cursor < record.total {
        let elapsed = started.elapsed();
        if !first && elapsed + slowest >= budget {
            break;
        }
        let start = record.cursor;
        let n = (start / PART_SIZE) as u32;
        if part.as_ref().map(|(p, _)| *p) != Some(n) {
            part = Some((n, deps.store.campaign_part(tenant, &record.campaign_id, n).await?));
        }
        let mobiles = part.as_ref().map(|(_, m)| m.as_slice()).unwrap_or_default();
        let from = (start - u64::from(n) * PART_SIZE) as usize;
        let to = (from + BATCH as usize).min(mobiles.len()).min((record.total - u64::from(n) * PART_SIZE) as usize);
        if from >= to {
            return Err(
                crate::store::StoreError::Corrupt(format!("campaign {} list ends early", record.campaign_id)).into()
            );
        }
        let issue = Issue { deps, tenant, record: &record, expires_at };
        let batch_started = Instant::now();
        let positions: Vec<(u64, String)> =
            mobiles[from..to].iter().enumerate().map(|(i, m)| (start + i as u64, m.clone())).collect();
        let issue = &issue;
        let work = stream::iter(positions)
            .map(move |(position, mobile)| async move {
                let outcome = issue.one(position, &mobile).await;
                (mobile, outcome)
            })
            .buffered(CONCURRENCY)
            .collect::<Vec<_>>();
        // A batch cut short is recorded by nobody: the next run does it again and finds
        // its own coupons.
        let remaining = budget.saturating_sub(elapsed).max(if first { MAX_RUN } else { Duration::ZERO });
        let Ok(outcomes) = tokio::time::timeout(remaining, work).await else { break };
        slowest = slowest.max(batch_started.elapsed());
        first = false;
        let mut batch = CampaignBatch { start, end: start + (to - from) as u64, ..CampaignBatch::default() };
        for (mobile, outcome) in outcomes {
            match outcome {
                Outcome::Issued => batch.issued += 1,
                Outcome::Unknown => batch.unknown.push(mobile),
                Outcome::Already => batch.already.push(mobile),
                Outcome::Failed => batch.failed.push(mobile),
            }
        }
        if !deps.store.advance_campaign(tenant, &record.campaign_id, &batch, deps.now()).await? {
            tracing::info!(campaign_id = %record.campaign_id, start, "another run recorded this batch");
        }
        record = get(deps, tenant, &record.campaign_id).await?;
    }
    Ok(CampaignView::from(&record))
}
