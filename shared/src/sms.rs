//! Sending one-time codes by SMS, behind a small trait: Amazon SNS in the cloud, a
//! local sender that logs (never the code, for live keys) and appends the message to a
//! file for local development. Which one is configuration (`LOYALTY_SMS`), not code.

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

/// Amazon SNS direct publish to a phone number (`sns:Publish`, nothing else), marked
/// transactional. India's DLT rules need the sender's registered entity and template
/// ids on every message: set them and they are sent.
pub struct SnsSms {
    pub client: aws_sdk_sns::Client,
    /// Country calling code prefixed to the ten-digit number.
    pub country_code: String,
    pub dlt_entity_id: Option<String>,
    pub dlt_template_id: Option<String>,
}

fn string_attribute(value: &str) -> Option<aws_sdk_sns::types::MessageAttributeValue> {
    aws_sdk_sns::types::MessageAttributeValue::builder().data_type("String").string_value(value).build().ok()
}

impl SmsSender for SnsSms {
    fn send<'a>(&'a self, to: &'a Mobile, message: &'a str, _secret: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let mut publish =
                self.client.publish().phone_number(format!("{}{}", self.country_code, to)).message(message);
            let attributes = [
                ("AWS.SNS.SMS.SMSType", Some("Transactional")),
                ("AWS.MM.SMS.EntityId", self.dlt_entity_id.as_deref()),
                ("AWS.MM.SMS.TemplateId", self.dlt_template_id.as_deref()),
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

/// `98******10`: enough to tell numbers apart in a log, not enough to contact anyone.
pub fn mask(mobile: &Mobile) -> String {
    let m = mobile.as_str();
    format!("{}******{}", &m[..2], &m[8..])
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
