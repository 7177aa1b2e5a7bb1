//! Bearer tokens: which distinct tokens the server has seen, since when, and whether a
//! token is too old to be accepted.
//!
//! The server cannot read a token's signing time (an EKS token is an opaque presigned
//! URL), so a token's age is counted from the first request that carried it. With a
//! maximum age set, a request whose token was first seen longer ago than that, or that
//! carries no bearer token at all, is answered `401 Unauthorized` before anything else
//! looks at it, as an API server answers an expired token. Without one (the default),
//! every request is accepted, with or without a token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Default)]
struct State {
    /// First sighting and ordinal (1 for the first token seen) of each distinct token.
    seen: HashMap<String, (Instant, u64)>,
    max_age: Option<Duration>,
}

/// What the token check decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Check {
    /// Which distinct token the request carried, from 1; `None` without one.
    pub ordinal: Option<u64>,
    /// Whether the request is to be answered `401`.
    pub refused: bool,
}

/// A handle on the token bookkeeping of a running server; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    state: Arc<Mutex<State>>,
}

impl Tokens {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers `401` to requests whose bearer token was first seen more than `max_age` ago
    /// (and to requests without one); `None` accepts every request again.
    pub fn refuse_older_than(&self, max_age: Option<Duration>) {
        self.state().max_age = max_age;
    }

    /// The maximum age in force, if any.
    pub fn max_age(&self) -> Option<Duration> {
        self.state().max_age
    }

    /// How many distinct bearer tokens the server has seen.
    pub fn distinct(&self) -> usize {
        self.state().seen.len()
    }

    /// Notes the `Authorization` header of one request and decides on it.
    pub(crate) fn check(&self, authorization: Option<&str>) -> Check {
        let mut state = self.state();
        let token = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let Some(token) = token else {
            return Check {
                ordinal: None,
                refused: state.max_age.is_some(),
            };
        };
        let next = state.seen.len() as u64 + 1;
        let (first_seen, ordinal) = *state
            .seen
            .entry(token.to_owned())
            .or_insert((Instant::now(), next));
        let refused = state.max_age.is_some_and(|max| first_seen.elapsed() > max);
        Check {
            ordinal: Some(ordinal),
            refused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_is_accepted_without_a_maximum_age() {
        let tokens = Tokens::default();
        assert_eq!(
            tokens.check(None),
            Check {
                ordinal: None,
                refused: false
            }
        );
        assert_eq!(tokens.check(Some("Bearer a")).ordinal, Some(1));
        assert_eq!(tokens.check(Some("Bearer b")).ordinal, Some(2));
        assert_eq!(tokens.check(Some("Bearer a")).ordinal, Some(1));
        assert_eq!(tokens.distinct(), 2);
    }

    #[test]
    fn a_token_first_seen_longer_ago_than_the_maximum_age_is_refused() {
        let tokens = Tokens::default();
        tokens.refuse_older_than(Some(Duration::from_millis(30)));
        assert!(!tokens.check(Some("Bearer old")).refused);
        std::thread::sleep(Duration::from_millis(60));
        assert!(tokens.check(Some("Bearer old")).refused);
        assert!(
            !tokens.check(Some("Bearer new")).refused,
            "a new token is young"
        );
        assert!(tokens.check(None).refused, "no token at all");
        tokens.refuse_older_than(None);
        assert!(!tokens.check(Some("Bearer old")).refused);
    }
}
