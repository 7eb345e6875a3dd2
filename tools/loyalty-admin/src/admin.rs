//! Operator actions behind `loyalty-admin`: tenants, keys, coupons and the demo program.
//! They go through the same store and engine as the API, so the CLI writes no item of
//! its own making. The changes the management API also makes (keys, rewards, coupons)
//! go through its operations ([`loyalty::manage`]) as the operator
//! ([`Actor::operator`]): each writes its audit entry in its own transaction.

use chrono::NaiveDate;
use serde::Serialize;

use loyalty::actor::Actor;
use loyalty::auth::Caller;
use loyalty::deps::Deps;
use loyalty::domain::{Code, Email, Mobile, Money, TenantSlug};
use loyalty::engine::{self, MemberRef, NewMember, Sale};
use loyalty::error::ApiError;
use loyalty::keys::{Channel, KeyMode, KeyRecord, KeyStatus, Scope};
use loyalty::manage::{self, NewKeySpec};
use loyalty::model::{CodeKind, CodeStatus, Coupon, Reward};
use loyalty::program::{default_program, tier, BillItem, CategoryBonus, Program};
use loyalty::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Api(#[from] ApiError),
}

/// Creates a tenant with `program` (or the default rules) and lists it in the tenant
/// index. `false` if it existed (its rules left alone; listed if it was not).
pub async fn create_tenant(deps: &Deps, slug: &TenantSlug, program: &Program) -> Result<bool, AdminError> {
    let program = program.clone().normalised();
    program.validate().map_err(|e| AdminError::Invalid(e.to_string()))?;
    let created = deps.store.put_program(slug, &program, false, deps.now()).await?;
    let name = match created {
        true => program.name,
        false => require_program(deps, slug).await?.name,
    };
    deps.store.put_tenant_index(slug, &name, deps.now()).await?;
    Ok(created)
}

/// A management operation's refusal as the CLI words it.
fn refused(e: ApiError) -> AdminError {
    match e {
        ApiError::BadRequest(m) | ApiError::Conflict(m) => AdminError::Invalid(m),
        e @ ApiError::Invalid { .. } => AdminError::Invalid(e.to_string()),
        ApiError::NotFound(what) => AdminError::NotFound(format!("{what} not found")),
        other => AdminError::Api(other),
    }
}

/// The tenant's rules in force now.
/// The program in force, read through the engine's program cache: the changes made
/// next (demo bills) then index their members by tier as a function's would.
async fn require_program(deps: &Deps, slug: &TenantSlug) -> Result<Program, AdminError> {
    let versions = loyalty::auth::program_versions(deps, slug).await.map_err(|e| match e {
        loyalty::error::ApiError::Unauthorized => AdminError::NotFound(format!("no tenant {slug}")),
        e => e.into(),
    })?;
    Ok(versions.at(deps.now()).as_ref().clone())
}

/// A new key, shown once: the plain text is returned and never stored.
pub struct IssuedKey {
    pub plain: String,
    pub record: KeyRecord,
}

pub async fn issue_key(
    deps: &Deps,
    tenant: &TenantSlug,
    mode: KeyMode,
    channel: Channel,
    scopes: Vec<Scope>,
    label: &str,
) -> Result<IssuedKey, AdminError> {
    let label = loyalty::domain::text::key_label(label).map_err(AdminError::Invalid)?;
    require_program(deps, tenant).await?;
    if scopes.is_empty() {
        return Err(AdminError::Invalid("a key needs at least one scope".into()));
    }
    let actor = Actor::operator(tenant.clone());
    let spec = NewKeySpec { mode, channel, scopes, label };
    let issued = manage::issue_key(deps, &actor, &spec, None).await.map_err(refused)?;
    let plain = issued.secret.ok_or(AdminError::Api(ApiError::Internal))?;
    let record = deps
        .store
        .get_key_info(&issued.key.key_id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("key {} missing after issuing it", issued.key.key_id)))?
        .record;
    Ok(IssuedKey { plain, record })
}

/// Revokes a key by its id, as the operator of its tenant (audited there).
pub async fn revoke_key(deps: &Deps, key_id: &str) -> Result<KeyRecord, AdminError> {
    let info =
        deps.store.get_key_info(key_id).await?.ok_or_else(|| AdminError::NotFound(format!("no key {key_id}")))?;
    if info.record.status != KeyStatus::Active {
        return Ok(info.record);
    }
    let actor = Actor::operator(info.record.tenant.clone());
    manage::revoke_key(deps, &actor, key_id, None).await.map_err(refused)?;
    Ok(KeyRecord { status: KeyStatus::Revoked, ..info.record })
}

pub struct CouponSpec {
    pub mobile: Mobile,
    pub value: Option<Money>,
    pub percent: Option<u32>,
    pub expires: NaiveDate,
    pub code: Option<Code>,
    pub source: String,
}

/// Issues a coupon to a member. A past expiry is allowed (to exercise the expired path).
pub async fn issue_coupon(deps: &Deps, tenant: &TenantSlug, spec: CouponSpec) -> Result<Coupon, AdminError> {
    require_program(deps, tenant).await?;
    let customer_id = deps
        .store
        .customer_id_by_mobile(tenant, &spec.mobile)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no member with mobile {}", spec.mobile)))?;
    let (kind, value_minor, discount_percent) = match (spec.value, spec.percent) {
        (Some(v), None) => (CodeKind::Fixed, v.minor(), None),
        (None, Some(p)) if (1..=100).contains(&p) => (CodeKind::Percent, 0, Some(p)),
        (None, Some(_)) => return Err(AdminError::Invalid("percent must be 1 to 100".into())),
        _ => return Err(AdminError::Invalid("give exactly one of value or percent".into())),
    };
    let actor = Actor::operator(tenant.clone());
    let member = manage::CouponSpec {
        customer_id,
        value_minor: value_minor_of(kind, value_minor),
        percent: discount_percent,
        expires: spec.expires,
        code: spec.code,
        source: spec.source,
    };
    let issued = manage::issue_coupon(deps, &actor, &member, None).await.map_err(refused)?;
    let code = Code::parse(&issued.code).map_err(|e| AdminError::Invalid(e.to_string()))?;
    deps.store
        .get_code(tenant, &code)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("coupon {code} missing after issuing it")))
}

fn value_minor_of(kind: CodeKind, value_minor: i64) -> Option<i64> {
    (kind == CodeKind::Fixed).then_some(value_minor)
}

/// Adds a reward to the catalog, or replaces the one with the same public id.
pub async fn add_reward(deps: &Deps, tenant: &TenantSlug, reward: &Reward) -> Result<(), AdminError> {
    require_program(deps, tenant).await?;
    // Names as members read them, one form however they were typed.
    let reward = &Reward {
        name: loyalty::domain::nfc(reward.name.trim()),
        description: loyalty::domain::nfc(reward.description.trim()),
        ..reward.clone()
    };
    let actor = Actor::operator(tenant.clone());
    let reward = manage::validate_reward(reward).map_err(refused)?;
    if deps.store.get_reward(tenant, &reward.public_id).await?.is_some() {
        manage::edit_reward(deps, &actor, &reward, Some(reward.active), None).await.map_err(refused)?;
    } else {
        manage::add_reward(deps, &actor, &reward, None).await.map_err(refused)?;
    }
    Ok(())
}

/// Takes a reward out of the catalog; vouchers already issued for it stay valid.
pub async fn archive_reward(deps: &Deps, tenant: &TenantSlug, public_id: &str) -> Result<Reward, AdminError> {
    let actor = Actor::operator(tenant.clone());
    manage::archive_reward(deps, &actor, public_id, None).await.map_err(|e| match e {
        ApiError::NotFound(_) => AdminError::NotFound(format!("no reward {public_id}")),
        other => refused(other),
    })
}

pub const DEMO_TENANT: &str = "spice-garden";
pub const DEMO_EMAIL: &str = "ravi.kumar@example.com";
pub const DEMO_MOBILE: &str = "9876543210";

/// The demo program: 100 points per ₹1, 100 points buy ₹1 off, three tiers, double
/// points on beverages.
pub fn demo_program() -> Program {
    let mut program = default_program("Spice Garden");
    program.tiers = vec![
        tier("Silver", 0, 1000, false, "#C0C0C0"),
        tier("Gold", 200_000, 1250, false, "#FFD700"),
        tier("Platinum", 2_000_000, 1500, true, "#E5E4E2"),
    ];
    program.category_bonuses = vec![CategoryBonus { category: "beverages".into(), multiplier_milli: 2000 }];
    program
}

/// The demo catalog: two rewards the demo member can afford, two it cannot yet.
pub fn demo_rewards() -> Vec<Reward> {
    let reward =
        |id: &str, name: &str, description: &str, cost: i64, kind: CodeKind, value: i64, percent: Option<u32>| Reward {
            public_id: id.into(),
            name: name.into(),
            description: description.into(),
            points_cost: cost,
            kind,
            value_minor: value,
            discount_percent: percent,
            active: true,
        };
    vec![
        reward("rwd-001", "Free Masala Chai", "A complimentary masala chai", 5_000, CodeKind::Service, 0, None),
        reward("rwd-002", "10% Discount Voucher", "10% off your next bill", 20_000, CodeKind::Percent, 0, Some(10)),
        reward(
            "rwd-003",
            "Rs 500 Off Voucher",
            "Rs 500 off a bill of Rs 1500 or more",
            500_000,
            CodeKind::Fixed,
            50_000,
            None,
        ),
        reward("rwd-004", "Dinner for Two", "Chef's tasting menu for two", 5_000_000, CodeKind::Service, 0, None),
    ]
}

#[derive(Debug, Serialize)]
pub struct DemoReward {
    #[serde(rename = "publicId")]
    pub public_id: String,
    pub name: String,
    #[serde(rename = "pointsCost")]
    pub points_cost: i64,
}

#[derive(Debug, Serialize)]
pub struct DemoCoupon {
    pub code: String,
    pub value: loyalty::domain::MinorUnits,
    pub expiry_date: String,
    pub status: String,
}

#[derive(Debug, Serialize)]
pub struct DemoSeed {
    pub tenant: String,
    pub live_key: String,
    pub test_key: String,
    pub read_only_key: String,
    /// A live key of the `app` channel with both scopes: the one that may redeem rewards.
    pub app_key: String,
    pub customer_id: String,
    pub customer_mobile: String,
    pub customer_name: String,
    pub customer_email: String,
    pub points_balance: i64,
    pub tier: String,
    pub coupons: Vec<DemoCoupon>,
    pub rewards: Vec<DemoReward>,
}

/// Creates the demo tenant, its member (balance earned through real bills, each with a
/// fixed reference so a re-run awards nothing twice) and coupons if missing, and
/// issues fresh keys.
pub async fn seed_demo(deps: &Deps) -> Result<DemoSeed, AdminError> {
    let tenant = TenantSlug::parse(DEMO_TENANT).map_err(|e| AdminError::Invalid(e.to_string()))?;
    create_tenant(deps, &tenant, &demo_program()).await?;
    seed_demo_data(deps, &tenant, true).await
}

/// Creates `slug`, an integrator's own sandbox tenant: a copy of `of`'s program (its
/// rules in force now, named `name`, or `of`'s name with " (sandbox)") and rewards, with
/// the demo member, bills and coupons of its own, and fresh keys. So one integrator's
/// tests never use up another's demo coupons. Refused if `slug` exists (a real
/// tenant never gets demo data) or `of` does not.
pub async fn create_sandbox_tenant(
    deps: &Deps,
    slug: &TenantSlug,
    of: &TenantSlug,
    name: Option<&str>,
) -> Result<DemoSeed, AdminError> {
    if slug == of {
        return Err(AdminError::Invalid("a sandbox tenant needs a slug of its own".into()));
    }
    let mut program = require_program(deps, of).await?;
    program.name = name.map_or_else(|| format!("{} (sandbox)", program.name), str::to_owned);
    if !create_tenant(deps, slug, &program).await? {
        return Err(AdminError::Invalid(format!("tenant {slug} already exists: a sandbox tenant must be new")));
    }
    let rewards = deps.store.list_rewards(of).await?;
    for reward in rewards.iter().filter(|r| r.active) {
        add_reward(deps, slug, reward).await?;
    }
    seed_demo_data(deps, slug, rewards.is_empty()).await
}

/// The demo member (earned through real bills with fixed references, so a re-run awards
/// nothing twice), the demo rewards when `demo_rewards` (else the tenant's own), the demo
/// coupons if missing, and fresh keys, in an existing tenant.
async fn seed_demo_data(deps: &Deps, tenant: &TenantSlug, with_demo_rewards: bool) -> Result<DemoSeed, AdminError> {
    let tenant = tenant.clone();
    let program = require_program(deps, &tenant).await?;

    let caller = Caller { tenant: tenant.clone(), key_id: "admin".into(), mode: KeyMode::Live };
    let mobile = Mobile::parse(DEMO_MOBILE).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let email = Email::parse(DEMO_EMAIL).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let bills: [(&str, &str, Vec<BillItem>); 2] = [
        ("DEMO-INV-0001", "1200", vec![]),
        (
            "DEMO-INV-0002",
            "900",
            vec![BillItem { category: "beverages".into(), name: "Masala chai".into(), amount_minor: 30_000 }],
        ),
    ];
    for (reference, amount, items) in bills {
        let sale = Sale {
            member: MemberRef::Mobile(mobile.clone()),
            enrol: Some(NewMember {
                name: Some("Ravi Kumar".into()),
                mobile: Some(mobile.clone()),
                email: Some(email.clone()),
            }),
            amount: Money::parse(amount).map_err(|e| AdminError::Invalid(e.to_string()))?,
            items,
            reference: Some(reference.into()),
            description: Some("Demo bill".into()),
            preview: false,
            redeem_points: 0,
            coupon: None,
            otp: None,
            sold_at: None,
        };
        engine::record_sale(deps, &caller, &program, &sale, None).await?;
    }
    // An online order through the Public dialect's path: the same member, by email.
    let order = Sale {
        member: MemberRef::Email(email.clone()),
        enrol: None,
        amount: Money::parse("450").map_err(|e| AdminError::Invalid(e.to_string()))?,
        items: vec![],
        reference: Some("DEMO-ORD-0001".into()),
        description: Some("Online order".into()),
        preview: false,
        redeem_points: 0,
        coupon: None,
        otp: None,
        sold_at: None,
    };
    engine::record_sale(deps, &caller, &program, &order, None).await?;

    let mut rewards = Vec::new();
    let catalog = match with_demo_rewards {
        true => demo_rewards(),
        false => deps.store.list_rewards(&tenant).await?.into_iter().filter(|r| r.active).collect(),
    };
    for reward in catalog {
        if deps.store.get_reward(&tenant, &reward.public_id).await?.is_none() {
            add_reward(deps, &tenant, &reward).await?;
        }
        rewards.push(DemoReward { public_id: reward.public_id, name: reward.name, points_cost: reward.points_cost });
    }

    let today = loyalty::model::local_date(deps.now(), program.utc_offset_minutes);
    let next_year = today + chrono::Duration::days(365);
    let demo_coupons = [
        ("COUP-XY12", "200", next_year),
        ("COUP-WELCOME", "100", next_year),
        ("COUP-EXPIRED", "50", today - chrono::Duration::days(1)),
    ];
    let mut coupons = Vec::new();
    for (code, value, expires) in demo_coupons {
        let code = Code::parse(code).map_err(|e| AdminError::Invalid(e.to_string()))?;
        let coupon = match deps.store.get_code(&tenant, &code).await? {
            Some(existing) => existing,
            None => {
                let spec = CouponSpec {
                    mobile: mobile.clone(),
                    value: Some(Money::parse(value).map_err(|e| AdminError::Invalid(e.to_string()))?),
                    percent: None,
                    expires,
                    code: Some(code),
                    source: "campaign".into(),
                };
                issue_coupon(deps, &tenant, spec).await?
            }
        };
        let status = if coupon.status == CodeStatus::Used {
            "used"
        } else if coupon.is_expired(deps.now()) {
            "expired"
        } else {
            "active"
        };
        coupons.push(DemoCoupon {
            code: coupon.code.to_string(),
            value: loyalty::domain::MinorUnits(coupon.value_minor),
            expiry_date: coupon.expiry_date.to_string(),
            status: status.into(),
        });
    }

    let both = vec![Scope::ReadCustomers, Scope::WriteTransactions];
    let (live, pos) = (KeyMode::Live, Channel::Pos);
    let live_key = issue_key(deps, &tenant, live, pos, both.clone(), "demo live").await?;
    let test = issue_key(deps, &tenant, KeyMode::Test, pos, both.clone(), "demo sandbox").await?;
    let read_only = issue_key(deps, &tenant, live, pos, vec![Scope::ReadCustomers], "demo read-only").await?;
    let app = issue_key(deps, &tenant, live, Channel::App, both, "demo app").await?;

    let member = engine::find_member(deps, &tenant, &MemberRef::Mobile(mobile.clone()))
        .await?
        .ok_or_else(|| AdminError::NotFound("demo member missing after seeding".into()))?;
    Ok(DemoSeed {
        tenant: tenant.to_string(),
        live_key: live_key.plain,
        test_key: test.plain,
        read_only_key: read_only.plain,
        app_key: app.plain,
        customer_id: member.id.to_string(),
        customer_mobile: mobile.to_string(),
        customer_name: member.name.clone(),
        customer_email: email.to_string(),
        points_balance: member.points_balance,
        tier: loyalty::tiers::tier_of(&program, &member).name.clone(),
        coupons,
        rewards,
    })
}

/// Expires the points due as of the end of `as_of` in each program's own zone, of one
/// tenant or of all (the scheduled job's code, with a day chosen by the operator or a
/// test). Runs until every due member is visited; re-running expires nothing twice.
pub async fn expire(
    deps: &Deps,
    as_of: chrono::NaiveDate,
    tenant: Option<&TenantSlug>,
) -> Result<loyalty::engine::ExpiryRun, AdminError> {
    if let Some(t) = tenant {
        require_program(deps, t).await?;
    }
    let limits = loyalty::engine::JobLimits { budget: std::time::Duration::from_secs(24 * 3600), ..Default::default() };
    Ok(loyalty::engine::expire_due(deps, loyalty::engine::AsOf::EndOfDay(as_of), tenant, limits).await?)
}

/// Reviews the tiers due as of the end of `as_of` (period programs), of one tenant or of
/// all: the daily job's second step. Re-running reviews no member twice in a month.
pub async fn review_tiers(
    deps: &Deps,
    as_of: chrono::NaiveDate,
    tenant: Option<&TenantSlug>,
) -> Result<loyalty::engine::TierRun, AdminError> {
    if let Some(t) = tenant {
        require_program(deps, t).await?;
    }
    let limits = loyalty::engine::JobLimits { budget: std::time::Duration::from_secs(24 * 3600), ..Default::default() };
    Ok(loyalty::engine::review_tiers(deps, loyalty::engine::AsOf::EndOfDay(as_of), tenant, limits).await?)
}
