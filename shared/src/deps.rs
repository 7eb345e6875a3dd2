//! What a handler needs, built once in `main` and passed down: the store, the clock and
//! the in-memory caches. Nothing below `main` reads the environment.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::keys::{KeyHash, KeyRecord};
use crate::program::ProgramVersions;
#[cfg(feature = "console")]
use crate::session::{SessionConfig, SessionConfigError, Sessions, Staff};
use crate::sms::{LocalSms, SmsSender, SmsSetting, SmsSettingError};
use crate::store::Store;

/// How long a key record is trusted from memory by default: a revoked key stops working
/// within this time on every warm function (the read on a miss is strongly consistent, so
/// no replication lag adds to it).
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);
/// How long a program's rules are served from memory by default: a rule change applies
/// within this time.
pub const PROGRAM_CACHE_TTL: Duration = Duration::from_secs(60);
/// How often one process writes a key's "last used" day: at most once per key per this
/// interval, so a busy key costs one small write an hour, not one per request.
pub const KEY_USE_WRITE_INTERVAL: Duration = Duration::from_secs(3_600);
/// The longest lifetime a setting may ask for: beyond it a revoked key would live on for
/// hours, which no one means to configure.
const MAX_CACHE_SECONDS: u64 = 3_600;
/// Enough for every tenant's program, and the keys of thousands of tenants, in one warm
/// function (a few MiB at most).
pub const CACHE_MAX_ENTRIES: usize = 16_384;

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until told to move, for tests.
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        FixedClock(Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A small map whose entries expire after a fixed time. Bounded: when full, expired
/// entries go first, then the oldest quarter (a cache miss costs one read, never
/// correctness).
pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        TtlCache { ttl, entries: Mutex::new(HashMap::new()) }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        self.get_at(key, Instant::now())
    }

    pub fn insert(&self, key: K, value: V) {
        self.insert_at(key, value, Instant::now());
    }

    /// [`TtlCache::get`] as seen at `now` (a simulation of time drives the cache with
    /// this; the functions use `get`).
    pub fn get_at(&self, key: &K, now: Instant) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(key).filter(|(at, _)| now.saturating_duration_since(*at) < self.ttl).map(|(_, v)| v.clone())
    }

    /// [`TtlCache::insert`] at `now`.
    pub fn insert_at(&self, key: K, value: V, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CACHE_MAX_ENTRIES {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
            if entries.len() >= CACHE_MAX_ENTRIES {
                let mut ages: Vec<Instant> = entries.values().map(|(at, _)| *at).collect();
                ages.sort_unstable();
                let cutoff = ages[ages.len() / 4];
                entries.retain(|_, (at, _)| *at > cutoff);
            }
        }
        entries.insert(key, (now, value));
    }

    /// How many entries the map holds (expired ones included until an insert drops them).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn remove(&self, key: &K) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

/// Builds the SNS sender from the AWS settings. Only a function that sends SMS passes
/// one to [`Deps::from_env`] (through `lambda::serve_sending_sms`), so only that
/// function's binary links the SNS client, whatever features a shared build unifies.
pub type SnsBuilder = fn(&aws_config::SdkConfig) -> Arc<dyn SmsSender>;

/// The SNS sender from the AWS settings: India's DLT entity and template ids and the
/// sender id from `LOYALTY_SMS_DLT_ENTITY_ID` / `LOYALTY_SMS_DLT_TEMPLATE_ID` /
/// `LOYALTY_SMS_SENDER_ID` when set.
#[cfg(feature = "sns")]
pub fn sns_sender(config: &aws_config::SdkConfig) -> Arc<dyn SmsSender> {
    Arc::new(crate::sms::SnsSms {
        client: aws_sdk_sns::Client::new(config),
        dlt_entity_id: std::env::var("LOYALTY_SMS_DLT_ENTITY_ID").ok().filter(|v| !v.is_empty()),
        dlt_template_id: std::env::var("LOYALTY_SMS_DLT_TEMPLATE_ID").ok().filter(|v| !v.is_empty()),
        sender_id: std::env::var("LOYALTY_SMS_SENDER_ID").ok().filter(|v| !v.is_empty()),
    })
}

/// Adds the console's parts (the session verifier, the team's user pool) from the
/// environment. Reached only through [`Deps::from_env`], so a function that starts with
/// [`Deps::from_env_without_console`] does not link them.
type ConsoleBuilder = fn(Deps, &aws_config::SdkConfig) -> Result<Deps, ConfigError>;

#[cfg(feature = "console")]
const CONSOLE: Option<ConsoleBuilder> = Some(console_from_env);
#[cfg(not(feature = "console"))]
const CONSOLE: Option<ConsoleBuilder> = None;

/// The session verifier from `LOYALTY_SESSION_*` ([`SessionConfig::from_env`]) and,
/// with the `cognito` feature, the team's pool from `LOYALTY_TEAM_POOL_ID`.
#[cfg(feature = "console")]
#[cfg_attr(not(feature = "cognito"), allow(unused_variables))]
fn console_from_env(deps: Deps, config: &aws_config::SdkConfig) -> Result<Deps, ConfigError> {
    let deps = match SessionConfig::from_env()? {
        Some(session) => {
            deps.with_sessions(Arc::new(Sessions::over_http(session).map_err(ConfigError::SessionClient)?))
        }
        None => deps,
    };
    #[cfg(feature = "cognito")]
    let deps = match crate::team::Pool::from_env(config) {
        Some(pool) => deps.with_team(Arc::new(pool)),
        None => deps,
    };
    Ok(deps)
}

/// How long the in-memory caches trust what they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLifetimes {
    /// Key records (and unknown keys): the most a revoked key lives on in a warm function.
    pub keys: Duration,
    /// Programs: the most a rule change waits to apply.
    pub programs: Duration,
}

impl Default for CacheLifetimes {
    fn default() -> Self {
        CacheLifetimes { keys: KEY_CACHE_TTL, programs: PROGRAM_CACHE_TTL }
    }
}

impl CacheLifetimes {
    /// `LOYALTY_KEY_CACHE_SECONDS` and `LOYALTY_PROGRAM_CACHE_SECONDS` (whole seconds, 0
    /// to 3600; 0 reads the table on every request), each defaulting when unset or empty.
    /// Only `main` reads the environment (through [`Deps::from_env`]).
    pub fn parse(keys: Option<&str>, programs: Option<&str>) -> Result<Self, ConfigError> {
        let default = CacheLifetimes::default();
        Ok(CacheLifetimes {
            keys: seconds("LOYALTY_KEY_CACHE_SECONDS", keys, default.keys)?,
            programs: seconds("LOYALTY_PROGRAM_CACHE_SECONDS", programs, default.programs)?,
        })
    }
}

fn seconds(name: &'static str, value: Option<&str>, default: Duration) -> Result<Duration, ConfigError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if n <= MAX_CACHE_SECONDS => Ok(Duration::from_secs(n)),
            _ => Err(ConfigError::CacheSeconds { name, value: v.to_owned() }),
        },
    }
}

/// A setting a function cannot start with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Sms(#[from] SmsSettingError),
    #[cfg(feature = "console")]
    #[error(transparent)]
    Session(#[from] SessionConfigError),
    #[cfg(feature = "console")]
    #[error("the session verifier cannot start: {0}")]
    SessionClient(String),
    #[error("{name} must be whole seconds from 0 to 3600, not {value:?}")]
    CacheSeconds { name: &'static str, value: String },
    #[error(
        "LOYALTY_FIXED_OTP is allowed only on the sandbox stage (LOYALTY_STAGE=sandbox), not on {stage:?}: a live \
         stage's one-time codes are never known in advance"
    )]
    FixedOtpOffSandbox { stage: String },
    #[error("LOYALTY_FIXED_OTP must be six digits, not {0:?}")]
    FixedOtpShape(String),
}

/// The one-time code every live key's `/pos/otp` issues on this stage, from
/// `LOYALTY_FIXED_OTP` (six digits; unset or empty: none, codes are random). Allowed only
/// when `LOYALTY_STAGE` is `sandbox`: integrators test points redemption end to end
/// there with their live keys on demo data. Anywhere else it is an error, so the
/// function stops at init rather than issue codes anyone can know.
pub fn fixed_otp_setting(stage: Option<&str>, value: Option<&str>) -> Result<Option<String>, ConfigError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if stage.map(str::trim) != Some("sandbox") {
        return Err(ConfigError::FixedOtpOffSandbox { stage: stage.unwrap_or_default().to_owned() });
    }
    if value.len() != 6 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ConfigError::FixedOtpShape(value.to_owned()));
    }
    Ok(Some(value.to_owned()))
}

pub struct Deps {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub sms: Arc<dyn SmsSender>,
    /// Key records by hash; `None` remembers a key that does not exist, so a stream of
    /// made-up keys costs one read per key, not one per request.
    pub keys: TtlCache<KeyHash, Option<KeyRecord>>,
    /// Every version of a tenant's program (one Query on a miss).
    pub programs: TtlCache<String, Arc<ProgramVersions>>,
    /// The value the stage's CloudFront distribution sends in [`EDGE_HEADER`] to the
    /// API: when set, a request without it (one sent to the API's own address, past the
    /// edge's limits) is refused. `None` (locally, and on stages without it) checks
    /// nothing.
    pub edge_secret: Option<String>,
    /// When this process last wrote each key's "last used" day (by key id); `None`
    /// writes none (what [`Deps::new`] starts with: tests that compare the table
    /// before and after a request see only the request's own writes).
    pub key_uses: Option<TtlCache<String, ()>>,
    /// The code a live key's `/pos/otp` issues on the sandbox stage
    /// ([`fixed_otp_setting`]); `None` (every other stage): a random code.
    pub fixed_otp: Option<String>,
    /// The console's session verifier (with its cached JWKS), when the function is
    /// configured with a user pool (`LOYALTY_SESSION_ISSUER`); `None` refuses every
    /// session.
    #[cfg(feature = "console")]
    pub sessions: Option<Arc<Sessions>>,
    /// The stage's user pool, for the team's functions (`LOYALTY_TEAM_POOL_ID`); `None`
    /// answers the team's routes 503.
    #[cfg(feature = "cognito")]
    pub team: Option<Arc<crate::team::Pool>>,
}

/// The header the edge adds to every request it forwards to the API.
pub const EDGE_HEADER: &str = "x-origin-verify";

impl Deps {
    /// With the default cache lifetimes ([`CacheLifetimes::default`]).
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Deps {
            store,
            clock,
            sms: Arc::new(LocalSms { outbox: None }),
            keys: TtlCache::new(KEY_CACHE_TTL),
            programs: TtlCache::new(PROGRAM_CACHE_TTL),
            edge_secret: None,
            key_uses: None,
            fixed_otp: None,
            #[cfg(feature = "console")]
            sessions: None,
            #[cfg(feature = "cognito")]
            team: None,
        }
    }

    /// Requests must carry the edge's `secret` in [`EDGE_HEADER`].
    pub fn with_edge_secret(mut self, secret: Option<String>) -> Self {
        self.edge_secret = secret.filter(|s| !s.is_empty());
        self
    }

    /// Live keys' one-time codes are `code` (the sandbox stage's setting, already
    /// checked by [`fixed_otp_setting`]).
    pub fn with_fixed_otp(mut self, code: Option<String>) -> Self {
        self.fixed_otp = code;
        self
    }

    /// Notes each key's "last used" day, at most once per key per `interval` in this
    /// process ([`KEY_USE_WRITE_INTERVAL`] in the functions).
    pub fn with_key_use_notes(mut self, interval: Duration) -> Self {
        self.key_uses = Some(TtlCache::new(interval));
        self
    }

    /// The same, with these cache lifetimes (the caches start empty).
    pub fn with_cache_lifetimes(mut self, lifetimes: CacheLifetimes) -> Self {
        self.keys = TtlCache::new(lifetimes.keys);
        self.programs = TtlCache::new(lifetimes.programs);
        self
    }

    /// The cache lifetimes in force.
    pub fn cache_lifetimes(&self) -> CacheLifetimes {
        CacheLifetimes { keys: self.keys.ttl, programs: self.programs.ttl }
    }

    #[cfg(feature = "console")]
    pub fn with_sessions(mut self, sessions: Arc<Sessions>) -> Self {
        self.sessions = Some(sessions);
        self
    }

    /// The console session of a request (`Authorization: Bearer`), verified; 401 when
    /// none or when the function takes no sessions.
    #[cfg(feature = "console")]
    pub async fn staff(&self, headers: &http::HeaderMap) -> Result<Staff, crate::ApiError> {
        match &self.sessions {
            Some(sessions) => sessions.from_headers(headers, self.now()).await,
            None => Err(crate::ApiError::Unauthorized),
        }
    }

    #[cfg(feature = "cognito")]
    pub fn with_team(mut self, pool: Arc<crate::team::Pool>) -> Self {
        self.team = Some(pool);
        self
    }

    pub fn with_sms(mut self, sms: Arc<dyn SmsSender>) -> Self {
        self.sms = sms;
        self
    }

    /// For `main` only: the store from `LOYALTY_TABLE` and the standard AWS settings, and
    /// the SMS sender `LOYALTY_SMS` names ([`SmsSetting::parse`]): Amazon SNS for `sns`,
    /// built by `sns` (only a function that sends SMS passes it), else the local sender
    /// (unset or `log`), which appends to `LOYALTY_SMS_OUTBOX` when set; the cache
    /// lifetimes from `LOYALTY_KEY_CACHE_SECONDS` / `LOYALTY_PROGRAM_CACHE_SECONDS`
    /// ([`CacheLifetimes::parse`]); the edge's secret from `LOYALTY_EDGE_SECRET`; the
    /// console session verifier from `LOYALTY_SESSION_*` ([`SessionConfig::from_env`]).
    /// A setting it does not know is an error:
    /// the function stops at init rather than answer with a sender nobody chose.
    ///
    /// With the console's parts when this crate is built with them (see
    /// [`from_env_without_console`](Self::from_env_without_console)).
    pub async fn from_env(sns: Option<SnsBuilder>) -> Result<Self, ConfigError> {
        Deps::from_env_with(sns, CONSOLE).await
    }

    /// [`from_env`](Self::from_env) without the console's parts (the session verifier,
    /// the team's user pool), whatever features this crate is built with: a workspace
    /// build turns on every feature any member asks for, and a function that starts
    /// here (an API-key route, a stream consumer, a job) does not link that code.
    pub async fn from_env_without_console(sns: Option<SnsBuilder>) -> Result<Self, ConfigError> {
        Deps::from_env_with(sns, None).await
    }

    async fn from_env_with(sns: Option<SnsBuilder>, console: Option<ConsoleBuilder>) -> Result<Self, ConfigError> {
        let var = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
        let lifetimes = CacheLifetimes::parse(
            var("LOYALTY_KEY_CACHE_SECONDS").as_deref(),
            var("LOYALTY_PROGRAM_CACHE_SECONDS").as_deref(),
        )?;
        let fixed_otp = fixed_otp_setting(var("LOYALTY_STAGE").as_deref(), var("LOYALTY_FIXED_OTP").as_deref())?;
        let value = var("LOYALTY_SMS");
        let setting = SmsSetting::parse(value.as_deref(), sns.is_some())?;
        let config = Store::load_aws_config().await;
        let sms: Arc<dyn SmsSender> = match (setting, sns) {
            (SmsSetting::Sns, Some(build)) => build(&config),
            (SmsSetting::Sns, None) => return Err(SmsSettingError::SnsNotBuilt.into()),
            (SmsSetting::Local, _) => {
                Arc::new(LocalSms { outbox: std::env::var_os("LOYALTY_SMS_OUTBOX").map(Into::into) })
            }
        };
        let deps = Deps::new(Store::from_config(&config), Arc::new(SystemClock))
            .with_sms(sms)
            .with_cache_lifetimes(lifetimes)
            .with_edge_secret(var("LOYALTY_EDGE_SECRET"))
            .with_fixed_otp(fixed_otp)
            .with_key_use_notes(KEY_USE_WRITE_INTERVAL);
        match console {
            Some(build) => build(deps, &config),
            None => Ok(deps),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_otp_is_refused_off_the_sandbox_stage() {
        assert_eq!(fixed_otp_setting(Some("sandbox"), Some("123456")).unwrap(), Some("123456".into()));
        assert_eq!(fixed_otp_setting(Some("live"), None).unwrap(), None);
        assert_eq!(fixed_otp_setting(Some("live"), Some(" ")).unwrap(), None);
        for stage in [Some("live"), None, Some("Sandbox"), Some("")] {
            let err = fixed_otp_setting(stage, Some("123456")).unwrap_err();
            assert!(matches!(err, ConfigError::FixedOtpOffSandbox { .. }), "{stage:?}: {err}");
        }
        for bad in ["12345", "1234567", "12345a"] {
            assert!(matches!(fixed_otp_setting(Some("sandbox"), Some(bad)), Err(ConfigError::FixedOtpShape(_))));
        }
    }

    #[test]
    fn entries_expire() {
        let cache = TtlCache::new(Duration::from_millis(20));
        cache.insert("a", 1);
        assert_eq!(cache.get(&"a"), Some(1));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(cache.get(&"a"), None);
    }

    #[test]
    fn entries_expire_at_a_given_instant_and_the_map_stays_bounded() {
        let cache = TtlCache::new(Duration::from_secs(5));
        let t0 = Instant::now();
        cache.insert_at(0u32, (), t0);
        assert_eq!(cache.get_at(&0, t0 + Duration::from_millis(4_999)), Some(()));
        assert_eq!(cache.get_at(&0, t0 + Duration::from_secs(5)), None);
        for k in 1..=CACHE_MAX_ENTRIES as u32 + 10 {
            cache.insert_at(k, (), t0 + Duration::from_millis(u64::from(k)));
        }
        assert!(cache.len() <= CACHE_MAX_ENTRIES);
        let last = CACHE_MAX_ENTRIES as u32 + 10;
        assert_eq!(cache.get_at(&last, t0 + Duration::from_millis(u64::from(last) + 1)), Some(()));
    }

    #[test]
    fn cache_lifetimes_default_to_five_seconds_for_keys() {
        let default = CacheLifetimes::parse(None, Some(" ")).unwrap();
        assert_eq!(default.keys, Duration::from_secs(5));
        assert_eq!(default.programs, PROGRAM_CACHE_TTL);
        let set = CacheLifetimes::parse(Some("2"), Some("0")).unwrap();
        assert_eq!(set, CacheLifetimes { keys: Duration::from_secs(2), programs: Duration::ZERO });
        for bad in ["-1", "5s", "1.5", "3601"] {
            let err = CacheLifetimes::parse(Some(bad), None).unwrap_err();
            assert!(err.to_string().contains("LOYALTY_KEY_CACHE_SECONDS"), "{err}");
        }
    }

    #[test]
    fn stays_bounded() {
        let cache = TtlCache::new(Duration::from_secs(60));
        for i in 0..(CACHE_MAX_ENTRIES * 3) {
            cache.insert(i, i);
        }
        assert!(cache.entries.lock().unwrap().len() <= CACHE_MAX_ENTRIES);
    }
}
