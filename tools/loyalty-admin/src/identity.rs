//! The console's people in an Amazon Cognito user pool (or `cognito-local`): the pool,
//! its app client and role groups, and each person's account. A person's tenant is the
//! pool's immutable custom attribute `tenant` (the app client cannot write it), their
//! role is their one group (`owner`, `manager`, `viewer`). Passwords made here are
//! temporary (the first sign-in must choose a new one) unless said otherwise, and are
//! returned to be shown once.
//!
//! The endpoint comes from the standard AWS settings:
//! `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER` points at `cognito-local`.

use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, AttributeType, AuthFlowType, ChallengeNameType, ExplicitAuthFlowsType, MessageActionType,
    SchemaAttributeType, StringAttributeConstraintsType, UsernameAttributeType,
};
use aws_sdk_cognitoidentityprovider::Client;
use loyalty::domain::{Email, TenantSlug};
use loyalty::session::Role;
use serde::Serialize;

use crate::AdminError;

/// The console's app client name in every pool.
pub const CONSOLE_CLIENT: &str = "console";
pub use loyalty::team::TENANT_ATTRIBUTE;

/// A client for the user pools service from the standard AWS settings.
pub async fn client() -> Client {
    let config = loyalty::store::Store::load_aws_config().await;
    Client::new(&config)
}

pub use loyalty::team::client_at;

fn sdk<E, R>(e: aws_sdk_cognitoidentityprovider::error::SdkError<E, R>) -> AdminError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.as_service_error() {
        Some(service) => AdminError::Invalid(format!(
            "user pool: {}: {}",
            service.code().unwrap_or("error"),
            service.message().unwrap_or("no message")
        )),
        None => AdminError::Invalid(format!(
            "user pool unreachable: {}",
            aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(&e)
        )),
    }
}

/// What the console and the functions need to know of a pool.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PoolIds {
    pub pool_id: String,
    pub client_id: String,
}

/// The issuer and JWKS URL of a pool's tokens, for the functions' settings
/// (`LOYALTY_SESSION_ISSUER`, `LOYALTY_SESSION_JWKS_URL`). With an endpoint override
/// (cognito-local) the issuer says `http://localhost:9229` whatever its port, and the
/// keys are fetched from the endpoint itself.
pub fn issuer_and_jwks(endpoint: Option<&str>, region: &str, pool_id: &str) -> (String, String) {
    match endpoint.map(|e| e.trim_end_matches('/')).filter(|e| !e.is_empty()) {
        Some(endpoint) => {
            (format!("http://localhost:9229/{pool_id}"), format!("{endpoint}/{pool_id}/.well-known/jwks.json"))
        }
        None => {
            let issuer = format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}");
            let jwks = format!("{issuer}/.well-known/jwks.json");
            (issuer, jwks)
        }
    }
}

/// Creates the pool named `name` if missing (email sign-in, the immutable custom
/// attribute `tenant`), its console app client (no secret; USER_PASSWORD_AUTH and
/// REFRESH_TOKEN_AUTH; may read but not write `custom:tenant`) and the role groups.
/// Safe to repeat: what exists is kept.
pub async fn init_pool(client: &Client, name: &str) -> Result<PoolIds, AdminError> {
    let pool_id = match find_pool(client, name).await? {
        Some(id) => id,
        None => {
            let tenant = SchemaAttributeType::builder()
                .name(TENANT_ATTRIBUTE)
                .attribute_data_type(AttributeDataType::String)
                .mutable(false)
                .string_attribute_constraints(
                    StringAttributeConstraintsType::builder().min_length("2").max_length("64").build(),
                )
                .build();
            let created = client
                .create_user_pool()
                .pool_name(name)
                .username_attributes(UsernameAttributeType::Email)
                .schema(tenant)
                .send()
                .await
                .map_err(sdk)?;
            created
                .user_pool()
                .and_then(|p| p.id())
                .map(str::to_owned)
                .ok_or_else(|| AdminError::Invalid("CreateUserPool answered no pool id".into()))?
        }
    };
    let clients = client.list_user_pool_clients().user_pool_id(&pool_id).max_results(60).send().await.map_err(sdk)?;
    let existing = clients
        .user_pool_clients()
        .iter()
        .find(|c| c.client_name() == Some(CONSOLE_CLIENT))
        .and_then(|c| c.client_id());
    let client_id = match existing {
        Some(id) => id.to_owned(),
        None => {
            let created = client
                .create_user_pool_client()
                .user_pool_id(&pool_id)
                .client_name(CONSOLE_CLIENT)
                .generate_secret(false)
                .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
                .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
                .read_attributes("email")
                .read_attributes(format!("custom:{TENANT_ATTRIBUTE}"))
                .write_attributes("email")
                .send()
                .await
                .map_err(sdk)?;
            created
                .user_pool_client()
                .and_then(|c| c.client_id())
                .map(str::to_owned)
                .ok_or_else(|| AdminError::Invalid("CreateUserPoolClient answered no client id".into()))?
        }
    };
    for role in Role::ALL {
        let found = client.get_group().user_pool_id(&pool_id).group_name(role.as_str()).send().await;
        if found.is_err() {
            client
                .create_group()
                .user_pool_id(&pool_id)
                .group_name(role.as_str())
                .description(match role {
                    Role::Owner => "Everything, API keys included",
                    Role::Manager => "Rewards, members, point adjustments",
                    Role::Viewer => "Reads everything but secrets, changes nothing",
                })
                .send()
                .await
                .map_err(sdk)?;
        }
    }
    Ok(PoolIds { pool_id, client_id })
}

/// The id of the pool named `name`, through every page of pools.
pub async fn find_pool(client: &Client, name: &str) -> Result<Option<String>, AdminError> {
    let mut next = None;
    loop {
        let page = client.list_user_pools().max_results(60).set_next_token(next).send().await.map_err(sdk)?;
        if let Some(id) = page.user_pools().iter().find(|p| p.name() == Some(name)).and_then(|p| p.id()) {
            return Ok(Some(id.to_owned()));
        }
        match page.next_token() {
            Some(token) if !token.is_empty() => next = Some(token.to_owned()),
            _ => return Ok(None),
        }
    }
}

/// Deletes a pool and everyone in it (tests clean up after themselves with it).
pub async fn delete_pool(client: &Client, pool_id: &str) -> Result<(), AdminError> {
    client.delete_user_pool().user_pool_id(pool_id).send().await.map_err(sdk)?;
    Ok(())
}

pub use loyalty::team::generate_password;

/// A person just added: their temporary password, shown once.
#[derive(Debug, Clone, Serialize)]
pub struct NewUser {
    pub email: String,
    pub tenant: String,
    pub role: &'static str,
    pub temporary_password: String,
}

/// Adds a person of `tenant` with `role` and a temporary password (no email is sent:
/// the operator hands the password over). Their tenant can never change afterwards.
pub async fn add_user(
    client: &Client,
    pool_id: &str,
    tenant: &TenantSlug,
    email: &Email,
    role: Role,
) -> Result<NewUser, AdminError> {
    let password = generate_password();
    let attribute = |name: &str, value: &str| AttributeType::builder().name(name).value(value).build();
    client
        .admin_create_user()
        .user_pool_id(pool_id)
        .username(email.as_str())
        .temporary_password(&password)
        .message_action(MessageActionType::Suppress)
        .user_attributes(attribute("email", email.as_str()).map_err(|e| AdminError::Invalid(e.to_string()))?)
        .user_attributes(attribute("email_verified", "true").map_err(|e| AdminError::Invalid(e.to_string()))?)
        .user_attributes(
            attribute(&format!("custom:{TENANT_ATTRIBUTE}"), tenant.as_str())
                .map_err(|e| AdminError::Invalid(e.to_string()))?,
        )
        .send()
        .await
        .map_err(sdk)?;
    client
        .admin_add_user_to_group()
        .user_pool_id(pool_id)
        .username(email.as_str())
        .group_name(role.as_str())
        .send()
        .await
        .map_err(sdk)?;
    Ok(NewUser {
        email: email.as_str().to_owned(),
        tenant: tenant.as_str().to_owned(),
        role: role.as_str(),
        temporary_password: password,
    })
}

/// Sets a new temporary password for a person who forgot theirs (their next sign-in
/// must choose a new one) and signs them out everywhere. Returns the password.
pub async fn reset_password(client: &Client, pool_id: &str, email: &Email) -> Result<String, AdminError> {
    let password = generate_password();
    set_password(client, pool_id, email, &password, false).await?;
    sign_out_everywhere(client, pool_id, email).await?;
    Ok(password)
}

/// Sets a password; `permanent` skips the forced change (the local demo owner only).
pub async fn set_password(
    client: &Client,
    pool_id: &str,
    email: &Email,
    password: &str,
    permanent: bool,
) -> Result<(), AdminError> {
    client
        .admin_set_user_password()
        .user_pool_id(pool_id)
        .username(email.as_str())
        .password(password)
        .permanent(permanent)
        .send()
        .await
        .map_err(sdk)?;
    Ok(())
}

/// Revokes the person's refresh tokens (their ID tokens expire within 15 minutes).
/// `cognito-local` does not offer it; there it is a no-op.
async fn sign_out_everywhere(client: &Client, pool_id: &str, email: &Email) -> Result<(), AdminError> {
    match client.admin_user_global_sign_out().user_pool_id(pool_id).username(email.as_str()).send().await {
        Ok(_) => Ok(()),
        // cognito-local answers `CognitoLocal#Unsupported`.
        Err(e) if e.as_service_error().and_then(|s| s.code()).is_some_and(|c| c.ends_with("Unsupported")) => Ok(()),
        Err(e) => Err(sdk(e)),
    }
}

/// Removes a person: signs them out everywhere, then deletes them.
pub async fn remove_user(client: &Client, pool_id: &str, email: &Email) -> Result<(), AdminError> {
    sign_out_everywhere(client, pool_id, email).await?;
    client.admin_delete_user().user_pool_id(pool_id).username(email.as_str()).send().await.map_err(sdk)?;
    Ok(())
}

/// Signs in with USER_PASSWORD_AUTH as the console does, answering a forced password
/// change with `new_password` when the pool asks for one. Returns the ID token.
pub async fn sign_in(
    client: &Client,
    client_id: &str,
    email: &str,
    password: &str,
    new_password: Option<&str>,
) -> Result<String, AdminError> {
    let started = client
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(client_id)
        .auth_parameters("USERNAME", email)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .map_err(sdk)?;
    if let Some(token) = started.authentication_result().and_then(|r| r.id_token()) {
        return Ok(token.to_owned());
    }
    if started.challenge_name() != Some(&ChallengeNameType::NewPasswordRequired) {
        return Err(AdminError::Invalid(format!("sign-in answered the challenge {:?}", started.challenge_name())));
    }
    let new_password =
        new_password.ok_or_else(|| AdminError::Invalid("the first sign-in must choose a new password".into()))?;
    let answered = client
        .respond_to_auth_challenge()
        .client_id(client_id)
        .challenge_name(ChallengeNameType::NewPasswordRequired)
        .set_session(started.session().map(str::to_owned))
        .challenge_responses("USERNAME", email)
        .challenge_responses("NEW_PASSWORD", new_password)
        .send()
        .await
        .map_err(sdk)?;
    answered
        .authentication_result()
        .and_then(|r| r.id_token())
        .map(str::to_owned)
        .ok_or_else(|| AdminError::Invalid("the new password was not accepted".into()))
}
