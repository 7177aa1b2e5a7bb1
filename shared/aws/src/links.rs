//! The approval links' HMAC key (ARCHITECTURE section 11): read once at cold start from an
//! SSM SecureString (with decryption) named by the function's configuration, and handed to
//! the core's [`HmacLinks`], which is the only holder of its bytes from then on.
//!
//! The key never leaves that path: it is not logged, not put in a record, and no error
//! message repeats it (an SSM failure names the parameter and the service's error; a short
//! key says how many bytes it has). The parameter's value is used as it is stored, its
//! UTF-8 bytes; generate one with `openssl rand -base64 48`.

use aws_config::SdkConfig;
use aws_sdk_ssm::Client;
use reflex_core::approval::{HmacLinks, MIN_KEY_BYTES};

use crate::error::{AwsError, classify};

/// Environment variable: `true` turns approval links on (unset or `false`: off).
pub const LINKS_VAR: &str = "REFLEX_APPROVAL_LINKS";
/// Environment variable: the SSM SecureString parameter holding the HMAC key.
pub const KEY_PARAMETER_VAR: &str = "REFLEX_APPROVAL_KEY_PARAMETER";
/// Environment variable: the intake function URL, under which links are made.
pub const BASE_URL_VAR: &str = "REFLEX_APPROVAL_LINK_BASE_URL";

/// Whether a function makes links or only checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// Signs links (in notifications) and checks approval messages: needs the base URL.
    SignAndCheck,
    /// Only checks links it is sent (the intake function serving them): no base URL.
    Check,
}

/// Where the key is and what links are made under, when links are on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinksConfig {
    /// Name (or ARN) of the SSM SecureString parameter holding the key.
    pub key_parameter: String,
    /// The intake function URL links are made under (empty when only checking).
    pub base_url: String,
}

impl LinksConfig {
    /// Reads the links settings through `var`; `None` when links are off. Links on without
    /// a parameter (or, for [`KeyUse::SignAndCheck`], without a base URL) is an error
    /// naming the variable.
    pub fn from_lookup(
        var: impl Fn(&str) -> Option<String>,
        usage: KeyUse,
    ) -> Result<Option<LinksConfig>, AwsError> {
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        match get(LINKS_VAR).as_deref() {
            None | Some("false") => return Ok(None),
            Some("true") => {}
            Some(other) => {
                return Err(AwsError::InvalidVar {
                    name: LINKS_VAR,
                    value: other.to_owned(),
                    why: "expected true or false".to_owned(),
                });
            }
        }
        let key_parameter = get(KEY_PARAMETER_VAR).ok_or(AwsError::MissingVar {
            name: KEY_PARAMETER_VAR,
            hint: "approval links are on: the SSM SecureString parameter holding their HMAC key",
        })?;
        let valid_name = key_parameter.starts_with("arn:")
            || key_parameter
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c));
        if !valid_name {
            return Err(AwsError::InvalidVar {
                name: KEY_PARAMETER_VAR,
                value: key_parameter,
                why: "expected an SSM parameter name (letters, digits, _ . - /) or its ARN"
                    .to_owned(),
            });
        }
        let base_url = match (usage, get(BASE_URL_VAR)) {
            (_, Some(url)) => {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(AwsError::InvalidVar {
                        name: BASE_URL_VAR,
                        value: url,
                        why: "expected the intake function URL (https://...)".to_owned(),
                    });
                }
                url
            }
            (KeyUse::Check, None) => String::new(),
            (KeyUse::SignAndCheck, None) => {
                return Err(AwsError::MissingVar {
                    name: BASE_URL_VAR,
                    hint: "approval links are on: the intake function URL the links point at (stack output IntakeFunctionUrl)",
                });
            }
        };
        Ok(Some(LinksConfig {
            key_parameter,
            base_url,
        }))
    }

    /// Reads the key (SSM GetParameter with decryption) and builds the signer. Any failure
    /// is a start-up error that names the parameter, never its value.
    pub async fn load(&self, sdk: &SdkConfig) -> Result<HmacLinks, AwsError> {
        let refused = |detail: String| AwsError::LinkKey {
            parameter: self.key_parameter.clone(),
            detail,
        };
        let out = Client::new(sdk)
            .get_parameter()
            .name(&self.key_parameter)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| refused(classify("ssm:GetParameter", e).message))?;
        let parameter = out
            .parameter
            .ok_or_else(|| refused("SSM answered without the parameter".to_owned()))?;
        let kind = parameter.r#type.as_ref().map(|t| t.as_str().to_owned());
        if kind.as_deref() != Some("SecureString") {
            return Err(refused(format!(
                "the parameter is a {}, not a SecureString: the key must be stored encrypted",
                kind.as_deref().unwrap_or("parameter of unknown type")
            )));
        }
        let value = parameter
            .value
            .ok_or_else(|| refused("the parameter has no value".to_owned()))?;
        HmacLinks::new(value.into_bytes(), &self.base_url).map_err(|e| {
            refused(format!(
                "{e} (generate one with `openssl rand -base64 48`; at least {MIN_KEY_BYTES} characters)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::lookup;

    #[test]
    fn links_are_off_unless_turned_on() {
        for pairs in [
            &[][..],
            &[(LINKS_VAR, "false")][..],
            &[(LINKS_VAR, " ")][..],
        ] {
            assert_eq!(
                LinksConfig::from_lookup(lookup(pairs), KeyUse::SignAndCheck).unwrap(),
                None
            );
        }
        let err = LinksConfig::from_lookup(lookup(&[(LINKS_VAR, "yes")]), KeyUse::Check)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("REFLEX_APPROVAL_LINKS=\"yes\" is invalid"),
            "{err}"
        );
    }

    #[test]
    fn links_on_without_a_key_parameter_names_the_variable() {
        let err = LinksConfig::from_lookup(lookup(&[(LINKS_VAR, "true")]), KeyUse::Check)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("REFLEX_APPROVAL_KEY_PARAMETER is not set"),
            "{err}"
        );
    }

    #[test]
    fn signing_links_needs_the_intake_url_and_checking_them_does_not() {
        let on = [
            (LINKS_VAR, "true"),
            (KEY_PARAMETER_VAR, "/reflex/approval-key"),
        ];
        let err = LinksConfig::from_lookup(lookup(&on), KeyUse::SignAndCheck)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("REFLEX_APPROVAL_LINK_BASE_URL is not set"),
            "{err}"
        );
        let checking = LinksConfig::from_lookup(lookup(&on), KeyUse::Check)
            .unwrap()
            .unwrap();
        assert_eq!(checking.key_parameter, "/reflex/approval-key");
        assert_eq!(checking.base_url, "");
        let with_url = [
            on[0],
            on[1],
            (BASE_URL_VAR, "https://abc.lambda-url.eu-west-1.on.aws/"),
        ];
        let signing = LinksConfig::from_lookup(lookup(&with_url), KeyUse::SignAndCheck)
            .unwrap()
            .unwrap();
        assert_eq!(signing.base_url, "https://abc.lambda-url.eu-west-1.on.aws/");
        let bad_url = [on[0], on[1], (BASE_URL_VAR, "abc.lambda-url")];
        assert!(LinksConfig::from_lookup(lookup(&bad_url), KeyUse::SignAndCheck).is_err());
        let bad_name = [on[0], (KEY_PARAMETER_VAR, "key with spaces")];
        assert!(LinksConfig::from_lookup(lookup(&bad_name), KeyUse::Check).is_err());
    }
}
