//! The approval links' HMAC key in moto's SSM, stored as the template expects it: a
//! SecureString (or, for the refusal tests, a plain String).

use aws_config::SdkConfig;
use aws_sdk_ssm::types::ParameterType;

use crate::unique;

/// A key long enough for `HmacLinks` (48 characters).
pub const LINK_KEY: &str = "test-approval-link-key-of-48-characters-00000000";

/// Stores `value` under a fresh parameter name (`/reflex/<unique>/approval-key`) and
/// returns the name; `secure` picks SecureString (encrypted with SSM's default key) or String.
pub async fn put_key(sdk: &SdkConfig, value: &str, secure: bool) -> String {
    let name = format!("/reflex/{}/approval-key", unique("links"));
    let kind = if secure {
        ParameterType::SecureString
    } else {
        ParameterType::String
    };
    aws_sdk_ssm::Client::new(sdk)
        .put_parameter()
        .name(&name)
        .value(value)
        .r#type(kind)
        .send()
        .await
        .expect("ssm:PutParameter");
    name
}
