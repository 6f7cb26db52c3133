//! `hanpyo trustee`: what an independent trustee runs on its own computer.
//!
//! - `init`: a communication key, sealed in a key file with a passphrase (Argon2id → ChaCha20-
//!   Poly1305). The passphrase is typed at the terminal (not echoed) or read from a file — never
//!   taken from the command line.
//! - `ceremony`: the key ceremony through the server — registration, commitment digest, the
//!   commitments once every digest is public, encrypted shares, checking the shares received and
//!   filing complaints — resumable at any point (every secret is sealed before anything is sent), and
//!   finally the trustee's key share, checked against its public verification key.
//! - `decrypt`: recomputes the encrypted tally itself from the public ballots (it never trusts the
//!   server's sum), then publishes its partial decryption with proofs.
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hanpyo_crypto::batch::{BatchVerifier, Verifiable};
use hanpyo_crypto::elgamal::{PublicKey, SecretKey};
use hanpyo_crypto::group::decode_scalar;
use hanpyo_crypto::proofs::labels;
use hanpyo_crypto::proofs::schnorr::SchnorrProof;
use hanpyo_crypto::threshold::{Complaint, Dealer, KeyShare, ThresholdParams, resolve_ceremony};
use hanpyo_crypto::transcript::NO_POSITION;
use hanpyo_ledger::merkle::leaf_hash;
use hanpyo_record::authority::{RunningTally, partial_decryption_with_rng};
use hanpyo_record::context::{ceremony_context, election_context};
use hanpyo_record::entry::{Ballot, CeremonyMessage, Entry, Shapes};
use hanpyo_record::manifest::Manifest;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::http::Client;

mod mix;

/// `hanpyo trustee ...`
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Creates the trustee's key file.
    Init {
        /// The key file to create.
        #[arg(long)]
        key: PathBuf,
        /// Read the passphrase from this file instead of the terminal.
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// Takes part in the key ceremony (resumable).
    Ceremony(Session),
    /// Shuffles the ranked questions' ballots in turn after the tally, checking every earlier
    /// shuffle first (resumable: run again, it finds its shuffle on the board).
    Shuffle(Session),
    /// Decrypts the tally (after recomputing it from the public ballots) and, with ranked
    /// questions, the mixed ranked ballots once enough trustees have shuffled.
    Decrypt(Session),
}

/// Options shared by `ceremony` and `decrypt`.
#[derive(clap::Args, Debug)]
pub struct Session {
    /// The key file.
    #[arg(long)]
    key: PathBuf,
    /// Read the passphrase from this file instead of the terminal.
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    /// The server.
    #[arg(long)]
    url: String,
    /// This trustee's number (1..n) in the election.
    #[arg(long)]
    index: u32,
    /// The access token the administrator issued to this trustee (or a file holding it, with @).
    #[arg(long)]
    token: String,
    /// Keep polling until the step is complete, at most this many seconds.
    #[arg(long, default_value_t = 600)]
    wait: u64,
    /// Ceremony: after this many seconds without a missing share arriving, confirm the shares held
    /// so far (a dealer that withholds a share then cannot delay this trustee's confirmation).
    #[arg(long, default_value_t = 20)]
    share_wait: u64,
}

/// The sealed contents of a key file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Secrets {
    comm_key: String,
    #[serde(default)]
    election: Option<String>,
    #[serde(default)]
    coefficients: Option<Vec<String>>,
    #[serde(default)]
    key_share: Option<String>,
}

impl Drop for Secrets {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.comm_key.zeroize();
        if let Some(c) = &mut self.coefficients {
            c.iter_mut().for_each(Zeroize::zeroize);
        }
        if let Some(k) = &mut self.key_share {
            k.zeroize();
        }
    }
}

/// The trustee key file's format name.
const FORMAT: &str = "hanpyo-trustee-v1";

fn seal(path: &Path, pass: &str, secrets: &Secrets) -> Result<()> {
    let plain = Zeroizing::new(serde_json::to_vec(secrets)?);
    crate::sealed::seal(path, FORMAT, pass, &plain, crate::sealed::Cost::Standard)
}

fn unseal(path: &Path, pass: &str) -> Result<Secrets> {
    let plain = crate::sealed::unseal(path, FORMAT, pass).context("not a trustee key file")?;
    Ok(serde_json::from_slice(&plain)?)
}

fn scalar(h: &str) -> Result<curve25519_dalek::scalar::Scalar> {
    Ok(decode_scalar(&hex::decode(h)?)?)
}

/// The election as the board shows it.
struct Board {
    manifest: Manifest,
    manifest_entry: Vec<u8>,
    entries: Vec<Entry>,
}

fn fetch(client: &Client) -> Result<Board> {
    let view = client.election(None)?;
    let (manifest, manifest_entry) = (view.manifest, view.manifest_entry);
    let note = String::from_utf8(client.get_ok("/api/v1/board/checkpoint")?)?;
    let size: u64 = note
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .context("checkpoint")?;
    let shapes = Shapes::of(&manifest);
    let mut entries = Vec::new();
    let mut start = 0;
    // Only a board worth waiting for gets a bar (the ceremony polls small ones several times a second).
    let bar = if size > 10_000 {
        crate::progress::bar("board", Some(size))
    } else {
        indicatif::ProgressBar::hidden()
    };
    while start < size {
        let end = (start + 10_000).min(size);
        let framed = client.get_ok(&format!("/api/v1/board/entries?start={start}&end={end}"))?;
        let mut rest = &framed[..];
        while rest.len() >= 4 {
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let e = rest.get(4..4 + len).context("truncated board")?;
            entries.push(Entry::decode(e, Some(&shapes))?);
            rest = &rest[4 + len..];
        }
        start = end;
        bar.set_position(start);
    }
    bar.finish_and_clear();
    if entries
        .first()
        .is_none_or(|e| !matches!(e, Entry::Manifest(_)))
    {
        bail!("the board does not start with the manifest");
    }
    Ok(Board {
        manifest,
        manifest_entry,
        entries,
    })
}

/// Whether the administrator closed the digest round (trustees may reveal without the missing ones).
fn digests_closed(client: &Client) -> Result<bool> {
    let p: serde_json::Value = serde_json::from_slice(&client.get_ok("/api/v1/progress")?)?;
    Ok(p["digests_closed"].as_bool() == Some(true))
}

fn post(client: &Client, token: &str, entry: &Entry) -> Result<()> {
    match post_entry(client, token, entry)? {
        Ok(()) => Ok(()),
        Err(e) => bail!("the server refused (409 {}): {}", e.code, e.message),
    }
}

/// A ceremony step: like [`post`], but a `wrong-phase` refusal is not an error — the ceremony moved
/// on meanwhile (another trustee's entry came first, or the administrator finished it), and the
/// next look at the board shows where it stands.
fn post_step(client: &Client, token: &str, entry: &Entry) -> Result<()> {
    if let Err(e) = post_entry(client, token, entry)? {
        println!("the ceremony moved on ({}); looking again", e.message);
    }
    Ok(())
}

/// Posts a trustee entry: `Ok(Err(refusal))` for a `409 wrong-phase` (the caller decides), an
/// error for any other refusal.
fn post_entry(
    client: &Client,
    token: &str,
    entry: &Entry,
) -> Result<std::result::Result<(), crate::http::ApiError>> {
    match client.post("/api/v1/trustee/entries", &entry.encode(), Some(token))? {
        Ok(_) => Ok(Ok(())),
        Err((409, e)) if e.code == "wrong-phase" => Ok(Err(e)),
        Err((status, e)) => bail!("the server refused ({status} {}): {}", e.code, e.message),
    }
}

/// The client for the election a token was issued for (`<election id>.<secret>`): a trustee
/// needs only the server's address and the token, however many elections the server holds.
fn client_for(url: &str, token: &str) -> Result<Client> {
    Client::at(url, token.rsplit_once('.').map(|(election, _)| election))
}

fn token_of(t: &str) -> Result<String> {
    match t.strip_prefix('@') {
        Some(f) => Ok(std::fs::read_to_string(f)?.trim().to_string()),
        None => Ok(t.to_string()),
    }
}

pub fn run(cmd: &Command) -> Result<ExitCode> {
    match cmd {
        Command::Init {
            key,
            passphrase_file,
        } => {
            if key.exists() {
                bail!("{} already exists", key.display());
            }
            let pass = crate::sealed::passphrase(passphrase_file.as_deref(), true)?;
            let comm = SecretKey::generate();
            let secrets = Secrets {
                comm_key: hex::encode(comm.as_scalar().as_bytes()),
                election: None,
                coefficients: None,
                key_share: None,
            };
            seal(key, &pass, &secrets)?;
            println!(
                "trustee key file {} created (keep the passphrase apart from it)",
                key.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Ceremony(s) => ceremony(s),
        Command::Shuffle(s) => mix::shuffle(s),
        Command::Decrypt(s) => decrypt(s),
    }
}

fn ceremony(s: &Session) -> Result<ExitCode> {
    let pass = crate::sealed::passphrase(s.passphrase_file.as_deref(), false)?;
    let mut secrets = unseal(&s.key, &pass)?;
    let token = token_of(&s.token)?;
    let client = client_for(&s.url, &token)?;
    let comm = SecretKey::from_scalar(scalar(&secrets.comm_key)?);
    let deadline = Instant::now() + Duration::from_secs(s.wait);
    let i = s.index;
    // Since when this trustee has been waiting for a share it has not received.
    let mut waiting_since: Option<Instant> = None;
    loop {
        let board = fetch(&client)?;
        let m = &board.manifest;
        match &secrets.election {
            Some(e) if *e != m.election_id => bail!("this key file belongs to election {e}"),
            None => secrets.election = Some(m.election_id.clone()),
            _ => {}
        }
        let params = ThresholdParams::new(m.trustees, m.threshold)?;
        let n = m.trustees as usize;
        if i == 0 || i as usize > n {
            bail!("--index must be 1 to {n}");
        }
        let cctx = ceremony_context(&leaf_hash(&board.manifest_entry));
        let (mut regs, mut digests) = (vec![None; n], vec![None; n]);
        let (mut commitments, mut shares, mut complaints) = (Vec::new(), Vec::new(), Vec::new());
        let mut confirmed: Vec<u32> = Vec::new();
        let mut joint = None;
        for e in &board.entries {
            match e {
                Entry::TrusteeRegistration { index, key, .. } => {
                    regs[(*index - 1) as usize] = Some(*key)
                }
                Entry::Ceremony(m, _) => match m.as_ref() {
                    CeremonyMessage::Digest { dealer, digest } => {
                        digests[(*dealer - 1) as usize] = Some(*digest)
                    }
                    CeremonyMessage::Commitment(c) => commitments.push(c.clone()),
                    CeremonyMessage::Share(x) => shares.push(x.clone()),
                    CeremonyMessage::Complaint(x) => complaints.push(x.clone()),
                    CeremonyMessage::Confirmation { trustee, dealers } if *trustee == i => {
                        confirmed = dealers.clone()
                    }
                    CeremonyMessage::Confirmation { .. } => {}
                },
                Entry::JointKey { .. } => joint = Some(()),
                _ => {}
            }
        }
        let me = (i - 1) as usize;
        if regs[me].is_some_and(|k| k != comm.public_key()) {
            bail!(
                "another key is registered as trustee {i}: someone registered in your place; stop and tell the election commission"
            );
        }
        let mut rng = hanpyo_crypto::os_rng();
        let mut sign = |m: CeremonyMessage| m.sign_with_rng(&cctx, &comm, &mut rng);
        if joint.is_some() {
            // The ceremony is over: derive and check this trustee's key share.
            let keys: Vec<PublicKey> = regs
                .iter()
                .copied()
                .collect::<Option<_>>()
                .context("registrations")?;
            let outcome = resolve_ceremony(
                &cctx,
                &hanpyo_crypto::threshold::CeremonyTranscript {
                    params,
                    trustee_keys: &keys,
                    digests: &digests,
                    commitments: &commitments,
                    shares: &shares,
                    complaints: &complaints,
                },
            )?;
            let coeffs: Vec<[u8; 32]> = secrets
                .coefficients
                .as_ref()
                .context("this key file never dealt in this ceremony")?
                .iter()
                .map(|h| Ok(scalar(h)?.to_bytes()))
                .collect::<Result<_>>()?;
            let dealer = Dealer::from_secret_coefficients(params, i, &coeffs)?;
            let share =
                KeyShare::from_transcript(&cctx, &dealer, &comm, &commitments, &shares, &outcome)?;
            secrets.key_share = Some(hex::encode(*share.secret_bytes()));
            seal(&s.key, &pass, &secrets)?;
            println!(
                "ceremony complete: dealers {:?} qualified{}; joint key {}; my key share matches my verification key",
                outcome.qualified,
                if outcome.disqualified.is_empty() {
                    String::new()
                } else {
                    format!(", left out {:?}", outcome.disqualified)
                },
                hex::encode(outcome.joint_key.element().as_bytes())
            );
            return Ok(ExitCode::SUCCESS);
        }
        let dealer = match &secrets.coefficients {
            Some(c) => {
                let c: Vec<[u8; 32]> = c
                    .iter()
                    .map(|h| Ok(scalar(h)?.to_bytes()))
                    .collect::<Result<_>>()?;
                Some(Dealer::from_secret_coefficients(params, i, &c)?)
            }
            None => None,
        };
        let mut acted = false;
        if regs[me].is_none() {
            let proof = SchnorrProof::prove_with_rng(
                labels::TRUSTEE_KEY,
                &cctx.at(i, NO_POSITION),
                comm.as_scalar(),
                comm.public_key().element(),
                &[],
                &mut hanpyo_crypto::os_rng(),
            );
            seal(&s.key, &pass, &secrets)?;
            post_step(
                &client,
                &token,
                &Entry::TrusteeRegistration {
                    index: i,
                    key: comm.public_key(),
                    proof,
                },
            )?;
            println!("registered as trustee {i}");
            acted = true;
        } else if regs.iter().all(Option::is_some) && digests[me].is_none() {
            // Seal the polynomial before publishing anything about it.
            let d = match dealer {
                Some(d) => d,
                None => {
                    let d = Dealer::new_with_rng(params, i, &mut hanpyo_crypto::os_rng())?;
                    secrets.coefficients =
                        Some(d.secret_coefficients().iter().map(hex::encode).collect());
                    seal(&s.key, &pass, &secrets)?;
                    d
                }
            };
            let c = d.commitment_with_rng(&cctx, &mut hanpyo_crypto::os_rng());
            let digest = c.digest(&cctx);
            // The signed commitment itself (same polynomial; fresh proofs would change the digest)
            // is kept beside the key file before the digest goes out.
            std::fs::write(
                s.key.with_extension("commitment"),
                sign(CeremonyMessage::Commitment(c)).encode(),
            )?;
            post_step(
                &client,
                &token,
                &sign(CeremonyMessage::Digest { dealer: i, digest }),
            )?;
            println!("published my commitment digest");
            acted = true;
        } else if digests[me].is_some()
            && (digests.iter().all(Option::is_some) || digests_closed(&client)?)
            && !commitments.iter().any(|c| c.dealer == i)
        {
            // Every digest is public — or the administrator closed the round without the missing
            // ones (their dealers are left out).
            let bytes = std::fs::read(s.key.with_extension("commitment"))
                .context("the commitment kept with the key file")?;
            let shapes = Shapes::of(m);
            let e = Entry::decode(&bytes, Some(&shapes))?;
            post_step(&client, &token, &e)?;
            println!("revealed my commitments");
            acted = true;
        } else if commitments.iter().any(|c| c.dealer == i) {
            let d = dealer.context("no polynomial in the key file")?;
            let sent: HashSet<u32> = shares
                .iter()
                .filter(|x| x.dealer == i)
                .map(|x| x.recipient)
                .collect();
            for j in (1..=n as u32).filter(|&j| j != i && !sent.contains(&j)) {
                let pk = regs[(j - 1) as usize].context("registration")?;
                let sh = d.encrypted_share_with_rng(&cctx, j, &pk, &mut hanpyo_crypto::os_rng())?;
                post_step(&client, &token, &sign(CeremonyMessage::Share(sh)))?;
                println!("sent my share to trustee {j}");
                acted = true;
            }
            // Check every share addressed to me as soon as it is public; complain at once.
            let mut valid = vec![i];
            for sh in shares.iter().filter(|x| x.recipient == i) {
                let c = commitments
                    .iter()
                    .find(|c| c.dealer == sh.dealer)
                    .context("a share without its dealer's commitment")?;
                let accused = complaints
                    .iter()
                    .any(|k| k.accuser == i && k.accused == sh.dealer);
                match sh.open(&cctx, &comm, c) {
                    Ok(_) if !accused => valid.push(sh.dealer),
                    Ok(_) => {}
                    Err(why) if !accused => {
                        let k =
                            Complaint::new_with_rng(&cctx, &comm, sh, &mut hanpyo_crypto::os_rng());
                        post_step(&client, &token, &sign(CeremonyMessage::Complaint(k)))?;
                        println!(
                            "COMPLAINT: trustee {}'s share to me is bad ({why}); published with proof",
                            sh.dealer
                        );
                        acted = true;
                    }
                    Err(_) => {}
                }
            }
            valid.sort_unstable();
            // Dealers that revealed commitments but whose share to me has not come yet.
            let missing: Vec<u32> = commitments
                .iter()
                .map(|c| c.dealer)
                .filter(|&d| d != i && !shares.iter().any(|x| x.dealer == d && x.recipient == i))
                .collect();
            let grew = valid.len() > confirmed.len() && confirmed.iter().all(|d| valid.contains(d));
            let waited = *waiting_since.get_or_insert_with(Instant::now)
                + Duration::from_secs(s.share_wait)
                < Instant::now();
            if grew && (missing.is_empty() || waited) {
                post_step(
                    &client,
                    &token,
                    &sign(CeremonyMessage::Confirmation {
                        trustee: i,
                        dealers: valid.clone(),
                    }),
                )?;
                println!(
                    "confirmed: the shares I hold from dealers {valid:?} check out{}",
                    if missing.is_empty() {
                        String::new()
                    } else {
                        format!(" (none yet from {missing:?})")
                    }
                );
                waiting_since = None;
                acted = true;
            } else if !acted {
                if missing.is_empty() {
                    println!(
                        "all shares checked; waiting for the administrator to finish the ceremony"
                    );
                } else {
                    println!("waiting for shares from dealers {missing:?}");
                }
            }
        }
        if Instant::now() > deadline {
            println!(
                "stopping: run again later to continue (every secret is sealed in the key file)"
            );
            return Ok(ExitCode::from(1));
        }
        if !acted {
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

struct Item<'a> {
    ballot: &'a Ballot,
    ctx: &'a hanpyo_crypto::transcript::ProofContext,
    pk: &'a PublicKey,
    specs: &'a [hanpyo_crypto::ballot::ContestSpec],
}

impl Verifiable for Item<'_> {
    fn queue(
        &self,
        batch: &mut BatchVerifier,
    ) -> std::result::Result<(), hanpyo_crypto::ProofError> {
        self.ballot.queue(self.ctx, self.pk, self.specs, batch)
    }
}

/// This trustee's key share, from its sealed key file (asks for the passphrase).
fn key_share(s: &Session) -> Result<KeyShare> {
    let pass = crate::sealed::passphrase(s.passphrase_file.as_deref(), false)?;
    let secrets = unseal(&s.key, &pass)?;
    Ok(KeyShare::from_parts(
        s.index,
        scalar(
            secrets
                .key_share
                .as_deref()
                .context("no key share: run the ceremony first")?,
        )?,
    ))
}

fn decrypt(s: &Session) -> Result<ExitCode> {
    let share = key_share(s)?;
    let token = token_of(&s.token)?;
    let client = client_for(&s.url, &token)?;
    let deadline = Instant::now() + Duration::from_secs(s.wait);
    loop {
        let board = fetch(&client)?;
        let m = &board.manifest;
        let shapes = Shapes::of(m);
        let mut pk = None;
        let mut ys = Vec::new();
        let mut credentials: Vec<[u8; 32]> = Vec::new();
        let mut last: std::collections::HashMap<[u8; 32], usize> = Default::default();
        let mut tally_entry = None;
        for (k, e) in board.entries.iter().enumerate() {
            match e {
                Entry::JointKey {
                    key,
                    verification_keys,
                    ..
                } => {
                    pk = Some(*key);
                    ys = verification_keys.clone();
                }
                Entry::CredentialList(l) => credentials.extend(l.iter().map(|c| *c.as_bytes())),
                Entry::Ballot(b) => {
                    last.insert(*b.credential.as_bytes(), k);
                }
                Entry::EncryptedTally { counted, tally } => {
                    tally_entry = Some((*counted, tally.clone()))
                }
                _ => {}
            }
        }
        let Some((counted, published)) = tally_entry else {
            if Instant::now() > deadline {
                println!("no tally published yet; run again later");
                return Ok(ExitCode::from(1));
            }
            std::thread::sleep(Duration::from_millis(500));
            continue;
        };
        let pk = pk.context("no joint key")?;
        let ctx = election_context(&leaf_hash(&board.manifest_entry), &pk);
        credentials.sort_unstable();
        // Recompute the tally: every counted ballot eligible and valid, summed by this trustee.
        let mut counted_ballots: Vec<&Ballot> = Vec::new();
        for (cred, &k) in &last {
            if credentials.binary_search(cred).is_err() {
                bail!("the board counts a ballot with an unlisted credential: refusing to decrypt");
            }
            if let Entry::Ballot(b) = &board.entries[k] {
                counted_ballots.push(b);
            }
        }
        let items: Vec<Item<'_>> = counted_ballots
            .iter()
            .map(|b| Item {
                ballot: b,
                ctx: &ctx,
                pk: &pk,
                specs: &shapes.specs,
            })
            .collect();
        if let Err(e) = hanpyo_crypto::batch::verify_batch(&items) {
            bail!("the board holds invalid ballots ({e}): refusing to decrypt");
        }
        let mut sums = RunningTally::new(&shapes.specs);
        for b in &counted_ballots {
            sums.add(&b.ciphertexts());
        }
        let mine = sums.ciphertexts();
        if mine != published || counted != counted_ballots.len() as u64 {
            bail!("the published tally is not the sum of the counted ballots: refusing to decrypt");
        }
        let y = ys
            .get((s.index - 1) as usize)
            .context("no verification key for this trustee")?;
        let entry =
            partial_decryption_with_rng(&ctx, &share, y, &mine, &mut hanpyo_crypto::os_rng());
        let posted = board
            .entries
            .iter()
            .any(|e| matches!(e, Entry::PartialDecryption { trustee, .. } if *trustee == s.index));
        if posted {
            println!("my partial decryption of the tally is on the board");
        } else {
            post(&client, &token, &entry)?;
            println!(
                "recomputed the tally from {} counted ballots (it matches the published one) and published my partial decryption",
                counted_ballots.len()
            );
        }
        return mix::decrypt_rows(&client, &token, &share, deadline);
    }
}
