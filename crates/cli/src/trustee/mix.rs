//! A trustee's steps in the mix-net of ranked questions (docs/protocol.md §3.6): check every
//! shuffle and decryption on the board, shuffle in turn, then decrypt the mixed rows.
use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hanpyo_crypto::elgamal::PublicKey;
use hanpyo_crypto::group::Element;
use hanpyo_crypto::threshold::KeyShare;
use hanpyo_crypto::transcript::ProofContext;
use hanpyo_ledger::merkle::leaf_hash;
use hanpyo_record::context::election_context;
use hanpyo_record::entry::Entry;
use hanpyo_record::mixing::{
    Mix, MixKeys, Rows, ballot_decryption_entries_with_rng, shuffle_entries_with_rng,
};

use super::{Board, Session, client_for, fetch, key_share, token_of};
use crate::http::Client;

/// The board's mix-net, every shuffle and decryption on it checked.
pub(super) struct BoardMix {
    pub mix: Mix,
    pub ctx: ProofContext,
    pub pk: PublicKey,
    pub ys: Vec<Element>,
    pub threshold: u32,
}

/// The mix-net as the board holds it: `None` before the tally or without ranked questions.
pub(super) fn board_mix(board: &Board) -> Result<Option<BoardMix>> {
    let rows = Rows::of(&board.manifest);
    if !rows.any() {
        return Ok(None);
    }
    let threshold = board.manifest.threshold;
    let mut keys = None;
    let mut listed: std::collections::HashSet<[u8; 32]> = Default::default();
    let mut last: HashMap<[u8; 32], usize> = HashMap::new();
    let mut mix: Option<BoardMix> = None;
    for (k, e) in board.entries.iter().enumerate() {
        match e {
            Entry::JointKey {
                key,
                verification_keys,
                ..
            } => keys = Some((*key, verification_keys.clone())),
            Entry::CredentialList(l) => listed.extend(l.iter().map(|c| *c.as_bytes())),
            // Each listed credential's last ballot counts (the same rows the server and the
            // verifier take; `decrypt` also checks every ballot's proofs before it decrypts).
            Entry::Ballot(b) if listed.contains(b.credential.as_bytes()) => {
                last.insert(*b.credential.as_bytes(), k);
            }
            Entry::EncryptedTally { counted: n, .. } => {
                let (pk, ys) = keys.clone().context("a tally before the joint key")?;
                let mut counted: Vec<usize> = last.values().copied().collect();
                counted.sort_unstable();
                let initial = counted
                    .iter()
                    .filter_map(|&i| match &board.entries[i] {
                        Entry::Ballot(b) => Some(rows.of_ballot(b)),
                        _ => None,
                    })
                    .collect::<Vec<_>>();
                if initial.len() as u64 != *n {
                    bail!(
                        "the board counts {n} ballots but holds {} listed credentials' last ballots: refusing to shuffle",
                        initial.len()
                    );
                }
                let ctx = election_context(&leaf_hash(&board.manifest_entry), &pk);
                mix = Some(BoardMix {
                    mix: Mix::new(rows.clone(), initial, leaf_hash(&e.encode())),
                    ctx,
                    pk,
                    ys,
                    threshold,
                });
            }
            Entry::Shuffle(_) | Entry::BallotDecryption(_) => {
                let m = mix.as_mut().context("a mix-net entry before the tally")?;
                let ys = m.ys.clone();
                let y = move |j: u32| ys.get((j as usize).wrapping_sub(1)).copied();
                let keys = MixKeys {
                    ctx: &m.ctx,
                    pk: &m.pk,
                    verification_key: &y,
                    threshold: m.threshold,
                };
                if let Err(why) = m.mix.take(e, Some(&keys)) {
                    bail!("the board's mix-net entry {k} is wrong ({why}): refusing to go on");
                }
            }
            _ => {}
        }
    }
    Ok(mix)
}

/// Posts a payload's parts in order (the server commits them together with the last).
fn post_parts(client: &Client, token: &str, entries: &[Entry]) -> Result<()> {
    for e in entries {
        super::post(client, token, e)?;
    }
    Ok(())
}

/// `hanpyo trustee shuffle`: waits for the tally, checks every earlier shuffle, then shuffles the
/// ranked rows and posts the shuffle with its proof, signed with the key share (so nobody else can
/// shuffle in this trustee's name). Run again, it finds its shuffle on the board and stops.
pub(super) fn shuffle(s: &Session) -> Result<ExitCode> {
    let token = token_of(&s.token)?;
    let client = client_for(&s.url, &token)?;
    let deadline = Instant::now() + Duration::from_secs(s.wait);
    loop {
        let board = fetch(&client)?;
        if Rows::of(&board.manifest).questions.is_empty() {
            println!("this election has no ranked question: nothing to shuffle");
            return Ok(ExitCode::SUCCESS);
        }
        let Some(m) = board_mix(&board)? else {
            if Instant::now() > deadline {
                println!("no tally published yet; run again later");
                return Ok(ExitCode::from(1));
            }
            std::thread::sleep(Duration::from_millis(500));
            continue;
        };
        if m.mix.shufflers.contains(&s.index) {
            println!(
                "my shuffle is on the board (shuffle {} of {})",
                position(&m, s.index),
                m.mix.shufflers.len()
            );
            return Ok(ExitCode::SUCCESS);
        }
        if !m.mix.decryptions.is_empty() {
            bail!("the mixed rows are being decrypted: shuffling is over");
        }
        if m.mix.current.is_empty() {
            println!("no ballot was counted: nothing to shuffle");
            return Ok(ExitCode::SUCCESS);
        }
        let y = *m
            .ys
            .get((s.index as usize).wrapping_sub(1))
            .context("no verification key for this trustee")?;
        // The key file is opened only now that there is something to sign, and must be this
        // trustee's (else the server would refuse the whole shuffle once uploaded).
        let share = key_share(s)?;
        if share.verification_key() != y {
            bail!(
                "this key file's share is not trustee {}'s: check --key and --index",
                s.index
            );
        }
        let round = m.mix.shufflers.len() as u32;
        let started = Instant::now();
        let (parts, _) = shuffle_entries_with_rng(
            &m.ctx,
            &m.pk,
            &share,
            &y,
            round,
            &m.mix.current,
            &mut hanpyo_crypto::os_rng(),
        )?;
        let rows = m.mix.current.len();
        drop(m);
        post_parts(&client, &token, &parts)?;
        println!(
            "checked {round} earlier shuffle(s), shuffled {rows} ranked ballots and posted the proof ({} part(s), {:.1} s)",
            parts.len(),
            started.elapsed().as_secs_f64()
        );
        return Ok(ExitCode::SUCCESS);
    }
}

fn position(m: &BoardMix, trustee: u32) -> usize {
    m.mix
        .shufflers
        .iter()
        .position(|&t| t == trustee)
        .map_or(0, |p| p + 1)
}

/// After the tally's partial decryption: with ranked questions, waits for `t` shuffles and posts
/// this trustee's decryption shares of the mixed rows (once).
pub(super) fn decrypt_rows(
    client: &Client,
    token: &str,
    share: &KeyShare,
    deadline: Instant,
) -> Result<ExitCode> {
    loop {
        let board = fetch(client)?;
        let Some(m) = board_mix(&board)? else {
            return Ok(ExitCode::SUCCESS);
        };
        if m.mix.decryptions.iter().any(|(t, _)| *t == share.index()) {
            println!("my decryption of the mixed ranked ballots is on the board");
            return Ok(ExitCode::SUCCESS);
        }
        if m.mix.current.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
        if m.mix.shufflers.len() < m.threshold as usize {
            if Instant::now() > deadline {
                println!(
                    "{} of the {} shuffles of the ranked ballots are on the board; run again once the trustees have shuffled (hanpyo trustee shuffle)",
                    m.mix.shufflers.len(),
                    m.threshold
                );
                return Ok(ExitCode::from(1));
            }
            std::thread::sleep(Duration::from_millis(500));
            continue;
        }
        let y =
            m.ys.get((share.index() as usize).wrapping_sub(1))
                .context("no verification key for this trustee")?;
        let (parts, _) = ballot_decryption_entries_with_rng(
            &m.ctx,
            share,
            y,
            &m.mix.current,
            &mut hanpyo_crypto::os_rng(),
        );
        post_parts(client, token, &parts)?;
        println!(
            "checked the {} shuffles and published my decryption of the {} mixed ranked ballots",
            m.mix.shufflers.len(),
            m.mix.current.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
}
