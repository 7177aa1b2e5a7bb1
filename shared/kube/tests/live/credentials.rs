//! Credentials inside a long action: a drain that outlasts its bearer token completes,
//! whether the token is re-signed before the server would refuse it or after a `401`; a
//! credential the cluster always refuses fails the step clearly after one resend; a token
//! that cannot be signed sends nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use reflex_core::cluster::{Actuator, ClusterError, Submit};
use reflex_core::vocab::op::Op;
use reflex_core::vocab::verdict::{Mode, StepResult, Verdict};
use reflex_fake_kube::{FakeKube, Route};
use reflex_kube::{KubeCluster, RefreshingToken, SignFuture, SignToken, client_with_token};
use secrecy::SecretString;

use crate::common::{
    RecordingFleet, SICK_INSTANCE, SICK_NODE, event, fast, policy, replay, start_voting_app, steps,
};

const SICK: &str = "alertmanager/node-not-ready-sick-node.json";

/// Signs `token-1`, `token-2`, ... (what STS presigning is for EKS), counting signatures.
#[derive(Debug, Clone, Default)]
struct Signer(Arc<AtomicU32>);

impl Signer {
    fn signed(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

impl SignToken for Signer {
    fn sign(&self) -> SignFuture<'_> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        Box::pin(async move { Ok(SecretString::from(format!("token-{n}"))) })
    }
}

/// A signer whose credentials provider is down.
#[derive(Debug, Clone, Default)]
struct NoCredentials(Arc<AtomicU32>);

impl SignToken for NoCredentials {
    fn sign(&self) -> SignFuture<'_> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Err("no credentials in the environment".into()) })
    }
}

fn cluster(fake: &FakeKube, signer: impl SignToken, refresh_after: Duration) -> KubeCluster {
    let config = kube::Config::new(fake.url().parse().unwrap());
    let client = client_with_token(config, RefreshingToken::new(signer, refresh_after)).unwrap();
    KubeCluster::new(client).with_settings(fast())
}

/// Evictions that take `latency` to be answered: the drain outlasts a short-lived token.
fn slow_evictions(fake: &FakeKube, latency: Duration) {
    fake.faults()
        .delay(Route::regex("/eviction$").unwrap().method("POST"), latency);
}

#[tokio::test]
async fn a_drain_longer_than_the_token_lifetime_re_signs_before_expiry_and_completes() {
    let fake = start_voting_app().await;
    let max_age = Duration::from_millis(600);
    fake.tokens().refuse_older_than(Some(max_age));
    slow_evictions(&fake, Duration::from_millis(1500));
    let signer = Signer::default();
    let kube = cluster(&fake, signer.clone(), Duration::from_millis(250));
    let fleet = RecordingFleet::default();

    let started = Instant::now();
    let r = replay(&kube, &fleet, &policy(10, 5), Mode::Enforce, &event(SICK)).await;

    assert_eq!(r.verdict, Verdict::Executed, "{r:?}");
    assert!(
        started.elapsed() > 2 * max_age,
        "the drain outlasted a token"
    );
    assert_eq!(
        fleet.calls(),
        [
            (SICK_INSTANCE.to_owned(), Submit::DryRun),
            (SICK_INSTANCE.to_owned(), Submit::Apply)
        ],
        "asked first, before the cordon, then terminated"
    );
    let log = fake.requests();
    assert!(
        log.iter().all(|q| q.status != Some(401)),
        "re-signed before the server refused: {:?}",
        log.iter().map(|q| (q.line(), q.status)).collect::<Vec<_>>()
    );
    assert!(
        fake.tokens().distinct() >= 2,
        "{} tokens",
        fake.tokens().distinct()
    );
    assert!(signer.signed() >= 2);
}

#[tokio::test]
async fn a_token_refused_mid_drain_is_re_signed_and_the_request_resent_once() {
    let fake = start_voting_app().await;
    fake.tokens()
        .refuse_older_than(Some(Duration::from_millis(500)));
    slow_evictions(&fake, Duration::from_millis(900));
    let signer = Signer::default();
    // A refresh age far past the server's limit: only the 401 path can save the drain.
    let kube = cluster(&fake, signer.clone(), Duration::from_secs(3600));
    let fleet = RecordingFleet::default();

    let r = replay(&kube, &fleet, &policy(10, 5), Mode::Enforce, &event(SICK)).await;

    assert_eq!(r.verdict, Verdict::Executed, "{r:?}");
    assert_eq!(
        steps(&r).last().unwrap(),
        &("terminate_instance".to_owned(), StepResult::Ok)
    );
    assert_eq!(
        fleet.calls(),
        [
            (SICK_INSTANCE.to_owned(), Submit::DryRun),
            (SICK_INSTANCE.to_owned(), Submit::Apply)
        ],
        "asked first, before the cordon, then terminated"
    );
    let log = fake.requests();
    let refused: Vec<_> = log.iter().filter(|q| q.status == Some(401)).collect();
    assert!(!refused.is_empty(), "the first token expired mid-drain");
    for q in &refused {
        let resent = log
            .iter()
            .find(|later| later.seq > q.seq && later.line() == q.line() && later.bearer > q.bearer)
            .unwrap_or_else(|| panic!("{} not resent with a new token", q.line()));
        // Answered by the API (a 404 for an evicted pod is an answer too).
        assert!(
            resent.status.is_some_and(|s| s != 401 && s < 500),
            "{resent:?}"
        );
    }
    // Requests refused together shared one re-signing: one token per signature, and each
    // token was used by some request.
    assert!(signer.signed() >= 2);
    assert_eq!(fake.tokens().distinct(), signer.signed() as usize);
}

#[tokio::test]
async fn a_credential_the_cluster_always_refuses_fails_the_cordon_after_one_resend() {
    let fake = start_voting_app().await;
    fake.faults()
        .fail_always(Route::prefix("/api/v1/nodes/").method("PATCH"), 401);
    let signer = Signer::default();
    let kube = cluster(&fake, signer.clone(), Duration::from_secs(600));
    let fleet = RecordingFleet::default();

    let r = replay(&kube, &fleet, &policy(10, 5), Mode::Enforce, &event(SICK)).await;

    assert_eq!(r.verdict, Verdict::Failed, "{r:?}");
    let cordon = &r.steps[0];
    assert_eq!(
        (cordon.op.as_str(), cordon.result),
        ("cordon", StepResult::Failed)
    );
    assert_eq!(
        cordon.detail,
        format!(
            "refused: PATCH node {SICK_NODE}: 401 Unauthorized: the cluster refused reflex's credentials (Unauthorized)"
        )
    );
    assert!(fleet.terminated().is_empty());
    let patches: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|q| q.method == "PATCH")
        .map(|q| (q.bearer, q.status))
        .collect();
    assert_eq!(patches, [(Some(1), Some(401)), (Some(2), Some(401))]);
    assert_eq!(signer.signed(), 2);
}

#[tokio::test]
async fn a_token_that_cannot_be_signed_sends_nothing_and_is_unavailable() {
    let fake = start_voting_app().await;
    let signer = NoCredentials::default();
    let kube = cluster(&fake, signer.clone(), Duration::from_secs(600));

    let err = kube
        .apply(
            &Op::Cordon {
                node: SICK_NODE.to_owned(),
                reason: "test".to_owned(),
                drain: reflex_core::vocab::op::DrainRules {
                    evict_local_data: false,
                    timeout: reflex_core::duration::Span::from_secs(5),
                    terminating_grace: reflex_core::duration::Span::from_secs(60),
                },
            },
            Submit::Apply,
        )
        .await
        .unwrap_err();

    assert_eq!(
        err,
        ClusterError::Unavailable(format!(
            "PATCH node {SICK_NODE}: not sent: cannot sign a token for the cluster: no credentials in the environment"
        ))
    );
    assert!(fake.requests().is_empty());
    // Like any call that could not be made, resent `transient_retries` times.
    assert_eq!(
        signer.0.load(Ordering::SeqCst),
        1 + fast().transient_retries
    );
}
