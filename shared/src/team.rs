//! A tenant's people in the stage's Amazon Cognito user pool (or `cognito-local`): who
//! they are, their role (their one group: `owner`, `manager`, `viewer`), their account's
//! status; inviting, changing a role, removing. The pool is shared by every tenant: a
//! person's tenant is the immutable custom attribute `tenant`, and everything here
//! filters by it, so another tenant's person is never seen nor touched.
//!
//! Only with the `cognito` feature: the team's management functions and the operator's
//! tools link the user pools client, no other function does.

use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, UserStatusType, UserType};
use aws_sdk_cognitoidentityprovider::Client;
use chrono::{DateTime, Utc};
use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};

use crate::actor::Role;
use crate::domain::{Email, TenantSlug};

/// The custom attribute (`custom:tenant` in tokens).
pub const TENANT_ATTRIBUTE: &str = "tenant";
const TENANT_CLAIM: &str = "custom:tenant";

/// A client for the user pools service at `endpoint` (cognito-local), with dummy
/// credentials: for tests and local stages.
pub fn client_at(endpoint: &str) -> Client {
    let config = aws_sdk_cognitoidentityprovider::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_cognitoidentityprovider::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cognitoidentityprovider::config::Credentials::new(
            "local", "local", None, None, "test",
        ))
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(config)
}

/// A password that meets Cognito's default policy (upper and lower case, digits, a
/// symbol, 8 or more characters), from the OS's random source.
pub fn generate_password() -> String {
    let random = Alphanumeric.sample_string(&mut rand::rng(), 16);
    format!("Lp-{random}7a")
}

/// Where a person's account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Created, the temporary password not yet replaced.
    Invited,
    /// Signed in and chose a password.
    Active,
    /// Disabled by an operator: cannot sign in.
    Disabled,
}

/// A person of a tenant, as the console lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub email: String,
    /// Their one group; `None` for a person set up by hand without one (who cannot sign
    /// in to the console).
    pub role: Option<Role>,
    pub status: Status,
    pub created: Option<DateTime<Utc>>,
}

/// What the user pool answered, in words a route can map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TeamError {
    #[error("no such person")]
    NotFound,
    #[error("a person with this email already exists")]
    Exists,
    #[error("the user pool refused: {0}")]
    Refused(String),
    #[error("the user pool is unreachable: {0}")]
    Unreachable(String),
}

fn sdk<E, R>(e: aws_sdk_cognitoidentityprovider::error::SdkError<E, R>) -> TeamError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.as_service_error() {
        Some(service) => match service.code() {
            Some("UserNotFoundException") => TeamError::NotFound,
            Some("UsernameExistsException") => TeamError::Exists,
            code => TeamError::Refused(format!(
                "{}: {}",
                code.unwrap_or("error"),
                service.message().unwrap_or("no message")
            )),
        },
        None => TeamError::Unreachable(aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(&e).to_string()),
    }
}

fn attribute<'a>(attributes: &'a [AttributeType], name: &str) -> Option<&'a str> {
    attributes.iter().find(|a| a.name() == name).and_then(|a| a.value())
}

fn status(enabled: bool, status: Option<&UserStatusType>) -> Status {
    match (enabled, status) {
        (false, _) => Status::Disabled,
        (true, Some(UserStatusType::ForceChangePassword)) => Status::Invited,
        _ => Status::Active,
    }
}

fn created(at: Option<&aws_sdk_cognitoidentityprovider::primitives::DateTime>) -> Option<DateTime<Utc>> {
    at.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

/// A person's email and status from a listing, if they belong to `tenant`.
fn listed(user: &UserType, tenant: &TenantSlug, role: Role) -> Option<Person> {
    let attributes = user.attributes();
    if attribute(attributes, TENANT_CLAIM) != Some(tenant.as_str()) {
        return None;
    }
    Some(Person {
        email: attribute(attributes, "email")?.to_owned(),
        role: Some(role),
        status: status(user.enabled(), user.user_status()),
        created: created(user.user_create_date()),
    })
}

/// The stage's user pool, as the team's functions use it.
#[derive(Debug, Clone)]
pub struct Pool {
    client: Client,
    pool_id: String,
    /// A local stage (cognito-local), which lacks `AdminUserGlobalSignOut`: only there is
    /// its absence tolerated.
    local: bool,
    /// Whether an invitation answers the temporary password (local stages only).
    show_temporary_password: bool,
}

/// A person just invited: the temporary password, when the stage answers it.
#[derive(Debug, Clone)]
pub struct Invited {
    pub person: Person,
    pub temporary_password: String,
}

impl Pool {
    pub fn new(client: Client, pool_id: impl Into<String>) -> Self {
        Pool { client, pool_id: pool_id.into(), local: false, show_temporary_password: false }
    }

    /// A local stage: `AdminUserGlobalSignOut` may be missing (cognito-local).
    pub fn local(mut self, local: bool) -> Self {
        self.local = local;
        self
    }

    /// An invitation answers the temporary password once.
    pub fn showing_temporary_passwords(mut self, show: bool) -> Self {
        self.show_temporary_password = show;
        self
    }

    pub fn shows_temporary_passwords(&self) -> bool {
        self.show_temporary_password
    }

    /// For `main` only: the pool `LOYALTY_TEAM_POOL_ID` names (`None` when unset), with
    /// `LOYALTY_TEAM_LOCAL=1` on local stages and `LOYALTY_TEAM_SHOW_TEMPORARY_PASSWORD=1`
    /// where an invitation may answer the temporary password.
    pub fn from_env(config: &aws_config::SdkConfig) -> Option<Pool> {
        let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let on = |name: &str| var(name).is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
        let pool_id = var("LOYALTY_TEAM_POOL_ID")?;
        Some(
            Pool::new(Client::new(config), pool_id)
                .local(on("LOYALTY_TEAM_LOCAL"))
                .showing_temporary_passwords(on("LOYALTY_TEAM_SHOW_TEMPORARY_PASSWORD")),
        )
    }

    /// Everyone of `tenant` with a role, by email.
    pub async fn people(&self, tenant: &TenantSlug) -> Result<Vec<Person>, TeamError> {
        let mut people = Vec::new();
        for role in Role::ALL {
            let mut next = None;
            loop {
                let page = self
                    .client
                    .list_users_in_group()
                    .user_pool_id(&self.pool_id)
                    .group_name(role.as_str())
                    .limit(60)
                    .set_next_token(next)
                    .send()
                    .await
                    .map_err(sdk)?;
                people.extend(page.users().iter().filter_map(|u| listed(u, tenant, role)));
                match page.next_token() {
                    Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                    _ => break,
                }
            }
        }
        people.sort_by(|a, b| a.email.cmp(&b.email));
        people.dedup_by(|a, b| a.email == b.email);
        Ok(people)
    }

    /// One person of `tenant`; `None` when there is none by that email in this tenant.
    pub async fn person(&self, tenant: &TenantSlug, email: &Email) -> Result<Option<Person>, TeamError> {
        let user = match self.client.admin_get_user().user_pool_id(&self.pool_id).username(email.as_str()).send().await
        {
            Ok(user) => user,
            Err(e) => {
                return match sdk(e) {
                    TeamError::NotFound => Ok(None),
                    other => Err(other),
                }
            }
        };
        let attributes = user.user_attributes();
        if attribute(attributes, TENANT_CLAIM) != Some(tenant.as_str()) {
            return Ok(None);
        }
        let groups = self
            .client
            .admin_list_groups_for_user()
            .user_pool_id(&self.pool_id)
            // The pool's own user name (with email sign-in, not the email): cognito-local
            // matches groups by it alone.
            .username(user.username())
            .send()
            .await
            .map_err(sdk)?;
        let role = groups.groups().iter().filter_map(|g| g.group_name()).find_map(Role::parse);
        Ok(Some(Person {
            email: attribute(attributes, "email").unwrap_or(email.as_str()).to_owned(),
            role,
            status: status(user.enabled(), user.user_status()),
            created: created(user.user_create_date()),
        }))
    }

    /// Creates a person of `tenant` with `role` and a temporary password; Cognito sends
    /// them the invitation (`suppress` sends none: the operator hands the password
    /// over). Their tenant can never change afterwards.
    pub async fn invite(
        &self,
        tenant: &TenantSlug,
        email: &Email,
        role: Role,
        suppress: bool,
    ) -> Result<Invited, TeamError> {
        let password = generate_password();
        let attr = |name: &str, value: &str| {
            AttributeType::builder().name(name).value(value).build().map_err(|e| TeamError::Refused(e.to_string()))
        };
        let mut create = self
            .client
            .admin_create_user()
            .user_pool_id(&self.pool_id)
            .username(email.as_str())
            .temporary_password(&password)
            .desired_delivery_mediums(aws_sdk_cognitoidentityprovider::types::DeliveryMediumType::Email)
            .user_attributes(attr("email", email.as_str())?)
            .user_attributes(attr("email_verified", "true")?)
            .user_attributes(attr(TENANT_CLAIM, tenant.as_str())?);
        if suppress {
            create = create.message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress);
        }
        let created_user = create.send().await.map_err(sdk)?;
        self.join(email, role).await?;
        let user = created_user.user();
        Ok(Invited {
            person: Person {
                email: email.as_str().to_owned(),
                role: Some(role),
                status: Status::Invited,
                created: user.and_then(|u| created(u.user_create_date())),
            },
            temporary_password: password,
        })
    }

    async fn join(&self, email: &Email, role: Role) -> Result<(), TeamError> {
        self.client
            .admin_add_user_to_group()
            .user_pool_id(&self.pool_id)
            .username(email.as_str())
            .group_name(role.as_str())
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    /// Makes `role` the person's one group: joins it, then leaves any other role's.
    pub async fn set_role(&self, email: &Email, role: Role) -> Result<(), TeamError> {
        self.join(email, role).await?;
        for other in Role::ALL.into_iter().filter(|r| *r != role) {
            self.client
                .admin_remove_user_from_group()
                .user_pool_id(&self.pool_id)
                .username(email.as_str())
                .group_name(other.as_str())
                .send()
                .await
                .map_err(sdk)?;
        }
        Ok(())
    }

    /// Revokes the person's refresh tokens (their ID tokens expire within the session's
    /// lifetime). cognito-local lacks it: tolerated on a local stage only.
    pub async fn sign_out_everywhere(&self, email: &Email) -> Result<(), TeamError> {
        match self.client.admin_user_global_sign_out().user_pool_id(&self.pool_id).username(email.as_str()).send().await
        {
            Ok(_) => Ok(()),
            // cognito-local answers `CognitoLocal#Unsupported`.
            Err(e)
                if self.local
                    && e.as_service_error().and_then(|s| s.code()).is_some_and(|c| c.ends_with("Unsupported")) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk(e)),
        }
    }

    /// Signs the person out everywhere, then deletes them.
    pub async fn remove(&self, email: &Email) -> Result<(), TeamError> {
        self.sign_out_everywhere(email).await?;
        self.client
            .admin_delete_user()
            .user_pool_id(&self.pool_id)
            .username(email.as_str())
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_meet_the_default_policy() {
        for _ in 0..50 {
            let p = generate_password();
            assert!(p.len() >= 8);
            assert!(p.chars().any(|c| c.is_ascii_uppercase()));
            assert!(p.chars().any(|c| c.is_ascii_lowercase()));
            assert!(p.chars().any(|c| c.is_ascii_digit()));
            assert!(p.chars().any(|c| !c.is_ascii_alphanumeric()));
        }
        assert_ne!(generate_password(), generate_password());
    }

    #[test]
    fn a_status_in_words() {
        assert_eq!(status(true, Some(&UserStatusType::ForceChangePassword)), Status::Invited);
        assert_eq!(status(true, Some(&UserStatusType::Confirmed)), Status::Active);
        assert_eq!(status(false, Some(&UserStatusType::Confirmed)), Status::Disabled);
    }
}
