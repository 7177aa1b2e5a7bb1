//! EKS access against moto: DescribeCluster failures are clear errors, and the token is
//! signed with the session's credentials; against the fake API server, the client re-signs
//! a token the cluster refuses as expired. (moto's clusters carry a random string as CA
//! data, so the way from DescribeCluster to a kube client is covered by the unit tests in
//! `eks.rs`.)

use std::time::Duration;

use aws_sdk_eks::types::VpcConfigRequest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reflex_aws::eks::{ClusterAccess, ca_der_from_base64_pem, kube_client, kube_config};
use reflex_aws::{AwsError, EksAuth};
use reflex_fake_kube::FakeKube;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A self-signed CA (public certificate only), as DescribeCluster would return it.
const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBgTCCASegAwIBAgIUSwg/19D+Gcrhvej7zBs79dVKmlwwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKa3ViZXJuZXRlczAgFw0yNjExMjcxNzE1NDdaGA8yMTI2MTEw
MzE3MTU0N1owFTETMBEGA1UEAwwKa3ViZXJuZXRlczBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABE1I7mZMENOLyRVWgebcv08+cNVrftizHhtuoPa5Td9tKBpTl8S/
ZzAdABUX7/J5DwT9cPpK14wTEsu5djk52RCjUzBRMB0GA1UdDgQWBBTx9B/0HJ3M
oXsxZ5eCeiLa+jSNQzAfBgNVHSMEGDAWgBTx9B/0HJ3MoXsxZ5eCeiLa+jSNQzAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQC2dG8Uw2v6neH0xxYu
yMjY/TkbqV8ypBQE1dRY7maOJQIgBL7g4mHTjEctSKf+xYq1WZJ54lR50omJcL2D
vcjaOKg=
-----END CERTIFICATE-----
";

#[tokio::test]
async fn missing_cluster_is_an_error_naming_it() {
    let aws = crate::moto_aws().await;
    let cluster = aws.config().cluster_name.clone();

    let err = EksAuth::new(&aws)
        .config()
        .await
        .expect_err("no such cluster");

    assert!(
        matches!(&err, AwsError::Eks { cluster: c, .. } if *c == cluster),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("ResourceNotFoundException"),
        "{err}"
    );
}

#[tokio::test]
async fn unusable_certificate_authority_is_refused_before_any_client_exists() {
    let aws = crate::moto_aws().await;
    aws_sdk_eks::Client::new(aws.sdk_config())
        .create_cluster()
        .name(&aws.config().cluster_name)
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(VpcConfigRequest::builder().build())
        .send()
        .await
        .expect("create cluster");

    let Err(err) = EksAuth::new(&aws).client().await else {
        panic!("moto's CA data is not PEM, no client can be built");
    };

    assert!(err.to_string().contains("certificate"), "{err}");
}

#[tokio::test]
async fn token_is_signed_with_the_session_credentials_for_the_cluster() {
    let aws = crate::moto_aws().await;

    let token = EksAuth::new(&aws).token().await.expect("token");

    let url = URL_SAFE_NO_PAD
        .decode(token.strip_prefix("k8s-aws-v1.").expect("prefix"))
        .expect("base64url");
    let url = String::from_utf8(url).expect("utf-8");
    assert!(
        url.starts_with("https://sts.us-east-1.amazonaws.com/?"),
        "{url}"
    );
    assert!(url.contains("X-Amz-Credential=testing%2F"), "{url}");
    assert!(
        url.contains("X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"),
        "{url}"
    );
}

#[tokio::test]
async fn kube_client_sends_the_eks_token_as_a_bearer_token() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            socket.read_exact(&mut byte).await.expect("read");
            head.push(byte[0]);
        }
        let body = r#"{"major":"1","minor":"34","gitVersion":"v1.34.0-eks"}"#;
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(answer.as_bytes()).await.expect("write");
        String::from_utf8(head).expect("utf-8")
    });
    let aws = crate::moto_aws().await;
    let token = EksAuth::new(&aws).token().await.expect("token");
    let ca = base64::engine::general_purpose::STANDARD.encode(CA_PEM);
    let access = ClusterAccess {
        endpoint,
        ca_der: ca_der_from_base64_pem(&ca).expect("CA"),
    };

    let client = kube_client(kube_config(&access, token.clone()).expect("config")).expect("client");
    let version = client.apiserver_version().await.expect("GET /version");

    assert_eq!(version.git_version, "v1.34.0-eks");
    let request = server.await.expect("server").to_ascii_lowercase();
    assert!(request.starts_with("get /version"), "{request}");
    let expected = format!("authorization: bearer {}", token.to_ascii_lowercase());
    assert!(request.contains(&expected), "{request}");
}

#[tokio::test]
async fn a_token_the_cluster_refuses_as_expired_is_re_signed_and_the_request_resent() {
    let fake = FakeKube::start(include_bytes!("../../../../events/cluster/voting-app.json"))
        .await
        .expect("fake API server");
    // Tokens are signed to the second: past a second, a re-signed token is a new one.
    fake.tokens()
        .refuse_older_than(Some(Duration::from_millis(1200)));
    let aws = crate::moto_aws().await;
    let ca = base64::engine::general_purpose::STANDARD.encode(CA_PEM);
    let access = ClusterAccess {
        endpoint: fake.url(),
        ca_der: ca_der_from_base64_pem(&ca).expect("CA"),
    };
    // Kept for an hour: only the 401 can make this client sign again.
    let client = EksAuth::new(&aws)
        .with_refresh_after(Duration::from_secs(3600))
        .client_for(&access)
        .expect("client");

    client
        .apiserver_version()
        .await
        .expect("first token accepted");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let version = client
        .apiserver_version()
        .await
        .expect("answered after re-signing");

    assert!(version.git_version.starts_with("v1."), "{version:?}");
    let seen: Vec<(Option<u64>, Option<u16>)> = fake
        .requests()
        .iter()
        .map(|r| (r.bearer, r.status))
        .collect();
    assert_eq!(
        seen,
        [
            (Some(1), Some(200)),
            (Some(1), Some(401)),
            (Some(2), Some(200))
        ]
    );
}
