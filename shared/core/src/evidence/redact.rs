//! Secrets never reach a notification: a log line or Event message that looks like a
//! credential is replaced as a whole by [`REDACTED`], and every line of a private key block
//! with it. Lines are also made safe to show: control characters replaced, long lines cut.
//!
//! What looks like a credential: an AWS access key id (`AKIA...`, `ASIA...`), an
//! assignment of a password, token or API key (`password=`, `token: `, `api_key=`), any
//! mention of a secret, an `Authorization` header or bearer token, and PEM private keys.
//! Whole lines go, not just the match: a value's neighbours often carry the rest of it.

use std::sync::OnceLock;

use regex::Regex;

/// What a redacted line reads.
pub const REDACTED: &str = "[line redacted: it looks like a credential]";
/// Longest line shown, in bytes; the rest is cut.
const LINE_MAX: usize = 512;

fn credential() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // ASCII-only matching (`-u`): the patterns are ASCII, and so stays the crate's
        // regex feature set.
        Regex::new(
            r#"(?i-u)\b(AKIA|ASIA)[A-Z0-9]{16}\b|secret|passw(or)?d\s*["']?\s*[=:]|\bpwd\s*[=:]|token\s*["']?\s*[=:]|api[_-]?key\s*["']?\s*[=:]|authorization\s*[=:]|\bbearer\s+[a-z0-9._~+/=-]{8,}|private key"#,
        )
        .unwrap_or_else(|e| unreachable!("constant pattern: {e}"))
    })
}

/// `line` made safe to show: the whole line redacted when it looks like a credential,
/// control characters replaced, cut at [`LINE_MAX`] bytes.
pub fn redact_line(line: &str) -> String {
    if credential().is_match(line) {
        return REDACTED.to_owned();
    }
    clean(line)
}

/// [`redact_line`] for consecutive log lines, also redacting every line from a PEM
/// `-----BEGIN ... PRIVATE KEY-----` to its `-----END ...` line.
pub fn redact_lines(lines: &[&str]) -> Vec<String> {
    let mut in_key = false;
    lines
        .iter()
        .map(|line| {
            let upper = line.to_ascii_uppercase();
            if upper.contains("-----BEGIN") && upper.contains("PRIVATE KEY") {
                in_key = true;
            }
            if in_key {
                if upper.contains("-----END") {
                    in_key = false;
                }
                return REDACTED.to_owned();
            }
            redact_line(line)
        })
        .collect()
}

/// Control characters (terminal colour codes, NULs) replaced, tabs kept as spaces, at most
/// [`LINE_MAX`] bytes (cut on a character boundary).
fn clean(line: &str) -> String {
    let mut out = String::with_capacity(line.len().min(LINE_MAX + 16));
    for c in line.chars() {
        if out.len() + c.len_utf8() > LINE_MAX {
            out.push_str(" [line cut]");
            break;
        }
        out.push(match c {
            '\t' => ' ',
            c if c.is_control() => '?',
            c => c,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_looking_lines_are_redacted_whole() {
        for line in [
            "using key AKIAIOSFODNN7EXAMPLE for s3",
            "session ASIAY34FZKBOKMUTVV7A expires soon",
            "connecting with password=hunter2",
            "PASSWORD: hunter2",
            "db passwd = x",
            "{\"token\": \"abc\"}",
            "refresh_token=eyJhbGciOi",
            "api_key=0123456789",
            "X-Api-Key: 0123456789",
            "loaded secret db-credentials",
            "Client-Secret is set",
            "Authorization: Basic dXNlcjpwYXNz",
            "calling with Bearer eyJhbGciOiJSUzI1NiIs.payload.sig",
            "-----BEGIN RSA PRIVATE KEY-----",
        ] {
            assert_eq!(redact_line(line), REDACTED, "{line}");
        }
    }

    #[test]
    fn ordinary_lines_stay() {
        for line in [
            "panic: runtime error: invalid memory address or nil pointer dereference",
            "GET /healthz 200 1.2ms",
            "tokenizer ready",
            "listening on :8080",
            "AKIA is not a key on its own",
        ] {
            assert_eq!(redact_line(line), line);
        }
    }

    #[test]
    fn a_private_key_block_is_redacted_line_by_line() {
        let lines = [
            "before",
            "-----BEGIN PRIVATE KEY-----",
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
            "BKcwggSjAgEAAoIBAQC7",
            "-----END PRIVATE KEY-----",
            "after",
        ];
        let out = redact_lines(&lines);
        assert_eq!(out[0], "before");
        assert_eq!(out[5], "after");
        assert!(out[1..5].iter().all(|l| l == REDACTED), "{out:?}");
    }

    #[test]
    fn control_characters_go_and_long_lines_are_cut() {
        assert_eq!(redact_line("\u{1b}[31mred\u{1b}[0m\tok"), "?[31mred?[0m ok");
        let long = "é".repeat(LINE_MAX);
        let cut = redact_line(&long);
        assert!(cut.len() <= LINE_MAX + 16, "{}", cut.len());
        assert!(cut.ends_with("[line cut]"));
    }
}
