//! `hanpyo`: the command line of the Hanpyo voting system (DESIGN §7).
#![forbid(unsafe_code)]

mod crypto_demo;

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
    /// Runs a whole election in memory with the cryptographic core: threshold key ceremony,
    /// credentials, encrypted ballots, batch verification, homomorphic tally, threshold decryption.
    CryptoDemo(crypto_demo::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::CryptoDemo(args) => crypto_demo::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
