//! `hanpyo mirror --url URL --dir DIR [--listen ADDR] [--once]`: a full copy of a server's log, kept
//! by anyone (a party, a university, the press). It follows the log through its tiles
//! (`/checkpoint`, `/tile/entries/…`), checks every checkpoint it takes against the entries it
//! holds (a rewritten, forked or rolled-back history is an alert, and nothing of it is stored),
//! verifies the election with the same verifier as `hanpyo verify`, and can serve what it holds:
//! the tiles, and the record files `hanpyo download` and `hanpyo verify` use.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use hanpyo_ledger::checkpoint::{Checkpoint, NoteVerifier, SignedNote};
use hanpyo_ledger::export::parse_checkpoints;
use hanpyo_ledger::mirror::{Mirror, split_frames};
use hanpyo_ledger::tiles::{TILE_WIDTH, entries_path};
use hanpyo_record::entry::Entry;
use hanpyo_record::manifest::LedgerInfo;

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
    /// Serve what the mirror holds at this address: `/checkpoint`, `/tile/…`, and
    /// `/api/v1/record/{entries,checkpoint,checkpoints}` for `hanpyo download`.
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
fn catch_up(client: &Client, mirror: &Mutex<Mirror>, trust: Option<&LedgerInfo>) -> Result<u64> {
    let latest = String::from_utf8(client.get_ok("/checkpoint")?).context("checkpoint")?;
    let latest_size = Checkpoint::parse_body(&SignedNote::parse(&latest)?.body)?.size;
    let held = lock(mirror).size();
    let verifier = log_verifier(client, &lock(mirror), trust)?;
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
        lock(mirror).advance(&earlier, &note, &verifier, &entries)?;
        got += entries.len() as u64;
        earlier.clear();
        from = size;
    }
    Ok(got)
}

fn lock(m: &Mutex<Mirror>) -> std::sync::MutexGuard<'_, Mirror> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Verifies the mirror's record; answers the failures that are alerts (an election still under
/// way lacks its tally and result: that is not one).
fn verify(mirror: &Mutex<Mirror>, trust: Option<&LedgerInfo>) -> Result<Vec<String>> {
    let dir = lock(mirror).dir().to_path_buf();
    let report = hanpyo_record::verify::verify_record(
        &dir,
        &hanpyo_record::verify::Options {
            log_key: None,
            trust: trust.cloned(),
        },
    )?;
    let finished = report.summary.result.is_some();
    Ok(report
        .failures
        .iter()
        .filter(|f| finished || f.what != "completeness")
        .map(|f| {
            let at = f.entry.map(|i| format!("entry {i}: ")).unwrap_or_default();
            format!("{at}{}: {}", f.what, f.why)
        })
        .collect())
}

pub fn run(args: &Args) -> Result<ExitCode> {
    crate::serve::init_logging();
    let client = Client::new(&args.url);
    let mirror = Arc::new(Mutex::new(Mirror::open(&args.dir)?));
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
        let m = mirror.clone();
        std::thread::spawn(move || serve(listener, m));
    }
    let mut alerts = 0u64;
    loop {
        let started = std::time::Instant::now();
        match catch_up(&client, &mirror, trust.as_ref()) {
            Ok(n) => {
                let size = lock(&mirror).size();
                let rate = n as f64 / started.elapsed().as_secs_f64().max(1e-9);
                println!("mirror: {size} entries ({n} new, {rate:.0} entries/s)");
                if n > 0 || args.once {
                    for failure in verify(&mirror, trust.as_ref())? {
                        alerts += 1;
                        eprintln!("ALERT: the record does not verify: {failure}");
                    }
                }
            }
            Err(e) => {
                // The log showed something the mirror refused (or could not be read): the mirror
                // keeps its last good state and says so loudly.
                alerts += 1;
                eprintln!("ALERT: {e:#}");
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

/// Serves the mirror's tiles and record files.
fn serve(listener: std::net::TcpListener, mirror: Arc<Mutex<Mirror>>) -> Result<()> {
    use axum::extract::{Path, Query};
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    use axum::routing::get;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let not_found = || (StatusCode::NOT_FOUND, "not found\n").into_response();
    let m1 = mirror.clone();
    let checkpoint = move || {
        let m = m1.clone();
        async move {
            match lock(&m).checkpoint() {
                Some(c) => (
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    c.to_string(),
                )
                    .into_response(),
                None => (StatusCode::NOT_FOUND, "no checkpoint yet\n").into_response(),
            }
        }
    };
    let m2 = mirror.clone();
    let tile = move |Path(path): Path<String>| {
        let m = m2.clone();
        async move {
            // Only well-formed tile paths, so nothing outside the tile tree can be named.
            let level0 = path.strip_prefix("entries/").map(|r| format!("tile/0/{r}"));
            let check = level0.unwrap_or_else(|| format!("tile/{path}"));
            if hanpyo_ledger::tiles::parse_tile_path(&check).is_none() {
                return not_found();
            }
            let file = lock(&m).dir().join("tile").join(&path);
            match std::fs::read(file) {
                Ok(b) => (
                    [
                        (header::CONTENT_TYPE, "application/octet-stream"),
                        (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                    ],
                    b,
                )
                    .into_response(),
                Err(_) => not_found(),
            }
        }
    };
    let m3 = mirror.clone();
    let record =
        move |Path(file): Path<String>,
              Query(q): Query<std::collections::HashMap<String, String>>| {
            let m = m3.clone();
            async move {
                let m = lock(&m);
                if q.get("size")
                    .is_some_and(|s| s.parse::<u64>().ok() != Some(m.size()))
                {
                    return (
                        StatusCode::NOT_FOUND,
                        "this mirror holds only its latest checkpoint\n",
                    )
                        .into_response();
                }
                let bytes = match file.as_str() {
                    "checkpoint" => m.checkpoint().map(|c| c.as_bytes().to_vec()),
                    "entries" => std::fs::read(m.dir().join("entries")).ok().map(|mut b| {
                        b.truncate(m.entries_len() as usize);
                        b
                    }),
                    "checkpoints" => {
                        Some(std::fs::read(m.dir().join("checkpoints")).unwrap_or_default())
                    }
                    _ => None,
                };
                match bytes {
                    Some(b) => {
                        ([(header::CONTENT_TYPE, "application/octet-stream")], b).into_response()
                    }
                    None => not_found(),
                }
            }
        };
    let app = axum::Router::new()
        .route("/checkpoint", get(checkpoint.clone()))
        .route("/api/v1/board/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
        .route("/api/v1/record/{file}", get(record));
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, app).await
    })?;
    Ok(())
}
