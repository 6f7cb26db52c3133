//! `hanpyo cert …`: verifiable public certificates on a certificate log (docs/certs.md).
//!
//! The registry's operator creates the log and approves issuers; issuers issue (one at a time or
//! from a CSV file), revoke and publish their status lists, or record provenance events; holders
//! make presentations; anyone verifies a certificate file offline or audits the whole log.
pub mod demo;
mod issuing;
mod provenance;
mod verifying;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use hanpyo_certs::directory;

pub use verifying::VerifyArgs;

/// The certificate commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Creates a certificate registry (its log, operator and log keys, co-located witnesses).
    Init(InitArgs),
    /// Adds an independent witness (one that follows the log: `hanpyo witness follow`, then
    /// `hanpyo witness serve`) and rewrites the trust file.
    AddWitness(AddWitnessArgs),
    /// Generates a key file (an issuer's, a provenance party's or a holder's) and prints its DID.
    Key(KeyArgs),
    /// The operator approves an issuer: its key, name and the document types it may issue.
    RegisterIssuer(issuing::RegisterArgs),
    /// Issues certificates of one type: one from --field, or one per row of a CSV file.
    Issue(issuing::IssueArgs),
    /// Revokes a certificate (its issuer only), with a reason code.
    Revoke(issuing::RevokeArgs),
    /// Writes an issuer's signed status list (the Bitstring Status List credential).
    StatusList(issuing::StatusListArgs),
    /// A holder's presentation of a certificate to one verifier (chosen fields, nonce).
    Present(verifying::PresentArgs),
    /// Verifies a certificate file: exit 0 valid, 1 refused (with its reason), 2 usage or I/O error.
    Verify(VerifyArgs),
    /// Replays the whole log against its rules and prints each issuer's counts.
    Audit(verifying::AuditArgs),
    /// Provenance: record an event, or show a lot's history with its balance check.
    #[command(subcommand)]
    Provenance(provenance::Command),
    /// Lists the document types (templates) and their fields.
    Templates(TemplatesArgs),
}

/// `hanpyo cert init`.
#[derive(Args, Debug)]
pub struct InitArgs {
    /// The registry's directory (created).
    #[arg(long)]
    pub data: PathBuf,
    /// The operator's name.
    #[arg(long, default_value = "Hanpyo certificate registry")]
    pub name: String,
    /// The log's origin (a name like a host and path).
    #[arg(long, default_value = "certs.hanpyo.example/log")]
    pub origin: String,
    /// Where the issuers' status lists are served (`hanpyo serve` serves them at
    /// `/api/v1/certs/status`).
    #[arg(long, default_value = "http://127.0.0.1:8080/api/v1/certs/status")]
    pub status_base: String,
    /// Co-located witnesses (they co-sign every checkpoint).
    #[arg(long, default_value_t = 2)]
    pub witnesses: usize,
}

/// `hanpyo cert add-witness`.
#[derive(Args, Debug)]
pub struct AddWitnessArgs {
    /// The registry's directory.
    #[arg(long)]
    pub data: PathBuf,
    /// The witness's key name (as `hanpyo witness init --name` gave it).
    #[arg(long)]
    pub name: String,
    /// Its public key, hex (printed by `hanpyo witness init`).
    #[arg(long)]
    pub key: String,
    /// Where it serves (`hanpyo witness serve` prints it).
    #[arg(long)]
    pub url: String,
    /// The number of cosignatures required from now on (default: unchanged).
    #[arg(long)]
    pub quorum: Option<usize>,
}

/// `hanpyo cert key`.
#[derive(Args, Debug)]
pub struct KeyArgs {
    /// The key file to create (owner-only).
    #[arg(long)]
    pub out: PathBuf,
}

/// `hanpyo cert templates`.
#[derive(Args, Debug)]
pub struct TemplatesArgs {
    /// As JSON.
    #[arg(long)]
    pub json: bool,
}

/// Now, in Unix seconds.
pub fn now() -> u64 {
    hanpyo_certs::service::unix_now()
}

/// Opens the registry in `dir`.
pub fn open(dir: &Path) -> Result<hanpyo_certs::service::CertLog> {
    if !directory::exists(dir) {
        anyhow::bail!(
            "{} holds no certificate registry (hanpyo cert init --data {})",
            dir.display(),
            dir.display()
        );
    }
    directory::open(dir, &hanpyo_server::certs::connect_witness)
        .with_context(|| format!("opening the certificate registry {}", dir.display()))
}

/// Runs a certificate command.
pub fn run(cmd: &Command) -> Result<ExitCode> {
    match cmd {
        Command::Init(a) => {
            let log = directory::init(
                &mut hanpyo_crypto::os_rng(),
                &a.data,
                &a.name,
                &a.origin,
                &a.status_base,
                a.witnesses,
            )?;
            println!(
                "certificate registry {} created in {}",
                a.name,
                a.data.display()
            );
            println!("log origin: {}", log.anchors().origin);
            println!("operator: {}", log.anchors().operator);
            println!(
                "trust anchors for verifiers: {}",
                a.data.join("trust.json").display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::AddWitness(a) => {
            let w = directory::RemoteWitness {
                name: a.name.clone(),
                key: a.key.clone(),
                url: a.url.clone(),
            };
            let log = directory::add_remote_witness(
                &a.data,
                w,
                a.quorum,
                &hanpyo_server::certs::connect_witness,
            )?;
            println!(
                "witness {} added: {} witnesses, quorum {}; trust anchors rewritten in {}",
                a.name,
                log.anchors().witnesses.len(),
                log.anchors().quorum,
                a.data.join("trust.json").display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Key(a) => {
            let key = directory::new_key(&mut hanpyo_crypto::os_rng());
            directory::write_key(&a.out, &key)?;
            println!("{}", hanpyo_certs::did::did_key(&key.verifying_key()));
            Ok(ExitCode::SUCCESS)
        }
        Command::RegisterIssuer(a) => issuing::register(a),
        Command::Issue(a) => issuing::issue(a),
        Command::Revoke(a) => issuing::revoke(a),
        Command::StatusList(a) => issuing::status_list(a),
        Command::Present(a) => verifying::present(a),
        Command::Verify(a) => verifying::verify(a),
        Command::Audit(a) => verifying::audit(a),
        Command::Provenance(c) => provenance::run(c),
        Command::Templates(a) => {
            let all = hanpyo_certs::template::all();
            if a.json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                for t in all {
                    println!(
                        "{} ({}, {}): {} / {}",
                        t.id,
                        t.format.name(),
                        t.vc_type,
                        t.title_ko,
                        t.title_en
                    );
                    for f in &t.fields {
                        println!(
                            "  {}{}{}: {:?} — {} / {}",
                            f.name,
                            if f.required { "" } else { " (optional)" },
                            if f.personal && t.format == hanpyo_certs::template::Format::SdJwt {
                                " [disclosable]"
                            } else {
                                ""
                            },
                            f.kind,
                            f.label_ko,
                            f.label_en
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
