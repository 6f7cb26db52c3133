//! `hanpyo vote` (a command-line voter: encrypts locally, optionally audits, casts, checks and keeps
//! its receipt) and `hanpyo download` (fetches a server's record for `hanpyo verify`).
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use hanpyo_ledger::receipt::Receipt;
use hanpyo_record::authority::encrypt_ballot_with_rng;
use hanpyo_record::entry::{AuditedBallot, Entry, TrackingCode};
use hanpyo_record::manifest::Manifest;

use crate::http::Client;

/// Options of `hanpyo vote`.
#[derive(clap::Args, Debug)]
pub struct VoteArgs {
    /// The server, e.g. http://127.0.0.1:8080
    #[arg(long)]
    url: String,
    /// The election (default: the server's only election).
    #[arg(long)]
    election: Option<String>,
    /// The voter's secret credential code.
    #[arg(long)]
    credential: String,
    /// Log in first (when the server has a voter roll): resident registration number.
    #[arg(long, requires = "birth_date")]
    resident_id: Option<String>,
    /// Log in first: birth date, YYYY-MM-DD.
    #[arg(long, requires = "resident_id")]
    birth_date: Option<String>,
    /// Read the one-time code from this outbox file (the demo's delivery backend) instead of
    /// asking for it on the terminal: the newest code sent to `--contact`.
    #[arg(long, requires = "contact")]
    outbox: Option<PathBuf>,
    /// The contact the code goes to (with `--outbox`: which line is this voter's, when other
    /// voters log in at the same time).
    #[arg(long)]
    contact: Option<String>,
    /// Answers: per question (in order, separated by ';') numbers separated by ',': the chosen
    /// choice indices (from 0); for a score question the points of each choice; for a scale
    /// question the step of each item (from 0, the lowest). E.g. "0;2;1,4;3,0,5". An empty part
    /// selects nothing.
    #[arg(long)]
    choices: String,
    /// First make an audited (Benaloh) ballot, check the server accepted it as encrypted, then cast
    /// a fresh one.
    #[arg(long)]
    audit: bool,
    /// Where to store the receipt (JSON).
    #[arg(long)]
    receipt_out: Option<PathBuf>,
}

/// Options of `hanpyo download`.
#[derive(clap::Args, Debug)]
pub struct DownloadArgs {
    /// The server.
    #[arg(long)]
    url: String,
    /// The election (default: the server's only election).
    #[arg(long)]
    election: Option<String>,
    /// Directory to write the record to (entries, checkpoint, checkpoints).
    #[arg(long)]
    out: PathBuf,
}

#[derive(serde::Deserialize)]
struct CastOut {
    tracking_code_short: String,
    receipt: Receipt,
    /// A revote: the ballot this one replaces in the count.
    #[serde(default)]
    replaces: Option<String>,
}

/// `--choices` as one answer per question ([`Manifest::values_of`] maps them to what is encrypted).
fn parse_choices(s: &str, m: &Manifest) -> Result<Vec<Vec<u32>>> {
    let parts: Vec<&str> = s.split(';').collect();
    if parts.len() != m.questions.len() {
        bail!(
            "--choices has {} part(s); the election has {} question(s)",
            parts.len(),
            m.questions.len()
        );
    }
    parts
        .iter()
        .enumerate()
        .map(|(qi, p)| {
            p.split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(|c| {
                    c.parse()
                        .with_context(|| format!("question {}: {c:?} is not a number", qi + 1))
                })
                .collect()
        })
        .collect()
}

/// `hanpyo vote`.
pub fn vote(a: &VoteArgs) -> Result<ExitCode> {
    let client = Client::at(&a.url, a.election.as_deref())?;
    let view = client.election(a.election.as_deref())?;
    let ballots = format!("/api/v1/elections/{}/ballots", view.id);
    let (pk, ctx) = view.context()?;
    let m = &view.manifest;
    let specs = m.contest_specs();
    let answers = parse_choices(&a.choices, m)?;
    let selections = m
        .values_of(&answers)
        .map_err(|e| anyhow::anyhow!("--choices: {e}"))?;
    let code = hanpyo_crypto::credential::SecretCredential::parse(&a.credential)
        .context("credential code")?;
    let key = code.signing_key(m.election_id.as_bytes());
    let mut rng = hanpyo_crypto::os_rng();
    let session = match (&a.resident_id, &a.birth_date) {
        (Some(id), Some(birth)) => {
            let outbox = a.outbox.as_deref().zip(a.contact.as_deref());
            Some(login(&client, id, birth, outbox)?)
        }
        _ => None,
    };
    let bearer = session.as_deref();
    if a.audit {
        let (b, openings) =
            encrypt_ballot_with_rng(&ctx, &pk, &specs, &key, &selections, &mut rng)?;
        // Check locally what any second device would check: the openings give back the choices.
        let audit = AuditedBallot::of(&b, openings);
        let got = audit
            .check(&pk, &specs)
            .map_err(|why| anyhow::anyhow!("the audit does not check out: {why}"))?;
        if got != selections {
            bail!("the audit revealed a different choice: do not cast from this device");
        }
        // Posted without the session and without the credential: the server cannot tell whose
        // audit it is. The encryption is discarded; the cast ballot below is a fresh one.
        let entry = Entry::AuditedBallot(Box::new(audit)).encode();
        let audits = format!("/api/v1/elections/{}/audits", view.id);
        match client.post(&audits, &entry, None)? {
            Ok(_) => println!(
                "audit: the encryption of your choices checked out (tracking code {}); that encryption is discarded and never counted",
                TrackingCode::of(&entry).short()
            ),
            Err((status, e)) => {
                println!("rejected ({status} {}): {}", e.code, e.message);
                return Ok(ExitCode::from(1));
            }
        }
    }
    let (b, _) = encrypt_ballot_with_rng(&ctx, &pk, &specs, &key, &selections, &mut rng)?;
    let entry = Entry::Ballot(Box::new(b)).encode();
    let local_code = TrackingCode::of(&entry);
    let out: CastOut = match client.post(&ballots, &entry, bearer)? {
        Ok(body) => serde_json::from_slice(&body)?,
        Err((status, e)) => {
            println!("rejected ({status} {}): {}", e.code, e.message);
            return Ok(ExitCode::from(1));
        }
    };
    // Check the receipt before believing it: our own ballot, the log's signature, the witnesses.
    let log = m.ledger.log_verifier()?;
    let witnesses = m.ledger.witness_verifiers()?;
    if out.receipt.leaf()? != local_code.0 {
        bail!("the receipt is for another ballot than the one sent");
    }
    let cp = out
        .receipt
        .verify(&log, &witnesses, m.ledger.witness_quorum as usize)
        .context("the server's receipt does not verify")?;
    if let Some(p) = &a.receipt_out {
        std::fs::write(p, serde_json::to_vec_pretty(&out.receipt)?)?;
    }
    println!(
        "cast: tracking code {} (entry {} of {}, checkpoint size {} verified, {} witness cosignature(s))",
        out.tracking_code_short, out.receipt.index, cp.origin, cp.size, m.ledger.witness_quorum
    );
    if let Some(earlier) = &out.replaces {
        println!("replaces: your earlier ballot {earlier} no longer counts; this one does");
    }
    // Its standing, from signed log data (a revote made in the voter's name would show here).
    let (standing, _) = crate::receipt::standing_online(&client, m, &local_code.0)?;
    println!("{}", crate::receipt::describe(&standing));
    println!("you may vote again; only your last vote counts");
    Ok(ExitCode::SUCCESS)
}

/// Logs in: asks for a one-time code, reads it (outbox file or terminal), returns the session.
fn login(
    client: &Client,
    resident_id: &str,
    birth_date: &str,
    outbox: Option<(&std::path::Path, &str)>,
) -> Result<String> {
    let start =
        serde_json::json!({ "resident_id": resident_id, "birth_date": birth_date }).to_string();
    let before = outbox
        .and_then(|(p, _)| std::fs::read_to_string(p).ok())
        .map_or(0, |t| t.lines().count());
    if let Err((status, e)) = client.post_json("/api/v1/login/start", &start)? {
        bail!("login refused ({status} {}): {}", e.code, e.message);
    }
    let code = match outbox {
        Some((p, contact)) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            // Other voters' codes may be appended meanwhile: ours is the newest one to our contact.
            text.lines()
                .skip(before)
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter(|v| v["to"].as_str() == Some(contact))
                .filter_map(|v| v["code"].as_str().map(str::to_string))
                .last()
                .context("no code was delivered to that contact (not on the roll?)")?
        }
        None => {
            eprint!("one-time code: ");
            let mut s = String::new();
            std::io::stdin().read_line(&mut s)?;
            s.trim().to_string()
        }
    };
    let verify =
        serde_json::json!({ "resident_id": resident_id, "birth_date": birth_date, "code": code })
            .to_string();
    match client.post_json("/api/v1/login/verify", &verify)? {
        Ok(body) => {
            let v: serde_json::Value = serde_json::from_slice(&body)?;
            Ok(v["session"]
                .as_str()
                .context("no session in the answer")?
                .to_string())
        }
        Err((status, e)) => bail!("login failed ({status} {}): {}", e.code, e.message),
    }
}

/// `hanpyo download`.
pub fn download(a: &DownloadArgs) -> Result<ExitCode> {
    let client = Client::at(&a.url, a.election.as_deref())?;
    if a.election.is_none() {
        // A server of several elections needs one named (this says which exist).
        client.election(None)?;
    }
    std::fs::create_dir_all(&a.out)?;
    // The checkpoint first; then the entries and earlier checkpoints at exactly its size, however
    // many ballots arrive meanwhile.
    let note = client.get_ok("/api/v1/record/checkpoint")?;
    let size = String::from_utf8_lossy(&note)
        .lines()
        .nth(1)
        .and_then(|l| l.parse::<u64>().ok())
        .context("the server's checkpoint has no size line")?;
    std::fs::write(a.out.join("checkpoint"), &note)?;
    client.get_to_file(
        &format!("/api/v1/record/entries?size={size}"),
        &a.out.join("entries"),
    )?;
    let earlier = client.get_ok(&format!("/api/v1/record/checkpoints?size={size}"))?;
    if !earlier.is_empty() {
        std::fs::write(a.out.join("checkpoints"), earlier)?;
    }
    println!(
        "record written to {}; check it with: hanpyo verify {}",
        a.out.display(),
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
