//! `loyalty-admin webhook ...`: a tenant's webhook endpoints (as its owner, audited),
//! their deliveries, and the sender's pass (once, or every few seconds for a local
//! stage).

use std::time::Duration;

use clap::Subcommand;
use loyalty::actor::Actor;
use loyalty::domain::{IdempotencyKey, TenantSlug};
use loyalty::webhooks::endpoints::{self, NewEndpoint};
use loyalty::webhooks::guard::Policy;
use loyalty::webhooks::sender::{Sender, SenderConfig};
use loyalty::webhooks::{Delivery, DeliveryStatus};
use loyalty::Deps;
use loyalty_admin::AdminError;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Add an endpoint; its signing secret is printed once.
    Add {
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: TenantSlug,
        /// `https://...` (`http://` to loopback where LOYALTY_WEBHOOKS_ALLOW_HTTP_LOOPBACK=1).
        #[arg(long)]
        url: String,
        /// An event type it gets (repeat; none: every type).
        #[arg(long = "event")]
        events: Vec<String>,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// A tenant's endpoints.
    List {
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: TenantSlug,
    },
    /// Remove an endpoint.
    Remove {
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: TenantSlug,
        #[arg(long)]
        endpoint: String,
    },
    /// A new signing secret (printed once); the old one still signs for 24 hours.
    Rotate {
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: TenantSlug,
        #[arg(long)]
        endpoint: String,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Stop sending to an endpoint.
    Disable {
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: TenantSlug,
        #[arg(long)]
        endpoint: String,
    },
    /// Send to an endpoint again (its failure streak forgotten).
    Enable {
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: TenantSlug,
        #[arg(long)]
        endpoint: String,
    },
    /// Queue a `webhook.test` event for one endpoint.
    Test {
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: TenantSlug,
        #[arg(long)]
        endpoint: String,
    },
    /// An endpoint's deliveries.
    Deliveries {
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: TenantSlug,
        #[arg(long)]
        endpoint: String,
        /// pending, delivered or dead (default: all).
        #[arg(long)]
        status: Option<String>,
    },
    /// Queue an endpoint's dead deliveries again (all, or the one of `--event`).
    Replay {
        #[arg(long, value_parser = TenantSlug::parse)]
        tenant: TenantSlug,
        #[arg(long)]
        endpoint: String,
        #[arg(long)]
        event: Option<String>,
    },
    /// Run the sender: one pass, or with `--loop` a pass every `--every` seconds.
    Send {
        #[arg(long = "loop")]
        repeat: bool,
        #[arg(long, default_value_t = 3)]
        every: u64,
    },
}

fn idem(key: Option<&str>) -> Result<Option<IdempotencyKey>, AdminError> {
    key.map(|k| IdempotencyKey::parse(k).map_err(|e| AdminError::Invalid(format!("--idempotency-key: {e}"))))
        .transpose()
}

fn delivery_json(d: &Delivery) -> serde_json::Value {
    json!({
        "event_id": d.event.id,
        "type": d.event.r#type,
        "endpoint_id": d.endpoint_id,
        "status": <&str>::from(d.status),
        "attempts": d.attempts,
        "first_attempt_at": d.first_attempt_at,
        "next_attempt_at": d.next_attempt_at,
        "last_attempt_at": d.last_attempt_at,
        "last_result": d.last_result,
        "delivered_at": d.delivered_at,
    })
}

fn out(as_json: bool, value: serde_json::Value, human: impl FnOnce() -> String) {
    if as_json {
        println!("{value}");
    } else {
        println!("{}", human());
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, AdminError> {
    serde_json::to_value(v).map_err(|e| AdminError::Invalid(e.to_string()))
}

pub async fn run(deps: &Deps, command: WebhookCommand, as_json: bool) -> Result<(), AdminError> {
    let policy = Policy::from_env();
    match command {
        WebhookCommand::Add { tenant, url, events, idempotency_key } => {
            let actor = Actor::operator(tenant);
            let spec = NewEndpoint { url, event_types: events };
            let made =
                endpoints::add_endpoint(deps, &actor, &policy, &spec, idem(idempotency_key.as_deref())?.as_ref())
                    .await?;
            out(as_json, to_json(&made)?, || {
                format!(
                    "added {} -> {}\nsigning secret: {}\n(shown once)",
                    made.endpoint.endpoint_id,
                    made.endpoint.url,
                    made.secret.as_deref().unwrap_or("(shown when it was added)")
                )
            });
        }
        WebhookCommand::List { tenant } => {
            let list = endpoints::list_endpoints(deps, &Actor::operator(tenant)).await?;
            out(as_json, to_json(&list)?, || {
                list.iter()
                    .map(|e| {
                        let types = if e.event_types.is_empty() { "all".to_owned() } else { e.event_types.join(",") };
                        format!("{}  {}  {}  {}", e.endpoint_id, <&str>::from(e.status), e.url, types)
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        WebhookCommand::Remove { tenant, endpoint } => {
            let view = endpoints::remove_endpoint(deps, &Actor::operator(tenant), &endpoint, None).await?;
            out(as_json, json!({ "endpoint_id": view.endpoint_id, "removed": true }), || format!("removed {endpoint}"));
        }
        WebhookCommand::Rotate { tenant, endpoint, idempotency_key } => {
            let actor = Actor::operator(tenant);
            let made =
                endpoints::rotate_secret(deps, &actor, &endpoint, idem(idempotency_key.as_deref())?.as_ref()).await?;
            out(as_json, to_json(&made)?, || {
                format!(
                    "new signing secret: {}\n(shown once; the previous one also signs until {})",
                    made.secret.as_deref().unwrap_or("(shown when it was rotated)"),
                    made.endpoint.previous_secret_until.map(|t| t.to_rfc3339()).unwrap_or_default()
                )
            });
        }
        WebhookCommand::Disable { tenant, endpoint } => {
            let view = endpoints::set_endpoint_active(deps, &Actor::operator(tenant), &endpoint, false, None).await?;
            out(as_json, to_json(&view)?, || format!("disabled {endpoint}"));
        }
        WebhookCommand::Enable { tenant, endpoint } => {
            let view = endpoints::set_endpoint_active(deps, &Actor::operator(tenant), &endpoint, true, None).await?;
            out(as_json, to_json(&view)?, || format!("enabled {endpoint}"));
        }
        WebhookCommand::Test { tenant, endpoint } => {
            let id = endpoints::send_test_event(deps, &Actor::operator(tenant), &endpoint, None).await?;
            out(as_json, json!({ "event_id": id, "endpoint_id": endpoint }), || {
                format!("queued test event {id} for {endpoint}")
            });
        }
        WebhookCommand::Deliveries { tenant, endpoint, status } => {
            let status = status
                .map(|s| {
                    s.parse::<DeliveryStatus>()
                        .map_err(|_| AdminError::Invalid(format!("--status {s}: pending, delivered or dead")))
                })
                .transpose()?;
            let list = endpoints::list_deliveries(deps, &Actor::operator(tenant), &endpoint, status).await?;
            let values: Vec<_> = list.iter().map(delivery_json).collect();
            out(as_json, json!(values), || {
                list.iter()
                    .map(|d| {
                        format!(
                            "{}  {}  {}  attempts {}  {}",
                            d.event.id,
                            d.event.r#type,
                            <&str>::from(d.status),
                            d.attempts,
                            d.last_result.as_deref().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        WebhookCommand::Replay { tenant, endpoint, event } => {
            let n = endpoints::replay_dead(deps, &Actor::operator(tenant), &endpoint, event.as_deref(), None).await?;
            out(as_json, json!({ "endpoint_id": endpoint, "replayed": n }), || {
                format!("queued {n} dead deliveries again")
            });
        }
        WebhookCommand::Send { repeat, every } => {
            let sender = Sender::new(policy, SenderConfig::default()).map_err(AdminError::Invalid)?;
            loop {
                let report = sender.run_pass(&deps.store, deps.clock.clone()).await?;
                if !repeat || report.attempted > 0 {
                    out(as_json, to_json(&report)?, || format!("{report:?}"));
                }
                if !repeat {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(every.max(1))).await;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::WebhookCommand;
    use crate::{Cli, Command};

    fn parse(args: &[&str]) -> Result<WebhookCommand, String> {
        let cli = Cli::try_parse_from(["loyalty-admin", "--json", "webhook"].iter().chain(args))
            .map_err(|e| e.to_string())?;
        match cli.command {
            Command::Webhook { command } => Ok(command),
            _ => Err("not a webhook command".into()),
        }
    }

    #[test]
    fn every_webhook_command_parses_and_a_bad_tenant_does_not() {
        let add = parse(&[
            "add",
            "--tenant",
            "acme",
            "--url",
            "https://h.example.com/in",
            "--event",
            "points.earned",
            "--event",
            "points.redeemed",
        ]);
        let Ok(WebhookCommand::Add { tenant, url, events, idempotency_key: None }) = add else { panic!("{add:?}") };
        assert_eq!((tenant.as_str(), url.as_str()), ("acme", "https://h.example.com/in"));
        assert_eq!(events, ["points.earned", "points.redeemed"]);
        for args in [
            &["list", "--tenant", "acme"][..],
            &["remove", "--tenant", "acme", "--endpoint", "ep_1"],
            &["rotate", "--tenant", "acme", "--endpoint", "ep_1", "--idempotency-key", "k1"],
            &["disable", "--tenant", "acme", "--endpoint", "ep_1"],
            &["enable", "--tenant", "acme", "--endpoint", "ep_1"],
            &["test", "--tenant", "acme", "--endpoint", "ep_1"],
            &["deliveries", "--tenant", "acme", "--endpoint", "ep_1", "--status", "dead"],
            &["replay", "--tenant", "acme", "--endpoint", "ep_1"],
            &["replay", "--tenant", "acme", "--endpoint", "ep_1", "--event", "evt_1"],
            &["send"],
            &["send", "--loop", "--every", "2"],
        ] {
            assert!(parse(args).is_ok(), "{args:?}: {:?}", parse(args).err());
        }
        assert!(parse(&["list", "--tenant", "Not A Slug"]).is_err());
        assert!(parse(&["test", "--tenant", "acme"]).is_err(), "an endpoint is required");
    }
}
