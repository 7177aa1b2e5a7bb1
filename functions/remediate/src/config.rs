//! The function's settings, read from the environment and checked once at cold start: a
//! bad mode or policy fails the start, never an incident.

use std::path::PathBuf;

use reflex_aws::{AwsConfig, KeyUse, LinksConfig};

use crate::origin::{NotATopicArn, Origins};
use reflex_core::policy::Policy;
use reflex_core::vocab::verdict::Mode;

/// Environment variable: `dry-run` (default) or `enforce`.
pub const MODE_VAR: &str = "REFLEX_MODE";
/// Environment variable: a policy YAML file in the package; empty uses the embedded default.
pub const POLICY_PATH_VAR: &str = "REFLEX_POLICY_PATH";
/// Environment variable: a kubeconfig to use instead of EKS authentication (clusters
/// outside EKS, local runs).
pub const KUBECONFIG_VAR: &str = "REFLEX_KUBECONFIG";
/// Environment variable (required): the alerts topic, the only SNS topic whose events are
/// acted on; its account is the only account whose alarm events are.
pub const ALERTS_TOPIC_VAR: &str = "REFLEX_ALERTS_TOPIC_ARN";
/// Environment variable: only CloudWatch alarms whose names start with it are acted on
/// (unset or empty: every alarm of the account).
pub const ALARM_PREFIX_VAR: &str = "REFLEX_ALARM_NAME_PREFIX";

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `REFLEX_MODE` is neither `dry-run` nor `enforce`.
    #[error("{MODE_VAR} is invalid: {0}")]
    Mode(String),
    /// The policy file could not be read.
    #[error("{POLICY_PATH_VAR}: cannot read policy {path}: {source}")]
    PolicyFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The policy was refused by its validation (the message names the rule and field).
    #[error("{POLICY_PATH_VAR}: policy {path} refused: {source}")]
    Policy {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: reflex_core::policy::PolicyError,
    },
    /// `REFLEX_ALERTS_TOPIC_ARN` is not set.
    #[error("{ALERTS_TOPIC_VAR} is not set: remediate acts only on events of its alerts topic")]
    NoAlertsTopic,
    /// `REFLEX_ALERTS_TOPIC_ARN` is not an SNS topic ARN.
    #[error("{ALERTS_TOPIC_VAR} is invalid: {0}")]
    AlertsTopic(#[from] NotATopicArn),
    /// The AWS settings (region, cluster, table, topic, approval links) are missing or
    /// invalid.
    #[error(transparent)]
    Aws(#[from] reflex_aws::AwsError),
    /// The policy puts approval links in notifications, but the function has no key.
    #[error(
        "the policy says approval.links: true, but approval links are off here ({}=true and {} name the key; the template's ApprovalLinks parameter sets them)",
        reflex_aws::links::LINKS_VAR,
        reflex_aws::links::KEY_PARAMETER_VAR
    )]
    LinksWithoutKey,
}

/// Where the policy came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// The default policy embedded in the binary.
    Embedded,
    /// A file in the function package.
    File(PathBuf),
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Dry run or enforce.
    pub mode: Mode,
    /// The validated policy.
    pub policy: Policy,
    /// Where it came from (logged at start).
    pub policy_source: PolicySource,
    /// A kubeconfig to use instead of EKS authentication.
    pub kubeconfig: Option<PathBuf>,
    /// The deliveries acted on (the alerts topic, the account's alarms).
    pub origins: Origins,
    /// Region, cluster name, audit table, notifications topic, endpoint override.
    pub aws: AwsConfig,
    /// Where the approval links' key is and the intake URL they point at, when links are on.
    pub links: Option<LinksConfig>,
}

impl Config {
    /// Reads and validates the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads and validates settings through `var` (the environment, or a table in tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        // Unset means the safe choice; anything else must be spelled exactly.
        let mode = match get(MODE_VAR) {
            None => Mode::DryRun,
            Some(v) => v.parse::<Mode>().map_err(ConfigError::Mode)?,
        };
        let (policy, policy_source) = match get(POLICY_PATH_VAR) {
            None => (Policy::default_policy(), PolicySource::Embedded),
            Some(path) => {
                let path = PathBuf::from(path);
                let text =
                    std::fs::read_to_string(&path).map_err(|source| ConfigError::PolicyFile {
                        path: path.clone(),
                        source,
                    })?;
                let policy = Policy::from_yaml(&text).map_err(|source| ConfigError::Policy {
                    path: path.clone(),
                    source,
                })?;
                (policy, PolicySource::File(path))
            }
        };
        let topic = get(ALERTS_TOPIC_VAR).ok_or(ConfigError::NoAlertsTopic)?;
        let origins = Origins::new(&topic, &get(ALARM_PREFIX_VAR).unwrap_or_default())?;
        let aws = AwsConfig::from_lookup(&var)?;
        let links = LinksConfig::from_lookup(&var, KeyUse::SignAndCheck)?;
        if policy.approval.links && links.is_none() {
            return Err(ConfigError::LinksWithoutKey);
        }
        Ok(Config {
            links,
            origins,
            mode,
            policy,
            policy_source,
            kubeconfig: get(KUBECONFIG_VAR).map(PathBuf::from),
            aws,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(extra: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let mut pairs: Vec<(String, String)> = [
            ("AWS_REGION", "eu-west-1"),
            ("REFLEX_CLUSTER_NAME", "voting-prod"),
            ("REFLEX_AUDIT_TABLE", "reflex-audit"),
            (
                "REFLEX_NOTIFY_TOPIC_ARN",
                "arn:aws:sns:eu-west-1:123456789012:reflex-notify",
            ),
            (
                "REFLEX_ALERTS_TOPIC_ARN",
                "arn:aws:sns:eu-west-1:123456789012:reflex-alerts",
            ),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        pairs.reverse(); // later entries override earlier ones
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn the_deployed_environment_gives_dry_run_and_the_embedded_policy() {
        let config = Config::from_vars(vars(&[(POLICY_PATH_VAR, "")])).unwrap();
        assert_eq!(config.mode, Mode::DryRun);
        assert_eq!(config.policy_source, PolicySource::Embedded);
        assert_eq!(config.aws.cluster_name, "voting-prod");
        assert_eq!(config.kubeconfig, None);
    }

    #[test]
    fn approval_links_need_the_key_and_the_intake_url_and_a_linking_policy_needs_them_on() {
        assert!(Config::from_vars(vars(&[])).unwrap().links.is_none());
        let on = [
            ("REFLEX_APPROVAL_LINKS", "true"),
            ("REFLEX_APPROVAL_KEY_PARAMETER", "/reflex/approval-key"),
        ];
        let err = Config::from_vars(vars(&on)).unwrap_err().to_string();
        assert!(
            err.starts_with("REFLEX_APPROVAL_LINK_BASE_URL is not set"),
            "{err}"
        );
        let full = [
            on[0],
            on[1],
            (
                "REFLEX_APPROVAL_LINK_BASE_URL",
                "https://abc.lambda-url.eu-west-1.on.aws/",
            ),
        ];
        let links = Config::from_vars(vars(&full)).unwrap().links.unwrap();
        assert_eq!(links.key_parameter, "/reflex/approval-key");
        let policy = linking_policy();
        let err =
            Config::from_vars(vars(&[(POLICY_PATH_VAR, policy.to_str().unwrap())])).unwrap_err();
        assert!(matches!(err, ConfigError::LinksWithoutKey), "{err}");
        let mut with_key: Vec<(&str, &str)> = full.to_vec();
        with_key.push((POLICY_PATH_VAR, policy.to_str().unwrap()));
        assert!(Config::from_vars(vars(&with_key)).unwrap().links.is_some());
    }

    /// The default policy with `approval.links: true`, in a temporary file.
    fn linking_policy() -> PathBuf {
        let text = reflex_core::policy::DEFAULT_POLICY_YAML.replacen(
            "  links: false\n",
            "  links: true\n",
            1,
        );
        let path =
            std::env::temp_dir().join(format!("reflex-links-policy-{}.yaml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn enforce_is_spelled_out_and_anything_else_is_refused() {
        let config = Config::from_vars(vars(&[(MODE_VAR, "enforce")])).unwrap();
        assert_eq!(config.mode, Mode::Enforce);
        let err = Config::from_vars(vars(&[(MODE_VAR, "Enforce")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "REFLEX_MODE is invalid: unknown mode \"Enforce\": expected dry-run or enforce"
        );
    }

    #[test]
    fn the_shipped_policy_file_loads_and_a_missing_one_names_its_path() {
        let shipped = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/core/policy/default.yaml"
        );
        let config = Config::from_vars(vars(&[(POLICY_PATH_VAR, shipped)])).unwrap();
        assert_eq!(
            config.policy.rules.len(),
            Policy::default_policy().rules.len()
        );
        assert!(matches!(config.policy_source, PolicySource::File(_)));
        let err =
            Config::from_vars(vars(&[(POLICY_PATH_VAR, "/nonexistent/policy.yaml")])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("REFLEX_POLICY_PATH: cannot read policy /nonexistent/policy.yaml"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_policy_fails_the_cold_start_with_the_validation_message() {
        let dir = std::env::temp_dir().join(format!("reflex-remediate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad-policy.yaml");
        std::fs::write(&path, "rules:\n  - name: x\n    class: no_such_class\n").unwrap();
        let err =
            Config::from_vars(vars(&[(POLICY_PATH_VAR, path.to_str().unwrap())])).unwrap_err();
        assert!(matches!(err, ConfigError::Policy { .. }), "{err}");
        assert!(err.to_string().contains("refused"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_aws_setting_names_its_variable() {
        let err = Config::from_vars(vars(&[("REFLEX_AUDIT_TABLE", "")])).unwrap_err();
        assert!(
            err.to_string().starts_with("REFLEX_AUDIT_TABLE is not set"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_or_malformed_alerts_topic_fails_the_cold_start() {
        let missing = Config::from_vars(vars(&[(ALERTS_TOPIC_VAR, "")])).unwrap_err();
        assert!(matches!(missing, ConfigError::NoAlertsTopic), "{missing}");
        let bad = Config::from_vars(vars(&[(ALERTS_TOPIC_VAR, "reflex-alerts")])).unwrap_err();
        assert!(
            bad.to_string()
                .starts_with("REFLEX_ALERTS_TOPIC_ARN is invalid"),
            "{bad}"
        );
        let config = Config::from_vars(vars(&[(ALARM_PREFIX_VAR, "voting-prod-")])).unwrap();
        assert_eq!(config.origins.account(), "123456789012");
    }
}
