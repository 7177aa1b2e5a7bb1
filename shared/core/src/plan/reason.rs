//! How a reason sentence is put together from its clauses.
//!
//! A plan's reason reads "cause; cause; decision": the facts that led to the action, then
//! what reflex does. Planners collect the facts in a [`Why`] as they go (a fallback adds its
//! "so X instead") and [`Why::then`] joins the decision on, so no two clauses are ever glued
//! together by hand.

use chrono::TimeDelta;

/// The clauses that explain a decision, in the order they were established.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Why {
    clauses: Vec<String>,
}

/// What separates two clauses of a reason.
const SEPARATOR: &str = "; ";

impl Why {
    /// No cause yet: the rule's own action, taken for its own sake.
    pub(crate) fn none() -> Self {
        Why::default()
    }

    /// One fact.
    pub(crate) fn because(clause: impl Into<String>) -> Self {
        Why::none().and(clause)
    }

    /// Adds a fact after those already given. Empty clauses are dropped.
    pub(crate) fn and(mut self, clause: impl Into<String>) -> Self {
        let clause = clause.into();
        let clause = clause.trim().trim_end_matches(';').trim_end();
        if !clause.is_empty() {
            self.clauses.push(clause.to_owned());
        }
        self
    }

    /// Whether no fact was given.
    pub(crate) fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// The reason: the facts, then `decision`.
    pub(crate) fn then(&self, decision: impl AsRef<str>) -> String {
        self.clone().and(decision.as_ref()).to_string()
    }
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, clause) in self.clauses.iter().enumerate() {
            if i > 0 {
                f.write_str(SEPARATOR)?;
            }
            f.write_str(clause)?;
        }
        Ok(())
    }
}

/// An age as a person says it: minutes up to two hours, hours up to two days, then days.
pub(crate) fn human_age(delta: TimeDelta) -> String {
    let mins = delta.num_minutes();
    if mins.abs() < 120 {
        format!("{mins} min")
    } else if mins.abs() < 48 * 60 {
        format!("{} h", mins / 60)
    } else {
        format!("{} days", mins / (24 * 60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fallback_and_its_decision_are_separate_clauses() {
        let why =
            Why::because("newest revision 3 is 2 h old (more than 1h)").and("so notify instead");
        assert_eq!(
            why.then("tell on-call; no cluster change"),
            "newest revision 3 is 2 h old (more than 1h); so notify instead; tell on-call; no cluster change"
        );
    }

    #[test]
    fn clauses_given_with_their_own_separator_are_not_doubled() {
        let why = Why::because("a fact; ").and("  another  ");
        assert_eq!(why.to_string(), "a fact; another");
        assert_eq!(Why::none().then("decide"), "decide");
        assert!(Why::none().and("").is_empty());
    }

    #[test]
    fn ages_read_in_the_unit_a_person_would_use() {
        assert_eq!(human_age(TimeDelta::minutes(25)), "25 min");
        assert_eq!(human_age(TimeDelta::minutes(-10)), "-10 min");
        assert_eq!(human_age(TimeDelta::minutes(180)), "3 h");
        assert_eq!(human_age(TimeDelta::days(3)), "3 days");
    }
}
