//! `hanpyo receipt verify RECEIPT --record DIR`: checks a voter's receipt offline against a copy of
//! the election record: the log's signature, the witness quorum named in the manifest, the inclusion
//! proof, that the receipt's checkpoint is a prefix of the record (no split view), and that the
//! entry at that index is the one the receipt names; then the ballot's standing, from every entry
//! of the record (complete): counted, superseded by a later ballot of the same credential, or audit.
//!
//! `hanpyo receipt verify RECEIPT --url URL`: the same online, against a server or a mirror: the
//! receipt, a fresh receipt for the same entry (same history), and the standing the server proves
//! with signed log data (a later ballot of the same credential is shown with its own receipt).
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use hanpyo_ledger::checkpoint::{Checkpoint, SignedNote};
use hanpyo_ledger::export::ExportReader;
use hanpyo_ledger::merkle::{Frontier, Hash, leaf_hash, verify_consistency};
use hanpyo_ledger::receipt::Receipt;
use hanpyo_record::entry::{Entry, Kind, Shapes, TrackingCode};
use hanpyo_record::manifest::Manifest;
use hanpyo_record::standing::{Standing, StandingProof, check_standing, standing_in_record};

use crate::http::Client;

/// `hanpyo receipt ...`
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Verifies a receipt against a record (offline).
    Verify(VerifyArgs),
}

/// Options of `hanpyo receipt verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The receipt (JSON).
    receipt: PathBuf,
    /// The election record directory (or a directory containing `record/`).
    #[arg(long, required_unless_present = "url", conflicts_with = "url")]
    record: Option<PathBuf>,
    /// Check online against this server or mirror instead, e.g. http://127.0.0.1:8080
    #[arg(long)]
    url: Option<String>,
    /// With `--url`: the election (default: the server's only election).
    #[arg(long, requires = "url")]
    election: Option<String>,
}

pub fn run(cmd: &Command) -> Result<ExitCode> {
    match cmd {
        Command::Verify(a) => verify(a),
    }
}

fn verify(a: &VerifyArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&a.receipt)
        .with_context(|| format!("reading {}", a.receipt.display()))?;
    let receipt: Receipt = serde_json::from_str(&text).context("not a receipt")?;
    let Some(record) = &a.record else {
        let url = a.url.as_deref().context("--record or --url")?;
        return verify_online(&receipt, url, a.election.as_deref());
    };
    let dir = crate::verify::record_dir(record)?;
    let mut reader = ExportReader::open(&dir)?;
    let Some(first) = reader.next_frame()? else {
        bail!("the record is empty")
    };
    let Entry::Manifest(m) = Entry::decode(&first.bytes, None).context("the record's manifest")?
    else {
        bail!("the record does not start with a manifest")
    };
    let log = m.ledger.log_verifier()?;
    let witnesses = m.ledger.witness_verifiers()?;
    let leaf = receipt.leaf()?;
    let code = TrackingCode(leaf);
    let checkpoint = match receipt.verify(&log, &witnesses, m.ledger.witness_quorum as usize) {
        Ok(cp) => cp,
        Err(e) => {
            println!("INVALID receipt for {}: {e}", code.short());
            return Ok(ExitCode::from(1));
        }
    };
    // The record must extend the receipt's checkpoint, and hold the entry at its index.
    let mut tree = Frontier::new();
    tree.push(leaf_hash(&first.bytes));
    let mut entry_kind = None;
    let mut prefix_root = (tree.size() == checkpoint.size).then(|| tree.root());
    let mut entries = Vec::new();
    let shapes = Shapes::of(&m);
    while let Some(f) = reader.next_frame()? {
        tree.push(leaf_hash(&f.bytes));
        if f.index == receipt.index && leaf_hash(&f.bytes) == leaf {
            entry_kind = Kind::of(&f.bytes).ok();
        }
        if tree.size() == checkpoint.size {
            prefix_root = Some(tree.root());
        }
        // Only the ballots from the receipt's entry on can bear on its standing.
        if f.index >= receipt.index
            && matches!(Kind::of(&f.bytes), Ok(Kind::Ballot | Kind::AuditedBallot))
        {
            entries.push((f.index, f.bytes));
        }
    }
    let problem = if prefix_root != Some(checkpoint.root) {
        Some("the record is not an extension of the receipt's checkpoint (a different history)")
    } else if entry_kind.is_none() {
        Some("the record does not hold the entry at the receipt's index")
    } else {
        None
    };
    if let Some(p) = problem {
        println!("INVALID receipt for {}: {p}", code.short());
        return Ok(ExitCode::from(1));
    }
    println!(
        "VALID: {} ({}) is entry {} of {}; checkpoint size {} signed by the log and {} of {} witnesses required",
        code.short(),
        entry_kind.map(|k| format!("{k:?}")).unwrap_or_default(),
        receipt.index,
        checkpoint.origin,
        checkpoint.size,
        m.ledger.witness_quorum,
        m.ledger.witnesses.len()
    );
    match standing_in_record(&shapes, receipt.index, entries) {
        Ok(s) => println!("{} (from the whole record)", describe(&s)),
        Err(e) => {
            println!("INVALID: {e}");
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line for people: what the standing means and what to do.
pub fn describe(s: &Standing) -> String {
    match s {
        Standing::Counted { index, size } => format!(
            "STANDING: counted: entry {index} is its credential's last ballot (log checked up to size {size})"
        ),
        Standing::Superseded {
            index,
            by_index,
            by_tracking_code_short,
            ..
        } => format!(
            "STANDING: superseded: entry {index} is replaced by the later ballot of the same credential at entry {by_index} (tracking code {by_tracking_code_short}); if you did not vote again, report it to the election commission"
        ),
        Standing::Audit { index } => {
            format!("STANDING: audit: entry {index} is an audited encryption, never counted")
        }
    }
}

/// The receipt's standing from a server or mirror, proven with signed log data; and the
/// server's (verified) checkpoint the proof is against.
pub fn standing_online(
    client: &Client,
    m: &Manifest,
    leaf: &Hash,
) -> Result<(Standing, Checkpoint)> {
    let body = client.get_ok(&format!("/api/v1/board/status/{}", hex::encode(leaf)))?;
    let proof: StandingProof = serde_json::from_slice(&body).context("the server's answer")?;
    let standing =
        check_standing(m, leaf, &proof).map_err(|e| anyhow::anyhow!("the server's proof: {e}"))?;
    let note = SignedNote::parse(&proof.receipt.checkpoint)?;
    Ok((standing, Checkpoint::parse_body(&note.body)?))
}

fn verify_online(receipt: &Receipt, url: &str, election: Option<&str>) -> Result<ExitCode> {
    let client = Client::at(url, election)?;
    let view = client.election(election)?;
    let m = &view.manifest;
    let leaf = receipt.leaf()?;
    let code = TrackingCode(leaf);
    let log = m.ledger.log_verifier()?;
    let witnesses = m.ledger.witness_verifiers()?;
    let quorum = m.ledger.witness_quorum as usize;
    let mine = match receipt.verify(&log, &witnesses, quorum) {
        Ok(cp) => cp,
        Err(e) => {
            println!("INVALID receipt for {}: {e}", code.short());
            return Ok(ExitCode::from(1));
        }
    };
    let (standing, now) = match standing_online(&client, m, &leaf) {
        Ok(s) => s,
        Err(e) => {
            println!("INVALID: {}: {e:#}", code.short());
            return Ok(ExitCode::from(1));
        }
    };
    // The server's checkpoint must extend the receipt's: same history, no split view.
    let proof: Vec<String> = if now.size > mine.size {
        serde_json::from_slice(&client.get_ok(&format!(
            "/api/v1/board/consistency?old={}&new={}",
            mine.size, now.size
        ))?)?
    } else {
        Vec::new()
    };
    let proof = proof
        .iter()
        .map(|h| Ok(Hash::try_from(hex::decode(h)?.as_slice())?))
        .collect::<Result<Vec<Hash>>>()?;
    if !verify_consistency(mine.size, now.size, &mine.root, &now.root, &proof) {
        println!(
            "INVALID receipt for {}: the server's log is not an extension of the receipt's checkpoint (a different history)",
            code.short()
        );
        return Ok(ExitCode::from(1));
    }
    println!(
        "VALID: {} is entry {} of {}; checkpoint size {} consistent with the server's size {}",
        code.short(),
        receipt.index,
        mine.origin,
        mine.size,
        now.size
    );
    println!("{} (from the server's signed proof)", describe(&standing));
    Ok(ExitCode::SUCCESS)
}
