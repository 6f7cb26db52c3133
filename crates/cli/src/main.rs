//! `hanpyo`: the command line of the Hanpyo voting system (DESIGN §7).
#![forbid(unsafe_code)]

mod admin;
mod ca;
mod cert;
mod db;
mod http;
mod loadtest;
mod mirror;
mod progress;
mod receipt;
mod sealed;
mod serve;
mod setup;
mod simulate;
mod trustee;
mod verify;
mod vote;
mod witness;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "hanpyo",
    version,
    about = "Hanpyo (한표): verifiable online voting on a public ledger"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Starts a local server with a demo election on a fresh embedded data directory.
    Demo(serve::DemoArgs),
    /// The voting service on a data directory.
    Serve(serve::ServeArgs),
    /// A command-line voter: encrypts locally, casts, checks and keeps the receipt.
    Vote(vote::VoteArgs),
    /// Real HTTP voters against a (demo) server: ingest throughput and latency percentiles.
    Loadtest(loadtest::Args),
    /// Downloads a server's election record for `hanpyo verify`.
    Download(vote::DownloadArgs),
    /// Simulates a complete election offline and writes its record (for tests and benchmarks).
    Simulate(simulate::Args),
    /// Verifies an election record: every signature, proof, eligibility, revote, tally,
    /// decryption and the ledger checkpoint. Exit 0 valid, 1 invalid, 2 usage or I/O error.
    Verify(verify::Args),
    /// Administration of a data directory (accounts, purging the roll).
    #[command(subcommand)]
    Admin(admin::Command),
    /// The credential authority (offline).
    #[command(subcommand)]
    Ca(ca::Command),
    /// Voter receipts.
    #[command(subcommand)]
    Receipt(receipt::Command),
    /// A trustee: key file, key ceremony, decryption of the tally.
    #[command(subcommand)]
    Trustee(trustee::Command),
    /// A full copy of a server's log, checked and verified as it grows, and served to others.
    Mirror(mirror::Args),
    /// An independent witness: co-signs a log's checkpoints only when consistent.
    #[command(subcommand)]
    Witness(witness::Command),
    /// Verifiable public certificates (badges, licences, notarised documents, battery
    /// certificates, pension receipts, provenance) on a certificate log; `cert verify FILE`:
    /// exit 0 valid, 1 refused, 2 usage or I/O error.
    #[command(subcommand)]
    Cert(cert::Command),
    /// The shared PostgreSQL database of a multi-node deployment: schema migrations, log status.
    #[command(subcommand)]
    Db(db::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => serve::demo(&args),
        Command::Serve(args) => serve::serve(&args),
        Command::Vote(args) => vote::vote(&args),
        Command::Download(args) => vote::download(&args),
        Command::Loadtest(args) => loadtest::run(&args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Receipt(cmd) => receipt::run(&cmd),
        Command::Ca(cmd) => ca::run(&cmd),
        Command::Admin(cmd) => admin::run(&cmd),
        Command::Witness(cmd) => witness::run(&cmd),
        Command::Mirror(args) => mirror::run(&args),
        Command::Trustee(cmd) => trustee::run(&cmd),
        Command::Db(cmd) => db::run(&cmd),
        Command::Cert(cmd) => cert::run(&cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
