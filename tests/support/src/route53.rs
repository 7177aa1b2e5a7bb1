//! Route 53 for the canary shift-back tests: a hosted zone on moto with a record's weighted
//! canary and stable sets, the weights read back, and [`FaultyRoute53`], a small HTTP proxy
//! in front of moto that answers the first `ChangeResourceRecordSets` requests with the
//! errors a test gives (moto itself never throttles) and counts the requests it sees.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_route53::Client;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::moto::{moto, sdk_config};
use crate::unique;

/// A hosted zone on moto with one record's weighted sets.
#[derive(Debug, Clone)]
pub struct WeightedZone {
    /// The zone id, without `/hostedzone/`.
    pub zone: String,
    /// The record name, fully qualified with the final dot.
    pub record: String,
}

fn client() -> Client {
    Client::new(&sdk_config())
}

/// A new zone whose record `result.<zone>` has an `A` set per `(set identifier, weight)`
/// (TTL 60, one address each, `10.0.1.1`, `10.0.1.2`, ...), plus a plain record of
/// another name that must never be touched.
pub async fn weighted_zone(sets: &[(&str, i64)]) -> WeightedZone {
    let c = client();
    let domain = format!("{}.test.", unique("voting"));
    let created = c
        .create_hosted_zone()
        .name(&domain)
        .caller_reference(unique("ref"))
        .send()
        .await
        .expect("create hosted zone");
    let zone = created
        .hosted_zone()
        .expect("hosted zone")
        .id()
        .trim_start_matches("/hostedzone/")
        .to_owned();
    let record = format!("result.{domain}");
    let mut changes = Vec::new();
    for (i, (id, weight)) in sets.iter().enumerate() {
        let rrs = ResourceRecordSet::builder()
            .name(&record)
            .r#type(RrType::A)
            .set_identifier(*id)
            .weight(*weight)
            .ttl(60)
            .resource_records(
                ResourceRecord::builder()
                    .value(format!("10.0.1.{}", i + 1))
                    .build()
                    .expect("record"),
            )
            .build()
            .expect("record set");
        changes.push(
            Change::builder()
                .action(ChangeAction::Create)
                .resource_record_set(rrs)
                .build()
                .expect("change"),
        );
    }
    let other = ResourceRecordSet::builder()
        .name(format!("vote.{domain}"))
        .r#type(RrType::A)
        .ttl(300)
        .resource_records(
            ResourceRecord::builder()
                .value("10.0.2.1")
                .build()
                .expect("record"),
        )
        .build()
        .expect("record set");
    changes.push(
        Change::builder()
            .action(ChangeAction::Create)
            .resource_record_set(other)
            .build()
            .expect("change"),
    );
    c.change_resource_record_sets()
        .hosted_zone_id(&zone)
        .change_batch(
            ChangeBatch::builder()
                .set_changes(Some(changes))
                .build()
                .expect("batch"),
        )
        .send()
        .await
        .expect("create records");
    WeightedZone { zone, record }
}

/// A policy whose one rule shifts `zone`'s canary back to stable on the catalog's canary
/// alarm (`events/*/alb-target-5xx-result-canary.json`), as YAML.
pub fn canary_policy(zone: &WeightedZone) -> String {
    format!(
        "rules:\n  - name: result-canary-5xx\n    match: {{ alertname: [voting-prod-result-canary-alb-target-5xx] }}\n    class: service_errors\n    action: shift_traffic\n    traffic: {{ hosted_zone_id: {}, record: {}, canary: canary, stable: stable }}\n",
        zone.zone, zone.record
    )
}

/// Every record set of the zone as `name type [set] → (weight, TTL, values)`.
pub async fn record_sets(zone: &str) -> BTreeMap<String, (Option<i64>, Option<i64>, Vec<String>)> {
    let out = client()
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .send()
        .await
        .expect("list record sets");
    out.resource_record_sets()
        .iter()
        .map(|s| {
            let key = format!(
                "{} {} {}",
                s.name(),
                s.r#type().as_str(),
                s.set_identifier().unwrap_or("-")
            );
            let values = s
                .resource_records()
                .iter()
                .map(|r| r.value().to_owned())
                .collect();
            (key, (s.weight(), s.ttl(), values))
        })
        .collect()
}

/// The weights of `record`'s weighted sets, by set identifier.
pub async fn weights(zone: &WeightedZone) -> BTreeMap<String, i64> {
    let out = client()
        .list_resource_record_sets()
        .hosted_zone_id(&zone.zone)
        .start_record_name(&zone.record)
        .send()
        .await
        .expect("list record sets");
    out.resource_record_sets()
        .iter()
        .filter(|s| s.name() == zone.record)
        .filter_map(|s| Some((s.set_identifier()?.to_owned(), s.weight()?)))
        .collect()
}

/// An error answer of Route 53's REST-XML protocol.
#[derive(Debug, Clone, Copy)]
pub struct Fault {
    /// The error code (`Throttling`, `PriorRequestNotComplete`, `InvalidInput`).
    pub code: &'static str,
    /// Its message.
    pub message: &'static str,
}

/// Route 53's throttling answer.
pub const THROTTLING: Fault = Fault {
    code: "Throttling",
    message: "Rate exceeded",
};
/// Route 53's answer while an earlier change of the zone is still being applied.
pub const PRIOR_REQUEST_NOT_COMPLETE: Fault = Fault {
    code: "PriorRequestNotComplete",
    message: "The request was rejected because Route 53 was still processing a prior request.",
};

/// What the proxy saw.
#[derive(Debug, Default)]
struct Seen {
    faults: Vec<Fault>,
    changes: usize,
    get_changes: usize,
}

/// A proxy in front of moto that answers the first `ChangeResourceRecordSets` requests
/// with given faults and passes everything else (later changes included) to moto.
#[derive(Debug, Clone)]
pub struct FaultyRoute53 {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    seen: Arc<Mutex<Seen>>,
}

impl FaultyRoute53 {
    /// Starts the proxy on a free port of the current runtime; `faults` answer the first
    /// `faults.len()` change requests, in order.
    pub async fn start(faults: &[Fault]) -> FaultyRoute53 {
        let upstream = moto().endpoint.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Seen {
            faults: faults.iter().rev().copied().collect(),
            ..Seen::default()
        }));
        let state = seen.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, upstream.clone(), state.clone()));
            }
        });
        FaultyRoute53 { endpoint, seen }
    }

    /// `ChangeResourceRecordSets` requests seen (answered with a fault or passed on).
    pub fn changes(&self) -> usize {
        self.seen.lock().expect("lock").changes
    }

    /// `GetChange` requests seen.
    pub fn get_changes(&self) -> usize {
        self.seen.lock().expect("lock").get_changes
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one HTTP request or response (headers, then `Content-Length` bytes, or to the end
/// of the stream when it has none and `to_eof`).
async fn read_message(socket: &mut TcpStream, to_eof: bool) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            break end;
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let length: Option<usize> = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok());
    match length {
        Some(length) => {
            while buf.len() < end + 4 + length {
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => return None,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
        }
        None if to_eof => loop {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        },
        None => {}
    }
    Some(buf)
}

/// One request per connection: answered with the next fault, or passed to moto, and the
/// connection closed (`connection: close` on every answer, so the client opens a new one).
async fn serve(mut socket: TcpStream, upstream: String, seen: Arc<Mutex<Seen>>) {
    let Some(request) = read_message(&mut socket, false).await else {
        return;
    };
    let line =
        String::from_utf8_lossy(&request[..find(&request, b"\r\n").unwrap_or(0)]).into_owned();
    let change = line.starts_with("POST ") && line.contains("/rrset");
    let fault = {
        let mut seen = seen.lock().expect("lock");
        if change {
            seen.changes += 1;
        }
        if line.starts_with("GET ") && line.contains("/change/") {
            seen.get_changes += 1;
        }
        if change { seen.faults.pop() } else { None }
    };
    let answer = match fault {
        Some(f) => {
            let body = format!(
                "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>faulty-route53</RequestId></ErrorResponse>",
                f.code, f.message
            );
            format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: text/xml\r\nx-amzn-requestid: faulty-route53\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }
        None => {
            let Ok(mut moto) = TcpStream::connect(&upstream).await else {
                return;
            };
            let end = find(&request, b"\r\n").unwrap_or(0);
            let mut forwarded = request[..end + 2].to_vec();
            forwarded.extend_from_slice(b"connection: close\r\n");
            forwarded.extend_from_slice(&request[end + 2..]);
            if moto.write_all(&forwarded).await.is_err() {
                return;
            }
            let Some(response) = read_message(&mut moto, true).await else {
                return;
            };
            let end = find(&response, b"\r\n").unwrap_or(0);
            let mut answer = response[..end + 2].to_vec();
            answer.extend_from_slice(b"connection: close\r\n");
            answer.extend_from_slice(&response[end + 2..]);
            answer
        }
    };
    let _ = socket.write_all(&answer).await;
    let _ = socket.shutdown().await;
}
