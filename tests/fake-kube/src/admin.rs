//! The admin endpoint under `/_fake/`, for tests that run the server in another process.
//!
//! | request | effect |
//! |---|---|
//! | `GET /_fake/requests` | the request log as a JSON array |
//! | `DELETE /_fake/requests` | clears the log |
//! | `POST /_fake/faults` | adds a fault rule, body as in [`crate::FaultRule::from_json`] |
//! | `DELETE /_fake/faults` | removes every fault rule |
//! | `GET /_fake/controllers` | `{"replace_pods":..,"advance_rollouts":..,"delay_ms":..}` |
//! | `PUT /_fake/controllers` | changes the fields given, same shape |
//! | `GET /_fake/tokens` | `{"max_age_ms":..,"distinct":..}` (`max_age_ms` null: no limit) |
//! | `PUT /_fake/tokens` | `{"max_age_ms":N}` refuses tokens first seen over N ms ago; `null` lifts it |
//! | `GET /_fake/kubelets` | `{"dead":[..]}`: nodes whose kubelet is stopped |
//! | `PUT /_fake/kubelets` | `{"dead":[..]}`: exactly these stopped, the others revived |
//! | `GET /_fake/objects` | every object, as a kubectl `List` |
//! | `GET /_fake/healthz` | `{"ok":true}` once serving |
//!
//! Admin requests bypass the request log and the fault rules.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::api;
use crate::faults::FaultRule;
use crate::server::Shared;
use crate::snapshot;

/// Fields of `PUT /_fake/controllers`; absent ones keep their value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControllerChange {
    /// Replace deleted or evicted controller-owned pods.
    replace_pods: Option<bool>,
    /// Complete Deployment rollouts.
    advance_rollouts: Option<bool>,
    /// Delay before controller writes, in milliseconds.
    delay_ms: Option<u64>,
}

/// The body of `PUT /_fake/tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenChange {
    /// Refuse tokens first seen longer ago than this; `null` accepts every token.
    max_age_ms: Option<u64>,
}

fn token_settings(shared: &Shared) -> Value {
    json!({
        "max_age_ms": shared
            .tokens
            .max_age()
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        "distinct": shared.tokens.distinct(),
    })
}

/// The body of `PUT /_fake/kubelets`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KubeletChange {
    /// Nodes whose kubelet is stopped; every other node's runs.
    dead: Vec<String>,
}

fn error(status: u16, message: impl std::fmt::Display) -> (u16, Value) {
    (status, json!({ "error": message.to_string() }))
}

fn controller_settings(shared: &Shared) -> Value {
    let settings = shared.controllers.settings();
    json!({
        "replace_pods": settings.replace_pods,
        "advance_rollouts": settings.advance_rollouts,
        "delay_ms": u64::try_from(settings.delay.as_millis()).unwrap_or(u64::MAX),
    })
}

/// Serves one admin request; `path` is what follows `/_fake/`.
pub(crate) fn handle(shared: &Arc<Shared>, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
    match (method, path) {
        ("GET", "healthz") => (200, json!({ "ok": true })),
        ("GET", "requests") => (200, json!(shared.log.snapshot())),
        ("DELETE", "requests") => {
            shared.log.clear();
            (200, json!({ "ok": true }))
        }
        ("POST", "faults") => match FaultRule::from_json(&String::from_utf8_lossy(body)) {
            Ok(rule) => {
                shared.faults.add(rule);
                (201, json!({ "ok": true }))
            }
            Err(e) => error(400, e),
        },
        ("DELETE", "faults") => {
            shared.faults.clear();
            (200, json!({ "ok": true }))
        }
        ("GET", "controllers") => (200, controller_settings(shared)),
        ("PUT", "controllers") => match serde_json::from_slice::<ControllerChange>(body) {
            Ok(change) => {
                let mut settings = shared.controllers.settings();
                settings.replace_pods = change.replace_pods.unwrap_or(settings.replace_pods);
                settings.advance_rollouts =
                    change.advance_rollouts.unwrap_or(settings.advance_rollouts);
                settings.delay = change
                    .delay_ms
                    .map_or(settings.delay, Duration::from_millis);
                shared.controllers.set(settings);
                (200, controller_settings(shared))
            }
            Err(e) => error(400, e),
        },
        ("GET", "tokens") => (200, token_settings(shared)),
        ("PUT", "tokens") => match serde_json::from_slice::<TokenChange>(body) {
            Ok(change) => {
                shared
                    .tokens
                    .refuse_older_than(change.max_age_ms.map(Duration::from_millis));
                (200, token_settings(shared))
            }
            Err(e) => error(400, e),
        },
        ("GET", "kubelets") => (200, json!({ "dead": shared.store().dead_kubelets() })),
        ("PUT", "kubelets") => match serde_json::from_slice::<KubeletChange>(body) {
            Ok(change) => {
                let was = shared.store().dead_kubelets();
                for node in was.iter().filter(|n| !change.dead.contains(n)) {
                    api::set_kubelet_dead(shared, node, false);
                }
                for node in &change.dead {
                    api::set_kubelet_dead(shared, node, true);
                }
                (200, json!({ "dead": shared.store().dead_kubelets() }))
            }
            Err(e) => error(400, e),
        },
        ("GET", "objects") => (200, snapshot::export(&shared.store())),
        _ => error(404, format!("no admin route {method} /_fake/{path}")),
    }
}
