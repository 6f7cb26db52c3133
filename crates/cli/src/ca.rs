//! `hanpyo ca generate`: the credential authority, offline. From the voter roll it makes one
//! secret credential per voter (for delivery by the commission's channel) and the sorted list of
//! public credentials — the only thing uploaded. Nothing links a public credential to a person
//! except the delivery file, which stays with the authority.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use hanpyo_crypto::credential::SecretCredential;

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
    let text =
        std::fs::read_to_string(roll).with_context(|| format!("reading {}", roll.display()))?;
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
    for v in &voters {
        let c = SecretCredential::generate();
        publics.push(hex::encode(
            c.signing_key(election_id.as_bytes()).public().as_bytes(),
        ));
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
    println!(
        "{} credentials: deliver {} (SECRET) to the voters; upload {} (public, sorted, no identities)",
        voters.len(),
        out.join("credentials-for-delivery.csv").display(),
        out.join("public-credentials.txt").display()
    );
    Ok(ExitCode::SUCCESS)
}
