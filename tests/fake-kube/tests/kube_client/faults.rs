//! Injected faults as the client sees them, and the request log.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, Config};
use reflex_fake_kube::Route;
use serde_json::json;

use crate::common::{NODE_1, api_code, client, start};

#[tokio::test]
async fn injected_500_is_an_api_error_and_the_route_then_recovers() {
    let fake = start().await;
    fake.faults()
        .fail_next(Route::prefix("/api/v1/nodes").method("GET"), 1, 500);
    let nodes: Api<Node> = Api::all(client(&fake));
    let kube::Error::Api(status) = nodes.get(NODE_1).await.unwrap_err() else {
        panic!("not an API error")
    };
    assert_eq!(
        (status.code, status.reason.as_str()),
        (500, "InternalError")
    );
    assert!(nodes.get(NODE_1).await.is_ok());
}

#[tokio::test]
async fn dropped_connection_is_a_transport_error_not_an_api_error() {
    let fake = start().await;
    fake.faults()
        .drop_next(Route::regex(r"^/api/v1/nodes/[^/]+$").unwrap(), 1);
    let nodes: Api<Node> = Api::all(client(&fake));
    let error = nodes.get(NODE_1).await.unwrap_err();
    assert!(!matches!(error, kube::Error::Api(_)), "got {error:?}");
    assert!(nodes.get(NODE_1).await.is_ok());
    let statuses: Vec<Option<u16>> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [None, Some(200)]);
}

#[tokio::test]
async fn kube_default_retry_rides_over_injected_503s() {
    let fake = start().await;
    fake.faults().fail_next(Route::any(), 2, 503);
    // kube's default client: its retry layer resends 429/503/504 answers.
    let default_client = crate::common::build(Config::new(fake.url().parse().unwrap()));
    let nodes: Api<Node> = Api::all(default_client);
    assert!(nodes.get(NODE_1).await.is_ok());
    assert_eq!(
        fake.requests().iter().map(|r| r.status).collect::<Vec<_>>(),
        [Some(503), Some(503), Some(200)]
    );

    fake.faults().fail_next(Route::any(), 1, 503);
    let nodes: Api<Node> = Api::all(client(&fake));
    assert_eq!(
        api_code(&nodes.get(NODE_1).await.unwrap_err()),
        Some(503),
        "no retry without the layer"
    );
}

#[tokio::test]
async fn latency_delays_the_answer_past_a_caller_timeout() {
    let fake = start().await;
    fake.faults()
        .delay(Route::prefix("/api/v1/pods"), Duration::from_millis(300));
    let pods: Api<Pod> = Api::all(client(&fake));
    let started = Instant::now();
    let timed_out = tokio::time::timeout(
        Duration::from_millis(100),
        pods.list(&ListParams::default()),
    )
    .await;
    assert!(timed_out.is_err());
    assert!(pods.list(&ListParams::default()).await.is_ok());
    assert!(started.elapsed() >= Duration::from_millis(400));
    fake.faults().clear();
}

#[tokio::test]
async fn request_log_records_method_path_query_and_body() {
    let fake = start().await;
    let client = client(&fake);
    let pods: Api<Pod> = Api::all(client.clone());
    let nodes: Api<Node> = Api::all(client);
    pods.list(&ListParams::default().fields(&format!("spec.nodeName={NODE_1}")))
        .await
        .unwrap();
    let cordon = json!({ "spec": { "unschedulable": true } });
    nodes
        .patch(NODE_1, &PatchParams::default(), &Patch::Merge(&cordon))
        .await
        .unwrap();

    let log = fake.requests();
    let lines: Vec<String> = log.iter().map(|r| r.line()).collect();
    assert_eq!(
        lines,
        [
            "GET /api/v1/pods".to_owned(),
            format!("PATCH /api/v1/nodes/{NODE_1}")
        ]
    );
    assert_eq!(
        log[0].query_param("fieldSelector"),
        Some(format!("spec.nodeName={NODE_1}"))
    );
    assert_eq!(log[1].body_json(), Some(cordon));
    fake.clear_requests();
    assert!(fake.requests().is_empty());
}

/// A client sending `token` as its bearer token.
fn client_with_token(fake: &reflex_fake_kube::FakeKube, token: &str) -> kube::Client {
    let mut config = Config::new(fake.url().parse().unwrap());
    config.default_retry = false;
    config.auth_info.token = Some(token.to_owned().into());
    crate::common::build(config)
}

#[tokio::test]
async fn a_token_first_seen_longer_ago_than_the_maximum_age_is_answered_401() {
    let fake = start().await;
    fake.tokens()
        .refuse_older_than(Some(Duration::from_millis(300)));
    let old: Api<Node> = Api::all(client_with_token(&fake, "token-a"));
    assert!(old.get(NODE_1).await.is_ok(), "a young token is accepted");

    tokio::time::sleep(Duration::from_millis(400)).await;
    let kube::Error::Api(status) = old.get(NODE_1).await.unwrap_err() else {
        panic!("not an API error")
    };
    assert_eq!((status.code, status.reason.as_str()), (401, "Unauthorized"));
    let fresh: Api<Node> = Api::all(client_with_token(&fake, "token-b"));
    assert!(fresh.get(NODE_1).await.is_ok(), "a new token is young");
    let anonymous: Api<Node> = Api::all(client(&fake));
    assert_eq!(
        api_code(&anonymous.get(NODE_1).await.unwrap_err()),
        Some(401)
    );

    let log = fake.requests();
    let seen: Vec<(Option<u64>, Option<u16>)> = log.iter().map(|r| (r.bearer, r.status)).collect();
    assert_eq!(
        seen,
        [
            (Some(1), Some(200)),
            (Some(1), Some(401)),
            (Some(2), Some(200)),
            (None, Some(401))
        ]
    );
    assert_eq!(fake.tokens().distinct(), 2);
    fake.tokens().refuse_older_than(None);
    assert!(old.get(NODE_1).await.is_ok(), "no limit, no refusal");
}
