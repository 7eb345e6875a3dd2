//! The AWS settings of a function, read straight from Lambda's environment when that is
//! all there is to read ([`Store::load_aws_config`](crate::store::Store::load_aws_config)).
//!
//! `aws_config::defaults(...).load()` asks a chain of providers for each of about twenty
//! settings (region, FIPS, dual stack, retries, timeouts, endpoint URLs, checksums,
//! account-id endpoints, app name, ...), each one the environment and then the profile
//! files, and builds the default credentials chain and token chain (environment, profile,
//! web identity, SSO, ECS, instance metadata) with their clients. In Lambda every answer
//! but three is "not set": the region (`AWS_REGION`), the execution role's credentials
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) and, locally or in
//! the benchmark, an endpoint URL. [`LambdaEnv::read`] recognises that case and
//! [`LambdaEnv::sdk_config`] builds the same `SdkConfig` from it directly; anything else
//! (a profile file, `AWS_PROFILE`, any `AWS_*` setting this module does not interpret,
//! no credentials in the environment) goes the default way, so local development with
//! profiles, SSO or instance roles behaves as before.
//!
//! Why the result is the same configuration:
//! - **Region**: `AWS_REGION`, else `AWS_DEFAULT_REGION`, the environment provider's order,
//!   which comes first in the default region chain.
//! - **Credentials**: the SDK's own environment provider
//!   ([`EnvironmentVariableCredentialsProvider`]), first in the default chain, so it
//!   answers exactly what the chain would (same blank-value rules, same account id), and
//!   behind the same lazy identity cache. Lambda's environment credentials are the
//!   execution role's, issued for the execution environment's life: nothing refreshes
//!   them in the process with the default chain either (it would read the same unchanged
//!   variables again).
//! - **Endpoints**: `AWS_ENDPOINT_URL_<SERVICE>` then `AWS_ENDPOINT_URL`, as the default
//!   service configuration reads them from the environment ([`EnvEndpoints`]); profile
//!   files, the only other source, are checked to be absent.
//! - **Everything else** is unset in both, so each client takes its defaults; the
//!   caller sets the same HTTP client, timeouts and retries either way.

use std::path::Path;

use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::SharedCredentialsProvider;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

/// `AWS_*` variables this module interprets (or that configure nothing in the SDK:
/// Lambda's `AWS_ACCESS_KEY` duplicates the key id, `AWS_EXECUTION_ENV` names the
/// runtime, read by the SDK's user agent from the environment itself).
const KNOWN: [&str; 9] = [
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCOUNT_ID",
    "AWS_EXECUTION_ENV",
    "AWS_ENDPOINT_URL",
];

/// Prefixes of `AWS_*` variables that are Lambda's own (runtime API, function name, log
/// names, X-Ray) or the per-service endpoint URLs [`EnvEndpoints`] reads.
const KNOWN_PREFIXES: [&str; 3] = ["AWS_LAMBDA_", "AWS_XRAY_", "AWS_ENDPOINT_URL_"];

/// The settings Lambda's environment gives, when it gives nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaEnv {
    pub region: String,
    /// `AWS_ENDPOINT_URL` (every service), when set.
    pub endpoint_url: Option<String>,
}

impl LambdaEnv {
    /// `Some` only when the SDK's default loader would find nothing but what this reads:
    /// a region, credentials (`AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, not
    /// blank), every `AWS_*` variable one of [`KNOWN`] or [`KNOWN_PREFIXES`], and no
    /// profile file (`profile_file_exists` is asked about `~/.aws/config` and
    /// `~/.aws/credentials` when `HOME` is set; without `HOME` the SDK reads none).
    pub fn read(
        vars: impl IntoIterator<Item = (String, String)>,
        profile_file_exists: impl Fn(&Path) -> bool,
    ) -> Option<LambdaEnv> {
        let (mut region, mut default_region, mut key_id, mut secret, mut home, mut endpoint_url) =
            (None, None, None, None, None, None);
        for (name, value) in vars {
            match name.as_str() {
                "AWS_REGION" => region = Some(value),
                "AWS_DEFAULT_REGION" => default_region = Some(value),
                "AWS_ACCESS_KEY_ID" => key_id = Some(value),
                "AWS_SECRET_ACCESS_KEY" => secret = Some(value),
                "AWS_ENDPOINT_URL" => endpoint_url = Some(value),
                "HOME" => home = Some(value),
                other
                    if other.starts_with("AWS_")
                        && !KNOWN.contains(&other)
                        && !KNOWN_PREFIXES.iter().any(|p| other.starts_with(p)) =>
                {
                    return None;
                }
                _ => {}
            }
        }
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|v| v.trim().is_empty());
        if blank(&key_id) || blank(&secret) {
            return None;
        }
        if let Some(home) = home.filter(|h| !h.is_empty()) {
            let aws = Path::new(&home).join(".aws");
            if profile_file_exists(&aws.join("config")) || profile_file_exists(&aws.join("credentials")) {
                return None;
            }
        }
        // The region provider takes `AWS_REGION` when set at all, else `AWS_DEFAULT_REGION`.
        let region = region.or(default_region).filter(|r| !r.is_empty())?;
        Some(LambdaEnv { region, endpoint_url })
    }

    /// [`read`](Self::read) on this process's environment and file system.
    pub fn from_process() -> Option<LambdaEnv> {
        let vars = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        LambdaEnv::read(vars, |path| path.exists())
    }

    /// The configuration the default loader would build from this environment (before
    /// the caller's HTTP client, timeouts and retries).
    pub fn sdk_config(&self) -> aws_types::sdk_config::Builder {
        let mut builder = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .credentials_provider(SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new()))
            .identity_cache(aws_config::identity::IdentityCache::lazy().build())
            .service_config(EnvEndpoints);
        builder.set_endpoint_url(self.endpoint_url.clone());
        builder
    }
}

/// A client's endpoint URL from the environment, as the default service configuration
/// reads it: `AWS_ENDPOINT_URL_<SERVICE ID, upper case, spaces as _>` (for example
/// `AWS_ENDPOINT_URL_DYNAMODB`), else `AWS_ENDPOINT_URL`.
#[derive(Debug)]
pub struct EnvEndpoints;

impl EnvEndpoints {
    fn load(&self, key: &ServiceConfigKey<'_>, var: impl Fn(&str) -> Option<String>) -> Option<String> {
        let service = key.service_id().to_uppercase().replace(' ', "_");
        var(&format!("{}_{service}", key.env())).or_else(|| var(key.env()))
    }
}

impl LoadServiceConfig for EnvEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        self.load(&key, |name| std::env::var(name).ok())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// What Lambda sets for a function (provided.al2023), plus the stage's own settings.
    const LAMBDA: [(&str, &str); 16] = [
        ("AWS_REGION", "ap-south-1"),
        ("AWS_DEFAULT_REGION", "ap-south-1"),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
        ("AWS_ACCESS_KEY", "ASIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "token"),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
        ("AWS_LAMBDA_FUNCTION_NAME", "pos-bill"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_XRAY_DAEMON_ADDRESS", "169.254.79.129:2000"),
        ("_X_AMZN_TRACE_ID", "Root=1-0"),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("LOYALTY_TABLE", "loyalty-live"),
        ("TZ", ":UTC"),
    ];

    fn no_files(_: &Path) -> bool {
        false
    }

    #[test]
    fn lambdas_environment_is_read_directly() {
        let read = LambdaEnv::read(env(&LAMBDA), no_files).unwrap();
        assert_eq!(read, LambdaEnv { region: "ap-south-1".into(), endpoint_url: None });
        let mut local = env(&LAMBDA);
        local.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), "http://127.0.0.1:8000".into()));
        local.push(("AWS_ENDPOINT_URL".into(), "http://127.0.0.1:9".into()));
        local.push(("HOME".into(), "/home/sbx".into()));
        let read = LambdaEnv::read(local, no_files).unwrap();
        assert_eq!(read.endpoint_url.as_deref(), Some("http://127.0.0.1:9"));
    }

    #[test]
    fn anything_else_goes_the_default_way() {
        let with = |extra: (&str, &str)| {
            let mut vars = env(&LAMBDA);
            vars.push((extra.0.into(), extra.1.into()));
            LambdaEnv::read(vars, no_files)
        };
        for setting in [
            ("AWS_PROFILE", "dev"),
            ("AWS_CONFIG_FILE", "/etc/aws"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/etc/creds"),
            ("AWS_USE_FIPS_ENDPOINT", "true"),
            ("AWS_USE_DUALSTACK_ENDPOINT", "true"),
            ("AWS_MAX_ATTEMPTS", "5"),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/token"),
            ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ] {
            assert_eq!(with(setting), None, "{setting:?}");
        }
        // No credentials in the environment: the chain looks elsewhere (profile, SSO,
        // instance role).
        for missing in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let vars = env(&LAMBDA).into_iter().filter(|(k, _)| k != missing);
            assert_eq!(LambdaEnv::read(vars, no_files), None, "{missing}");
            let blank = env(&LAMBDA).into_iter().map(|(k, v)| if k == missing { (k, " ".into()) } else { (k, v) });
            assert_eq!(LambdaEnv::read(blank, no_files), None, "{missing} blank");
        }
        // No region: the chain would look in the profile and the instance metadata.
        let vars = env(&LAMBDA).into_iter().filter(|(k, _)| !k.ends_with("REGION"));
        assert_eq!(LambdaEnv::read(vars, no_files), None);
        // A profile file in the home directory: the default loader reads it.
        let mut vars = env(&LAMBDA);
        vars.push(("HOME".into(), "/home/dev".into()));
        assert_eq!(LambdaEnv::read(vars.clone(), |p| p == Path::new("/home/dev/.aws/config")), None);
        assert_eq!(LambdaEnv::read(vars, |p| p == Path::new("/home/dev/.aws/credentials")), None);
    }

    #[test]
    fn aws_region_comes_before_aws_default_region() {
        let vars =
            env(&[("AWS_DEFAULT_REGION", "eu-west-1"), ("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "s")]);
        assert_eq!(LambdaEnv::read(vars.clone(), no_files).unwrap().region, "eu-west-1");
        let mut both = vars;
        both.push(("AWS_REGION".into(), "us-east-1".into()));
        assert_eq!(LambdaEnv::read(both, no_files).unwrap().region, "us-east-1");
    }

    #[test]
    fn a_services_endpoint_is_its_own_variable_then_the_global_one() {
        let key = |service| {
            ServiceConfigKey::builder()
                .service_id(service)
                .env("AWS_ENDPOINT_URL")
                .profile("endpoint_url")
                .build()
                .unwrap()
        };
        let vars = HashMap::from([
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
            ("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "http://127.0.0.1:9229"),
        ]);
        let var = |name: &str| vars.get(name).map(|v| v.to_string());
        assert_eq!(EnvEndpoints.load(&key("DynamoDB"), var).as_deref(), Some("http://127.0.0.1:8000"));
        assert_eq!(EnvEndpoints.load(&key("Cognito Identity Provider"), var).as_deref(), Some("http://127.0.0.1:9229"));
        assert_eq!(EnvEndpoints.load(&key("SNS"), var), None);
        let global = |name: &str| (name == "AWS_ENDPOINT_URL").then(|| "http://127.0.0.1:9".to_owned());
        assert_eq!(EnvEndpoints.load(&key("SNS"), global).as_deref(), Some("http://127.0.0.1:9"));
    }

    /// The configuration built directly gives a DynamoDB client the region, credentials
    /// and endpoint the environment names.
    #[tokio::test]
    async fn the_direct_configuration_has_the_region_credentials_and_endpoint() {
        use aws_sdk_dynamodb::config::ProvideCredentials;
        let config = LambdaEnv { region: "ap-south-1".into(), endpoint_url: None }.sdk_config().build();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("ap-south-1"));
        assert!(config.credentials_provider().is_some());
        assert!(config.identity_cache().is_some());
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(&config).build();
        assert_eq!(dynamodb.region().map(|r| r.as_ref()), Some("ap-south-1"));
        // The SDK's environment provider: what the process's environment holds (an error
        // when it holds no credentials), nothing of this module's making.
        let provided = config.credentials_provider().unwrap().provide_credentials().await;
        let set = |name| std::env::var(name).ok().filter(|v: &String| !v.trim().is_empty());
        match (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY")) {
            (Some(id), Some(_)) => assert_eq!(provided.unwrap().access_key_id(), id),
            _ => assert!(provided.is_err()),
        }
    }
}
