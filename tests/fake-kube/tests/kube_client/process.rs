//! The `fake-kube` binary, driven as another process would drive it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::ListParams;
use serde_json::Value;

use crate::common::{api_code, client_for};

/// Kills the server when the test ends, whatever happens.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One blocking HTTP/1.1 exchange with the admin endpoint: (status, JSON body).
fn admin(url: &str, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: fake\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    (status, serde_json::from_str(body).unwrap())
}

#[tokio::test]
async fn binary_prints_its_url_and_serves_with_admin_faults() {
    let snapshot = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cluster.json");
    let child = Command::new(env!("CARGO_BIN_EXE_fake-kube"))
        .args(["--snapshot", snapshot, "--controllers", "off"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let stdout = server.0.stdout.take().unwrap();
    let url = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line.trim().to_owned()
    })
    .await
    .unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "first line was {url:?}"
    );

    let nodes: Api<Node> = Api::all(client_for(&url));
    let listed = nodes.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 2);

    let admin_url = url.clone();
    let (added, settings) = tokio::task::spawn_blocking(move || {
        let added = admin(
            &admin_url,
            "POST",
            "/_fake/faults",
            r#"{"path_prefix":"/api/v1/nodes","status":503,"times":1}"#,
        );
        (
            added.0,
            admin(&admin_url, "GET", "/_fake/controllers", "").1,
        )
    })
    .await
    .unwrap();
    assert_eq!(added, 201);
    assert_eq!(settings["replace_pods"], false);
    assert_eq!(
        api_code(&nodes.list(&ListParams::default()).await.unwrap_err()),
        Some(503)
    );

    // A maximum token age of 0 ms refuses the (token-less) client at once.
    let admin_url = url.clone();
    let tokens = tokio::task::spawn_blocking(move || {
        admin(&admin_url, "PUT", "/_fake/tokens", r#"{"max_age_ms":0}"#)
    })
    .await
    .unwrap();
    assert_eq!(
        tokens,
        (200, serde_json::json!({"max_age_ms": 0, "distinct": 0}))
    );
    assert_eq!(
        api_code(&nodes.list(&ListParams::default()).await.unwrap_err()),
        Some(401)
    );

    let admin_url = url.clone();
    let kubelets = tokio::task::spawn_blocking(move || {
        let node = "ip-10-0-1-10.eu-west-1.compute.internal";
        let stopped = admin(
            &admin_url,
            "PUT",
            "/_fake/kubelets",
            &format!(r#"{{"dead":["{node}"]}}"#),
        );
        let revived = admin(&admin_url, "PUT", "/_fake/kubelets", r#"{"dead":[]}"#);
        (stopped, revived)
    })
    .await
    .unwrap();
    assert_eq!(
        kubelets,
        (
            (
                200,
                serde_json::json!({"dead": ["ip-10-0-1-10.eu-west-1.compute.internal"]})
            ),
            (200, serde_json::json!({"dead": []}))
        )
    );

    let log = tokio::task::spawn_blocking(move || admin(&url, "GET", "/_fake/requests", "").1)
        .await
        .unwrap();
    let statuses: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["status"])
        .collect();
    assert_eq!(statuses, [200, 503, 401]);
}
