//! `hanpyo admin`: offline administration of a data directory (the server may be stopped).
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use hanpyo_server::accounts::{Accounts, Role};

use crate::db::StateDatabase;

/// `hanpyo admin ...`
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Creates an administrator or observer account (the first one is made this way). On a new
    /// directory, this makes a data directory whose elections an administrator then creates from
    /// the console (`hanpyo serve --data DIR`, then /admin.html).
    CreateUser {
        /// The data directory.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        db: StateDatabase,
        /// Account name.
        #[arg(long)]
        name: String,
        /// administrator or observer.
        #[arg(long, default_value = "administrator")]
        role: String,
        /// Read the password from this file (first line); otherwise it is read from standard input.
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// `*` for a platform account (every election; creates elections and assigns accounts),
        /// or the ids of the elections the account may act on, separated by commas.
        #[arg(long, default_value = "*")]
        elections: String,
    },
    /// Adds a new election from a manifest (TOML) to a data directory (created if absent): a fresh
    /// ledger key, the manifest as the ledger's first entry, in DATA/elections/<id>/. Trustees then
    /// run the key ceremony through the server.
    Init {
        /// The data directory.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        db: StateDatabase,
        /// The manifest: TOML (see examples/manifests) or, with a `.json` name, the same as JSON.
        #[arg(long)]
        manifest: PathBuf,
    },
    /// Erases the voter roll, login codes, sessions and credential bindings after the election.
    PurgeRoll {
        /// The data directory.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        db: StateDatabase,
        /// The election (default: the data directory's only election).
        #[arg(long)]
        election: Option<String>,
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
            db,
            name,
            role,
            password_file,
            elections,
        } => {
            let scope = hanpyo_server::accounts::Scope::parse(elections)
                .map_err(|e| anyhow::anyhow!("--elections: {}", e.message))?;
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
            // A new directory becomes a data directory awaiting its election (created from the
            // console); an existing one must already be a Hanpyo data directory.
            if !data.exists() {
                std::fs::create_dir_all(data)?;
            } else if !hanpyo_server::layout::is_data_dir(data) {
                bail!("{} is not a Hanpyo data directory", data.display());
            }
            hanpyo_server::layout::migrate_single_election(data)?;
            // The elections' directory marks a data directory even when the state is elsewhere.
            std::fs::create_dir_all(hanpyo_server::layout::elections_dir(data))?;
            Accounts::open(data, &db.database())?
                .create_user(name, role, &scope, &password)
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            println!("account {name} ({role:?}) created");
        }
        Command::Init { data, db, manifest } => {
            if data.exists() && !hanpyo_server::layout::is_data_dir(data) {
                bail!(
                    "{} exists and is not a Hanpyo data directory",
                    data.display()
                );
            }
            hanpyo_server::layout::migrate_single_election(data)?;
            let text = std::fs::read_to_string(manifest)
                .with_context(|| format!("reading {}", manifest.display()))?;
            let (m, urls) = hanpyo_record::manifest::Manifest::parse_with_witness_urls(
                &text,
                hanpyo_server::unassigned_ledger(),
            )
            .context("manifest")?;
            let dir = hanpyo_server::layout::election_dir(data, &m.election_id);
            let m = hanpyo_server::create_election(&dir, m, &urls, &db.database())?;
            Accounts::open(data, &db.database())?.audit(
                Some(&m.election_id),
                "(command line)",
                "init",
                "ok",
            );
            println!(
                "election {} created in {}: ledger {} key {}; next: hanpyo admin create-user, hanpyo serve, invite the {} trustees",
                m.election_id,
                dir.display(),
                m.ledger.origin,
                hex::encode(m.ledger.key),
                m.trustees
            );
        }
        Command::PurgeRoll { data, db, election } => {
            hanpyo_server::layout::migrate_single_election(data)?;
            let database = db.database();
            let ids = hanpyo_server::layout::election_ids(data, &database)?;
            let id = match (election, ids.as_slice()) {
                (Some(id), _) if ids.contains(id) => id.clone(),
                (Some(id), _) => bail!("{} holds no election {id:?}", data.display()),
                (None, [one]) => one.clone(),
                (None, _) => bail!(
                    "{} holds {} elections: name one with --election",
                    data.display(),
                    ids.len()
                ),
            };
            let platform = data;
            let data = &hanpyo_server::layout::election_dir(platform, &id);
            // Not while voting is open: the roll is needed to log voters in.
            let log: hanpyo_server::LogKeyFile = serde_json::from_slice(
                &std::fs::read(data.join("log.json")).context("reading log.json")?,
            )?;
            let seed: [u8; 32] = hex::decode(&log.key)
                .ok()
                .and_then(|k| k.try_into().ok())
                .context("log.json is corrupt")?;
            let signer = hanpyo_ledger::checkpoint::NoteSigner::new(
                &log.origin,
                ed25519_dalek::SigningKey::from_bytes(&seed),
                hanpyo_ledger::checkpoint::KeyKind::Ed25519,
            )?;
            let ledger = database.ledger(data, &log.origin).open_existing(signer)?;
            let state = hanpyo_server::election::ElectionState::rebuild(&ledger)
                .map_err(|e| anyhow::anyhow!(e))?;
            let phase = state.phase;
            use hanpyo_server::election::Phase;
            let key_path = hanpyo_server::roll_key_path(data);
            let key: [u8; 32] = hex::decode(
                std::fs::read_to_string(&key_path)
                    .context("reading roll.key")?
                    .trim(),
            )
            .ok()
            .and_then(|k| k.try_into().ok())
            .context("roll.key is corrupt")?;
            let identity = hanpyo_server::identity::Identity::open(
                database.election_state_pool(data, &id)?,
                &key,
            )?;
            let opened = identity
                .opened()
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            if phase == Phase::Open || (phase == Phase::Credentials && opened) {
                bail!("voting is open: close the election before purging the roll");
            }
            identity
                .purge(&key_path)
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            Accounts::open(platform, &database)?.audit(
                Some(&id),
                "(command line)",
                "purge-roll",
                "ok",
            );
            println!("the roll, login codes, sessions and credential bindings were erased");
        }
    }
    Ok(ExitCode::SUCCESS)
}
