//! The approval links' key from moto's SSM, and the single use of a link in the audit table.

use chrono::{Duration, Utc};
use reflex_aws::store::link::{LinkTaken, link_pk};
use reflex_aws::{AwsError, KeyUse, LinksConfig};
use reflex_core::approval::ApprovalLinks;
use reflex_test_support::ssm::{LINK_KEY, put_key};

fn links_config(parameter: &str) -> LinksConfig {
    LinksConfig {
        key_parameter: parameter.to_owned(),
        base_url: "https://intake.example/".to_owned(),
    }
}

#[tokio::test]
async fn a_securestring_key_signs_links_under_the_intake_url_that_it_then_verifies() {
    let aws = crate::moto_aws().await;
    let parameter = put_key(aws.sdk_config(), LINK_KEY, true).await;
    let links = links_config(&parameter)
        .load(aws.sdk_config())
        .await
        .unwrap();
    let expires = Utc::now() + Duration::minutes(30);
    let link = links.link("r-1", expires);
    assert!(
        link.starts_with("https://intake.example/approvals/r-1?expires="),
        "{link}"
    );
    let sig = link.rsplit("sig=").next().unwrap();
    assert_eq!(links.verify("r-1", expires, sig, Utc::now()), Ok(()));
    // The signer read the decrypted value: one built from the plain key agrees with it.
    let plain =
        reflex_core::approval::HmacLinks::new(LINK_KEY.as_bytes(), "https://intake.example")
            .unwrap();
    assert_eq!(plain.sign("r-1", expires), sig);
    assert!(!format!("{links:?}").contains(LINK_KEY));
}

#[tokio::test]
async fn a_missing_plain_or_short_key_is_a_startup_error_that_never_shows_the_value() {
    let aws = crate::moto_aws().await;
    let missing = links_config("/reflex/no-such/approval-key")
        .load(aws.sdk_config())
        .await
        .unwrap_err();
    assert!(matches!(missing, AwsError::LinkKey { .. }), "{missing}");
    let message = missing.to_string();
    assert!(
        message.starts_with("approval link key /reflex/no-such/approval-key: ssm:GetParameter"),
        "{message}"
    );

    let plain = put_key(aws.sdk_config(), LINK_KEY, false).await;
    let message = links_config(&plain)
        .load(aws.sdk_config())
        .await
        .unwrap_err()
        .to_string();
    assert!(message.contains("not a SecureString"), "{message}");
    assert!(!message.contains(LINK_KEY), "{message}");

    let short_key = "short-secret-value";
    let short = put_key(aws.sdk_config(), short_key, true).await;
    let message = links_config(&short)
        .load(aws.sdk_config())
        .await
        .unwrap_err()
        .to_string();
    assert!(message.contains("has 18 bytes; at least 32"), "{message}");
    assert!(!message.contains(short_key), "{message}");
}

#[test]
fn the_functions_environment_turns_links_on_with_a_key_parameter() {
    let vars = [
        ("REFLEX_APPROVAL_LINKS", "true"),
        ("REFLEX_APPROVAL_KEY_PARAMETER", "/reflex/approval-key"),
    ];
    let lookup = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    };
    let config = LinksConfig::from_lookup(lookup, KeyUse::Check)
        .unwrap()
        .unwrap();
    assert_eq!(config.key_parameter, "/reflex/approval-key");
}

#[tokio::test]
async fn a_link_is_taken_once_and_a_link_given_back_by_its_taker_can_be_taken_again() {
    let aws = crate::moto_aws().await;
    let ledger = reflex_test_support::aws::create_table(&aws).await;
    let now = Utc::now();
    assert_eq!(ledger.link_used("r-1").await.unwrap(), None);
    assert_eq!(
        ledger
            .take_link("r-1", "approval link from 203.0.113.7", "req-1", now)
            .await
            .unwrap(),
        LinkTaken::Taken
    );
    let used = ledger.link_used("r-1").await.unwrap().unwrap();
    assert_eq!(used.approver, "approval link from 203.0.113.7");
    match ledger
        .take_link("r-1", "approval link from 198.51.100.2", "req-2", now)
        .await
        .unwrap()
    {
        LinkTaken::AlreadyUsed(by) => assert_eq!(by.approver, "approval link from 203.0.113.7"),
        LinkTaken::Taken => panic!("a used link was taken again"),
    }
    // Only its taker gives it back.
    ledger.give_link_back("r-1", "req-2", now).await.unwrap();
    assert!(ledger.link_used("r-1").await.unwrap().is_some());
    ledger.give_link_back("r-1", "req-1", now).await.unwrap();
    assert_eq!(ledger.link_used("r-1").await.unwrap(), None);
    assert_eq!(
        ledger
            .take_link("r-1", "approval link from 198.51.100.2", "req-2", now)
            .await
            .unwrap(),
        LinkTaken::Taken
    );
    // Another record's link is its own.
    assert_eq!(ledger.link_used("r-2").await.unwrap(), None);
    assert_eq!(link_pk("r-1"), "approval-link#r-1");
}
