//! The function's settings, read from the environment once at cold start.

use std::fmt;

use reflex_aws::{AwsError, KeyUse, LinksConfig};

use crate::auth::TokenDigest;

/// Environment variable: ARN of the alerts topic the alert groups are published to.
pub const ALERTS_TOPIC_VAR: &str = "REFLEX_ALERTS_TOPIC_ARN";
/// Environment variable: lowercase hex SHA-256 of the bearer token Alertmanager sends.
pub const TOKEN_SHA256_VAR: &str = "REFLEX_INTAKE_TOKEN_SHA256";
/// Environment variable: largest accepted request body, in bytes.
pub const MAX_BODY_VAR: &str = "REFLEX_MAX_BODY_BYTES";
/// Environment variable (with approval links on): the audit table the links' records are in.
pub const AUDIT_TABLE_VAR: &str = "REFLEX_AUDIT_TABLE";

/// Body limit when [`MAX_BODY_VAR`] is unset: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;
/// Lambda refuses synchronous payloads above 6 MB; a larger limit would never be reached.
const LAMBDA_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// Why the configuration was refused (the function then fails its cold start).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is unset or empty.
    #[error("{var} is not set: {what}")]
    Missing {
        /// The variable.
        var: &'static str,
        /// What it should hold.
        what: &'static str,
    },
    /// A variable is set to something unusable.
    #[error("{var} is invalid: {reason}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// Why (never the value itself, which may be a credential).
        reason: String,
    },
}

/// Validated settings.
#[derive(Clone)]
pub struct Config {
    /// Where alert groups (and approvals given through links) are published.
    pub topic_arn: String,
    /// SHA-256 of the only accepted bearer token.
    pub token: TokenDigest,
    /// Largest accepted body, in bytes.
    pub max_body_bytes: usize,
    /// Approval links, when they are on.
    pub approvals: Option<ApprovalSettings>,
}

/// What the approval routes need to start: where the link key is, and the audit table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalSettings {
    /// The SSM SecureString holding the links' HMAC key.
    pub links: LinksConfig,
    /// The audit table holding the records links approve.
    pub audit_table: String,
}

// The digest is not the token, but there is no reason to print it either.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("topic_arn", &self.topic_arn)
            .field("token", &"<sha-256 redacted>")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("approvals", &self.approvals)
            .finish()
    }
}

impl Config {
    /// Reads and validates the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads and validates settings from `var` (the environment, or a table in tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &'static str, what: &'static str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or(ConfigError::Missing { var: name, what })
        };
        let topic_arn = get(ALERTS_TOPIC_VAR, "the ARN of the alerts SNS topic")?;
        if !topic_arn.starts_with("arn:") || topic_arn.split(':').count() != 6 {
            return Err(ConfigError::Invalid {
                var: ALERTS_TOPIC_VAR,
                reason: format!(
                    "{topic_arn:?} is not an SNS topic ARN (arn:PARTITION:sns:REGION:ACCOUNT:NAME)"
                ),
            });
        }
        let token = get(
            TOKEN_SHA256_VAR,
            "the hex SHA-256 of the bearer token (printf %s \"$TOKEN\" | sha256sum)",
        )?;
        let token = TokenDigest::from_hex(&token).map_err(|reason| ConfigError::Invalid {
            var: TOKEN_SHA256_VAR,
            reason,
        })?;
        let max_body_bytes = match var(MAX_BODY_VAR).filter(|v| !v.trim().is_empty()) {
            None => DEFAULT_MAX_BODY_BYTES,
            Some(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=LAMBDA_PAYLOAD_LIMIT).contains(n))
                .ok_or_else(|| ConfigError::Invalid {
                    var: MAX_BODY_VAR,
                    reason: format!(
                        "{v:?} is not a byte count between 1 and {LAMBDA_PAYLOAD_LIMIT} (Lambda's payload limit)"
                    ),
                })?,
        };
        let approvals = match LinksConfig::from_lookup(&var, KeyUse::Check).map_err(from_aws)? {
            None => None,
            Some(links) => Some(ApprovalSettings {
                links,
                audit_table: get(
                    AUDIT_TABLE_VAR,
                    "approval links are on: the DynamoDB audit table (stack output AuditTableName)",
                )?,
            }),
        };
        Ok(Config {
            topic_arn,
            token,
            max_body_bytes,
            approvals,
        })
    }
}

/// The links settings' error in this function's terms.
fn from_aws(e: AwsError) -> ConfigError {
    match e {
        AwsError::MissingVar { name, hint } => ConfigError::Missing {
            var: name,
            what: hint,
        },
        AwsError::InvalidVar { name, value, why } => ConfigError::Invalid {
            var: name,
            reason: format!("{value:?}: {why}"),
        },
        other => ConfigError::Invalid {
            var: reflex_aws::links::LINKS_VAR,
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:sns:eu-west-1:123456789012:reflex-alerts";
    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn a_complete_environment_is_accepted_with_the_default_body_limit() {
        let config =
            Config::from_vars(vars(&[(ALERTS_TOPIC_VAR, ARN), (TOKEN_SHA256_VAR, HASH)])).unwrap();
        assert_eq!(config.topic_arn, ARN);
        assert_eq!(config.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert!(config.token.matches(b"test"));
        assert!(!format!("{config:?}").contains(HASH));
    }

    #[test]
    fn a_missing_topic_names_the_variable() {
        let err = Config::from_vars(vars(&[(TOKEN_SHA256_VAR, HASH)])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "REFLEX_ALERTS_TOPIC_ARN is not set: the ARN of the alerts SNS topic"
        );
    }

    #[test]
    fn a_token_instead_of_its_hash_is_refused_without_echoing_it() {
        let err = Config::from_vars(vars(&[
            (ALERTS_TOPIC_VAR, ARN),
            (TOKEN_SHA256_VAR, "s3cret-token"),
        ]))
        .unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("REFLEX_INTAKE_TOKEN_SHA256 is invalid"),
            "{message}"
        );
        assert!(!message.contains("s3cret"), "{message}");
    }

    #[test]
    fn approval_links_are_off_unless_turned_on_and_then_need_a_key_and_the_table() {
        let base = [(ALERTS_TOPIC_VAR, ARN), (TOKEN_SHA256_VAR, HASH)];
        assert_eq!(Config::from_vars(vars(&base)).unwrap().approvals, None);
        let on = [base[0], base[1], ("REFLEX_APPROVAL_LINKS", "true")];
        assert_eq!(
            Config::from_vars(vars(&on)).unwrap_err().to_string(),
            "REFLEX_APPROVAL_KEY_PARAMETER is not set: approval links are on: the SSM SecureString parameter holding their HMAC key"
        );
        let keyed = [
            on[0],
            on[1],
            on[2],
            ("REFLEX_APPROVAL_KEY_PARAMETER", "/reflex/key"),
        ];
        assert!(
            Config::from_vars(vars(&keyed))
                .unwrap_err()
                .to_string()
                .starts_with("REFLEX_AUDIT_TABLE is not set"),
        );
        let full = [
            keyed[0],
            keyed[1],
            keyed[2],
            keyed[3],
            (AUDIT_TABLE_VAR, "reflex-audit"),
        ];
        let approvals = Config::from_vars(vars(&full)).unwrap().approvals.unwrap();
        assert_eq!(approvals.links.key_parameter, "/reflex/key");
        assert_eq!(approvals.audit_table, "reflex-audit");
    }

    #[test]
    fn a_body_limit_beyond_lambdas_payload_limit_is_refused() {
        let err = Config::from_vars(vars(&[
            (ALERTS_TOPIC_VAR, ARN),
            (TOKEN_SHA256_VAR, HASH),
            (MAX_BODY_VAR, "7000000"),
        ]))
        .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    var: MAX_BODY_VAR,
                    ..
                }
            ),
            "{err}"
        );
        let err = Config::from_vars(vars(&[
            (ALERTS_TOPIC_VAR, "reflex-alerts"),
            (TOKEN_SHA256_VAR, HASH),
        ]))
        .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    var: ALERTS_TOPIC_VAR,
                    ..
                }
            ),
            "{err}"
        );
    }
}
