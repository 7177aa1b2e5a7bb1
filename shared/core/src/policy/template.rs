//! Target templates: `"{namespace}"`, `"{PodName}"`, `"production"`, `"ip-{host}.ec2.internal"`.
//!
//! A template is parsed once at policy load into literal and label parts, so rendering is a
//! lookup per part. Literal parts are checked at load to be possible Kubernetes name
//! characters; the rendered value is validated as a name by the planner before use.

use std::fmt;

use serde::{Deserialize, Deserializer};

use super::matcher::valid_label_name;
use crate::alert::Labels;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Label(String),
}

/// A parsed target template. A malformed one still deserializes and keeps its problem, so
/// that [`Template::validate`], run with the rule at hand, can name the rule and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    text: String,
    parts: Result<Vec<Part>, String>,
}

/// Why a template was refused, or could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template text is malformed.
    #[error("template {text:?}: {problem}")]
    Malformed {
        /// The template.
        text: String,
        /// What is wrong.
        problem: String,
    },
    /// The alert has no (or an empty) label the template needs.
    #[error("the alert has no {0:?} label to name the target")]
    MissingLabel(String),
}

impl Template {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let parts = Self::parts(text).map_err(|problem| TemplateError::Malformed {
            text: text.to_owned(),
            problem,
        })?;
        Ok(Template {
            text: text.to_owned(),
            parts: Ok(parts),
        })
    }

    fn parts(text: &str) -> Result<Vec<Part>, String> {
        let malformed = |problem: &str| problem.to_owned();
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                Some(i) if rest.as_bytes().get(i) == Some(&b'}') => {
                    return Err(malformed("'}' without a matching '{'"));
                }
                Some(i) => {
                    if i > 0 {
                        parts.push(Part::Literal(rest[..i].to_owned()));
                    }
                    let after = &rest[i + 1..];
                    let end = after
                        .find('}')
                        .ok_or_else(|| malformed("'{' is never closed"))?;
                    let label = after[..end].trim();
                    if !valid_label_name(label) {
                        return Err(malformed(&format!(
                            "{{{label}}} does not name a valid label"
                        )));
                    }
                    parts.push(Part::Label(label.to_owned()));
                    rest = &after[end + 1..];
                }
                None => {
                    parts.push(Part::Literal(rest.to_owned()));
                    rest = "";
                }
            }
        }
        if parts.is_empty() {
            return Err(malformed("is empty"));
        }
        Ok(parts)
    }

    fn parsed(&self) -> Result<&[Part], TemplateError> {
        self.parts
            .as_deref()
            .map_err(|problem| TemplateError::Malformed {
                text: self.text.clone(),
                problem: problem.clone(),
            })
    }

    /// Checks literal parts could appear in a Kubernetes name or instance id.
    pub fn validate(&self) -> Result<(), TemplateError> {
        let name_char =
            |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.';
        for part in self.parsed()? {
            if let Part::Literal(lit) = part
                && !lit.bytes().all(name_char)
            {
                return Err(TemplateError::Malformed {
                    text: self.text.clone(),
                    problem: format!(
                        "literal {lit:?} cannot appear in a Kubernetes name (lowercase letters, digits, '-', '.')"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Labels the template reads.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().flatten().filter_map(|p| match p {
            Part::Label(l) => Some(l.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Fills the template from `labels`.
    pub fn render(&self, labels: &Labels) -> Result<String, TemplateError> {
        let mut out = String::new();
        for part in self.parsed()? {
            match part {
                Part::Literal(lit) => out.push_str(lit),
                Part::Label(label) => match labels.get(label).filter(|v| !v.is_empty()) {
                    Some(value) => out.push_str(value),
                    None => return Err(TemplateError::MissingLabel(label.clone())),
                },
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let parts = Template::parts(&text);
        Ok(Template { text, parts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels {
        [
            ("namespace", "production"),
            ("PodName", "vote"),
            ("empty", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn renders_labels_and_literals() {
        let t = Template::parse("{namespace}").expect("valid");
        assert_eq!(t.render(&labels()), Ok("production".to_owned()));
        let t = Template::parse("pre-{PodName}.x").expect("valid");
        assert_eq!(t.render(&labels()), Ok("pre-vote.x".to_owned()));
        assert_eq!(t.labels().collect::<Vec<_>>(), ["PodName"]);
        let t = Template::parse("result").expect("valid");
        assert_eq!(t.render(&Labels::new()), Ok("result".to_owned()));
    }

    #[test]
    fn a_missing_or_empty_label_cannot_render() {
        for text in ["{pod}", "{empty}"] {
            let t = Template::parse(text).expect("valid");
            assert!(matches!(
                t.render(&labels()),
                Err(TemplateError::MissingLabel(_))
            ));
        }
    }

    #[test]
    fn malformed_templates_are_refused() {
        for text in ["", "{", "}", "{}", "{a b}", "{1x}", "a{b", "a}"] {
            assert!(Template::parse(text).is_err(), "{text:?}");
        }
        assert!(Template::parse("Prod").expect("parses").validate().is_err());
    }
}
