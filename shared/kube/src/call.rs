//! One API call: a time limit, a bounded resend of transient failures, and the request
//! builders every other file uses.
//!
//! Every call runs under `tokio::time::timeout` with the smaller of the request timeout and
//! what is left of its action's deadline, so no call (and no retry loop of kube's, should a
//! caller hand in a client that still has one) outlives the action it serves.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use kube::api::ListParams;
use kube::core::Request;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::KubeCluster;
use crate::error::CallError;

/// The instant an action must be finished by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline(Instant);

impl Deadline {
    /// `limit` from now.
    pub fn after(limit: Duration) -> Self {
        Deadline(Instant::now() + limit)
    }

    /// At `instant`.
    pub fn at(instant: Instant) -> Self {
        Deadline(instant)
    }

    /// Time left (zero once passed).
    pub fn remaining(&self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// Sleeps `pause`, cut short at the deadline; `false` when no time is left after it.
    pub async fn sleep(&self, pause: Duration) -> bool {
        tokio::time::sleep(pause.min(self.remaining())).await;
        !self.remaining().is_zero()
    }
}

/// Whether a failed call may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resend {
    /// The request is idempotent: resend it after a 5xx, a lost connection or a timeout.
    Transient,
    /// Never resend (a JSON patch whose first attempt may have been applied).
    Never,
}

/// The pause before attempt `attempt + 1`: exponential from `min`, capped at `max`, with
/// "equal jitter" (half fixed, half random) so parallel retries spread out.
pub(crate) fn backoff(min: Duration, max: Duration, attempt: u32, salt: &str) -> Duration {
    let full = min
        .saturating_mul(2u32.saturating_pow(attempt.min(20)))
        .min(max);
    // A fresh RandomState is randomly keyed: a dependency-free source of jitter.
    let random = RandomState::new().hash_one((attempt, salt));
    let half = full / 2;
    half + Duration::from_nanos(random % (half.as_nanos().max(1) as u64))
}

/// A duration for people: `0.4 s`, `12 s`, `10 min`.
pub(crate) fn secs(d: Duration) -> String {
    match d.as_secs() {
        0..10 => format!("{:.1} s", d.as_secs_f64()),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// A `List` answer: the items, and the token for the next page.
#[derive(Debug, Deserialize)]
#[serde(bound = "T: DeserializeOwned")]
struct Page<T> {
    #[serde(default)]
    items: Vec<T>,
    #[serde(default)]
    metadata: PageMeta,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PageMeta {
    #[serde(rename = "continue")]
    next: Option<String>,
}

/// Items per `List` page: large enough that a node's or namespace's pods come in one call.
const PAGE: u32 = 500;

impl KubeCluster {
    /// Sends the request `build` makes and decodes the answer, resending transient failures
    /// (at most `settings.transient_retries` times) while `deadline` allows.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        resend: Resend,
        deadline: &Deadline,
        build: impl Fn() -> Result<http::Request<Vec<u8>>, CallError>,
    ) -> Result<T, CallError> {
        let s = &self.settings;
        let mut attempt = 0;
        loop {
            let limit = s.request_timeout.min(deadline.remaining());
            let result = if limit.is_zero() {
                Err(CallError::TimedOut(Duration::ZERO))
            } else {
                let request = build()?;
                match tokio::time::timeout(limit, self.client.request::<T>(request)).await {
                    Ok(answer) => answer.map_err(CallError::from),
                    Err(_) => Err(CallError::TimedOut(limit)),
                }
            };
            match result {
                Err(e)
                    if resend == Resend::Transient
                        && e.is_transient()
                        && attempt < s.transient_retries
                        && deadline
                            .sleep(backoff(s.backoff_min, s.backoff_max, attempt, "call"))
                            .await =>
                {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// `GET` one object at `collection/name` into `T`; 404 is `Ok(None)`.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        collection: &str,
        name: &str,
        deadline: &Deadline,
    ) -> Result<Option<T>, CallError> {
        let request = Request::new(collection);
        let got = self
            .call(Resend::Transient, deadline, || {
                request.get(name, &Default::default()).map_err(build_error)
            })
            .await;
        match got {
            Ok(object) => Ok(Some(object)),
            Err(e) if e.code() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `LIST` a collection, page by page, optionally with a field or label selector. A list
    /// at `resourceVersion=0` comes from the watch cache in one answer, so it is sent
    /// without `limit` (kube would otherwise drop the `resourceVersion`).
    pub(crate) async fn list<T: DeserializeOwned>(
        &self,
        collection: &str,
        params: ListParams,
        deadline: &Deadline,
    ) -> Result<Vec<T>, CallError> {
        let request = Request::new(collection);
        let mut items = Vec::new();
        let mut next: Option<String> = None;
        let cached = params.resource_version.as_deref() == Some("0");
        loop {
            let params = ListParams {
                limit: (!cached).then_some(PAGE),
                continue_token: next.take(),
                ..params.clone()
            };
            let page: Page<T> = self
                .call(Resend::Transient, deadline, || {
                    request.list(&params).map_err(build_error)
                })
                .await?;
            items.extend(page.items);
            match page.metadata.next.filter(|t| !t.is_empty()) {
                Some(token) => next = Some(token),
                None => return Ok(items),
            }
        }
    }
}

/// A request kube could not build (an invalid name): no call was made.
pub(crate) fn build_error(e: kube::core::request::Error) -> CallError {
    CallError::Api(Box::new(kube::core::Status {
        code: 400,
        reason: "BadRequest".into(),
        message: format!("request not sent: {e}"),
        ..Default::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_bounds_and_jitters() {
        let (min, max) = (Duration::from_millis(100), Duration::from_secs(1));
        for attempt in 0..10 {
            let full = (min * 2u32.pow(attempt)).min(max);
            let pause = backoff(min, max, attempt, "p");
            assert!(pause >= full / 2 && pause <= full, "{attempt}: {pause:?}");
        }
        let pauses: std::collections::BTreeSet<Duration> =
            (0..20).map(|_| backoff(min, max, 5, "p")).collect();
        assert!(pauses.len() > 1, "no jitter: {pauses:?}");
    }
}
