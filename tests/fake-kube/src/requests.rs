//! The request log: every API request the server received, in arrival order, with the
//! status it was answered with, so tests can assert exactly which calls a client made.
//! Admin requests (`/_fake/...`) are not logged.

use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use serde_json::Value;

/// One request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedRequest {
    /// Arrival number, from 1, across the whole server run.
    pub seq: u64,
    /// HTTP method (`GET`, `PATCH`, ...).
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// Body, decoded as UTF-8 (lossily).
    pub body: String,
    /// Status answered; `None` while in flight or when the connection was dropped.
    pub status: Option<u16>,
    /// Bytes of the answer's body (what the client had to read); `None` while in flight or
    /// when the connection was dropped.
    pub bytes: Option<u64>,
    /// Which distinct bearer token the request carried: 1 for the first token the server
    /// saw, 2 for the next, ...; `None` without one.
    pub bearer: Option<u64>,
}

impl RecordedRequest {
    /// The body as JSON, if it is JSON.
    pub fn body_json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// A decoded query parameter.
    pub fn query_param(&self, key: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    /// Whether the request asked for `dryRun=All` (query or DeleteOptions body).
    pub fn is_dry_run(&self) -> bool {
        self.query_param("dryRun").as_deref() == Some("All")
            || self.body_json().is_some_and(|body| {
                let options = body.get("deleteOptions").unwrap_or(&body);
                options
                    .get("dryRun")
                    .and_then(Value::as_array)
                    .is_some_and(|d| d.iter().any(|v| v == "All"))
            })
    }

    /// `METHOD path`, handy for asserting call sequences.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A handle on the request log of a running server; clones share the log.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestLog {
    entries: Arc<Mutex<(u64, Vec<RecordedRequest>)>>,
}

impl RequestLog {
    /// Records an arriving request and returns its sequence number.
    pub fn arrived(&self, mut request: RecordedRequest) -> u64 {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.0 += 1;
        request.seq = entries.0;
        entries.1.push(request);
        entries.0
    }

    /// Records the status a request was answered with and the size of the answer's body.
    pub fn answered(&self, seq: u64, status: u16, bytes: usize) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = entries.1.iter_mut().rev().find(|e| e.seq == seq) {
            entry.status = Some(status);
            entry.bytes = Some(bytes as u64);
        }
    }

    /// A copy of the log.
    pub fn snapshot(&self) -> Vec<RecordedRequest> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .clone()
    }

    /// Forgets every entry (sequence numbers keep counting).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .clear();
    }
}
