//! Alertmanager-style label matchers: `name="value"`, `name!=value`, `name=~"regex"`,
//! `name!~"regex"`.
//!
//! Semantics follow Alertmanager: regular expressions are anchored at both ends, and a label
//! that is absent reads as the empty string (so `severity=""` matches alerts without one).

use std::fmt;
use std::str::FromStr;

use regex::Regex;
use serde::{Deserialize, Deserializer};

use crate::alert::Labels;

/// The comparison a matcher makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchOp {
    fn symbol(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// One parsed matcher.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// Label name.
    pub label: String,
    /// Comparison.
    pub op: MatchOp,
    /// The value as written (for regex ops, the pattern).
    pub value: String,
    regex: Option<Regex>,
}

/// Why a matcher string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid matcher {text:?}: {problem}")]
pub struct InvalidMatcher {
    /// The matcher as written.
    pub text: String,
    /// What is wrong.
    pub problem: String,
}

impl Matcher {
    /// Whether `labels` satisfy this matcher.
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.label).map_or("", String::as_str);
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(value),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(value),
            // A regex op always carries its compiled regex (see `from_str`).
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `s` is a valid Prometheus label name (also used for target placeholders).
pub fn valid_label_name(s: &str) -> bool {
    is_label_name(s)
}

fn unquote(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let Some(inner) = raw.strip_prefix('"') else {
        if raw.contains('"') {
            return Err("unbalanced quote in value".into());
        }
        return Ok(raw.to_owned());
    };
    let Some(inner) = inner.strip_suffix('"') else {
        return Err("value opens a quote it does not close".into());
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some(e @ ('"' | '\\')) => out.push(e),
                // Keep regex escapes such as `\d` intact.
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => return Err("value ends with a lone backslash".into()),
            },
            '"' => return Err("unescaped quote inside value".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

impl FromStr for Matcher {
    type Err = InvalidMatcher;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |problem: String| InvalidMatcher {
            text: text.to_owned(),
            problem,
        };
        // The first operator character splits name from value; two-character ops first.
        let pos = text
            .find(['=', '!'])
            .ok_or_else(|| fail("expected name, an operator (=, !=, =~, !~) and a value".into()))?;
        let (label, rest) = text.split_at(pos);
        let (op, value) = [
            MatchOp::Regex,
            MatchOp::NotRegex,
            MatchOp::NotEqual,
            MatchOp::Equal,
        ]
        .into_iter()
        .find_map(|op| rest.strip_prefix(op.symbol()).map(|v| (op, v)))
        .ok_or_else(|| fail("expected an operator: =, !=, =~ or !~".into()))?;
        let label = label.trim();
        if !is_label_name(label) {
            return Err(fail(format!("{label:?} is not a valid label name")));
        }
        let value = unquote(value).map_err(fail)?;
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| fail(format!("bad regular expression: {e}")))?,
            ),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Matcher {
            label: label.to_owned(),
            op,
            value,
            regex,
        })
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.label, self.op.symbol(), self.value)
    }
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn m(text: &str) -> Matcher {
        text.parse().expect("valid matcher")
    }

    #[test]
    fn equality_and_inequality_compare_whole_values() {
        let l = labels(&[("namespace", "production")]);
        assert!(m(r#"namespace="production""#).matches(&l));
        assert!(m("namespace=production").matches(&l));
        assert!(!m("namespace=prod").matches(&l));
        assert!(m("namespace!=staging").matches(&l));
    }

    #[test]
    fn regexes_are_anchored_like_alertmanager() {
        let l = labels(&[("namespace", "production")]);
        assert!(m(r#"namespace=~"prod.*""#).matches(&l));
        assert!(!m(r#"namespace=~"prod""#).matches(&l));
        assert!(m(r#"namespace!~"kube-.*""#).matches(&l));
        assert!(m(r#"namespace=~"production|staging""#).matches(&l));
    }

    #[test]
    fn a_missing_label_reads_as_empty() {
        let l = labels(&[]);
        assert!(m(r#"severity="""#).matches(&l));
        assert!(!m("severity=critical").matches(&l));
        assert!(m("severity!=critical").matches(&l));
    }

    #[test]
    fn refuses_bad_matchers_with_the_reason() {
        let err = r#"pod=~"(unclosed""#.parse::<Matcher>().expect_err("bad regex");
        assert!(err.to_string().contains("bad regular expression"), "{err}");
        assert!("no operator".parse::<Matcher>().is_err());
        assert!(r#"1bad="x""#.parse::<Matcher>().is_err());
        assert!(r#"a="x"y""#.parse::<Matcher>().is_err());
        assert!(r#"a="open"#.parse::<Matcher>().is_err());
    }
}
