//! Console sign-in on cognito-local: the project's own code creates the pool, the app
//! client, the groups and a tenant's people; a person signs in with USER_PASSWORD_AUTH
//! (answering NEW_PASSWORD_REQUIRED after a temporary password) and the functions'
//! verifier (`loyalty::session`, JWKS over HTTP) accepts the ID token with its tenant
//! and role.
//!
//! Runs when `LOYALTY_TEST_COGNITO` names a running cognito-local (scripts/check starts
//! one and sets it); without it these tests say so and pass.

use chrono::Utc;
use loyalty::domain::{Email, TenantSlug};
use loyalty::session::{Role, SessionConfig, Sessions};
use loyalty::ApiError;
use loyalty_admin::identity;

pub const COGNITO_VAR: &str = "LOYALTY_TEST_COGNITO";

fn cognito_endpoint() -> Option<String> {
    let endpoint = std::env::var(COGNITO_VAR).ok().map(|e| e.trim().to_owned()).filter(|e| !e.is_empty());
    if endpoint.is_none() {
        eprintln!("{COGNITO_VAR} is not set: skipping the cognito-local sign-in test (scripts/check runs it)");
    }
    endpoint
}

fn sessions(endpoint: &str, pool: &identity::PoolIds) -> Sessions {
    let (issuer, jwks) = identity::issuer_and_jwks(Some(endpoint), "us-east-1", &pool.pool_id);
    let config = SessionConfig::parse(Some(&issuer), Some(&jwks), Some(&pool.client_id), None).unwrap().unwrap();
    Sessions::over_http(config).unwrap()
}

#[tokio::test]
async fn an_owner_signs_in_on_cognito_local_and_the_verifier_yields_tenant_and_role() {
    let Some(endpoint) = cognito_endpoint() else { return };
    let client = identity::client_at(&endpoint);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let pool = identity::init_pool(&client, &format!("test-{run}")).await.unwrap();
    // Safe to repeat.
    assert_eq!(identity::init_pool(&client, &format!("test-{run}")).await.unwrap(), pool);

    let tenant = TenantSlug::parse("acme-hotels").unwrap();
    let email = Email::parse(&format!("owner-{}@acme.example", &run[..8])).unwrap();
    let owner = identity::add_user(&client, &pool.pool_id, &tenant, &email, Role::Owner).await.unwrap();

    // The temporary password forces a new one.
    let refused = identity::sign_in(&client, &pool.client_id, email.as_str(), &owner.temporary_password, None).await;
    assert!(refused.is_err(), "a temporary password must not sign in without a new one");
    let new_password = identity::generate_password();
    let token =
        identity::sign_in(&client, &pool.client_id, email.as_str(), &owner.temporary_password, Some(&new_password))
            .await
            .unwrap();

    let verifier = sessions(&endpoint, &pool);
    let staff = verifier.verify(&token, Utc::now()).await.unwrap();
    assert_eq!(staff.tenant, tenant);
    assert_eq!(staff.role, Role::Owner);
    assert_eq!(staff.email, email.as_str());
    assert!(!staff.sub.is_empty());

    // The same token, 16 minutes on: cognito-local's tokens live a day, the session 15 minutes.
    let later = Utc::now() + chrono::Duration::minutes(16);
    assert_eq!(verifier.verify(&token, later).await, Err(ApiError::Unauthorized));

    // The new password now signs in directly; a wrong one does not.
    let again = identity::sign_in(&client, &pool.client_id, email.as_str(), &new_password, None).await.unwrap();
    assert_eq!(verifier.verify(&again, Utc::now()).await.unwrap().role, Role::Owner);
    assert!(identity::sign_in(&client, &pool.client_id, email.as_str(), "Wrong-password-1", None).await.is_err());

    // A viewer of the same tenant is a viewer.
    let viewer_email = Email::parse(&format!("viewer-{}@acme.example", &run[..8])).unwrap();
    let viewer = identity::add_user(&client, &pool.pool_id, &tenant, &viewer_email, Role::Viewer).await.unwrap();
    let viewer_token = identity::sign_in(
        &client,
        &pool.client_id,
        viewer_email.as_str(),
        &viewer.temporary_password,
        Some(&identity::generate_password()),
    )
    .await
    .unwrap();
    assert_eq!(verifier.verify(&viewer_token, Utc::now()).await.unwrap().role, Role::Viewer);

    // The operator's reset: a new temporary password, which again forces a new one.
    let reset = identity::reset_password(&client, &pool.pool_id, &email).await.unwrap();
    assert!(identity::sign_in(&client, &pool.client_id, email.as_str(), &new_password, None).await.is_err());
    assert!(identity::sign_in(&client, &pool.client_id, email.as_str(), &reset, None).await.is_err());
    let after_reset =
        identity::sign_in(&client, &pool.client_id, email.as_str(), &reset, Some(&identity::generate_password()))
            .await
            .unwrap();
    assert!(verifier.verify(&after_reset, Utc::now()).await.is_ok());

    // A permanent password (the local demo owner's) signs in without a challenge.
    identity::set_password(&client, &pool.pool_id, &email, "Demo-owner-pass-1", true).await.unwrap();
    let demo = identity::sign_in(&client, &pool.client_id, email.as_str(), "Demo-owner-pass-1", None).await.unwrap();
    assert_eq!(verifier.verify(&demo, Utc::now()).await.unwrap().tenant, tenant);

    // Another pool's verifier (another stage) refuses this pool's tokens.
    let other = identity::init_pool(&client, &format!("test-other-{run}")).await.unwrap();
    let other_verifier = sessions(&endpoint, &other);
    assert_eq!(other_verifier.verify(&token, Utc::now()).await, Err(ApiError::Unauthorized));

    // A removed person cannot sign in.
    identity::remove_user(&client, &pool.pool_id, &viewer_email).await.unwrap();
    assert!(identity::sign_in(&client, &pool.client_id, viewer_email.as_str(), "Whatever-1x", None).await.is_err());

    // cognito-local keeps its pools across runs: leave none behind.
    for pool_id in [&pool.pool_id, &other.pool_id] {
        identity::delete_pool(&client, pool_id).await.unwrap();
    }
    assert_eq!(identity::find_pool(&client, &format!("test-{run}")).await.unwrap(), None);
}

/// One resource's block of the SAM template: from `  Name:` to the next resource.
fn resource<'a>(template: &'a str, name: &str) -> &'a str {
    let start = template.find(&format!("\n  {name}:\n")).unwrap_or_else(|| panic!("no resource {name}")) + 1;
    let block = &template[start..];
    let mut end = block.len();
    let mut offset = 0;
    for (i, line) in block.split_inclusive('\n').enumerate() {
        let indent = line.len() - line.trim_start().len();
        let starts_next = !line.trim().is_empty() && indent <= 2 && !line.trim_start().starts_with('#');
        if i > 0 && starts_next {
            end = offset;
            break;
        }
        offset += line.len();
    }
    &block[..end]
}

/// The YAML list under `key:` in a block (its `- item` lines).
fn list(block: &str, key: &str) -> Vec<String> {
    let mut lines = block.lines().skip_while(|l| l.trim() != format!("{key}:")).skip(1);
    let mut items = Vec::new();
    for line in lines.by_ref() {
        match line.trim().strip_prefix("- ") {
            Some(item) => items.push(item.trim().to_owned()),
            None => break,
        }
    }
    items
}

/// The template's pool: the tenant attribute is immutable and the console's client can
/// read but not write it; ID tokens live 15 minutes; the HTTP API's JWT authorizer
/// takes this pool's tokens for this client only.
#[test]
fn the_tenant_attribute_is_immutable_and_not_writable_by_the_console_client() {
    let template = std::fs::read_to_string(super::layout::repo().join("infra/template.yaml")).unwrap();

    let pool = resource(&template, "UserPool");
    assert!(pool.contains("Type: AWS::Cognito::UserPool\n"), "{pool}");
    let tenant = pool.split("- Name: tenant").nth(1).expect("a custom attribute `tenant` in the pool's schema");
    let tenant: String =
        tenant.lines().take_while(|l| !l.trim_start().starts_with("- ")).collect::<Vec<_>>().join("\n");
    assert!(tenant.contains("Mutable: false"), "custom:tenant must be immutable: {tenant}");
    assert!(pool.contains("AllowAdminCreateUserOnly: true"), "only the operator creates people");

    let client = resource(&template, "ConsoleClient");
    assert!(client.contains("GenerateSecret: false"));
    let writable = list(client, "WriteAttributes");
    assert!(!writable.is_empty(), "WriteAttributes must be explicit (the default is every attribute)");
    assert!(
        !writable.iter().any(|a| a.contains("tenant")),
        "the console client must not write the tenant: {writable:?}"
    );
    assert!(list(client, "ReadAttributes").contains(&"custom:tenant".to_owned()));
    let flows = list(client, "ExplicitAuthFlows");
    assert_eq!(flows, ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]);
    assert!(client.contains("IdTokenValidity: 15") && client.contains("IdToken: minutes"));

    for (resource_name, group) in [("OwnerGroup", "owner"), ("ManagerGroup", "manager"), ("ViewerGroup", "viewer")] {
        assert!(resource(&template, resource_name).contains(&format!("GroupName: {group}")), "{group}");
        assert!(Role::parse(group).is_some());
    }

    let api = resource(&template, "Api");
    let authorizer = api.split("ConsoleAuthorizer:").nth(1).expect("a JWT authorizer on the HTTP API");
    assert!(authorizer.contains("amazonaws.com/${UserPool}"), "issuer: this stage's pool");
    assert_eq!(list(authorizer, "audience"), ["!Ref ConsoleClient"]);
}

/// Every function resource of the template: (resource name, its block, its route path).
fn function_resources(template: &str) -> Vec<(String, &str, String)> {
    let lines: Vec<&str> = template.lines().collect();
    let mut out = Vec::new();
    for pair in lines.windows(2) {
        let Some(name) = pair[0].strip_prefix("  ").and_then(|l| l.strip_suffix(':')) else { continue };
        if name.starts_with(' ') || pair[1].trim() != "Type: AWS::Serverless::Function" {
            continue;
        }
        let block = resource(template, name);
        let path =
            block.lines().find_map(|l| l.trim().strip_prefix("Path:")).map(|p| p.trim().to_owned()).unwrap_or_default();
        out.push((name.to_owned(), block, path));
    }
    out
}

/// The management routes take the console's sessions and nothing else does: each
/// `/v1/admin/...` function names the JWT authorizer and verifies tokens of this stage's
/// pool for the console's client; no dialect route has an authorizer or session settings
/// (they take API keys).
#[test]
fn management_routes_have_the_authorizer_and_this_stages_pool_and_dialect_routes_neither() {
    let template = std::fs::read_to_string(super::layout::repo().join("infra/template.yaml")).unwrap();
    let functions = function_resources(&template);
    let (manage, dialect): (Vec<_>, Vec<_>) = functions.iter().partition(|(_, _, path)| path.starts_with("/v1/admin/"));
    assert!(manage.len() >= 15, "the management functions in the template: {}", manage.len());
    assert!(!dialect.is_empty());
    for (name, block, path) in &manage {
        assert!(block.contains("Authorizer: ConsoleAuthorizer"), "{name} ({path}) has no ConsoleAuthorizer");
        assert!(
            block.contains(
                r#"LOYALTY_SESSION_ISSUER: !Sub "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}""#
            ),
            "{name}: the issuer must be this stage's pool"
        );
        assert!(block.contains("LOYALTY_SESSION_CLIENT_ID: !Ref ConsoleClient"), "{name}: the console's client");
        assert!(!block.contains("LOYALTY_SESSION_JWKS_URL"), "{name}: the JWKS is the issuer's own");
    }
    for (name, block, path) in &dialect {
        assert!(!block.contains("Authorizer"), "{name} ({path}) is a dialect route: API keys, no authorizer");
        assert!(!block.contains("LOYALTY_SESSION_"), "{name} ({path}) takes no console sessions");
    }
    // Each management function crate is one of them.
    let resources: Vec<String> = manage
        .iter()
        .filter_map(|(_, b, _)| b.lines().find_map(|l| l.trim().strip_prefix("Binary:")))
        .map(|b| b.trim().to_owned())
        .collect();
    for crate_name in super::layout::functions().keys().filter(|n| n.starts_with("admin-")) {
        assert!(resources.contains(crate_name), "functions/{crate_name} has no management route in the template");
    }
}

/// Least privilege: no management function may scan the table or delete an item (a
/// change is puts and updates in one transaction; the audit log is never edited), but
/// for removing a webhook endpoint, which deletes in the endpoint partition only, and a
/// member's edit or erasure, which delete the member's old lookups by mobile and email.
#[test]
fn no_management_function_may_scan_or_delete() {
    let template = std::fs::read_to_string(super::layout::repo().join("infra/template.yaml")).unwrap();
    for (name, block, path) in function_resources(&template) {
        if !path.starts_with("/v1/admin/") {
            continue;
        }
        let policies = block.split("Policies:").nth(1).unwrap_or_else(|| panic!("{name}: no policies"));
        // BatchGetItem reads (the members export); BatchWriteItem could delete.
        let mut forbidden = vec!["dynamodb:Scan", "dynamodb:*", "dynamodb:BatchWriteItem", "Action: \"*\""];
        if name == "AdminWebhookRemoveFunction" {
            let delete = policies.split("- Effect:").find(|s| s.contains("dynamodb:DeleteItem")).unwrap_or_default();
            assert!(delete.contains(r#"dynamodb:LeadingKeys: ["TENANT#*#WEBHOOKS"]"#), "{name} deletes: {delete}");
        } else if name == "AdminMemberEditFunction" || name == "AdminMemberEraseFunction" {
            let delete = policies.split("- Effect:").find(|s| s.contains("dynamodb:DeleteItem")).unwrap_or_default();
            let lookups = r#"dynamodb:LeadingKeys: ["TENANT#*#MOBILE#*", "TENANT#*#EMAIL#*"]"#;
            assert!(delete.contains(lookups), "{name} deletes: {delete}");
        } else {
            forbidden.push("dynamodb:DeleteItem");
        }
        for forbidden in forbidden {
            assert!(!policies.contains(forbidden), "{name} grants {forbidden}");
        }
        if name.starts_with("AdminTeam") {
            // The team lives in the stage's user pool: its actions on that pool only.
            assert!(policies.contains("Resource: !GetAtt UserPool.Arn"), "{name}: the stage's pool");
            assert!(!policies.contains("cognito-idp:*"), "{name} grants every user pool action");
            assert!(block.contains("LOYALTY_TEAM_POOL_ID: !Ref UserPool"), "{name}: the stage's pool id");
            assert!(!block.contains("LOYALTY_TEAM_SHOW_TEMPORARY_PASSWORD"), "{name}: local stages only");
            if name == "AdminTeamFunction" {
                // The list reads no table item.
                continue;
            }
        }
        let by_key = ["dynamodb:GetItem", "dynamodb:BatchGetItem"];
        assert!(by_key.iter().any(|a| policies.contains(a)), "{name}: reads by key");
    }
}

/// The console in AWS: served by the stage's distribution from a private bucket, with a
/// strict Content-Security-Policy and the other security headers; the API's paths stay
/// on the HTTP API.
#[test]
fn the_console_has_its_content_security_policy_and_the_api_paths_keep_their_origin() {
    let template = std::fs::read_to_string(super::layout::repo().join("infra/template.yaml")).unwrap();
    let headers = resource(&template, "ConsoleHeadersPolicy");
    assert!(headers.contains("Type: AWS::CloudFront::ResponseHeadersPolicy"));
    let csp = "default-src 'self'; connect-src 'self' https://cognito-idp.${AWS::Region}.amazonaws.com; \
               img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
    assert!(headers.contains(csp), "the console's CSP: {headers}");
    for part in ["StrictTransportSecurity:", "ContentTypeOptions:", "ReferrerPolicy:"] {
        assert!(headers.contains(part), "{part}");
    }

    let edge = resource(&template, "EdgeDistribution");
    let default = edge.split("DefaultCacheBehavior:").nth(1).unwrap().split("CacheBehaviors:").next().unwrap();
    assert!(default.contains("TargetOriginId: console"), "{default}");
    assert!(default.contains("ResponseHeadersPolicyId: !Ref ConsoleHeadersPolicy"));
    let behaviours = edge.split("\n        CacheBehaviors:").nth(1).expect("path behaviours for the API");
    for pattern in ["/api/*", "/v1/*"] {
        let b = behaviours.split(&format!("- PathPattern: {pattern}")).nth(1).unwrap_or_else(|| panic!("{pattern}"));
        let b = b.split("- PathPattern:").next().unwrap();
        assert!(b.contains("TargetOriginId: api"), "{pattern} goes to the HTTP API");
        assert!(b.contains("CachePolicyId: 4135ea2d-6df8-44a3-9df3-4b5a84be39ad"), "{pattern}: never cached");
    }
    assert!(edge.contains("HeaderName: X-Origin-Verify"), "the edge's secret to the API");
    assert!(edge.contains("OriginAccessControlId: !GetAtt ConsoleOriginAccessControl.Id"));

    let bucket = resource(&template, "ConsoleBucket");
    for block in
        ["BlockPublicAcls: true", "BlockPublicPolicy: true", "IgnorePublicAcls: true", "RestrictPublicBuckets: true"]
    {
        assert!(bucket.contains(block), "{block}");
    }
    let policy = resource(&template, "ConsoleBucketPolicy");
    assert!(
        policy.contains("Service: cloudfront.amazonaws.com") && policy.contains("distribution/${EdgeDistribution}")
    );
}
