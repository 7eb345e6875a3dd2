//! What a handler needs, built once in `main` and passed down: the store, the clock and
//! the in-memory caches. Nothing below `main` reads the environment.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::keys::{KeyHash, KeyRecord};
use crate::program::Program;
use crate::sms::{LocalSms, SmsSender, SmsSetting, SmsSettingError};
use crate::store::Store;

/// How long a key record is trusted from memory: a revoked key stops working within
/// this time on every warm function.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(30);
/// How long a program's rules are served from memory: a rule change applies within this
/// time.
pub const PROGRAM_CACHE_TTL: Duration = Duration::from_secs(60);
/// Enough for every tenant's program, and the keys of thousands of tenants, in one warm
/// function (a few MiB at most).
const CACHE_MAX_ENTRIES: usize = 16_384;

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
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, v)| v.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CACHE_MAX_ENTRIES {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= CACHE_MAX_ENTRIES {
                let mut ages: Vec<Instant> = entries.values().map(|(at, _)| *at).collect();
                ages.sort_unstable();
                let cutoff = ages[ages.len() / 4];
                entries.retain(|_, (at, _)| *at > cutoff);
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    pub fn remove(&self, key: &K) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

/// Builds the SNS sender from the AWS settings. Only a function that sends SMS passes
/// one to [`Deps::from_env`] (through `lambda::serve_sending_sms`), so only that
/// function's binary links the SNS client, whatever features a shared build unifies.
pub type SnsBuilder = fn(&aws_config::SdkConfig) -> Arc<dyn SmsSender>;

/// The SNS sender from the AWS settings: the country code from
/// `LOYALTY_SMS_COUNTRY_CODE` (default `+91`), India's DLT entity and template ids from
/// `LOYALTY_SMS_DLT_ENTITY_ID` / `LOYALTY_SMS_DLT_TEMPLATE_ID` when set.
#[cfg(feature = "sns")]
pub fn sns_sender(config: &aws_config::SdkConfig) -> Arc<dyn SmsSender> {
    Arc::new(crate::sms::SnsSms {
        client: aws_sdk_sns::Client::new(config),
        country_code: std::env::var("LOYALTY_SMS_COUNTRY_CODE").unwrap_or_else(|_| "+91".into()),
        dlt_entity_id: std::env::var("LOYALTY_SMS_DLT_ENTITY_ID").ok().filter(|v| !v.is_empty()),
        dlt_template_id: std::env::var("LOYALTY_SMS_DLT_TEMPLATE_ID").ok().filter(|v| !v.is_empty()),
    })
}

/// A setting a function cannot start with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Sms(#[from] SmsSettingError),
}

pub struct Deps {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub sms: Arc<dyn SmsSender>,
    /// Key records by hash; `None` remembers a key that does not exist, so a stream of
    /// made-up keys costs one read per key, not one per request.
    pub keys: TtlCache<KeyHash, Option<KeyRecord>>,
    pub programs: TtlCache<String, Arc<Program>>,
}

impl Deps {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Deps {
            store,
            clock,
            sms: Arc::new(LocalSms { outbox: None }),
            keys: TtlCache::new(KEY_CACHE_TTL),
            programs: TtlCache::new(PROGRAM_CACHE_TTL),
        }
    }

    pub fn with_sms(mut self, sms: Arc<dyn SmsSender>) -> Self {
        self.sms = sms;
        self
    }

    /// For `main` only: the store from `LOYALTY_TABLE` and the standard AWS settings, and
    /// the SMS sender `LOYALTY_SMS` names ([`SmsSetting::parse`]): Amazon SNS for `sns`,
    /// built by `sns` (only a function that sends SMS passes it), else the local sender
    /// (unset or `log`), which appends to `LOYALTY_SMS_OUTBOX` when set. A setting it does not know is an error:
    /// the function stops at init rather than answer with a sender nobody chose.
    pub async fn from_env(sns: Option<SnsBuilder>) -> Result<Self, ConfigError> {
        let value = std::env::var_os("LOYALTY_SMS").map(|v| v.to_string_lossy().into_owned());
        let setting = SmsSetting::parse(value.as_deref(), sns.is_some())?;
        let config = Store::load_aws_config().await;
        let sms: Arc<dyn SmsSender> = match (setting, sns) {
            (SmsSetting::Sns, Some(build)) => build(&config),
            (SmsSetting::Sns, None) => return Err(SmsSettingError::SnsNotBuilt.into()),
            (SmsSetting::Local, _) => {
                Arc::new(LocalSms { outbox: std::env::var_os("LOYALTY_SMS_OUTBOX").map(Into::into) })
            }
        };
        Ok(Deps::new(Store::from_config(&config), Arc::new(SystemClock)).with_sms(sms))
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire() {
        let cache = TtlCache::new(Duration::from_millis(20));
        cache.insert("a", 1);
        assert_eq!(cache.get(&"a"), Some(1));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(cache.get(&"a"), None);
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
