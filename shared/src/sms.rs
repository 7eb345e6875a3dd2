//! Sending one-time codes by SMS, behind a small trait: Amazon SNS in the cloud, a
//! local sender that logs (never the code, for live keys) and appends the message to a
//! file for local development. Which one is configuration (`LOYALTY_SMS`, read by
//! [`SmsSetting::parse`]), not code. The SNS sender is built only with the `sns` feature,
//! which only the function that sends SMS (`pos-otp`) enables.

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;

use crate::domain::Mobile;

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

pub trait SmsSender: Send + Sync {
    /// Sends `message` to `to`. `secret` is the part of the message that must never be
    /// logged.
    fn send<'a>(&'a self, to: &'a Mobile, message: &'a str, secret: &'a str) -> SendFuture<'a>;
}

/// The sender `LOYALTY_SMS` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsSetting {
    /// Unset or `log`: [`LocalSms`] (local development, the sandbox stage).
    Local,
    /// `sns`: the Amazon SNS sender, `SnsSms` (the live stage; `sns` feature only).
    Sns,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsSettingError {
    #[error(
        "LOYALTY_SMS={0:?} is not a known SMS sender: set it to `sns` (Amazon SNS) or `log` (log and \
         outbox file), or leave it unset for the local sender"
    )]
    Unknown(String),
    #[error(
        "LOYALTY_SMS=sns, but this function is built without the SNS sender (only a function that \
         sends SMS enables the `sns` feature of `loyalty` and starts with `lambda::serve_sending_sms`)"
    )]
    SnsNotBuilt,
}

impl SmsSetting {
    /// The sender named by `value` (the environment variable, `None` when unset), for a
    /// function that can (`sns_built`) or cannot send through SNS. Fails closed: a value
    /// it does not know, or `sns` where SNS is not built in, is an error, never a
    /// silent fallback to the local sender.
    pub fn parse(value: Option<&str>, sns_built: bool) -> Result<Self, SmsSettingError> {
        match value {
            None | Some("log") => Ok(SmsSetting::Local),
            Some("sns") if sns_built => Ok(SmsSetting::Sns),
            Some("sns") => Err(SmsSettingError::SnsNotBuilt),
            Some(other) => Err(SmsSettingError::Unknown(other.to_owned())),
        }
    }
}

/// Logs that a message was sent, with the secret masked, and appends the full message
/// to `outbox` (for a developer to read the code) when one is set.
pub struct LocalSms {
    pub outbox: Option<PathBuf>,
}

impl SmsSender for LocalSms {
    fn send<'a>(&'a self, to: &'a Mobile, message: &'a str, secret: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let masked = message.replace(secret, &"*".repeat(secret.len()));
            tracing::info!(to = %mask(to), message = %masked, "sms sent (local sender)");
            if let Some(path) = &self.outbox {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| format!("sms outbox {}: {e}", dir.display()))?;
                }
                let line = format!("{} {} {}\n", chrono::Utc::now().to_rfc3339(), to, message);
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .and_then(|mut f| f.write_all(line.as_bytes()))
                    .map_err(|e| format!("sms outbox {}: {e}", path.display()))?;
            }
            Ok(())
        })
    }
}

#[cfg(feature = "sns")]
pub use sns::SnsSms;

#[cfg(feature = "sns")]
mod sns {
    use super::{Mobile, SendFuture, SmsSender};

    /// Amazon SNS direct publish to a phone number (`sns:Publish`, nothing else), marked
    /// transactional, to the member's number in E.164 (an Indian ten-digit number gets
    /// `+91`). India's DLT rules need the sender's registered entity and template ids and
    /// its sender id on every message: set them and they are sent.
    pub struct SnsSms {
        pub client: aws_sdk_sns::Client,
        pub dlt_entity_id: Option<String>,
        pub dlt_template_id: Option<String>,
        pub sender_id: Option<String>,
    }

    fn string_attribute(value: &str) -> Option<aws_sdk_sns::types::MessageAttributeValue> {
        aws_sdk_sns::types::MessageAttributeValue::builder().data_type("String").string_value(value).build().ok()
    }

    impl SmsSender for SnsSms {
        fn send<'a>(&'a self, to: &'a Mobile, message: &'a str, _secret: &'a str) -> SendFuture<'a> {
            Box::pin(async move {
                let mut publish = self.client.publish().phone_number(to.e164()).message(message);
                let attributes = [
                    ("AWS.SNS.SMS.SMSType", Some("Transactional")),
                    ("AWS.MM.SMS.EntityId", self.dlt_entity_id.as_deref()),
                    ("AWS.MM.SMS.TemplateId", self.dlt_template_id.as_deref()),
                    ("AWS.SNS.SMS.SenderID", self.sender_id.as_deref()),
                ];
                for (name, value) in attributes {
                    if let Some(attribute) = value.and_then(string_attribute) {
                        publish = publish.message_attributes(name, attribute);
                    }
                }
                publish.send().await.map(|_| ()).map_err(|e| aws_sdk_sns::error::DisplayErrorContext(&e).to_string())
            })
        }
    }
}

/// `98******10` (`+44******56` beyond India): enough to tell numbers apart in a log, not
/// enough to contact anyone.
pub fn mask(mobile: &Mobile) -> String {
    let m = mobile.as_str();
    let shown = if mobile.is_indian() { 2 } else { 3 };
    // A parsed mobile is ASCII and at least 9 characters long.
    format!("{}******{}", m.get(..shown).unwrap_or_default(), m.get(m.len().saturating_sub(2)..).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_fails_closed() {
        for sns_built in [false, true] {
            assert_eq!(SmsSetting::parse(None, sns_built), Ok(SmsSetting::Local));
            assert_eq!(SmsSetting::parse(Some("log"), sns_built), Ok(SmsSetting::Local));
            for unknown in ["", "SNS", "Log", "sms", "sns ", "local", "true"] {
                assert_eq!(
                    SmsSetting::parse(Some(unknown), sns_built),
                    Err(SmsSettingError::Unknown(unknown.to_owned())),
                    "{unknown:?}"
                );
            }
        }
        assert_eq!(SmsSetting::parse(Some("sns"), true), Ok(SmsSetting::Sns));
        assert_eq!(SmsSetting::parse(Some("sns"), false), Err(SmsSettingError::SnsNotBuilt));
        let message = SmsSetting::parse(Some("smtp"), true).unwrap_err().to_string();
        assert!(message.contains("LOYALTY_SMS=\"smtp\"") && message.contains("`sns`"), "{message}");
    }

    #[tokio::test]
    async fn the_local_sender_writes_the_outbox_and_never_logs_the_code() {
        let dir = std::env::temp_dir().join(format!("sms-{}", uuid::Uuid::new_v4()));
        let sender = LocalSms { outbox: Some(dir.clone()) };
        let to = Mobile::parse("9876543210").unwrap();
        sender.send(&to, "Your code is 123456", "123456").await.unwrap();
        let written = std::fs::read_to_string(&dir).unwrap();
        assert!(written.contains("Your code is 123456"));
        let _ = std::fs::remove_file(dir);
        assert_eq!(mask(&to), "98******10");
        assert_eq!(mask(&Mobile::parse("+44 7911 123456").unwrap()), "+44******56");
    }
}
