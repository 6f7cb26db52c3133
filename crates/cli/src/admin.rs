//! `hanpyo admin`: offline administration of a data directory (the server may be stopped).
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use hanpyo_server::accounts::{Accounts, Role};

/// `hanpyo admin ...`
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Creates an administrator or observer account (the first one is made this way).
    CreateUser {
        /// The data directory.
        #[arg(long)]
        data: PathBuf,
        /// Account name.
        #[arg(long)]
        name: String,
        /// administrator or observer.
        #[arg(long, default_value = "administrator")]
        role: String,
        /// Read the password from this file (first line); otherwise it is read from standard input.
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Erases the voter roll, login codes, sessions and credential bindings after the election.
    PurgeRoll {
        /// The data directory.
        #[arg(long)]
        data: PathBuf,
    },
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or("")
        .trim_end_matches('\r')
        .to_string()
}

pub fn run(cmd: &Command) -> Result<ExitCode> {
    match cmd {
        Command::CreateUser {
            data,
            name,
            role,
            password_file,
        } => {
            let role = match role.as_str() {
                "administrator" => Role::Administrator,
                "observer" => Role::Observer,
                _ => bail!("--role is administrator or observer"),
            };
            let password = match password_file {
                Some(p) => first_line(
                    &std::fs::read_to_string(p)
                        .with_context(|| format!("reading {}", p.display()))?,
                ),
                None => {
                    eprint!("password for {name} (at least 12 characters): ");
                    let mut s = String::new();
                    std::io::stdin().lock().read_line(&mut s)?;
                    first_line(&s)
                }
            };
            if !data.join("state.db").exists() && !data.join("ledger.db").exists() {
                bail!("{} is not a Hanpyo data directory", data.display());
            }
            Accounts::open(data)?
                .create_user(name, role, &password)
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            println!("account {name} ({role:?}) created");
        }
        Command::PurgeRoll { data } => {
            let key_path = data.join("roll.key");
            let key: [u8; 32] = hex::decode(
                std::fs::read_to_string(&key_path)
                    .context("reading roll.key")?
                    .trim(),
            )
            .ok()
            .and_then(|k| k.try_into().ok())
            .context("roll.key is corrupt")?;
            hanpyo_server::identity::Identity::open(&data.join("state.db"), &key)?
                .purge()
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            Accounts::open(data)?.audit("(command line)", "purge-roll", "ok");
            println!("the roll, login codes, sessions and credential bindings were erased");
        }
    }
    Ok(ExitCode::SUCCESS)
}
