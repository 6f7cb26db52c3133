//! `hanpyo cert provenance`: record a lot's event, show a lot's history with its balance check.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use hanpyo_certs::entry::LotInput;
use hanpyo_certs::{directory, issue};
use serde_json::json;

/// Provenance commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// A registered party records a new lot: collected, or made from earlier lots.
    Record(RecordArgs),
    /// A lot's history back to collection, what was made from it, and the balance check.
    Show(ShowArgs),
}

/// `hanpyo cert provenance record`.
#[derive(Args, Debug)]
pub struct RecordArgs {
    /// The registry's directory.
    #[arg(long)]
    pub data: PathBuf,
    /// The party's key file (a registered issuer allowed provenance-lot).
    #[arg(long)]
    pub key: PathBuf,
    /// The new lot's id.
    #[arg(long)]
    pub lot: String,
    /// collection, transport, refining or export.
    #[arg(long)]
    pub stage: String,
    /// The new lot's quantity (a whole number).
    #[arg(long)]
    pub quantity: u64,
    /// kg or L.
    #[arg(long, default_value = "kg")]
    pub unit: String,
    /// An earlier lot and how much of it, `LOT=QUANTITY` (repeat).
    #[arg(long = "input", value_name = "LOT=QUANTITY")]
    pub inputs: Vec<String>,
}

/// `hanpyo cert provenance show`.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The registry's directory.
    #[arg(long)]
    pub data: PathBuf,
    /// The lot.
    #[arg(long)]
    pub lot: String,
    /// As JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: &Command) -> Result<ExitCode> {
    match cmd {
        Command::Record(a) => record(a),
        Command::Show(a) => show(a),
    }
}

fn record(a: &RecordArgs) -> Result<ExitCode> {
    let mut log = super::open(&a.data)?;
    let key = directory::read_key(&a.key)?;
    let inputs = a
        .inputs
        .iter()
        .map(|i| {
            let (lot, q) = i
                .split_once('=')
                .with_context(|| format!("--input {i}: LOT=QUANTITY"))?;
            Ok(LotInput {
                lot: lot.to_string(),
                quantity: q
                    .parse()
                    .with_context(|| format!("--input {i}: a whole quantity"))?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let entry = issue::provenance(
        &key,
        &a.lot,
        &a.stage,
        a.quantity,
        &a.unit,
        inputs,
        super::now(),
    )?;
    match log.append(&[entry], super::now()) {
        Ok(ev) => {
            println!(
                "lot {} ({}, {} {}) recorded at log index {}",
                a.lot, a.stage, a.quantity, a.unit, ev[0].receipt.index
            );
            Ok(ExitCode::SUCCESS)
        }
        // Refused by the log's rules: exit 1. Anything else (storage, witnesses) is an error.
        Err(hanpyo_certs::service::ServiceError::Rule(e)) => {
            println!("REFUSED: {e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

fn show(a: &ShowArgs) -> Result<ExitCode> {
    let log = super::open(&a.data)?;
    let Some(h) = log.registry().lot_report(&a.lot) else {
        bail!("lot {} is not recorded on the log", a.lot);
    };
    if a.json {
        println!("{h}");
    } else {
        println!(
            "lot {}: {}",
            a.lot,
            if h["balanced"] == json!(true) {
                "BALANCED (every output within its inputs)"
            } else {
                "NOT BALANCED"
            }
        );
        for e in h["history"].as_array().into_iter().flatten() {
            let inputs: Vec<String> = e["inputs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| {
                    format!(
                        "{} {}",
                        i["lot"].as_str().unwrap_or_default(),
                        i["quantity"]
                    )
                })
                .collect();
            println!(
                "  {} {} by {}: {} {}{} (log index {}, {})",
                e["stage"].as_str().unwrap_or_default(),
                e["lot"].as_str().unwrap_or_default(),
                e["partyName"].as_str().unwrap_or_default(),
                e["quantity"],
                e["unit"].as_str().unwrap_or_default(),
                if inputs.is_empty() {
                    String::new()
                } else {
                    format!(" from {} (loss {})", inputs.join(" + "), e["loss"])
                },
                e["logIndex"],
                e["recorded"].as_str().unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
