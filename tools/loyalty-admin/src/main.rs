//! `loyalty-admin`: the operator's command line over the loyalty table. It uses the same
//! `loyalty` library as the API functions, so every item it writes is one the API reads.
//! The table comes from `--table` or `LOYALTY_TABLE` (default `loyalty`); the endpoint
//! and credentials from the standard AWS settings (`AWS_ENDPOINT_URL_DYNAMODB` for
//! DynamoDB Local).

use std::process::ExitCode;
use std::sync::Arc;

use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use loyalty::deps::{CacheLifetimes, SystemClock};
use loyalty::domain::{Code, Email, Mobile, Money, TenantSlug};
use loyalty::keys::{Channel, KeyMode, KeyRecord, KeyStatus, Scope};
use loyalty::model::{CodeKind, Reward};
use loyalty::partner::CouponBody;
use loyalty::program::default_program;
use loyalty::public::RewardEntry;
use loyalty::session::Role;
use loyalty::store::Store;
use loyalty::Deps;
use loyalty_admin::settings::{self, ProgramChange};
use loyalty_admin::{self as admin, identity, stream, AdminError, CouponSpec};
use serde_json::json;

mod webhook;

#[derive(Parser)]
#[command(name = "loyalty-admin", version, about = "Operate the loyalty table: tenants, keys, coupons, demo data")]
struct Cli {
    /// Table name (default: $LOYALTY_TABLE, else `loyalty`).
    #[arg(long, global = true)]
    table: Option<String>,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    json: bool,
    /// The console's user pool (default: $LOYALTY_USER_POOL_ID), for `user` and
    /// `tenant create --owner-email`.
    #[arg(long, global = true)]
    pool_id: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the table if it is missing (safe to repeat).
    Init,
    /// The table's stream, read locally as Lambda reads it in the cloud.
    Stream {
        #[command(subcommand)]
        command: StreamCommand,
    },
    /// Tenants (loyalty programs).
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// API keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Coupons.
    Coupon {
        #[command(subcommand)]
        command: CouponCommand,
    },
    /// The rewards catalog.
    Reward {
        #[command(subcommand)]
        command: RewardCommand,
    },
    /// A tenant's program rules and their versions over time.
    Program {
        #[command(subcommand)]
        command: ProgramCommand,
    },
    /// Create the demo tenant `spice-garden` if missing and issue fresh keys.
    SeedDemo,
    /// Expire the points due as of the end of a day (in each program's own zone): what
    /// the scheduled job does each day, for members who made no change, then review the
    /// tiers due (programs whose tiers qualify on a period). Safe to repeat.
    Expire {
        /// The day, YYYY-MM-DD.
        #[arg(long)]
        as_of: NaiveDate,
        /// Only this tenant's members.
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: Option<TenantSlug>,
    },
    /// The console's people (a Cognito user pool; cognito-local through
    /// AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The user pool itself.
    Cognito {
        #[command(subcommand)]
        command: CognitoCommand,
    },
    /// A tenant's daily figures (from the table's stream), one row per day of the
    /// program: points earned, redeemed, expired, refunded, adjusted; new members;
    /// vouchers issued and used; outstanding points and their value.
    Report {
        /// The tenant.
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: TenantSlug,
        /// The first day, YYYY-MM-DD (the program's day).
        #[arg(long)]
        from: NaiveDate,
        /// The last day, YYYY-MM-DD (included).
        #[arg(long)]
        to: NaiveDate,
    },
    /// A tenant's webhook endpoints, their deliveries, and the sender.
    Webhook {
        #[command(subcommand)]
        command: webhook::WebhookCommand,
    },
}

#[derive(Subcommand)]
enum StreamCommand {
    /// Follow the stream: each new batch of records becomes webhook events and their
    /// deliveries (the stream-events function's code) and is counted into the daily
    /// figures (the stream-figures function's code), resuming from the checkpoint
    /// file (per shard, the last sequence number handled). The streams endpoint comes
    /// from AWS_ENDPOINT_URL_DYNAMODB_STREAMS.
    Follow {
        /// The checkpoint file (created when missing).
        #[arg(long)]
        checkpoint: std::path::PathBuf,
        /// Seconds between polls.
        #[arg(long, default_value_t = 1)]
        poll_seconds: u64,
        /// One pass over what is there now, then exit (prints what it did).
        #[arg(long)]
        once: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a person of a tenant with one role; prints a temporary password once (the
    /// first sign-in must choose a new one).
    Add {
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: TenantSlug,
        #[arg(long, value_parser = Email::parse)]
        email: Email,
        /// `owner` (everything, API keys included), `manager` (rewards, members, point
        /// adjustments) or `viewer` (reads, changes nothing).
        #[arg(long, value_parser = role)]
        role: Role,
        /// Make the printed password permanent (the local demo owner only).
        #[arg(long, hide = true)]
        permanent: bool,
    },
    /// A new temporary password for a person who forgot theirs, printed once; signs
    /// them out everywhere.
    ResetPassword {
        #[arg(long, value_parser = Email::parse)]
        email: Email,
    },
    /// Remove a person: signs them out everywhere and deletes them.
    Remove {
        #[arg(long, value_parser = Email::parse)]
        email: Email,
    },
}

#[derive(Subcommand)]
enum CognitoCommand {
    /// Create the user pool (email sign-in, the immutable attribute `tenant`), the
    /// console's app client and the groups owner/manager/viewer, when missing (for
    /// cognito-local; in AWS the SAM template creates them). Prints the ids, issuer and
    /// JWKS URL.
    Init {
        #[arg(long, default_value = "loyalty-local")]
        pool_name: String,
    },
}

#[derive(Subcommand)]
enum ProgramCommand {
    /// The rules in force now and every version, oldest first.
    Show {
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: TenantSlug,
    },
    /// Add a version of the rules in force from `--effective-from` (never rewriting an
    /// earlier one): the rules in force then, with the ones given here changed.
    Set {
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: TenantSlug,
        #[command(flatten)]
        change: ProgramChange,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant with the default rules (100 points per unit, 100 points = 1 off,
    /// Silver/Gold/Platinum).
    Create {
        #[arg(long, value_parser = TenantSlug::parse)]
        slug: TenantSlug,
        /// The program's name (with --sandbox-of: defaults to that tenant's name with
        /// " (sandbox)").
        #[arg(long, required_unless_present = "sandbox_of")]
        name: Option<String>,
        /// Make an integrator's own sandbox tenant: a copy of this tenant's program and
        /// rewards, with its own demo member, coupons and keys (printed once).
        #[arg(long, value_parser = TenantSlug::parse, conflicts_with = "owner_email")]
        sandbox_of: Option<TenantSlug>,
        /// Also add this person as the tenant's first owner (prints a temporary
        /// password once).
        #[arg(long, value_parser = Email::parse)]
        owner_email: Option<Email>,
    },
    /// Every tenant, from the tenant index.
    List,
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Issue a key; it is printed once and only its hash is stored.
    Issue {
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: TenantSlug,
        /// `live` or `test` (sandbox).
        #[arg(long, value_enum)]
        mode: ModeArg,
        /// `pos` (a till: everything but reward redemption) or `app` (a customer-facing
        /// app or site where the member signed in: may also redeem rewards).
        #[arg(long, value_enum)]
        channel: ChannelArg,
        /// Comma-separated: read:customers,write:transactions
        #[arg(long, value_delimiter = ',', value_parser = scope, default_value = "read:customers,write:transactions")]
        scopes: Vec<Scope>,
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List a tenant's keys (ids, never the keys).
    List {
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: TenantSlug,
    },
    /// Revoke a key by its id.
    Revoke { key_id: String },
}

#[derive(Subcommand)]
enum CouponCommand {
    /// Issue a coupon to a member.
    Issue {
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: TenantSlug,
        #[arg(long, value_parser = Mobile::parse)]
        mobile: Mobile,
        /// Amount off, in the program's currency.
        #[arg(long, conflicts_with = "percent", value_parser = Money::parse)]
        value: Option<Money>,
        /// Percent off, 1 to 100.
        #[arg(long)]
        percent: Option<u32>,
        /// Last valid day, YYYY-MM-DD, in the program's time zone.
        #[arg(long, value_parser = date)]
        expires: NaiveDate,
        #[arg(long, value_parser = Code::parse)]
        code: Option<Code>,
        #[arg(long, default_value = "campaign")]
        source: String,
    },
}

#[derive(Subcommand)]
enum RewardCommand {
    /// Add a reward to the catalog (or replace the one with the same id).
    Add {
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: TenantSlug,
        /// Public id, e.g. rwd-001.
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long)]
        points_cost: i64,
        /// `service`, `discount` (percent off) or `voucher` (amount off).
        #[arg(long = "type", value_enum)]
        reward_type: RewardType,
        /// Percent off, for `discount`.
        #[arg(long)]
        percent: Option<u32>,
        /// Amount off, for `voucher`.
        #[arg(long, value_parser = Money::parse)]
        value: Option<Money>,
    },
    /// List the catalog, archived rewards included.
    List {
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: TenantSlug,
    },
    /// Take a reward out of the catalog.
    Archive {
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: TenantSlug,
        #[arg(long)]
        id: String,
    },
}

/// A key's mode on the command line.
#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Live,
    #[value(alias = "sandbox")]
    Test,
}

/// A key's channel on the command line.
#[derive(Clone, Copy, ValueEnum)]
enum ChannelArg {
    Pos,
    App,
}

impl From<ChannelArg> for Channel {
    fn from(channel: ChannelArg) -> Self {
        match channel {
            ChannelArg::Pos => Channel::Pos,
            ChannelArg::App => Channel::App,
        }
    }
}

impl From<ModeArg> for KeyMode {
    fn from(mode: ModeArg) -> Self {
        match mode {
            ModeArg::Live => KeyMode::Live,
            ModeArg::Test => KeyMode::Test,
        }
    }
}

/// A reward's type on the command line, and the kind of code it issues.
#[derive(Clone, Copy, ValueEnum)]
enum RewardType {
    /// A free item or service.
    Service,
    /// Percent off.
    Discount,
    /// Amount off.
    Voucher,
}

impl From<RewardType> for CodeKind {
    fn from(t: RewardType) -> Self {
        match t {
            RewardType::Service => CodeKind::Service,
            RewardType::Discount => CodeKind::Percent,
            RewardType::Voucher => CodeKind::Fixed,
        }
    }
}

/// One of the comma-separated scopes, by the name the API uses.
fn scope(s: &str) -> Result<Scope, String> {
    Scope::parse(s).ok_or_else(|| format!("unknown scope {s} (read:customers, write:transactions)"))
}

fn role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role {s} (owner, manager, viewer)"))
}

fn date(s: &str) -> Result<NaiveDate, String> {
    s.parse().map_err(|_| "expected YYYY-MM-DD".to_owned())
}

fn reward_json(r: &Reward) -> serde_json::Value {
    let mut value = serde_json::to_value(RewardEntry::from(r)).unwrap_or_default();
    value["status"] = json!(if r.active { "active" } else { "archived" });
    value
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut store = Store::from_env().await;
    if let Some(table) = &cli.table {
        store = store.with_table(table);
    }
    // The functions' program cache lifetime, so a change's default start waits it out.
    let lifetimes = match CacheLifetimes::parse(None, std::env::var("LOYALTY_PROGRAM_CACHE_SECONDS").ok().as_deref()) {
        Ok(lifetimes) => lifetimes,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let deps = Deps::new(store, Arc::new(SystemClock)).with_cache_lifetimes(lifetimes);
    let pool_id = cli.pool_id.or_else(|| std::env::var("LOYALTY_USER_POOL_ID").ok()).filter(|p| !p.is_empty());
    match run(&deps, cli.command, cli.json, pool_id.as_deref()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn invalid(e: impl std::fmt::Display) -> AdminError {
    AdminError::Invalid(e.to_string())
}

fn print(as_json: bool, value: serde_json::Value, human: impl FnOnce() -> String) {
    if as_json {
        println!("{value}");
    } else {
        println!("{}", human());
    }
}

fn key_json(k: &KeyRecord) -> serde_json::Value {
    json!({
        "key_id": k.key_id,
        "tenant": k.tenant.as_str(),
        "mode": k.mode.as_str(),
        "channel": k.channel.as_str(),
        "scopes": k.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "status": if k.status == KeyStatus::Active { "active" } else { "revoked" },
        "label": k.label,
        "created_at": k.created_at.to_rfc3339(),
    })
}

fn require_pool(pool_id: Option<&str>) -> Result<&str, AdminError> {
    pool_id.ok_or_else(|| AdminError::Invalid("no user pool: pass --pool-id or set LOYALTY_USER_POOL_ID".into()))
}

fn print_new_user(as_json: bool, user: &identity::NewUser) -> Result<(), AdminError> {
    print(as_json, serde_json::to_value(user).map_err(invalid)?, || {
        format!(
            "added {} ({}, {})\ntemporary password: {}\n(shown once: the first sign-in must choose a new one)",
            user.email, user.tenant, user.role, user.temporary_password
        )
    });
    Ok(())
}

async fn run(deps: &Deps, command: Command, as_json: bool, pool_id: Option<&str>) -> Result<(), AdminError> {
    match command {
        Command::Init => {
            let created = deps.store.create_table_if_missing().await?;
            let table = deps.store.table().to_owned();
            print(as_json, json!({ "table": table, "created": created }), || {
                if created {
                    format!("created table {table}")
                } else {
                    format!("table {table} already exists")
                }
            });
        }
        Command::Stream { command: StreamCommand::Follow { checkpoint, poll_seconds, once } } => {
            if !once {
                loyalty::telemetry::init(); // JSON lines on stdout, like the function's
            }
            let consumer_deps =
                Deps::new(deps.store.clone(), Arc::new(SystemClock)).with_cache_lifetimes(deps.cache_lifetimes());
            let consumer = loyalty::events::consumer::Consumer::new(Arc::new(consumer_deps));
            let counter_deps =
                Deps::new(deps.store.clone(), Arc::new(SystemClock)).with_cache_lifetimes(deps.cache_lifetimes());
            let counter = loyalty::figures::Counter::new(Arc::new(counter_deps));
            let follower = stream::Follower::new(stream::Follower::client_from_env().await, consumer, checkpoint)
                .with_figures(counter);
            if once {
                let pass = follower.pass().await?;
                print(as_json, serde_json::to_value(&pass).map_err(invalid)?, || {
                    format!("{} records, {} events, {} deliveries", pass.records, pass.events, pass.deliveries)
                });
            } else {
                follower.follow(std::time::Duration::from_secs(poll_seconds.max(1))).await?;
            }
        }
        Command::Tenant { command: TenantCommand::Create { slug, name, sandbox_of: Some(of), .. } } => {
            let seed = admin::create_sandbox_tenant(deps, &slug, &of, name.as_deref()).await?;
            let value = serde_json::to_value(&seed).map_err(invalid)?;
            print(as_json, value, || demo_text(&format!("sandbox tenant (a copy of {of})"), &seed));
        }
        Command::Tenant { command: TenantCommand::Create { slug: tenant, name, owner_email, sandbox_of: None } } => {
            let name = name.ok_or_else(|| AdminError::Invalid("--name is required".into()))?;
            // The pool is checked before the tenant is written.
            let owner_pool = match &owner_email {
                Some(_) => Some(require_pool(pool_id)?),
                None => None,
            };
            let created = admin::create_tenant(deps, &tenant, &default_program(&name)).await?;
            print(as_json, json!({ "tenant": tenant.as_str(), "created": created }), || {
                if created {
                    format!("created tenant {tenant}")
                } else {
                    format!("tenant {tenant} already exists (left unchanged)")
                }
            });
            if let (Some(email), Some(pool)) = (owner_email, owner_pool) {
                let user = identity::add_user(&identity::client().await, pool, &tenant, &email, Role::Owner).await?;
                print_new_user(as_json, &user)?;
            }
        }
        Command::Report { tenant, from, to } => {
            let report = loyalty::figures::report(deps, &tenant, from, to).await.map_err(|e| match e {
                loyalty::figures::ReportError::Invalid(m) => AdminError::Invalid(m),
                loyalty::figures::ReportError::Store(e) => AdminError::from(e),
            })?;
            print(as_json, serde_json::to_value(&report).map_err(invalid)?, || {
                let mut lines = vec![format!(
                    "{:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7} {:>7} {:>12}",
                    "date",
                    "earned",
                    "redeemed",
                    "expired",
                    "refunded",
                    "adjusted",
                    "members",
                    "issued",
                    "used",
                    "outstanding"
                )];
                for d in &report.days {
                    let f = &d.figures;
                    lines.push(format!(
                        "{:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7} {:>7} {:>12}",
                        d.date.to_string(),
                        f.points_earned,
                        f.points_redeemed,
                        f.points_expired,
                        f.points_refunded,
                        f.points_adjusted,
                        f.new_members,
                        f.vouchers_issued,
                        f.vouchers_used,
                        d.outstanding_points
                    ));
                }
                lines.join("\n")
            });
        }
        Command::Expire { as_of, tenant } => {
            let run = admin::expire(deps, as_of, tenant.as_ref()).await?;
            let tiers = admin::review_tiers(deps, as_of, tenant.as_ref()).await?;
            let mut value = serde_json::to_value(&run).map_err(invalid)?;
            value["as_of"] = json!(as_of.to_string());
            value["tiers"] = serde_json::to_value(&tiers).map_err(invalid)?;
            print(as_json, value, || {
                format!(
                    "as of {as_of}: {} points expired from {} members ({} checked, {} failed); \
                     {} tiers reviewed, {} changed ({} failed)",
                    run.points, run.members, run.checked, run.failed, tiers.reviewed, tiers.changed, tiers.failed
                )
            });
        }
        Command::Tenant { command: TenantCommand::List } => {
            let tenants = settings::list_tenants(deps).await?;
            print(as_json, json!(tenants.iter().map(settings::tenant_json).collect::<Vec<_>>()), || {
                tenants.iter().map(|t| format!("{}  {}", t.tenant, t.name)).collect::<Vec<_>>().join("\n")
            });
        }
        Command::Program { command: ProgramCommand::Show { tenant } } => {
            let versions = settings::program_versions(deps, &tenant).await?;
            let value = settings::versions_json(&tenant, &versions, deps.now());
            print(as_json, value.clone(), || serde_json::to_string_pretty(&value).unwrap_or_default());
        }
        Command::Program { command: ProgramCommand::Set { tenant, change } } => {
            let version = settings::set_program(deps, &tenant, &change).await?;
            let mut value = settings::version_json(&version);
            value["tenant"] = json!(tenant.as_str());
            print(as_json, value.clone(), || serde_json::to_string_pretty(&value).unwrap_or_default());
        }
        Command::Key { command: KeyCommand::Issue { tenant, mode, channel, scopes, label } } => {
            let issued = admin::issue_key(deps, &tenant, mode.into(), channel.into(), scopes, &label).await?;
            let mut value = key_json(&issued.record);
            value["key"] = json!(issued.plain);
            print(as_json, value, || {
                format!(
                    "key id: {}\nkey:    {}\n(shown once: only its hash is stored)",
                    issued.record.key_id, issued.plain
                )
            });
        }
        Command::Key { command: KeyCommand::List { tenant } } => {
            let keys = deps.store.list_keys(&tenant).await?;
            print(as_json, json!(keys.iter().map(key_json).collect::<Vec<_>>()), || {
                keys.iter()
                    .map(|k| {
                        format!(
                            "{}  {:4}  {:3}  {:8}  {}  {}",
                            k.key_id,
                            k.mode.as_str(),
                            k.channel.as_str(),
                            if k.status == KeyStatus::Active { "active" } else { "revoked" },
                            k.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","),
                            k.label
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        Command::Key { command: KeyCommand::Revoke { key_id } } => {
            let record = admin::revoke_key(deps, &key_id).await?;
            print(as_json, key_json(&record), || {
                format!("revoked {key_id} (warm functions stop accepting it within their key cache lifetime, 5 s by default)")
            });
        }
        Command::Coupon { command: CouponCommand::Issue { tenant, mobile, value, percent, expires, code, source } } => {
            let spec = CouponSpec { mobile, value, percent, expires, code, source };
            let coupon = admin::issue_coupon(deps, &tenant, spec).await?;
            if coupon.is_expired(deps.now()) {
                eprintln!("warning: coupon {} is already expired (useful to test the expired path)", coupon.code);
            }
            let body = serde_json::to_value(CouponBody::from(&coupon)).map_err(invalid)?;
            print(as_json, body, || format!("issued coupon {} (expires {})", coupon.code, coupon.expiry_date));
        }
        Command::Reward {
            command: RewardCommand::Add { tenant, id, name, description, points_cost, reward_type, percent, value },
        } => {
            let kind = CodeKind::from(reward_type);
            let value_minor = value.map_or(0, Money::minor);
            let reward = Reward {
                public_id: id,
                name,
                description,
                points_cost,
                kind,
                value_minor,
                discount_percent: percent,
                active: true,
            };
            admin::add_reward(deps, &tenant, &reward).await?;
            print(as_json, reward_json(&reward), || format!("added reward {}", reward.public_id));
        }
        Command::Reward { command: RewardCommand::List { tenant } } => {
            let rewards = deps.store.list_rewards(&tenant).await?;
            print(as_json, json!(rewards.iter().map(reward_json).collect::<Vec<_>>()), || {
                rewards
                    .iter()
                    .map(|r| {
                        format!(
                            "{}  {:8}  {:>9} pts  {}",
                            r.public_id,
                            if r.active { "active" } else { "archived" },
                            r.points_cost,
                            r.name
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        Command::Reward { command: RewardCommand::Archive { tenant, id } } => {
            let reward = admin::archive_reward(deps, &tenant, &id).await?;
            print(as_json, reward_json(&reward), || format!("archived reward {id}"));
        }
        Command::User { command: UserCommand::Add { tenant, email, role, permanent } } => {
            let pool = require_pool(pool_id)?;
            let client = identity::client().await;
            // A tenant's people belong to a tenant that exists.
            if deps.store.get_program(&tenant).await?.is_none() {
                return Err(AdminError::NotFound(format!("no tenant {tenant}")));
            }
            let mut user = identity::add_user(&client, pool, &tenant, &email, role).await?;
            if permanent {
                identity::set_password(&client, pool, &email, &user.temporary_password, true).await?;
            }
            if permanent && !as_json {
                user.temporary_password = format!("{} (permanent)", user.temporary_password);
            }
            print_new_user(as_json, &user)?;
        }
        Command::User { command: UserCommand::ResetPassword { email } } => {
            let pool = require_pool(pool_id)?;
            let password = identity::reset_password(&identity::client().await, pool, &email).await?;
            print(as_json, json!({ "email": email.as_str(), "temporary_password": password }), || {
                format!(
                    "{email}: temporary password {password}\n(shown once: the next sign-in must choose a new one; signed out everywhere)"
                )
            });
        }
        Command::User { command: UserCommand::Remove { email } } => {
            let pool = require_pool(pool_id)?;
            identity::remove_user(&identity::client().await, pool, &email).await?;
            print(as_json, json!({ "email": email.as_str(), "removed": true }), || format!("removed {email}"));
        }
        Command::Cognito { command: CognitoCommand::Init { pool_name } } => {
            let ids = identity::init_pool(&identity::client().await, &pool_name).await?;
            let endpoint = std::env::var("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER").ok();
            let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
            let (issuer, jwks_url) = identity::issuer_and_jwks(endpoint.as_deref(), &region, &ids.pool_id);
            let value = json!({
                "pool_id": ids.pool_id, "client_id": ids.client_id, "issuer": issuer, "jwks_url": jwks_url,
            });
            print(as_json, value, || {
                format!("user pool: {}\napp client: {}\nissuer: {issuer}\nJWKS: {jwks_url}", ids.pool_id, ids.client_id)
            });
        }
        Command::Webhook { command } => webhook::run(deps, command, as_json).await?,
        Command::SeedDemo => {
            deps.store.create_table_if_missing().await?;
            let seed = admin::seed_demo(deps).await?;
            let value = serde_json::to_value(&seed).map_err(invalid)?;
            print(as_json, value, || demo_text("demo tenant", &seed));
        }
    }
    Ok(())
}

/// A seeded tenant as the CLI prints it.
fn demo_text(what: &str, seed: &admin::DemoSeed) -> String {
    format!(
                    "{what}: {}\nlive key:      {} (pos)\nsandbox key:   {} (pos)\nread-only key: {} (pos)\napp key:       {} (app: may redeem rewards)\nmember: {} ({}, {}), {} points, {}\ncoupons: {}\nrewards: {}",
                    seed.tenant,
                    seed.live_key,
                    seed.test_key,
                    seed.read_only_key,
                    seed.app_key,
                    seed.customer_name,
                    seed.customer_mobile,
                    seed.customer_email,
                    seed.points_balance,
                    seed.tier,
                    seed.coupons
                        .iter()
                        .map(|c| format!("{} ({})", c.code, c.status))
                        .collect::<Vec<_>>()
                        .join(", "),
                    seed.rewards.iter().map(|r| r.public_id.as_str()).collect::<Vec<_>>().join(", ")
                )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_issue_requires_a_channel() {
        let base = ["loyalty-admin", "key", "issue", "--tenant", "spice-garden", "--mode", "live"];
        let missing = Cli::try_parse_from(base).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(missing.contains("--channel"), "{missing}");
        assert!(Cli::try_parse_from(base.iter().copied().chain(["--channel", "till"])).is_err());
        for (arg, channel) in [("pos", Channel::Pos), ("app", Channel::App)] {
            let cli = Cli::try_parse_from(base.iter().copied().chain(["--channel", arg])).unwrap();
            let Command::Key { command: KeyCommand::Issue { channel: parsed, .. } } = cli.command else {
                panic!("key issue");
            };
            assert_eq!(Channel::from(parsed), channel);
        }
    }

    #[test]
    fn program_set_reads_every_rule() {
        let cli = Cli::try_parse_from([
            "loyalty-admin",
            "program",
            "set",
            "--tenant",
            "acme",
            "--earn-rate",
            "2.5",
            "--redemption-rate",
            "50",
            "--voucher-validity-days",
            "60",
            "--utc-offset-minutes",
            "-300",
            "--name",
            "Acme",
            "--points-name",
            "Stars",
            "--tiers",
            r#"[{"name":"Base","min_lifetime_points":0,"multiplier_milli":1000,"priority_service":false}]"#,
            "--category-bonuses",
            "[]",
            "--otp-sms-per-hour",
            "5",
            "--otp-sms-per-day",
            "50",
            "--otp-wrong-guesses-per-day",
            "3",
            "--points-expiry-months",
            "12",
            "--effective-from",
            "2026-04-01T00:00:00+05:30",
        ])
        .unwrap();
        let Command::Program { command: ProgramCommand::Set { change, .. } } = cli.command else {
            panic!("program set");
        };
        assert_eq!(
            (change.earn_rate, change.redemption_rate, change.voucher_validity_days),
            (Some(2_500), Some(50), Some(60))
        );
        assert_eq!(change.utc_offset_minutes, Some(-300));
        assert_eq!(change.points_expiry_months, Some(settings::PointsExpiry(Some(12))));
        assert_eq!(change.tiers.map(|t| t.len()), Some(1));
        assert_eq!(change.effective_from.map(|t| t.to_rfc3339()), Some("2026-03-31T18:30:00+00:00".into()));
        for bad in [["--earn-rate", "1.2345"], ["--tiers", "gold"], ["--effective-from", "tomorrow"]] {
            let args = ["loyalty-admin", "program", "set", "--tenant", "acme"].into_iter().chain(bad);
            assert!(Cli::try_parse_from(args).is_err(), "{bad:?}");
        }
    }
}
