//! `hanpyo receipt verify RECEIPT --record DIR`: checks a voter's receipt offline against a copy of
//! the election record: the log's signature, the witness quorum named in the manifest, the inclusion
//! proof, that the receipt's checkpoint is a prefix of the record (no split view), and that the
//! entry at that index is the one the receipt names.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use hanpyo_ledger::export::ExportReader;
use hanpyo_ledger::merkle::{Frontier, leaf_hash};
use hanpyo_ledger::receipt::Receipt;
use hanpyo_record::entry::{Entry, Kind, TrackingCode};

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
    #[arg(long)]
    record: PathBuf,
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
    let dir = crate::verify::record_dir(&a.record)?;
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
    while let Some(f) = reader.next_frame()? {
        tree.push(leaf_hash(&f.bytes));
        if f.index == receipt.index && leaf_hash(&f.bytes) == leaf {
            entry_kind = Kind::of(&f.bytes).ok();
        }
        if tree.size() == checkpoint.size {
            prefix_root = Some(tree.root());
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
    Ok(ExitCode::SUCCESS)
}
