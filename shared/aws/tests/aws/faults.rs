//! Faults over real sockets: a port nobody listens on, and an endpoint that answers every
//! request with DynamoDB's throttling error. Each call retries a bounded number of times,
//! then the pipeline records `failed` with a transient cause (so the event is retried).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use reflex_aws::{AsgFleet, DynamoLedger, EksAuth};
use reflex_core::cluster::{ClusterError, Fleet, Submit};
use reflex_core::ledger::{Ledger, LedgerError};
use reflex_core::pipeline::{Adapters, Clock, Ids, Pipeline, Transient};
use reflex_core::policy::Policy;
use reflex_core::{Mode, Verdict};
use reflex_snapshot::Snapshot;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use reflex_test_support::{event, free_port};

/// What one AWS call may take at most with the tests' retry budget, with slack.
const BOUND: Duration = Duration::from_secs(5);

const THROTTLED: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;

/// Serves DynamoDB's throttling answer to every request; returns its endpoint and the
/// request count.
async fn throttling_endpoint() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    // One request: headers, then Content-Length bytes of body.
                    let Some(end) = find(&buf, b"\r\n\r\n") else {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < end + 4 + length {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..end + 4 + length);
                    counter.fetch_add(1, Ordering::SeqCst);
                    let answer = format!(
                        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\nx-amzn-requestid: throttled\r\ncontent-length: {}\r\n\r\n{THROTTLED}",
                        THROTTLED.len()
                    );
                    if socket.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (endpoint, count)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn ledger_at(endpoint: &str) -> DynamoLedger {
    DynamoLedger::new(&crate::connect(crate::config(endpoint)).await)
}

#[tokio::test]
async fn throttled_store_is_retried_a_bounded_number_of_times_then_unavailable() {
    let (endpoint, requests) = throttling_endpoint().await;
    let ledger = ledger_at(&endpoint).await;
    let started = Instant::now();

    let claim = ledger
        .claim(
            "alertmanager:x:2026-11-20T09:30:00.117Z",
            "r-1",
            Utc::now(),
            Utc::now(),
        )
        .await;

    assert!(
        matches!(&claim, Err(LedgerError::Unavailable(m)) if m.contains("ThrottlingException")),
        "{claim:?}"
    );
    assert_eq!(
        requests.load(Ordering::SeqCst),
        3,
        "max_attempts tries, no more"
    );
    assert!(started.elapsed() < BOUND, "{:?}", started.elapsed());
}

#[tokio::test]
async fn unreachable_store_is_unavailable_within_a_bounded_time() {
    let ledger = ledger_at(&format!("http://127.0.0.1:{}", free_port())).await;
    let started = Instant::now();

    let history = ledger.history(Utc::now()).await;

    assert!(
        matches!(history, Err(LedgerError::Unavailable(_))),
        "{history:?}"
    );
    assert!(started.elapsed() < BOUND, "{:?}", started.elapsed());
}

#[tokio::test]
async fn unreachable_auto_scaling_is_a_transient_cluster_error() {
    let aws = crate::connect(crate::config(&format!("http://127.0.0.1:{}", free_port()))).await;
    let started = Instant::now();

    let err = AsgFleet::new(&aws)
        .terminate("i-0123456789abcdef0", Submit::Apply)
        .await
        .expect_err("unreachable");

    assert!(matches!(err, ClusterError::Unavailable(_)), "{err:?}");
    assert!(err.is_transient());
    assert!(started.elapsed() < BOUND, "{:?}", started.elapsed());
}

#[tokio::test]
async fn unreachable_eks_is_a_transient_startup_error() {
    let aws = crate::connect(crate::config(&format!("http://127.0.0.1:{}", free_port()))).await;
    let started = Instant::now();

    let err = EksAuth::new(&aws).config().await.expect_err("unreachable");

    assert!(err.is_transient(), "{err:?}");
    assert!(started.elapsed() < BOUND, "{:?}", started.elapsed());
}

#[tokio::test]
async fn pipeline_on_a_throttled_store_records_failed_and_asks_for_a_retry() {
    let (endpoint, _requests) = throttling_endpoint().await;
    let ledger = ledger_at(&endpoint).await;
    let policy = Policy::default_policy();
    let cluster = Snapshot::from_json(&reflex_test_support::kube::voting_app()).expect("snapshot");
    let event = event("alertmanager/pod-crashloop-worker.json");
    let started = Instant::now();

    let handled = Pipeline {
        policy: &policy,
        mode: Mode::Enforce,
    }
    .process(
        &event,
        &Adapters {
            cluster: Some(&cluster),
            live: Some((&cluster, &cluster)),
            ledger: &ledger,
            notifier: &(),
            alarms: &(),
            traffic: &(),
        },
        Clock::Fixed(Utc::now()),
        &mut Ids::new("throttled"),
    )
    .await;

    assert_eq!(handled.len(), 1);
    let h = &handled[0];
    assert_eq!(h.record.verdict, Verdict::Failed, "{}", h.record.reason);
    assert!(
        // The pause is the first thing read for an alert, before the claim.
        h.record
            .reason
            .contains("could not read whether reflex is paused"),
        "{}",
        h.record.reason
    );
    assert!(
        matches!(
            &h.transient,
            Some(Transient::Ledger(LedgerError::Unavailable(_)))
        ),
        "{:?}",
        h.transient
    );
    assert!(
        cluster
            .pod_now("production", "worker-69d4c8b7f-h7s2d")
            .is_some(),
        "nothing done"
    );
    // Claim, then the final append: two calls, each bounded.
    assert!(started.elapsed() < BOUND * 2, "{:?}", started.elapsed());
}
