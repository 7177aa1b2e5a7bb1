//! Whether the policy's longest action fits in the invocation: a drain plus its
//! verification may take longer than the function may run, and Lambda would then cut an
//! action off half-way. [`actions_outlast`] decides (a pure function of the policy's
//! timeouts, the invocation's deadline and the time now); [`warn_if_actions_outlast`] logs
//! its answer, once per container at the first invocation.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reflex_core::policy::Timeouts;

/// The longest action the policy allows, and the time the invocation had left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outlast {
    /// The drain timeout plus the verify timeout.
    pub longest: Duration,
    /// From `now` to the invocation's deadline.
    pub remaining: Duration,
}

/// `Some` when the drain and verify timeouts together exceed the time from `now` to
/// `deadline_ms` (Lambda's deadline, milliseconds since the Unix epoch); `None` when they
/// fit, or when there is no deadline to compare with (0 or a time already past, as a local
/// runtime emulator gives).
pub fn actions_outlast(timeouts: &Timeouts, deadline_ms: u64, now: SystemTime) -> Option<Outlast> {
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let remaining = Duration::from_millis(deadline_ms).saturating_sub(now);
    if remaining.is_zero() {
        return None;
    }
    let longest = timeouts
        .drain
        .to_std()
        .saturating_add(timeouts.verify.to_std());
    (longest > remaining).then_some(Outlast { longest, remaining })
}

/// What an invocation keeps for itself after its last cluster step: the audit write, the
/// notification and the claim's release, each a bounded AWS call.
pub const RESERVE: Duration = Duration::from_secs(10);

/// How long the cluster adapter may act in the invocation that ends at `deadline_ms`: the
/// time from `now` to the deadline, less [`RESERVE`]. `None` when there is no deadline to go
/// by: 0, or a time already past, which Lambda never hands an invocation but local runtime
/// emulators do (as [`actions_outlast`] also reads it).
pub fn acting_time(deadline_ms: u64, now: SystemTime) -> Option<Duration> {
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let remaining = Duration::from_millis(deadline_ms).saturating_sub(now);
    (!remaining.is_zero()).then(|| remaining.saturating_sub(RESERVE))
}

/// Logs a warning when [`actions_outlast`] says the policy's longest action does not fit
/// in the invocation that ends at `deadline_ms`.
pub fn warn_if_actions_outlast(timeouts: &Timeouts, deadline_ms: u64) {
    if let Some(outlast) = actions_outlast(timeouts, deadline_ms, SystemTime::now()) {
        tracing::warn!(
            longest_action_s = outlast.longest.as_secs(),
            invocation_s = outlast.remaining.as_secs(),
            "the policy's drain and verify timeouts exceed the function timeout: lower them or raise the timeout"
        );
    }
}

#[cfg(test)]
mod tests {
    use reflex_core::duration::Span;

    use super::*;

    /// 2026-11-20T09:31:00Z.
    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_795_167_060)
    }

    fn deadline_in(secs: u64) -> u64 {
        let at = now().duration_since(UNIX_EPOCH).unwrap_or_default() + Duration::from_secs(secs);
        u64::try_from(at.as_millis()).unwrap_or(u64::MAX)
    }

    fn timeouts(drain_secs: u64, verify_secs: u64) -> Timeouts {
        Timeouts {
            drain: Span::from_secs(drain_secs),
            verify: Span::from_secs(verify_secs),
        }
    }

    #[test]
    fn the_default_timeouts_outlast_a_five_minute_invocation() {
        assert_eq!(
            actions_outlast(&Timeouts::default(), deadline_in(300), now()),
            Some(Outlast {
                longest: Duration::from_secs(600),
                remaining: Duration::from_secs(300),
            })
        );
    }

    #[test]
    fn the_default_timeouts_fit_in_a_fifteen_minute_invocation() {
        assert_eq!(
            actions_outlast(&Timeouts::default(), deadline_in(900), now()),
            None
        );
    }

    #[test]
    fn an_action_exactly_as_long_as_the_invocation_fits() {
        assert_eq!(
            actions_outlast(&timeouts(60, 40), deadline_in(100), now()),
            None
        );
    }

    #[test]
    fn one_second_too_long_is_said() {
        let outlast = actions_outlast(&timeouts(60, 41), deadline_in(100), now());
        assert_eq!(
            outlast,
            Some(Outlast {
                longest: Duration::from_secs(101),
                remaining: Duration::from_secs(100),
            })
        );
    }

    #[test]
    fn no_deadline_from_a_local_emulator_warns_of_nothing() {
        assert_eq!(actions_outlast(&timeouts(600, 600), 0, now()), None);
    }

    #[test]
    fn a_deadline_already_past_warns_of_nothing() {
        let past = deadline_in(0) - 1_000;
        assert_eq!(actions_outlast(&timeouts(600, 600), past, now()), None);
    }

    #[test]
    fn the_cluster_may_act_until_the_deadline_less_the_reserve() {
        assert_eq!(
            acting_time(deadline_in(900), now()),
            Some(Duration::from_secs(890))
        );
        assert_eq!(acting_time(deadline_in(5), now()), Some(Duration::ZERO));
        assert_eq!(acting_time(0, now()), None);
        let past = u64::try_from(
            (now() - Duration::from_secs(1))
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap();
        assert_eq!(acting_time(past, now()), None);
    }
}
