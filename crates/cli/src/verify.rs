//! `hanpyo verify RECORD`: the independent verifier. Exit 0 valid, 1 invalid, 2 usage or I/O error.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use hanpyo_ledger::export::ENTRIES_FILE;
use hanpyo_record::decision::Outcome;
use hanpyo_record::verify::{Options, Report, verify_record_with_progress};

/// Options of `hanpyo verify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The record directory (or a directory containing `record/`, as `simulate` writes).
    record: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// The log operator's Ed25519 key (hex), as published by the election commission; by default
    /// the key named in the manifest is used and printed so it can be compared.
    #[arg(long)]
    log_key: Option<String>,
    /// A trust policy (TOML: origin, log_key, witnesses, witness_quorum) published apart from the
    /// record, by the commission and the witnesses; without it, the log key, the witnesses and
    /// their quorum are taken from the record itself, which whoever wrote the record chose.
    #[arg(long, value_name = "POLICY", conflicts_with = "log_key")]
    trust: Option<PathBuf>,
    /// The election the record must be of (a server hosts many: a record of another one is
    /// invalid here, however sound).
    #[arg(long)]
    election: Option<String>,
}

/// The record directory at `p` (or at `p/record`, as `simulate` writes it).
pub fn record_dir(p: &Path) -> Result<PathBuf> {
    if p.join(ENTRIES_FILE).is_file() {
        return Ok(p.to_path_buf());
    }
    if p.join("record").join(ENTRIES_FILE).is_file() {
        return Ok(p.join("record"));
    }
    bail!("{} is not a record (no {ENTRIES_FILE} file)", p.display())
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let dir = record_dir(&args.record)?;
    let log_key = match &args.log_key {
        Some(h) => Some(
            hex::decode(h)
                .ok()
                .and_then(|v| <[u8; 32]>::try_from(v).ok())
                .context("--log-key must be 64 hex digits")?,
        ),
        None => None,
    };
    let trust = match &args.trust {
        Some(p) => Some(
            hanpyo_record::manifest::LedgerInfo::parse_trust_policy(
                &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
            )
            .with_context(|| format!("{}", p.display()))?,
        ),
        None => None,
    };
    let bar = crate::progress::bar("entries", None);
    let mut report = verify_record_with_progress(&dir, &Options { log_key, trust }, &mut |n| {
        bar.set_position(n)
    })?;
    bar.finish_and_clear();
    if let Some(want) = &args.election
        && report.summary.election_id.as_deref() != Some(want.as_str())
    {
        report.valid = false;
        report.failures.push(hanpyo_record::verify::Failure {
            entry: Some(0),
            kind: None,
            what: "election".into(),
            why: format!(
                "the record is of election {:?}, not {want:?} (--election)",
                report.summary.election_id.as_deref().unwrap_or("?")
            ),
        });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_human(&report);
    }
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `part` as a percentage of `whole` (0 when there is none).
fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

fn print_human(r: &Report) {
    let s = &r.summary;
    println!("election:   {}", s.election_id.as_deref().unwrap_or("?"));
    if let Some((n, t)) = s.trustees {
        println!(
            "trustees:   {t} of {n} (qualified dealers {:?}; decrypted by {:?})",
            s.qualified, s.decrypting_trustees
        );
    }
    println!("entries:    {}", s.entries);
    println!("credentials:{:>10}", s.credentials);
    println!(
        "ballots:    {} cast, {} superseded by a revote, {} counted, {} audited (never counted)",
        s.ballots_cast, s.superseded, s.ballots_counted, s.audited
    );
    if let Some((origin, size, root)) = &s.checkpoint {
        println!("checkpoint: {origin} size {size} root {root}");
    }
    if let Some(k) = &s.log_key {
        println!("log key:    {k} (compare with the key the election commission published)");
    }
    println!(
        "witnesses:  {} of {} required co-signed the checkpoint: {}",
        s.cosignatures,
        s.witness_quorum,
        if s.witnesses.is_empty() {
            "(none named)".to_string()
        } else {
            s.witnesses.join(", ")
        }
    );
    if s.trust_policy {
        println!("trust:      log key, witnesses and quorum from the trust policy (--trust)");
    } else {
        println!(
            "TRUST WARNING: the log key, the witnesses and their quorum were taken from the record itself.\n               Whoever wrote the record chose them; pass --trust POLICY (published by the commission\n               and the witnesses) to check it against keys you trust."
        );
    }
    if let Some(t) = &s.turnout {
        println!(
            "turnout:    {} of {} eligible voters ({:.2}%)",
            t.voted,
            t.eligible,
            percent(t.voted, t.eligible)
        );
    }
    if let Some(result) = &s.result {
        for q in result {
            println!("\n{} / {}", q.title, q.title_ko);
            let voted = s.turnout.map(|t| t.voted).unwrap_or(0);
            let average = |n: u64| {
                if voted == 0 {
                    0.0
                } else {
                    n as f64 / voted as f64
                }
            };
            match q.kind {
                "score" => {
                    for (en, ko, n) in &q.choices {
                        println!("  {n:>10} points (average {:.2})  {en} / {ko}", average(*n));
                    }
                }
                "scale" => {
                    let steps = q.steps.len().max(1);
                    for ((en, ko, n), cells) in q.choices.iter().zip(q.counts.chunks(steps)) {
                        println!("  {en} / {ko}: average step {:.2} of {steps}", average(*n));
                        for ((sen, sko), c) in q.steps.iter().zip(cells) {
                            println!("  {c:>10}  {sen} / {sko}");
                        }
                    }
                }
                "ranked" => print_ranked(q),
                _ => {
                    for (en, ko, n) in &q.choices {
                        println!("  {n:>10}  {en} / {ko}");
                    }
                }
            }
            if let Some(rule) = &q.decision {
                println!("  rule:      {rule}");
                let outcome = match q.outcome {
                    Outcome::Decided(j) => match q.choices.get(j as usize) {
                        Some((en, ko, _)) => format!("DECIDED: {en} / {ko}"),
                        None => format!("DECIDED: choice {j}"),
                    },
                    other => other.to_string().to_uppercase(),
                };
                println!("  outcome:   {outcome}");
            }
        }
    }
    println!();
    for f in &r.failures {
        let at = f
            .entry
            .map(|i| format!("entry {i}"))
            .unwrap_or_else(|| "record".into());
        let kind = f.kind.map(|k| format!(" ({k:?})")).unwrap_or_default();
        println!("FAIL {at}{kind}: {}: {}", f.what, f.why);
    }
    if r.more_failures > 0 {
        println!("… and {} more failures", r.more_failures);
    }
    let rate = if r.seconds > 0.0 {
        s.ballots_cast as f64 / r.seconds
    } else {
        0.0
    };
    if r.valid {
        println!(
            "VALID: every check passed ({:.2} s, {rate:.0} ballots/s)",
            r.seconds
        );
    } else {
        println!(
            "INVALID: {} failure(s) ({:.2} s)",
            r.failures.len() as u64 + r.more_failures,
            r.seconds
        );
    }
}

/// A ranked question: first preferences, the count's rounds (or pairwise wins) and its winner.
fn print_ranked(q: &hanpyo_record::verify::QuestionResult) {
    let name = |j: u32| {
        q.choices
            .get(j as usize)
            .map_or(format!("choice {j}"), |(en, ko, _)| format!("{en} / {ko}"))
    };
    println!("  first preferences:");
    for (en, ko, n) in &q.choices {
        println!("  {n:>10}  {en} / {ko}");
    }
    let Some(count) = &q.ranked else { return };
    println!(
        "  count:     {} of {} ballots",
        count.method.name(),
        count.ballots
    );
    for (r, round) in count.rounds.iter().enumerate() {
        let votes: Vec<String> = round.votes.iter().map(u64::to_string).collect();
        let mut line = format!(
            "  round {}:  {} (exhausted {})",
            r + 1,
            votes.join(" / "),
            round.exhausted
        );
        if let Some(j) = round.eliminated {
            line += &format!("; eliminated {}", name(j));
        }
        if let Some(tie) = round.tie_break {
            line += &format!(" (tie broken by {tie:?})");
        }
        if let Some(j) = round.elected {
            line += &format!("; elected {}", name(j));
        }
        println!("{line}");
    }
    let winners: Vec<String> = count.winners.iter().map(|&j| name(j)).collect();
    match winners.as_slice() {
        [] => println!("  outcome:   NO WINNER (no ballot ranks a choice)"),
        [one] => println!("  outcome:   ELECTED: {one}"),
        many => println!("  outcome:   TIE: {}", many.join(", ")),
    }
}
