//! Errors: building a client ([`KubeError`]), and one failed API call ([`CallError`]) as the
//! core's [`ClusterError`] tells it.
//!
//! The mapping is the contract the core relies on: 404 is "not found" (reads turn it into
//! `Ok(None)`), 409 is a conflict, 429/403/422 (and any other 4xx) a refusal, and 5xx, a
//! connection that failed or dropped, and a call that outlived its time limit are
//! "unavailable", the transient kind a later retry of the alert may get past. A 401 is a
//! refusal of reflex's credentials: a client from [`crate::client_with_token`] has already
//! re-signed its token and resent once when one reaches this file. A token that could not
//! be signed is "unavailable" (the credentials provider may answer on a later try).

use std::path::PathBuf;
use std::time::Duration;

use kube::core::Status;
use reflex_core::cluster::ClusterError;

use crate::auth::TokenError;

/// Why a [`crate::KubeCluster`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The kubeconfig file could not be read or parsed.
    #[error("cannot read kubeconfig {path}")]
    ReadKubeconfig {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// The kubeconfig has no usable context, cluster or user (or not the one asked for).
    #[error("kubeconfig {path} is unusable")]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// The HTTP client could not be built from the configuration (TLS set-up, proxy).
    #[error("cannot build the Kubernetes client")]
    Client(#[source] kube::Error),
}

/// One API call that did not succeed.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The server answered with an error `Status`.
    Api(Box<Status>),
    /// No usable answer: connection refused or dropped, TLS failure, unreadable body.
    Transport(String),
    /// No answer within the time the call was given.
    TimedOut(Duration),
    /// No bearer token could be signed, so nothing was sent.
    Token(String),
}

impl CallError {
    /// The HTTP status of an API answer.
    pub fn code(&self) -> Option<u16> {
        match self {
            CallError::Api(status) => Some(status.code),
            _ => None,
        }
    }

    /// Whether sending the same request again may succeed: a server error, a failed or cut
    /// connection, or no answer in time.
    pub fn is_transient(&self) -> bool {
        match self {
            CallError::Api(status) => status.code >= 500,
            CallError::Transport(_) | CallError::TimedOut(_) | CallError::Token(_) => true,
        }
    }

    /// The server's words: message, and the causes it gave (a PodDisruptionBudget's name and
    /// numbers come as a cause of the eviction's 429).
    pub fn message(&self) -> String {
        match self {
            CallError::Api(status) if status.code == 401 => format!(
                "401 Unauthorized: the cluster refused reflex's credentials ({})",
                status.message
            ),
            CallError::Api(status) => {
                let causes: Vec<&str> = status
                    .details
                    .iter()
                    .flat_map(|d| &d.causes)
                    .map(|c| c.message.as_str())
                    .filter(|m| !m.is_empty())
                    .collect();
                let reason = if status.reason.is_empty() {
                    String::new()
                } else {
                    format!(" {}", status.reason)
                };
                if causes.is_empty() {
                    format!("{}{reason}: {}", status.code, status.message)
                } else {
                    format!(
                        "{}{reason}: {} ({})",
                        status.code,
                        status.message,
                        causes.join("; ")
                    )
                }
            }
            CallError::Transport(e) => format!("no answer: {e}"),
            CallError::Token(e) => format!("not sent: {e}"),
            CallError::TimedOut(after) => {
                format!("no answer within {:.1} s", after.as_secs_f64())
            }
        }
    }

    /// The core's view of this failure of `what` (e.g. `GET pod production/vote-1`).
    pub fn into_cluster(self, what: &str) -> ClusterError {
        let message = format!("{what}: {}", self.message());
        match self.code() {
            Some(404) => ClusterError::NotFound(message),
            Some(409) => ClusterError::Conflict(message),
            Some(code) if code < 500 => ClusterError::Refused(message),
            _ => ClusterError::Unavailable(message),
        }
    }
}

impl From<kube::Error> for CallError {
    fn from(e: kube::Error) -> Self {
        match e {
            kube::Error::Api(status) => CallError::Api(status),
            kube::Error::Service(e) if e.is::<TokenError>() => CallError::Token(e.to_string()),
            other => CallError::Transport(chain(&other)),
        }
    }
}

/// An error and its sources on one line ("error sending request: connection closed").
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16, reason: &str) -> CallError {
        CallError::Api(Box::new(Status {
            code,
            reason: reason.into(),
            message: "m".into(),
            ..Status::default()
        }))
    }

    #[test]
    fn status_codes_map_onto_the_core_error_kinds() {
        let kind = |e: CallError| match e.into_cluster("x") {
            ClusterError::NotFound(_) => "not found",
            ClusterError::Conflict(_) => "conflict",
            ClusterError::Refused(_) => "refused",
            ClusterError::Unavailable(_) => "unavailable",
            ClusterError::Timeout(_) => "timeout",
            ClusterError::Unsupported(_) => "unsupported",
            ClusterError::Deadline(_) => "deadline",
        };
        assert_eq!(kind(api(404, "NotFound")), "not found");
        assert_eq!(kind(api(409, "Conflict")), "conflict");
        for code in [403, 422, 429, 400] {
            assert_eq!(kind(api(code, "")), "refused", "{code}");
        }
        for code in [500, 503, 504] {
            assert_eq!(kind(api(code, "")), "unavailable", "{code}");
        }
        assert_eq!(kind(CallError::Transport("reset".into())), "unavailable");
        assert_eq!(
            kind(CallError::TimedOut(Duration::from_secs(1))),
            "unavailable"
        );
    }

    #[test]
    fn only_server_errors_and_lost_answers_are_worth_resending() {
        assert!(api(500, "").is_transient());
        assert!(CallError::TimedOut(Duration::ZERO).is_transient());
        assert!(!api(429, "").is_transient());
        assert!(!api(409, "").is_transient());
        assert!(!api(401, "Unauthorized").is_transient());
    }

    #[test]
    fn a_401_says_the_credentials_were_refused() {
        let e = api(401, "Unauthorized").into_cluster("PATCH node n1");
        let ClusterError::Refused(message) = e else {
            panic!("{e:?}")
        };
        assert_eq!(
            message,
            "PATCH node n1: 401 Unauthorized: the cluster refused reflex's credentials (m)"
        );
    }
}
