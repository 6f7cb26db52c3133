//! `hanpyo ca generate`: the credential authority, offline. From the voter roll it makes one
//! secret credential per voter (for delivery by the commission's channel), the sorted list of
//! public credentials (published on the ledger, no identities), and the roll with each voter's
//! public credential, which the administrator imports so the server binds every login to its own
//! credential from the start (docs/threat-model.md, *Login and credential*).
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use hanpyo_crypto::credential::SecretCredential;
use hanpyo_server::roll::RollEncoding;

/// `hanpyo ca ...`
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Generates credentials for every voter of a roll.
    Generate {
        /// The voter roll (CSV: name,birth_date,resident_id,contact,district).
        #[arg(long)]
        roll: PathBuf,
        /// The election id of the manifest (credentials are bound to it).
        #[arg(long)]
        election_id: String,
        /// Output directory (created; must not exist).
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(cmd: &Command) -> Result<ExitCode> {
    let Command::Generate {
        roll,
        election_id,
        out,
    } = cmd;
    let bytes = std::fs::read(roll).with_context(|| format!("reading {}", roll.display()))?;
    let (text, _) = hanpyo_server::roll::decode_roll(&bytes, RollEncoding::Auto)
        .map_err(|e| anyhow::anyhow!("{}: {e}", roll.display()))?;
    let voters = match hanpyo_server::roll::parse_roll(&text) {
        Ok(v) => v,
        Err(errors) => {
            for e in &errors {
                eprintln!("{}:{}: {}", roll.display(), e.line, e.error);
            }
            bail!(
                "{} problem(s) in the roll; no credential was generated",
                errors.len()
            );
        }
    };
    if out.exists() {
        bail!("{} already exists", out.display());
    }
    std::fs::create_dir_all(out)?;
    let mut delivery = String::from("resident_id,name,contact,credential\n");
    let mut publics = Vec::with_capacity(voters.len());
    let mut bound = format!("{}\n", hanpyo_server::roll::HEADER_WITH_CREDENTIALS);
    for v in &voters {
        let c = SecretCredential::generate();
        let public = hex::encode(c.signing_key(election_id.as_bytes()).public().as_bytes());
        bound.push_str(&format!(
            "{},{},{},{},{},{public}\n",
            v.name, v.birth_date, v.resident_id, v.contact, v.district
        ));
        publics.push(public);
        delivery.push_str(&format!(
            "{},{},{},{}\n",
            v.resident_id,
            v.name,
            v.contact,
            c.code()
        ));
    }
    publics.sort();
    hanpyo_server::write_secret(
        &out.join("credentials-for-delivery.csv"),
        delivery.as_bytes(),
    )?;
    std::fs::write(
        out.join("public-credentials.txt"),
        publics.join("\n") + "\n",
    )?;
    // The roll with each voter's public credential: imported instead of the plain roll, it binds
    // every login to its own credential from the start (personal data: owner-only).
    hanpyo_server::write_secret(&out.join("roll-with-credentials.csv"), bound.as_bytes())?;
    println!(
        "{} credentials: deliver {} (SECRET) to the voters; upload {} (public, sorted, no identities); import {} as the roll (personal data)",
        voters.len(),
        out.join("credentials-for-delivery.csv").display(),
        out.join("public-credentials.txt").display(),
        out.join("roll-with-credentials.csv").display()
    );
    Ok(ExitCode::SUCCESS)
}
