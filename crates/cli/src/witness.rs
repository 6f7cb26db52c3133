//! `hanpyo witness`: an independent witness's own key and state, on its own machine.
//!
//! - `init --dir DIR --name NAME`: creates the signing key (`DIR/witness.key`, owner-only) and an
//!   empty state (`DIR/state.json`); prints the public key to publish.
//! - `follow --dir DIR --origin ORIGIN --log-key HEX`: starts following a log.
//! - `cosign --dir DIR --checkpoint FILE --old-size N [--proof FILE]`: co-signs the checkpoint if the
//!   consistency proof (hex hashes, one per line) links it to the last one co-signed; the new state
//!   is written (atomically, fsync'ed) before the cosignature line is printed. Refusals (rollback,
//!   fork, conflict, bad signature) exit 1 with the reason.
//! - `serve --dir DIR --listen ADDR`: the same witness as a service, C2SP tlog-witness
//!   `POST /add-checkpoint`, for every log it follows; a log server names it with
//!   `hanpyo serve --witness NAME=URL`.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use ed25519_dalek::{SigningKey, VerifyingKey};
use hanpyo_ledger::merkle::Hash;
use hanpyo_ledger::witness::{Witness, WitnessState};
use rand_core::Rng;
use zeroize::Zeroizing;

/// `hanpyo witness ...`
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Creates a witness identity.
    Init {
        /// The witness's directory.
        #[arg(long)]
        dir: PathBuf,
        /// Its key name (no whitespace or +).
        #[arg(long)]
        name: String,
        /// Read the key file's passphrase from this file instead of the terminal.
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// Follows a log.
    Follow {
        /// The witness's directory.
        #[arg(long)]
        dir: PathBuf,
        /// The log's origin.
        #[arg(long)]
        origin: String,
        /// The log's Ed25519 key (hex).
        #[arg(long)]
        log_key: String,
    },
    /// Co-signs a checkpoint if it is consistent with the last one co-signed.
    Cosign {
        /// The witness's directory.
        #[arg(long)]
        dir: PathBuf,
        /// The signed checkpoint (note) file.
        #[arg(long)]
        checkpoint: PathBuf,
        /// The size the consistency proof starts from (the witness's last co-signed size).
        #[arg(long)]
        old_size: u64,
        /// The consistency proof: hex hashes, one per line.
        #[arg(long)]
        proof: Option<PathBuf>,
        /// Read the key file's passphrase from this file instead of the terminal.
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// Serves C2SP tlog-witness (`POST /add-checkpoint`) for the logs it follows.
    Serve {
        /// The witness's directory.
        #[arg(long)]
        dir: PathBuf,
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:7380")]
        listen: std::net::SocketAddr,
        /// Stop when the process that started this one ends (a demo's witnesses).
        #[arg(long)]
        exit_with_parent: bool,
        /// Read the key file's passphrase from this file instead of the terminal.
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
}

/// What the key file seals.
#[derive(serde::Serialize, serde::Deserialize)]
struct Identity {
    name: String,
    key: String,
}

impl Drop for Identity {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.key);
    }
}

/// The witness key file's format name.
const FORMAT: &str = "hanpyo-witness-v1";

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The witness of `dir`: its key file opened with the passphrase (an older, unsealed key file is
/// read with a warning).
fn load(dir: &Path, passphrase_file: Option<&Path>) -> Result<Witness> {
    let path = dir.join("witness.key");
    let id: Identity = if crate::sealed::is_sealed(&path, FORMAT) {
        let pass = crate::sealed::passphrase(passphrase_file, false)?;
        serde_json::from_slice(&crate::sealed::unseal(&path, FORMAT, &pass)?)?
    } else {
        eprintln!(
            "WARNING: {} is not sealed with a passphrase; make a new witness with `hanpyo witness init`",
            path.display()
        );
        serde_json::from_slice(&std::fs::read(&path).context("reading witness.key")?)?
    };
    let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
        hex::decode(&id.key)
            .ok()
            .and_then(|k| k.try_into().ok())
            .context("witness.key is corrupt")?,
    );
    Ok(Witness::new(
        &id.name,
        SigningKey::from_bytes(&seed),
        read_state(dir)?,
    )?)
}

fn read_state(dir: &Path) -> Result<WitnessState> {
    Ok(serde_json::from_slice(
        &std::fs::read(dir.join("state.json")).context("reading state.json")?,
    )?)
}

fn save_state(dir: &Path, state: &WitnessState) -> Result<()> {
    write_atomically(
        &dir.join("state.json"),
        serde_json::to_string_pretty(state)?.as_bytes(),
    )
}

/// Writes a witness directory: its key `seed` under `name`, sealed with `pass`, and `state`.
pub fn create(
    dir: &Path,
    name: &str,
    seed: &[u8; 32],
    state: &WitnessState,
    pass: &str,
    cost: crate::sealed::Cost,
) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let id = Identity {
        name: name.to_string(),
        key: hex::encode(seed),
    };
    let plain = Zeroizing::new(serde_json::to_vec(&id)?);
    crate::sealed::seal(&dir.join("witness.key"), FORMAT, pass, &plain, cost)?;
    save_state(dir, state)
}

/// A demo's witness: its key sealed cheaply, with the passphrase beside it (`DIR/passphrase`,
/// owner-only), so the demo can start it unattended.
pub fn create_demo(dir: &Path, name: &str, seed: &[u8; 32], state: &WitnessState) -> Result<()> {
    let mut p = [0u8; 16];
    hanpyo_crypto::os_rng().fill_bytes(&mut p);
    let pass = Zeroizing::new(hex::encode(p));
    std::fs::create_dir_all(dir)?;
    hanpyo_server::write_secret(&dir.join("passphrase"), pass.as_bytes())?;
    create(dir, name, seed, state, &pass, crate::sealed::Cost::Demo)
}

/// A `hanpyo witness serve` child process (killed when dropped).
#[derive(Debug)]
pub struct Process {
    /// The witness's name.
    pub name: String,
    /// Where it serves.
    pub url: String,
    /// Its public key (hex), for a trust policy.
    pub key: String,
    /// Its directory.
    pub dir: PathBuf,
    child: std::process::Child,
}

impl Process {
    /// Starts the witness in `dir` on a free loopback port and waits for its address.
    pub fn start(dir: &Path) -> Result<Self> {
        use std::io::BufRead;
        let mut child = std::process::Command::new(std::env::current_exe()?)
            .args([
                "witness",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--exit-with-parent",
            ])
            .arg("--dir")
            .arg(dir)
            .arg("--passphrase-file")
            .arg(dir.join("passphrase"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(dir.join("witness.log"))?)
            .spawn()
            .context("starting a witness process")?;
        let stdout = child.stdout.take().context("witness stdout")?;
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        // Keep reading what it prints, so it never writes to a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        // `witness NAME serving on http://ADDR/ (key …)`
        let mut words = line.split_whitespace();
        let name = words.nth(1).unwrap_or_default().to_string();
        let url = words
            .find(|w| w.starts_with("http://"))
            .map(|u| u.trim_end_matches('/').to_string());
        let key = line
            .split("(key ")
            .nth(1)
            .map(|k| k.trim_end().trim_end_matches(')').to_string())
            .unwrap_or_default();
        match url {
            Some(url) if !name.is_empty() => Ok(Self {
                name,
                url,
                key,
                dir: dir.to_path_buf(),
                child,
            }),
            _ => {
                let _ = child.kill();
                bail!(
                    "the witness process did not start (see {})",
                    dir.join("witness.log").display()
                )
            }
        }
    }

    /// The line a demo prints for it: `witness: NAME URL key HEX pid PID dir DIR`.
    pub fn banner(&self) -> String {
        format!(
            "witness: {} {} key {} pid {} dir {}",
            self.name,
            self.url,
            self.key,
            self.child.id(),
            self.dir.display()
        )
    }
}

/// Starts every witness of a demo's data directory (`DATA/witnesses/NAME`), by name.
pub fn start_demo_witnesses(data: &Path) -> Result<Vec<Process>> {
    let root = data.join("witnesses");
    let mut dirs: Vec<PathBuf> = match std::fs::read_dir(&root) {
        Ok(d) => d
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("witness.key").is_file())
            .collect(),
        Err(_) => return Ok(Vec::new()),
    };
    dirs.sort();
    dirs.iter().map(|d| Process::start(d)).collect()
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(
    dir: &Path,
    listen: std::net::SocketAddr,
    exit_with_parent: bool,
    passphrase_file: Option<&Path>,
) -> Result<ExitCode> {
    crate::serve::init_logging();
    let w = load(dir, passphrase_file)?;
    let name = w.verifier().name().to_string();
    let key = hex::encode(w.verifier().key().as_bytes());
    let logs: Vec<String> = w.state().logs.keys().cloned().collect();
    let state_dir = dir.to_path_buf();
    let save: hanpyo_server::witnesses::SaveState = Box::new(move |state: &WitnessState| {
        save_state(&state_dir, state).map_err(std::io::Error::other)
    });
    let app = hanpyo_server::witnesses::witness_router(w, save);
    crate::serve::runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let addr = listener.local_addr()?;
        println!("witness {name} serving on http://{addr}/ (key {key})");
        println!("follows: {}", logs.join(", "));
        use std::io::Write as _;
        std::io::stdout().flush()?;
        let parent = std::os::unix::process::parent_id();
        let stop = async move {
            if exit_with_parent {
                let orphaned = async {
                    while std::os::unix::process::parent_id() == parent {
                        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    }
                };
                tokio::select! {
                    () = crate::serve::shutdown_signal() => {}
                    () = orphaned => {}
                }
            } else {
                crate::serve::shutdown_signal().await;
            }
        };
        hanpyo_server::connections::serve(listener, app, None, stop).await?;
        Ok(ExitCode::SUCCESS)
    })
}

pub fn run(cmd: &Command) -> Result<ExitCode> {
    match cmd {
        Command::Serve {
            dir,
            listen,
            exit_with_parent,
            passphrase_file,
        } => return serve(dir, *listen, *exit_with_parent, passphrase_file.as_deref()),
        Command::Init {
            dir,
            name,
            passphrase_file,
        } => {
            if dir.join("witness.key").exists() {
                bail!("{} already holds a witness", dir.display());
            }
            let pass = crate::sealed::passphrase(passphrase_file.as_deref(), true)?;
            let mut seed = Zeroizing::new([0u8; 32]);
            hanpyo_crypto::os_rng().fill_bytes(&mut *seed);
            let w = Witness::new(name, SigningKey::from_bytes(&seed), WitnessState::default())?;
            create(
                dir,
                name,
                &seed,
                w.state(),
                &pass,
                crate::sealed::Cost::Standard,
            )?;
            println!(
                "witness {name} public key: {}",
                hex::encode(w.verifier().key().as_bytes())
            );
        }
        Command::Follow {
            dir,
            origin,
            log_key,
        } => {
            // Only the state changes: no passphrase needed.
            let mut state = read_state(dir)?;
            let key: [u8; 32] = hex::decode(log_key)
                .ok()
                .and_then(|k| k.try_into().ok())
                .context("--log-key must be 64 hex digits")?;
            state.follow(origin, &VerifyingKey::from_bytes(&key)?);
            save_state(dir, &state)?;
            println!("following {origin}");
        }
        Command::Cosign {
            dir,
            checkpoint,
            old_size,
            proof,
            passphrase_file,
        } => {
            let mut w = load(dir, passphrase_file.as_deref())?;
            let note = std::fs::read_to_string(checkpoint)
                .with_context(|| format!("reading {}", checkpoint.display()))?;
            let proof: Vec<Hash> = match proof {
                None => Vec::new(),
                Some(p) => std::fs::read_to_string(p)?
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| {
                        hex::decode(l.trim())
                            .ok()
                            .and_then(|h| h.try_into().ok())
                            .context("the proof holds one 64-hex-digit hash per line")
                    })
                    .collect::<Result<_>>()?,
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            match w.cosign(&note, *old_size, &proof, now) {
                Ok(line) => {
                    save_state(dir, w.state())?;
                    print!("{line}");
                }
                Err(e) => {
                    eprintln!("refused: {e}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
