//! The Lambda boundary: the payload as the runtime hands it over, and the errors it records.

use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use reflex_core::ledger::MemoryLedger;
use reflex_core::policy::Policy;
use reflex_remediate::{HandlerError, handle};
use serde_json::value::RawValue;

use crate::{dry_run, event, voting_app};

/// The payload as lambda_runtime deserializes it (serde_path_to_error over serde_json).
fn payload(bytes: &[u8]) -> Box<RawValue> {
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(bytes)).unwrap()
}

#[tokio::test]
async fn the_event_reaches_the_pipeline_byte_for_byte() {
    let bytes = event("invalid/sns-alertmanager-plain-text-template.json");
    let raw = payload(&bytes);
    assert_eq!(raw.get().as_bytes(), bytes.trim_ascii_end());

    let mut context = Context::default();
    context.request_id = "8f5e-lambda".into();
    let (policy, cluster, ledger) = (Policy::default_policy(), voting_app(), MemoryLedger::new());
    let err = handle(
        LambdaEvent::new(raw, context),
        &dry_run(&policy, &cluster, &ledger),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, HandlerError::Rejected { .. }));
    assert_eq!(
        ledger.records()[0].id,
        format!("8f5e-lambda-{}-0001", crate::now().timestamp_millis())
    );
}

#[test]
fn lambda_records_each_failure_under_its_own_error_type() {
    let transient: Diagnostic = HandlerError::Transient {
        failures: vec!["r-1: state store unavailable: timeout".into()],
    }
    .into();
    assert_eq!(transient.error_type, "Reflex.Transient");
    let rejected: Diagnostic = HandlerError::Rejected {
        rejections: vec!["r-1: not JSON".into()],
    }
    .into();
    assert_eq!(rejected.error_type, "Reflex.Rejected");
    assert_eq!(
        rejected.error_message,
        "input rejected, see the dead-letter queue: r-1: not JSON"
    );
}
