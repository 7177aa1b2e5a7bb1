//! Kubernetes name validation.
//!
//! Target names come from alert labels and alarm dimensions, which anyone who can write an
//! alert rule controls. Every name is checked here before it reaches a URL path, a patch
//! or an audit target, so that `../`, `?`, uppercase or empty values can never address
//! something other than what the label seems to say.

use std::fmt;

/// Why a name is not a valid Kubernetes name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {what}: {problem}")]
pub struct InvalidName {
    /// The rejected value.
    pub value: String,
    /// What it was meant to name ("namespace", "object name").
    pub what: &'static str,
    /// What is wrong with it.
    pub problem: &'static str,
}

/// What kind of name rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 label: namespaces (at most 63 characters, `[a-z0-9-]`).
    Label,
    /// RFC 1123 subdomain: pods, workloads, nodes (at most 253 characters, `[a-z0-9.-]`).
    Subdomain,
}

impl fmt::Display for NameRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameRule::Label => "namespace",
            NameRule::Subdomain => "object name",
        })
    }
}

/// Checks `value` against `rule`.
pub fn validate(value: &str, rule: NameRule) -> Result<(), InvalidName> {
    let what = match rule {
        NameRule::Label => "namespace",
        NameRule::Subdomain => "object name",
    };
    let fail = |problem| {
        Err(InvalidName {
            value: value.to_owned(),
            what,
            problem,
        })
    };
    let max = match rule {
        NameRule::Label => 63,
        NameRule::Subdomain => 253,
    };
    if value.is_empty() {
        return fail("it is empty");
    }
    if value.len() > max {
        return fail(match rule {
            NameRule::Label => "it is longer than 63 characters",
            NameRule::Subdomain => "it is longer than 253 characters",
        });
    }
    let allowed = |c: u8| {
        c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || c == b'-'
            || (c == b'.' && rule == NameRule::Subdomain)
    };
    if !value.bytes().all(allowed) {
        return fail(match rule {
            NameRule::Label => "only lowercase letters, digits and '-' are allowed",
            NameRule::Subdomain => "only lowercase letters, digits, '-' and '.' are allowed",
        });
    }
    // Each dot-separated part must start and end with an alphanumeric character.
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    for part in value.split('.') {
        match (part.bytes().next(), part.bytes().last()) {
            (Some(first), Some(last)) if alnum(first) && alnum(last) => {}
            _ => {
                return fail("it must start and end with a letter or digit (also around each '.')");
            }
        }
    }
    Ok(())
}

/// An EC2 instance id: `i-` followed by 8 or 17 lowercase hex digits.
pub fn validate_instance_id(value: &str) -> Result<(), InvalidName> {
    let ok = value.strip_prefix("i-").is_some_and(|hex| {
        matches!(hex.len(), 8 | 17)
            && hex
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    });
    if ok {
        Ok(())
    } else {
        Err(InvalidName {
            value: value.to_owned(),
            what: "EC2 instance id",
            problem: "expected i- followed by 8 or 17 lowercase hex digits",
        })
    }
}

/// An ALB or NLB target group as CloudWatch's `TargetGroup` dimension names it:
/// `targetgroup/NAME/ID`, NAME 1 to 32 letters, digits and '-', ID 16 lowercase hex digits.
pub fn validate_target_group(value: &str) -> Result<(), InvalidName> {
    let ok = match value.split('/').collect::<Vec<_>>().as_slice() {
        ["targetgroup", name, id] => {
            (1..=32).contains(&name.len())
                && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                && id.len() == 16
                && id
                    .bytes()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(InvalidName {
            value: value.to_owned(),
            what: "target group",
            problem: "expected targetgroup/NAME/ID, NAME up to 32 letters, digits and '-', ID 16 lowercase hex digits",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_groups_are_read_as_cloudwatch_names_them() {
        assert_eq!(
            validate_target_group("targetgroup/k8s-producti-vote-4c2e8a1f7b/9e3b5d7f1a2c4e6b"),
            Ok(())
        );
        for bad in [
            "targetgroup/x/9e3b5d7f1a2c4e6",
            "targetgroup//9e3b5d7f1a2c4e6b",
            "targetgroup/a/b/9e3b5d7f1a2c4e6b",
            "loadbalancer/x/9e3b5d7f1a2c4e6b",
            "targetgroup/x_y/9e3b5d7f1a2c4e6b",
        ] {
            assert!(validate_target_group(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn accepts_real_names() {
        for name in [
            "vote-6f7c9b8d5-x2k4q",
            "db-0",
            "ip-10-0-1-23.ec2.internal",
            "a",
        ] {
            assert_eq!(validate(name, NameRule::Subdomain), Ok(()), "{name}");
        }
        assert_eq!(validate("production", NameRule::Label), Ok(()));
    }

    #[test]
    fn refuses_path_tricks_and_bad_characters() {
        for name in [
            "",
            "../etc",
            "vote/../../nodes",
            "Vote",
            "vote?x=1",
            "-vote",
            "vote-",
            "a..b",
            "a b",
            "vöte",
        ] {
            assert!(
                validate(name, NameRule::Subdomain).is_err(),
                "{name:?} should be refused"
            );
        }
        assert!(validate("ip-10-0-1-23.ec2.internal", NameRule::Label).is_err());
        assert!(validate(&"a".repeat(64), NameRule::Label).is_err());
        assert!(validate(&"a".repeat(254), NameRule::Subdomain).is_err());
    }

    #[test]
    fn instance_ids_have_the_ec2_form() {
        assert!(validate_instance_id("i-0988f10c91115339a").is_ok());
        assert!(validate_instance_id("i-12345678").is_ok());
        for bad in [
            "TestInstance",
            "i-",
            "i-0988F10C91115339A",
            "i-123",
            "i-0988f10c91115339a/x",
        ] {
            assert!(validate_instance_id(bad).is_err(), "{bad}");
        }
    }
}
