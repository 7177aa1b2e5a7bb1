//! [`Evidence`] as text, within a byte budget.
//!
//! Two styles: plain text for e-mail, and chat markdown (AWS Chatbot's `client-markdown`)
//! with log lines in a code block. When the whole does not fit, logs are cut first (the
//! oldest lines go, and the text says how many), then Events, and a last resort cuts the
//! end, saying so; the result never exceeds the budget.

use std::fmt::Write as _;

use crate::evidence::model::{EventsOf, Evidence, PodEvidence};
use crate::time_format::rfc3339;

/// How evidence is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Plain text, for e-mail.
    Text,
    /// Chat markdown: headings in bold, logs in a code block.
    Markdown,
}

/// Log lines kept per container, tried in order until the evidence fits.
const LOG_STEPS: [usize; 6] = [50, 25, 10, 5, 1, 0];
/// Events kept per object once logs are gone.
const EVENT_STEPS: [usize; 3] = [10, 3, 0];
/// Said when the last resort cut the end.
const CUT: &str = "\n... (evidence cut to fit the notification)\n";

/// The evidence in `style`, at most `budget` bytes.
pub fn render(evidence: &Evidence, style: Style, budget: usize) -> String {
    if evidence.is_empty() {
        return String::new();
    }
    for logs in LOG_STEPS {
        let text = write(evidence, style, logs, EVENT_STEPS[0]);
        if text.len() <= budget {
            return text;
        }
    }
    for events in &EVENT_STEPS[1..] {
        let text = write(evidence, style, 0, *events);
        if text.len() <= budget {
            return text;
        }
    }
    let text = write(evidence, style, 0, 0);
    if budget < CUT.len() {
        return String::new();
    }
    let mut end = budget - CUT.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{CUT}", &text[..end])
}

fn heading(out: &mut String, style: Style, title: &str) {
    // Writing to a String cannot fail.
    let _ = match style {
        Style::Text => writeln!(out, "\n{title}"),
        Style::Markdown => writeln!(out, "\n*{title}*"),
    };
}

/// The evidence with at most `logs` log lines per container and `events` Events per object.
fn write(evidence: &Evidence, style: Style, logs: usize, events: usize) -> String {
    let mut out = String::new();
    for pod in &evidence.pods {
        write_pod(&mut out, style, pod, logs);
    }
    if let Some(diff) = &evidence.revision {
        heading(
            &mut out,
            style,
            &format!(
                "Rollback from revision {} to revision {}",
                diff.from_revision, diff.to_revision
            ),
        );
        if diff.containers.is_empty() {
            let _ = writeln!(out, "- no container image or environment variable differs");
        }
        for c in &diff.containers {
            let image = |i: &Option<String>| i.clone().unwrap_or_else(|| "(none)".into());
            if c.image_changed() {
                let _ = writeln!(
                    out,
                    "- container {}: image {} -> {}",
                    c.name,
                    image(&c.image_from),
                    image(&c.image_to)
                );
            } else {
                let _ = writeln!(out, "- container {}: image {}", c.name, image(&c.image_to));
            }
            for (what, names) in [
                ("env added", &c.env_added),
                ("env removed", &c.env_removed),
                ("env changed (values not shown)", &c.env_changed),
            ] {
                if !names.is_empty() {
                    let _ = writeln!(out, "  {what}: {}", names.join(", "));
                }
            }
        }
    }
    if let Some(node) = &evidence.node {
        heading(&mut out, style, &format!("Node {}", node.node));
        for c in &node.conditions {
            let _ = write!(out, "- {}={}", c.kind, c.status);
            if let Some(reason) = &c.reason {
                let _ = write!(out, " ({reason})");
            }
            if let Some(t) = c.last_transition_time {
                let _ = write!(out, " since {}", rfc3339(t));
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(out, "Pods on the node ({}):", node.pod_count);
        for p in &node.pods {
            let _ = writeln!(out, "- {p}");
        }
        if node.pod_count > node.pods.len() {
            let _ = writeln!(out, "- ... and {} more", node.pod_count - node.pods.len());
        }
    }
    for of in &evidence.events {
        write_events(&mut out, style, of, events);
    }
    if !evidence.unavailable.is_empty() {
        heading(&mut out, style, "Not available");
        for line in &evidence.unavailable {
            let _ = writeln!(out, "- {line}");
        }
    }
    out
}

fn write_pod(out: &mut String, style: Style, pod: &PodEvidence, logs: usize) {
    heading(
        out,
        style,
        &format!(
            "Pod {} ({})",
            pod.pod,
            pod.phase.as_deref().unwrap_or("unknown phase")
        ),
    );
    for c in &pod.containers {
        let _ = write!(
            out,
            "- container {}: {} restart(s)",
            c.name, c.restart_count
        );
        match &c.last_termination {
            Some(t) => {
                let _ = write!(
                    out,
                    "; last terminated: {} (exit code {})",
                    t.reason.as_deref().unwrap_or("no reason given"),
                    t.exit_code
                );
                if let Some(at) = t.finished_at {
                    let _ = write!(out, " at {}", rfc3339(at));
                }
            }
            None => {
                let _ = write!(out, "; no earlier termination");
            }
        }
        let _ = writeln!(out);
        let Some(lines) = &c.logs else { continue };
        let kept = &lines[lines.len().saturating_sub(logs)..];
        let cut = lines.len() - kept.len();
        let _ = writeln!(
            out,
            "  Last {} log line(s) of the previous instance:",
            kept.len()
        );
        if cut > 0 {
            let _ = writeln!(out, "  ({cut} earlier line(s) cut to fit the notification)");
        }
        if kept.is_empty() {
            continue;
        }
        if style == Style::Markdown {
            let _ = writeln!(out, "```");
        }
        for line in kept {
            let line = match style {
                // A line must not close the code block.
                Style::Markdown => line.replace("```", "'''"),
                Style::Text => line.clone(),
            };
            let _ = writeln!(out, "  {line}");
        }
        if style == Style::Markdown {
            let _ = writeln!(out, "```");
        }
    }
}

fn write_events(out: &mut String, style: Style, of: &EventsOf, keep: usize) {
    heading(out, style, &format!("Events of {}", of.object));
    if of.events.is_empty() {
        let _ = writeln!(out, "- none");
        return;
    }
    let kept = &of.events[of.events.len().saturating_sub(keep)..];
    if kept.len() < of.events.len() {
        let _ = writeln!(
            out,
            "({} older event(s) cut to fit the notification)",
            of.events.len() - kept.len()
        );
    }
    for e in kept {
        let when = e.time.map_or_else(|| "unknown time".into(), rfc3339);
        let _ = write!(out, "- {when} {} {}", e.kind, e.reason);
        if e.count > 1 {
            let _ = write!(out, " (x{})", e.count);
        }
        let _ = writeln!(out, ": {}", e.message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::model::{ContainerEvidence, KubeEvent};
    use crate::objects::Termination;

    fn evidence(log_lines: usize, line_len: usize) -> Evidence {
        Evidence {
            pods: vec![PodEvidence {
                pod: "production/vote-1".into(),
                phase: Some("Running".into()),
                containers: vec![ContainerEvidence {
                    name: "vote".into(),
                    restart_count: 7,
                    last_termination: Some(Termination {
                        reason: Some("Error".into()),
                        exit_code: 2,
                        finished_at: "2026-11-20T09:29:00Z".parse().ok(),
                    }),
                    logs: Some(
                        (0..log_lines)
                            .map(|i| format!("line {i} {}", "x".repeat(line_len)))
                            .collect(),
                    ),
                }],
            }],
            events: vec![EventsOf {
                object: "Pod production/vote-1".into(),
                events: vec![KubeEvent {
                    time: "2026-11-20T09:29:30Z".parse().ok(),
                    kind: "Warning".into(),
                    reason: "BackOff".into(),
                    message: "Back-off restarting failed container".into(),
                    count: 12,
                }],
            }],
            unavailable: vec!["logs unavailable: timed out".into()],
            ..Evidence::default()
        }
    }

    #[test]
    fn text_shows_termination_logs_events_and_what_is_missing() {
        let text = render(&evidence(3, 1), Style::Text, 10_000);
        for needle in [
            "Pod production/vote-1 (Running)",
            "container vote: 7 restart(s); last terminated: Error (exit code 2) at 2026-11-20T09:29:00",
            "Last 3 log line(s) of the previous instance:",
            "  line 2 x",
            "Events of Pod production/vote-1",
            "Warning BackOff (x12): Back-off restarting failed container",
            "- logs unavailable: timed out",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
    }

    #[test]
    fn logs_are_cut_first_and_the_cut_is_said() {
        let e = evidence(50, 400);
        let full = render(&e, Style::Markdown, usize::MAX);
        assert!(full.contains("```"));
        let budget = full.len() / 3;
        let cut = render(&e, Style::Markdown, budget);
        assert!(cut.len() <= budget);
        assert!(cut.contains("earlier line(s) cut to fit"), "{cut}");
        assert!(cut.contains("line 49"), "the newest lines stay");
        assert!(cut.contains("BackOff"), "events stay while logs can go");
    }

    #[test]
    fn a_tiny_budget_is_still_kept() {
        let e = evidence(50, 400);
        for budget in [0, 10, 60, 200] {
            assert!(render(&e, Style::Text, budget).len() <= budget);
        }
        assert!(render(&Evidence::default(), Style::Text, 100).is_empty());
    }
}
