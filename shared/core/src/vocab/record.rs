//! A Route 53 weighted record set as reflex reads and writes it back: every field that an
//! `UPSERT` must repeat (TTL and values, or an alias target; a health check), so a change
//! that only moves weight keeps the rest of the set exactly as it was.

use std::fmt;

/// An alias record's target (an ALB, a CloudFront distribution, another record).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AliasTarget {
    /// The hosted zone of the target (the ALB's canonical zone, say).
    pub hosted_zone_id: String,
    /// The target's DNS name.
    pub dns_name: String,
    /// Whether Route 53 follows the target's health.
    pub evaluate_target_health: bool,
}

/// One weighted record set of a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WeightedSet {
    /// The record name, as Route 53 returns it (fully qualified, with the final dot).
    pub name: String,
    /// The record type (`A`, `AAAA`, `CNAME`, ...).
    pub record_type: String,
    /// The set identifier.
    pub set_identifier: String,
    /// Its weight (0 to 255).
    pub weight: u64,
    /// TTL in seconds; `None` for an alias.
    pub ttl: Option<u64>,
    /// The values; empty for an alias.
    pub records: Vec<String>,
    /// The alias target, for an alias record.
    pub alias: Option<AliasTarget>,
    /// The health check the set is tied to.
    pub health_check_id: Option<String>,
}

impl WeightedSet {
    /// The same set with another weight.
    pub fn with_weight(&self, weight: u64) -> WeightedSet {
        WeightedSet {
            weight,
            ..self.clone()
        }
    }
}

/// The highest weight Route 53 accepts.
pub const MAX_WEIGHT: u64 = 255;

/// Record names compared as DNS compares them: case-insensitive, with or without the final
/// dot.
pub fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// One `UPSERT` of a change batch: the set as it will be, and the weight it had.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Upsert {
    /// The whole set after the change.
    pub set: WeightedSet,
    /// Its weight when the plan was made.
    pub from_weight: u64,
}

impl fmt::Display for Upsert {
    /// `UPSERT result.example.com. A set=canary weight 10→0 (TTL 60, 10.0.1.10)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.set;
        write!(
            f,
            "UPSERT {} {} set={} weight {}→{} (",
            s.name, s.record_type, s.set_identifier, self.from_weight, s.weight
        )?;
        match (&s.alias, s.ttl) {
            (Some(a), _) => write!(
                f,
                "alias {} in zone {}, evaluate target health {}",
                a.dns_name, a.hosted_zone_id, a.evaluate_target_health
            )?,
            (None, ttl) => write!(
                f,
                "TTL {}, {}",
                ttl.map_or_else(|| "-".to_owned(), |t| t.to_string()),
                s.records.join(" ")
            )?,
        }
        if let Some(hc) = &s.health_check_id {
            write!(f, ", health check {hc}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_names_compare_without_case_or_final_dot() {
        assert!(same_name("Result.Example.com", "result.example.com."));
        assert!(!same_name("result.example.com.", "vote.example.com."));
    }

    #[test]
    fn an_upsert_reads_as_the_change_it_sends() {
        let set = WeightedSet {
            name: "result.example.com.".into(),
            record_type: "A".into(),
            set_identifier: "canary".into(),
            weight: 0,
            ttl: Some(60),
            records: vec!["10.0.1.10".into()],
            alias: None,
            health_check_id: Some("hc-1".into()),
        };
        let up = Upsert {
            set,
            from_weight: 10,
        };
        assert_eq!(
            up.to_string(),
            "UPSERT result.example.com. A set=canary weight 10→0 (TTL 60, 10.0.1.10, health check hc-1)"
        );
    }
}
