//! Starting without credentials fails at once with a message that says what is missing.
//!
//! The credential chain reads the process environment, which a test cannot change safely
//! while other tests run; so the test runs this test binary again as a child process with a
//! clean environment (no AWS variables, no shared config files, no instance metadata) and
//! only the child does the connecting.

use std::process::Command;

use reflex_aws::{Aws, AwsConfig};

const CHILD: &str = "REFLEX_AWS_TEST_CHILD";

#[tokio::test]
async fn connecting_without_credentials_is_a_clear_startup_error() {
    let home = std::env::temp_dir().join(reflex_test_support::unique("reflex-no-credentials"));
    std::fs::create_dir_all(&home).expect("empty home");
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "startup::child_connects_without_credentials",
            "--nocapture",
        ])
        .env_clear()
        .env(CHILD, "1")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("REFLEX_CLUSTER_NAME", "voting")
        .env("REFLEX_AUDIT_TABLE", "reflex-audit")
        .env(
            "REFLEX_NOTIFY_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:reflex-notify",
        )
        .output()
        .expect("run child");
    let _ = std::fs::remove_dir_all(&home);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run:\n{stdout}"
    );
}

/// Runs only as the child of the test above.
#[tokio::test]
async fn child_connects_without_credentials() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let config = AwsConfig::from_env().expect("configuration is complete");
    let started = std::time::Instant::now();
    let err = Aws::connect(config).await.expect_err("no credentials");
    let message = err.to_string();
    assert!(message.starts_with("no AWS credentials"), "{message}");
    assert!(message.contains("AWS_ACCESS_KEY_ID"), "{message}");
    assert!(message.contains("function role"), "{message}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
}
