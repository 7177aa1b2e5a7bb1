//! Fault injection: per-route error statuses, latency and dropped connections.
//!
//! Rules are checked in the order they were added. Every matching `Delay` rule adds its
//! latency; the first matching `Status` or `Drop` rule decides the answer instead of the
//! API. A rule limited to `n` requests counts down on each match and then retires, so
//! "fail the next 2 evictions" needs no cleanup.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;

use crate::error::Error;

/// What happens to a request that matches a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this HTTP status and a `Status` body like the apiserver's own.
    Status(u16),
    /// Wait this long, then serve the request normally (or as a later rule says).
    Delay(Duration),
    /// Close the connection without answering.
    Drop,
}

#[derive(Debug, Clone)]
enum PathMatch {
    Any,
    Prefix(String),
    Regex(Regex),
}

/// Which requests a rule applies to: a path prefix or regex, optionally one method.
#[derive(Debug, Clone)]
pub struct Route {
    method: Option<String>,
    path: PathMatch,
}

impl Route {
    /// Every request.
    pub fn any() -> Self {
        Self {
            method: None,
            path: PathMatch::Any,
        }
    }

    /// Requests whose path (without query) starts with `prefix`.
    pub fn prefix(prefix: impl Into<String>) -> Self {
        Self {
            method: None,
            path: PathMatch::Prefix(prefix.into()),
        }
    }

    /// Requests whose path (without query) matches `pattern`, e.g. `/pods/[^/]+/eviction$`.
    pub fn regex(pattern: &str) -> Result<Self, Error> {
        let regex = Regex::new(pattern).map_err(|source| Error::Route {
            pattern: pattern.to_owned(),
            source,
        })?;
        Ok(Self {
            method: None,
            path: PathMatch::Regex(regex),
        })
    }

    /// Restricts the route to one HTTP method (`GET`, `PATCH`, ...).
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && match &self.path {
                PathMatch::Any => true,
                PathMatch::Prefix(prefix) => path.starts_with(prefix.as_str()),
                PathMatch::Regex(regex) => regex.is_match(path),
            }
    }
}

/// A route, a fault, and how many requests it applies to (`None`: all of them).
#[derive(Debug, Clone)]
pub struct FaultRule {
    /// Requests the rule applies to.
    pub route: Route,
    /// What happens to them.
    pub fault: Fault,
    /// Remaining matches before the rule retires; `None` never retires.
    pub times: Option<u32>,
}

/// The JSON form of a rule, for the admin endpoint and the binary's `--fault` flag:
/// `{"method":"POST","path_regex":"/eviction$","status":429,"times":3}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultSpec {
    /// HTTP method; any when absent.
    method: Option<String>,
    /// Path prefix; exclusive with `path_regex`.
    path_prefix: Option<String>,
    /// Path regex; exclusive with `path_prefix`.
    path_regex: Option<String>,
    /// Answer with this status.
    status: Option<u16>,
    /// Add this much latency.
    delay_ms: Option<u64>,
    /// Close the connection without answering.
    #[serde(default)]
    drop: bool,
    /// Apply to this many requests; all when absent.
    times: Option<u32>,
}

impl FaultRule {
    /// A rule that applies to every matching request.
    pub fn new(route: Route, fault: Fault) -> Self {
        Self {
            route,
            fault,
            times: None,
        }
    }

    /// Limits the rule to the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Reads the JSON form (see the admin endpoint in the crate docs).
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let spec: FaultSpec =
            serde_json::from_str(text).map_err(|e| Error::FaultSpec(e.to_string()))?;
        let route = match (spec.path_prefix, spec.path_regex) {
            (Some(_), Some(_)) => {
                return Err(Error::FaultSpec(
                    "give path_prefix or path_regex, not both".into(),
                ));
            }
            (Some(prefix), None) => Route::prefix(prefix),
            (None, Some(pattern)) => Route::regex(&pattern)?,
            (None, None) => Route::any(),
        };
        let route = match spec.method {
            Some(method) => route.method(&method),
            None => route,
        };
        let fault = match (spec.status, spec.delay_ms, spec.drop) {
            (Some(code), None, false) if (100..=599).contains(&code) => Fault::Status(code),
            (None, Some(ms), false) => Fault::Delay(Duration::from_millis(ms)),
            (None, None, true) => Fault::Drop,
            _ => {
                return Err(Error::FaultSpec(
                    "give exactly one of status (100-599), delay_ms, drop".into(),
                ));
            }
        };
        Ok(Self {
            route,
            fault,
            times: spec.times,
        })
    }
}

/// What the fault rules decided for one request.
#[derive(Debug, Default)]
pub(crate) struct Decision {
    pub delay: Duration,
    /// `Status` or `Drop`; `None` lets the API answer.
    pub outcome: Option<Fault>,
}

/// A handle on the fault rules of a running server; clones share the rules.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    rules: Arc<Mutex<Vec<FaultRule>>>,
}

impl Faults {
    /// Adds a rule after the existing ones.
    pub fn add(&self, rule: FaultRule) {
        self.rules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(rule);
    }

    /// Answers the next `times` requests on `route` with `status`.
    pub fn fail_next(&self, route: Route, times: u32, status: u16) {
        self.add(FaultRule::new(route, Fault::Status(status)).times(times));
    }

    /// Answers every request on `route` with `status` until cleared.
    pub fn fail_always(&self, route: Route, status: u16) {
        self.add(FaultRule::new(route, Fault::Status(status)));
    }

    /// Adds `latency` to every request on `route` until cleared.
    pub fn delay(&self, route: Route, latency: Duration) {
        self.add(FaultRule::new(route, Fault::Delay(latency)));
    }

    /// Closes the connection of the next `times` requests on `route` without answering.
    pub fn drop_next(&self, route: Route, times: u32) {
        self.add(FaultRule::new(route, Fault::Drop).times(times));
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.rules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Applies the rules to one request, counting down the ones that matched.
    pub(crate) fn decide(&self, method: &str, path: &str) -> Decision {
        let mut rules = self.rules.lock().unwrap_or_else(PoisonError::into_inner);
        let mut decision = Decision::default();
        for rule in rules.iter_mut() {
            if rule.times == Some(0) || !rule.route.matches(method, path) {
                continue;
            }
            match &rule.fault {
                Fault::Delay(latency) => decision.delay += *latency,
                terminal if decision.outcome.is_none() => decision.outcome = Some(terminal.clone()),
                // A later terminal rule is not reached, so it is not consumed either.
                _ => continue,
            }
            if let Some(times) = rule.times.as_mut() {
                *times -= 1;
            }
        }
        rules.retain(|rule| rule.times != Some(0));
        decision
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Tests fail loudly on bad fixtures.

    use super::*;

    #[test]
    fn limited_rule_retires_after_its_count() {
        let faults = Faults::default();
        faults.fail_next(Route::prefix("/api/v1/nodes").method("patch"), 2, 500);
        assert_eq!(faults.decide("GET", "/api/v1/nodes/n1").outcome, None);
        assert_eq!(
            faults.decide("PATCH", "/api/v1/nodes/n1").outcome,
            Some(Fault::Status(500))
        );
        assert_eq!(
            faults.decide("PATCH", "/api/v1/nodes/n1").outcome,
            Some(Fault::Status(500))
        );
        assert_eq!(faults.decide("PATCH", "/api/v1/nodes/n1").outcome, None);
    }

    #[test]
    fn delays_add_up_and_first_terminal_rule_wins() {
        let faults = Faults::default();
        faults.delay(Route::any(), Duration::from_millis(10));
        faults.drop_next(Route::regex("/eviction$").unwrap(), 1);
        faults.fail_next(Route::any(), 1, 503);
        let decision = faults.decide("POST", "/api/v1/namespaces/a/pods/p/eviction");
        assert_eq!(
            (decision.delay, decision.outcome),
            (Duration::from_millis(10), Some(Fault::Drop))
        );
        assert_eq!(
            faults.decide("GET", "/api/v1/pods").outcome,
            Some(Fault::Status(503))
        );
    }

    #[test]
    fn json_rules_need_exactly_one_fault() {
        let rule = FaultRule::from_json(
            r#"{"method":"POST","path_regex":"/eviction$","status":429,"times":3}"#,
        )
        .unwrap();
        assert_eq!((rule.fault, rule.times), (Fault::Status(429), Some(3)));
        assert!(FaultRule::from_json(r#"{"status":500,"drop":true}"#).is_err());
        assert!(FaultRule::from_json(r#"{"status":500,"unknown":1}"#).is_err());
    }
}
