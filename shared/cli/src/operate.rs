//! The operator's commands (ARCHITECTURE section 10): `audit list`, `audit show`, `status`,
//! `pause` and `resume`, over either store (`store.rs`). Exit 0, or 2 for an unusable store
//! or an unknown record id (errors returned from here end as exit 2 in `main.rs`).

use std::io::Write;

use anyhow::Context;
use chrono::Utc;
use reflex_core::audit::{AuditRecord, rfc3339};
use reflex_core::ledger::{BudgetWindow, ControlEvent, Pause};
use serde::Serialize;

use crate::args::{AuditListArgs, AuditShowArgs, Format, PauseArgs, ResumeArgs, StatusArgs};
use crate::load::load_policy;
use crate::store::{Held, Store, lookback};
use crate::{exit, output, render};

/// The width `audit list`'s table keeps within.
const WIDTH: usize = 100;
/// How many of the last actions `status` shows.
const LAST_ACTIONS: usize = 10;

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Writes `text` to stdout.
fn print(text: &str) -> anyhow::Result<()> {
    let mut out = output::stdout();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// `reflex audit list`.
pub fn audit_list(args: &AuditListArgs) -> anyhow::Result<u8> {
    let runtime = runtime()?;
    let store = Store::open(&args.store, &runtime, false)?;
    let since = args.since.at(Utc::now());
    let filtered = !args.verdicts.is_empty() || args.rule.is_some();
    // The filters the store cannot apply by key are applied here, so the store reads all.
    let limit = if filtered { None } else { args.limit };
    let records = runtime
        .block_on(store.newest(since, args.target.as_ref(), limit))
        .with_context(|| format!("cannot read {}", store.describe()))?;
    let records = records
        .into_iter()
        .filter(|r| args.verdicts.is_empty() || args.verdicts.contains(&r.verdict))
        .filter(|r| {
            args.rule
                .as_ref()
                .is_none_or(|rule| r.rule.as_ref() == Some(rule))
        })
        .take(args.limit.unwrap_or(usize::MAX));
    let mut text = String::new();
    match args.format {
        Format::Json => {
            for record in records {
                text.push_str(&record.to_json_line());
                text.push('\n');
            }
        }
        Format::Text => {
            let records: Vec<AuditRecord> = records.collect();
            text = table(&records, &rfc3339(since));
        }
    }
    print(&text)?;
    Ok(exit::OK)
}

/// Cuts `s` to at most `width` characters, marking a cut with `…`.
fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut cut: String = s.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The `audit list` table: one line per record (time, verdict, action, target, rule) and
/// its reason on the line below, each within [`WIDTH`] columns.
fn table(records: &[AuditRecord], since: &str) -> String {
    if records.is_empty() {
        return format!("no records since {since}\n");
    }
    let mut out = format!(
        "{:<19}  {:<17}  {:<15}  {:<26}  {}\n",
        "TIME", "VERDICT", "ACTION", "TARGET", "RULE"
    );
    for r in records {
        let time = r.time.get(..19).unwrap_or(&r.time).replace('T', " ");
        let (action, target) = match &r.action {
            Some(a) => (a.kind.as_str().to_owned(), a.target.to_string()),
            None => ("-".to_owned(), "-".to_owned()),
        };
        let rule = r.rule.as_deref().unwrap_or("-");
        let line = format!(
            "{time:<19}  {:<17}  {:<15}  {:<26}  {}",
            r.verdict.as_str(),
            fit(&action, 15),
            fit(&target, 26),
            rule
        );
        out.push_str(&fit(&line, WIDTH));
        out.push('\n');
        out.push_str(&fit(&format!("  └ {}", r.reason), WIDTH));
        out.push('\n');
    }
    out.push_str(&format!(
        "{} record(s) since {since}, newest first; `reflex audit show ID` prints one whole\n",
        records.len()
    ));
    out
}

/// `reflex audit show`.
pub fn audit_show(args: &AuditShowArgs) -> anyhow::Result<u8> {
    let runtime = runtime()?;
    let store = Store::open(&args.store, &runtime, false)?;
    let record = runtime
        .block_on(store.record(&args.id))
        .with_context(|| format!("cannot read {}", store.describe()))?;
    let Some(record) = record else {
        anyhow::bail!("no record {:?} in {}", args.id, store.describe());
    };
    let text = match args.format {
        Format::Json => format!("{}\n", record.to_json_line()),
        Format::Text => render::record(&record),
    };
    print(&text)?;
    Ok(exit::OK)
}

/// What `reflex status --format json` prints.
#[derive(Debug, Serialize)]
struct Status {
    store: String,
    now: String,
    paused: Option<Pause>,
    budget: Budget,
    leases: Vec<Held>,
    last_actions: Vec<LastAction>,
    controls: Vec<ControlEvent>,
}

#[derive(Debug, Serialize)]
struct Budget {
    window_start: String,
    window_end: String,
    used: u32,
    max: u32,
}

#[derive(Debug, Serialize)]
struct LastAction {
    id: String,
    time: String,
    verdict: &'static str,
    action: String,
    target: String,
    rule: Option<String>,
}

/// `reflex status`.
pub fn status(args: &StatusArgs) -> anyhow::Result<u8> {
    let policy = load_policy(args.policy.as_deref())?;
    let g = &policy.guardrails;
    let runtime = runtime()?;
    let store = Store::open(&args.store, &runtime, false)?;
    let now = Utc::now();
    let window = BudgetWindow::containing(now, g.budget.window, g.budget.max_actions);
    let status = runtime
        .block_on(async {
            let paused = store.paused(now).await?;
            let used = store.budget_used(&window).await?;
            let recent = store.newest(now - lookback(g), None, None).await?;
            let leases = store.held(&recent, g, now).await?;
            let controls = store.controls(5).await?;
            let last_actions = recent
                .iter()
                .filter_map(|r| {
                    let a = r.action.as_ref()?;
                    r.verdict.counts_as_action().then(|| LastAction {
                        id: r.id.clone(),
                        time: r.time.clone(),
                        verdict: r.verdict.as_str(),
                        action: a.kind.as_str().to_owned(),
                        target: a.target.to_string(),
                        rule: r.rule.clone(),
                    })
                })
                .take(LAST_ACTIONS)
                .collect();
            Ok::<_, reflex_core::ledger::LedgerError>(Status {
                store: store.describe(),
                now: rfc3339(now),
                paused,
                budget: Budget {
                    window_start: rfc3339(window.start),
                    window_end: rfc3339(window.end()),
                    used,
                    max: window.max,
                },
                leases,
                last_actions,
                controls,
            })
        })
        .with_context(|| format!("cannot read {}", store.describe()))?;
    let text = match args.format {
        Format::Json => format!("{}\n", serde_json::to_string(&status)?),
        Format::Text => status_text(&status),
    };
    print(&text)?;
    Ok(exit::OK)
}

fn status_text(s: &Status) -> String {
    let mut out = format!("reflex status ({}, at {})\n", s.store, s.now);
    match &s.paused {
        Some(p) => out.push_str(&format!("PAUSED   {}\n", p.describe())),
        None => out.push_str("running  not paused\n"),
    }
    out.push_str(&format!(
        "budget   {} of {} actions used in the window {} to {}\n",
        s.budget.used, s.budget.max, s.budget.window_start, s.budget.window_end
    ));
    if s.leases.is_empty() {
        out.push_str("leases   none held\n");
    }
    for l in &s.leases {
        out.push_str(&format!(
            "lease    {} held by {} until {}\n",
            l.what, l.holder, l.until
        ));
    }
    if s.last_actions.is_empty() {
        out.push_str("actions  none recently\n");
    }
    for a in &s.last_actions {
        out.push_str(&fit(
            &format!(
                "action   {} {:<9} {} {} [{}]",
                a.time.get(..19).unwrap_or(&a.time).replace('T', " "),
                a.verdict,
                a.action,
                a.target,
                a.id
            ),
            WIDTH,
        ));
        out.push('\n');
    }
    for c in &s.controls {
        out.push_str(&format!(
            "{:<8} by {} at {} ({:?})\n",
            c.control.as_str(),
            c.by,
            rfc3339(c.time),
            c.pause.reason
        ));
    }
    out
}

/// `reflex pause`.
pub fn pause(args: &PauseArgs) -> anyhow::Result<u8> {
    let reason = args.reason.trim();
    if reason.is_empty() {
        anyhow::bail!("--reason must say why reflex is paused");
    }
    let runtime = runtime()?;
    let store = Store::open(&args.store, &runtime, true)?;
    let text = runtime
        .block_on(async {
            let now = Utc::now();
            let by = store.who().await?;
            let before = store.paused(now).await?;
            let pause = Pause::new(&by, reason, now, args.length);
            store.pause(&pause).await?;
            let replaced = before.map_or_else(String::new, |p| {
                format!("(this replaces the pause by {} at {})\n", p.by, rfc3339(p.since))
            });
            Ok::<_, reflex_core::ledger::LedgerError>(format!(
                "reflex is {}\n{replaced}every alert is now recorded as suppressed and nothing is changed; `reflex resume` ends it\n",
                pause.describe()
            ))
        })
        .with_context(|| format!("cannot pause in {}", store.describe()))?;
    print(&text)?;
    Ok(exit::OK)
}

/// `reflex resume`.
pub fn resume(args: &ResumeArgs) -> anyhow::Result<u8> {
    let runtime = runtime()?;
    let store = Store::open(&args.store, &runtime, false)?;
    let text = runtime
        .block_on(async {
            let by = store.who().await?;
            let ended = store.resume(&by, Utc::now()).await?;
            Ok::<_, reflex_core::ledger::LedgerError>(match ended {
                Some(p) => format!(
                    "resumed by {by}: the pause by {} at {} ({:?}) has ended; alerts are acted on again\n",
                    p.by,
                    rfc3339(p.since),
                    p.reason
                ),
                None => "reflex was not paused; nothing to resume\n".to_owned(),
            })
        })
        .with_context(|| format!("cannot resume in {}", store.describe()))?;
    print(&text)?;
    Ok(exit::OK)
}
