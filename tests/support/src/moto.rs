//! moto's server for the tests: one per test binary, started on first use, on a free
//! loopback port, stopped when the test process exits.
//!
//! moto comes from a project-local venv at `<repo>/.venv` (the infrastructure checks use the
//! same one): when `.venv/bin/moto_server` is missing the first test creates the venv and
//! pip-installs the pinned `moto[server]`, so `cargo test` alone is enough on a fresh
//! checkout with python3 and network access. The server runs under a small shell guard that
//! waits on a pipe held by this process and kills moto when the pipe closes, which happens
//! however the test process ends (a `static` is never dropped).
//!
//! [`sdk_config`] is the AWS SDK configuration every suite uses for it: [`REGION`], static
//! test credentials, moto's endpoint. [`pod_restarts_alarm`] creates the catalog's
//! pod-restart alarm there, for the CloudWatch re-check.
//!
//! One thing is added to moto: its DynamoDB backend reads an item, evaluates a write's
//! condition and then writes, with no lock, so two concurrent conditional writes on one
//! item can both succeed, which DynamoDB never allows (a conditional write is atomic per
//! item). The server is started through [`ATOMIC_WRITES`], which puts DynamoDB's writes
//! under one lock: the guarantee reflex's claims, leases, budget counter and node slots rely
//! on, and that the concurrency tests check them against.

use std::io::Read as _;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, StateValue, Statistic};

use crate::{free_port, repo};

/// The moto release the tests are written against.
pub const MOTO_SPEC: &str = "moto[server]==5.2.5";
/// Starts moto's server (arguments as `moto_server`'s) with DynamoDB's writes atomic, as
/// they are in DynamoDB: each one holds one lock while it reads, checks and writes.
pub const ATOMIC_WRITES: &str = r#"
import functools, sys, threading
from moto.dynamodb.models import DynamoDBBackend
lock = threading.RLock()
def atomic(write):
    @functools.wraps(write)
    def locked(*args, **kwargs):
        with lock:
            return write(*args, **kwargs)
    return locked
for name in ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item"):
    setattr(DynamoDBBackend, name, atomic(getattr(DynamoDBBackend, name)))
from moto.server import main
main(sys.argv[1:])
"#;
/// How long moto may take to accept connections after it is started.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    _guard: Mutex<(Child, ChildStdin)>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// The region every test uses.
pub const REGION: &str = "us-east-1";
/// The account moto answers as (its default).
pub const ACCOUNT: &str = "123456789012";

/// The shared server, started on first use.
pub fn moto() -> &'static Moto {
    MOTO.get_or_init(start)
}

/// The static credentials the tests sign with (moto accepts any).
pub fn credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "tests")
}

/// An SDK configuration for the shared server: [`REGION`], [`credentials`], its endpoint.
pub fn sdk_config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(credentials()))
        .endpoint_url(moto().endpoint.clone())
        .build()
}

fn ensure_moto_installed() -> PathBuf {
    let venv = repo().join(".venv");
    let server = venv.join("bin/moto_server");
    if server.exists() {
        return server;
    }
    let run = |cmd: &mut Command, what: &str| {
        let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            out.status.success(),
            "{what} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    if !venv.join("bin/python").exists() {
        run(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv .venv",
        );
    }
    run(
        Command::new(venv.join("bin/pip")).args(["install", "--quiet", MOTO_SPEC]),
        "pip install moto[server]",
    );
    assert!(server.exists(), "pip installed moto but no moto_server");
    server
}

fn start() -> Moto {
    let server = ensure_moto_installed();
    let port = free_port();
    // `cat` returns when our end of the pipe closes (this process exited), then moto is
    // stopped; moto's own output goes nowhere.
    let python = server.with_file_name("python");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#""$0" -c "$1" -H 127.0.0.1 -p "$2" >/dev/null 2>&1 & pid=$!; cat >/dev/null; kill $pid 2>/dev/null; wait $pid 2>/dev/null"#)
        .arg(&python)
        .arg(ATOMIC_WRITES)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let stdin = child.stdin.take().expect("guard pipe");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    loop {
        if let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            // An HTTP answer means moto has finished importing and serves requests.
            use std::io::Write as _;
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = stream.write_all(
                b"GET /moto-api/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            );
            let mut buf = [0u8; 12];
            if stream.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.") {
                break;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("moto_server exited before it was ready: {status}");
        }
        assert!(
            started.elapsed() < READY_TIMEOUT,
            "moto_server did not answer on port {port} within {READY_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        _guard: Mutex::new((child, stdin)),
    }
}

/// Creates, on the shared server, the CloudWatch alarm the events/ catalog's pod-restart
/// alarms describe (Container Insights `pod_number_of_container_restarts`, dimensions
/// `ClusterName=voting-prod`, `Namespace=production`, `PodName=pod`), named `name`, and
/// sets it to `state`.
pub async fn pod_restarts_alarm(name: &str, pod: &str, state: StateValue) {
    let client = aws_sdk_cloudwatch::Client::new(&sdk_config());
    let dimension = |k: &str, v: &str| Dimension::builder().name(k).value(v).build();
    client
        .put_metric_alarm()
        .alarm_name(name)
        .namespace("ContainerInsights")
        .metric_name("pod_number_of_container_restarts")
        .dimensions(dimension("ClusterName", "voting-prod"))
        .dimensions(dimension("Namespace", "production"))
        .dimensions(dimension("PodName", pod))
        .statistic(Statistic::Maximum)
        .period(300)
        .evaluation_periods(1)
        .threshold(3.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .send()
        .await
        .expect("put alarm");
    client
        .set_alarm_state()
        .alarm_name(name)
        .state_value(state)
        .state_reason("test")
        .send()
        .await
        .expect("set alarm state");
}
