//! `hanpyo mirror --url URL --dir DIR [--listen ADDR] [--once]`: a full copy of a server's log, kept
//! by anyone (a party, a university, the press). It follows the log through its tiles
//! (`/checkpoint`, `/tile/entries/…`), checks every checkpoint it takes against the entries it
//! holds (a rewritten, forked or rolled-back history is an alert, and nothing of it is stored),
//! verifies the election as it goes with the same verifier as `hanpyo verify` (each step checked
//! on from where the last stopped), and serves what it holds as the server does: the public board
//! (receipts, standing, search, consistency), the record files, the tiles, the check page and
//! `/metrics` (see `hanpyo_server::mirror`).
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use hanpyo_ledger::checkpoint::{Checkpoint, NoteVerifier, SignedNote};
use hanpyo_ledger::export::DirectoryRecord;
use hanpyo_ledger::export::parse_checkpoints;
use hanpyo_ledger::mirror::{Mirror, split_frames};
use hanpyo_ledger::tiles::{TILE_WIDTH, entries_path};
use hanpyo_record::entry::Entry;
use hanpyo_record::manifest::LedgerInfo;
use hanpyo_record::verify::{Options, Verification};
use hanpyo_server::mirror::{MirrorBoard, metrics};

use crate::http::Client;

/// Options of `hanpyo mirror`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The server (or another mirror) to follow.
    #[arg(long)]
    url: String,
    /// The mirror's directory (a record directory and a tile tree; created if absent).
    #[arg(long)]
    dir: PathBuf,
    /// Serve what the mirror holds at this address: the public board (`/api/v1/board/…`, so
    /// `hanpyo receipt verify --url` and the check page can use the mirror), the elections'
    /// description, the record files for `hanpyo download`, `/checkpoint` and `/tile/…`, the
    /// public pages and `/metrics`.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Catch up once, verify, and exit: 0 when all holds, 1 on any alert.
    #[arg(long)]
    once: bool,
    /// Seconds between two looks at the log.
    #[arg(long, default_value_t = 5)]
    interval: u64,
    /// A trust policy (docs/ledger.md) for the log's origin and key; by default they are taken
    /// from the log's first entry, the manifest (trust on first use).
    #[arg(long, value_name = "POLICY")]
    trust: Option<PathBuf>,
}

/// The log's key: the trust policy's, or the manifest's (the mirror's own first entry, or the
/// log's first entry bundle when the mirror is empty).
fn log_verifier(
    client: &Client,
    mirror: &Mirror,
    trust: Option<&LedgerInfo>,
) -> Result<NoteVerifier> {
    if let Some(t) = trust {
        return Ok(t.log_verifier()?);
    }
    let first = if mirror.size() > 0 {
        let bytes = std::fs::read(mirror.dir().join(hanpyo_ledger::export::ENTRIES_FILE))
            .context("the mirror's entries")?;
        let len = bytes
            .get(..4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes)
            .context("the mirror's entries")? as usize;
        split_frames(bytes.get(..4 + len).context("the mirror's first entry")?)?
    } else {
        split_frames(&client.get_ok(&format!("/{}", entries_path(0, 1)))?)?
    };
    let manifest_entry = first.first().context("the log is empty")?;
    match Entry::decode(manifest_entry, None)? {
        Entry::Manifest(m) => Ok(m.ledger.log_verifier()?),
        _ => bail!("the log's first entry is not a manifest"),
    }
}

/// Entries `from..to` of the log, from its entry bundles.
fn fetch_entries(client: &Client, from: u64, to: u64) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    if to <= from {
        return Ok(out);
    }
    for index in from / TILE_WIDTH..=(to - 1) / TILE_WIDTH {
        let start = index * TILE_WIDTH;
        let width = (to - start).min(TILE_WIDTH);
        let bundle = split_frames(&client.get_ok(&format!("/{}", entries_path(index, width)))?)?;
        if bundle.len() as u64 != width {
            bail!(
                "entry bundle {index}: {} entries, not {width}",
                bundle.len()
            );
        }
        let skip = from.saturating_sub(start) as usize;
        out.extend(bundle.into_iter().skip(skip));
    }
    Ok(out)
}

/// Takes every checkpoint the log shows beyond the mirror's: the earlier ones the server lists
/// (so each group of entries is checked against its own checkpoint, in bounded memory, and the
/// mirror's `checkpoints` file is the server's), then the latest. Answers how many entries came.
fn catch_up(client: &Client, board: &MirrorBoard, trust: Option<&LedgerInfo>) -> Result<u64> {
    let latest = String::from_utf8(client.get_ok("/checkpoint")?).context("checkpoint")?;
    let latest_size = Checkpoint::parse_body(&SignedNote::parse(&latest)?.body)?.size;
    let held = board.size();
    let verifier = board.with(|m| log_verifier(client, m, trust))?;
    let mut steps: Vec<String> = Vec::new();
    if latest_size > held {
        // A server lists its earlier checkpoints; a plain tile source does not (one big step).
        if let Ok(Ok(bytes)) = client.get(&format!("/api/v1/record/checkpoints?size={latest_size}"))
        {
            for note in parse_checkpoints(&bytes)? {
                let size = Checkpoint::parse_body(&SignedNote::parse(&note)?.body)?.size;
                if size > held && size < latest_size {
                    steps.push(note);
                }
            }
        }
    }
    let bar = crate::progress::bar("catching up", Some(latest_size.saturating_sub(held)));
    // Steps of at least STEP entries (fewer fsyncs); every checkpoint is still checked.
    const STEP: u64 = 4096;
    let mut got = 0;
    let mut earlier: Vec<String> = Vec::new();
    let mut from = held;
    for note in steps.into_iter().chain(std::iter::once(latest)) {
        let size = Checkpoint::parse_body(&SignedNote::parse(&note)?.body)?.size;
        if size < latest_size && size - from < STEP {
            earlier.push(note);
            continue;
        }
        let entries = fetch_entries(client, from, size)?;
        board.advance(&earlier, &note, &verifier, &entries)?;
        got += entries.len() as u64;
        bar.inc(entries.len() as u64);
        earlier.clear();
        from = size;
    }
    bar.finish_and_clear();
    Ok(got)
}

/// The mirror's running verification: each step reads on from where the last one stopped, and
/// only failures not reported before are new alerts.
struct Checker {
    verification: Verification,
    reported: std::collections::HashSet<String>,
}

impl Checker {
    fn new(trust: Option<&LedgerInfo>) -> Self {
        Self {
            verification: Verification::new(Options {
                log_key: None,
                trust: trust.cloned(),
            }),
            reported: std::collections::HashSet::new(),
        }
    }

    /// Checks the entries the mirror took since the last step; answers the new alerts (an
    /// election still under way lacks its tally and result: that is not one).
    fn step(&mut self, board: &MirrorBoard) -> Result<Vec<String>> {
        let (dir, size) = board.with(|m| (m.dir().to_path_buf(), m.size()));
        let (index, offset) = self.verification.position();
        if index < size {
            let mut source = DirectoryRecord::open_at(&dir, index, offset)?;
            let bar = crate::progress::bar("verifying", Some(size - index));
            self.verification
                .extend(&mut source, &mut |n| bar.set_position(n - index));
            bar.finish_and_clear();
        }
        let source = DirectoryRecord::open_at(&dir, index, offset)?;
        let report = self.verification.report(&source);
        let finished = report.summary.result.is_some();
        let mut alerts = Vec::new();
        for f in &report.failures {
            if !finished && f.what == "completeness" {
                continue;
            }
            let at = f.entry.map(|i| format!("entry {i}: ")).unwrap_or_default();
            let line = format!("{at}{}: {}", f.what, f.why);
            if self.reported.insert(line.clone()) {
                alerts.push(line);
            }
        }
        if report.more_failures > 0 {
            alerts.push(format!("{} more failures", report.more_failures));
        }
        Ok(alerts)
    }

    fn verified(&self) -> u64 {
        self.verification.position().0
    }
}

pub fn run(args: &Args) -> Result<ExitCode> {
    crate::serve::init_logging();
    let client = Client::new(&args.url);
    let board = Arc::new(MirrorBoard::open(&args.dir)?);
    let trust = match &args.trust {
        Some(p) => Some(LedgerInfo::parse_trust_policy(
            &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        )?),
        None => {
            eprintln!(
                "note: the log's key is taken from its manifest (trust on first use); pass --trust POLICY to pin it"
            );
            None
        }
    };
    if let Some(listen) = args.listen {
        let listener = std::net::TcpListener::bind(listen)
            .with_context(|| format!("listening on {listen}"))?;
        listener.set_nonblocking(true)?;
        println!("mirror: serving http://{}/", listener.local_addr()?);
        let app = hanpyo_server::mirror::router(board.clone());
        std::thread::spawn(move || -> Result<()> {
            crate::serve::runtime()?.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                hanpyo_server::connections::serve(listener, app, None, std::future::pending()).await
            })?;
            Ok(())
        });
    }
    let mut checker = Checker::new(trust.as_ref());
    let mut alerts = 0u64;
    let mut alert = |line: String| {
        alerts += 1;
        metrics::alert();
        eprintln!("ALERT: {line}");
    };
    // What the mirror already holds is checked once, then each step as it comes.
    let mut first = true;
    loop {
        let started = std::time::Instant::now();
        match catch_up(&client, &board, trust.as_ref()) {
            Ok(n) => {
                let size = board.size();
                let rate = n as f64 / started.elapsed().as_secs_f64().max(1e-9);
                println!("mirror: {size} entries ({n} new, {rate:.0} entries/s)");
                if n > 0 || first {
                    for line in checker.step(&board)? {
                        alert(format!("the record does not verify: {line}"));
                    }
                    println!("mirror: {} entries verified", checker.verified());
                }
                first = false;
                metrics::progress(size, checker.verified());
            }
            Err(e) => {
                // The log showed something the mirror refused (or could not be read): the mirror
                // keeps its last good state and says so loudly.
                alert(format!("{e:#}"));
            }
        }
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        if args.once {
            return Ok(if alerts == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        std::thread::sleep(std::time::Duration::from_secs(args.interval));
    }
}
