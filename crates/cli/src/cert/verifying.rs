//! Holders' and verifiers' commands: present, verify, audit.
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use hanpyo_certs::bundle::{Anchors, Bundle};
use hanpyo_certs::registry::Registry;
use hanpyo_certs::verify::{self, Challenge, Options, Status};
use hanpyo_certs::{directory, parse_datetime};
use hanpyo_ledger::checkpoint::{Checkpoint, SignedNote};
use hanpyo_ledger::store::LedgerReader;
use serde_json::{Map, Value, json};

/// `hanpyo cert present`.
#[derive(Args, Debug)]
pub struct PresentArgs {
    /// The certificate file.
    #[arg(long)]
    pub certificate: PathBuf,
    /// The holder's key file.
    #[arg(long)]
    pub key: PathBuf,
    /// Fields to disclose, comma-separated (SD-JWT certificates; the others are shown whole).
    #[arg(long, value_delimiter = ',')]
    pub disclose: Vec<String>,
    /// The verifier (its URL or name), as it asked.
    #[arg(long)]
    pub audience: String,
    /// The verifier's one-time nonce.
    #[arg(long)]
    pub nonce: String,
    /// Where to write the presentation.
    #[arg(long)]
    pub out: PathBuf,
}

/// `hanpyo cert verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The certificate (or presentation) file.
    pub file: PathBuf,
    /// The registry's trust anchors to pin (its trust.json); without it, the keys the
    /// certificate carries are used and the result says so.
    #[arg(long)]
    pub trust: Option<PathBuf>,
    /// A status list credential (file) to check revocation against; without it the issuer's
    /// list is fetched from its URL, and if that fails the copy stapled to the certificate is used.
    #[arg(long)]
    pub status: Option<PathBuf>,
    /// Do not fetch the status list (use --status or the stapled copy).
    #[arg(long)]
    pub offline: bool,
    /// Accept a certificate whose status cannot be checked (reported as unchecked).
    #[arg(long)]
    pub allow_unchecked_status: bool,
    /// Require a presentation made to this verifier (with --nonce).
    #[arg(long, requires = "nonce")]
    pub audience: Option<String>,
    /// The nonce the verifier gave the holder.
    #[arg(long, requires = "audience")]
    pub nonce: Option<String>,
    /// How old a presentation may be, in seconds.
    #[arg(long, default_value_t = 300)]
    pub max_age: u64,
    /// Verify as of this time (`YYYY-MM-DDTHH:MM:SSZ`) instead of now.
    #[arg(long)]
    pub at: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `hanpyo cert audit`.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["data", "url"])))]
pub struct AuditArgs {
    /// A registry's directory (its log is only read).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Or a server hosting a registry (`/api/v1/certs/…`).
    #[arg(long)]
    pub url: Option<String>,
    /// The registry's trust anchors to pin (its trust.json); default the directory's own, or
    /// the server's answer (reported as not pinned).
    #[arg(long)]
    pub trust: Option<PathBuf>,
    /// As JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn present(a: &PresentArgs) -> Result<ExitCode> {
    let b = read_bundle(&a.certificate)?;
    let key = directory::read_key(&a.key)?;
    let disclose: BTreeSet<String> = a
        .disclose
        .iter()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect();
    let offered = b.disclosable()?;
    if let Some(unknown) = disclose.iter().find(|d| !offered.contains(d)) {
        bail!(
            "--disclose {unknown}: the certificate's disclosable fields are {}",
            offered.join(", ")
        );
    }
    let shown = b.present(&key, &disclose, &a.audience, &a.nonce, super::now())?;
    std::fs::write(&a.out, shown.to_json())
        .with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "presentation for {} written to {}",
        a.audience,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn read_bundle(path: &std::path::Path) -> Result<Bundle> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Bundle::parse(&bytes)?)
}

/// A trust file (a registry's `trust.json`).
fn read_trust(path: &std::path::Path) -> Result<Anchors> {
    serde_json::from_value(Value::Object(read_json_object(path)?))
        .with_context(|| format!("{}: not a trust file", path.display()))
}

fn read_json_object(path: &std::path::Path) -> Result<Map<String, Value>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => bail!("{}: not a JSON object", path.display()),
    }
}

/// Fetches the certificate's status list from its URL (a short timeout; `None` if unreachable).
/// The status list's URL and what its server answered.
type Fetched = (String, Result<Map<String, Value>, String>);

fn fetch_status(b: &Bundle) -> Option<Fetched> {
    let url = match b.format {
        hanpyo_certs::template::Format::DataIntegrity => b
            .credential
            .as_ref()?
            .get("credentialStatus")?
            .get("statusListCredential")?
            .as_str()?
            .to_string(),
        hanpyo_certs::template::Format::SdJwt => {
            let jwt = b.sd_jwt.as_deref()?.split('~').next()?;
            let payload = jwt.split('.').nth(1)?;
            use base64::Engine;
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .ok()?;
            let v: Value = serde_json::from_slice(&bytes).ok()?;
            v.get("status")?
                .get("status_list")?
                .get("uri")?
                .as_str()?
                .to_string()
        }
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return None;
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(5)))
        .build()
        .into();
    let answer = agent.get(&url).call();
    let result = match answer {
        Err(ureq::Error::StatusCode(code)) => Err(format!("HTTP {code}")),
        Err(e) => {
            eprintln!(
                "status list {url} unreachable ({e}): using the copy stapled to the certificate"
            );
            return None;
        }
        Ok(mut resp) => resp
            .body_mut()
            .with_config()
            .limit(4 * 1024 * 1024)
            .read_json::<Map<String, Value>>()
            .map_err(|e| format!("not a status list: {e}")),
    };
    Some((url, result))
}

pub fn verify(a: &VerifyArgs) -> Result<ExitCode> {
    let bytes = std::fs::read(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let b = match Bundle::parse(&bytes) {
        Ok(b) => b,
        // Not a certificate: refused (exit 1), as any other file that does not verify.
        Err(e) => {
            return Ok(report(
                a,
                Err(verify::Refusal::Malformed(e.to_string())),
                "",
            ));
        }
    };
    let now = match &a.at {
        Some(t) => parse_datetime(t).with_context(|| format!("--at {t}: YYYY-MM-DDTHH:MM:SSZ"))?,
        None => super::now(),
    };
    let trust: Option<Anchors> = match &a.trust {
        Some(p) => Some(read_trust(p)?),
        None => None,
    };
    let mut opts = Options {
        now,
        trust,
        status: None,
        allow_unchecked_status: a.allow_unchecked_status,
        challenge: a
            .audience
            .as_ref()
            .zip(a.nonce.as_ref())
            .map(|(aud, nonce)| Challenge {
                audience: aud.clone(),
                nonce: nonce.clone(),
                max_age: a.max_age,
            }),
    };
    let mut source = "stapled to the certificate".to_string();
    match (&a.status, a.offline) {
        (Some(p), _) => {
            source = format!("from {}", p.display());
            opts.status = Some(read_json_object(p)?);
        }
        (None, true) => {}
        (None, false) => {
            // Everything else first: only a certificate that holds otherwise makes this verifier
            // contact the status list's address (which its issuer signed).
            // (The stapled copy set aside: an old one must not refuse what a fresh one may pass.)
            let unstapled = Bundle {
                status: None,
                ..b.clone()
            };
            let first = verify::verify(
                &unstapled,
                &Options {
                    allow_unchecked_status: true,
                    ..opts.clone()
                },
            );
            if first.is_err() {
                return Ok(report(a, first, &source));
            }
            match fetch_status(&b) {
                Some((url, Ok(list))) => {
                    source = format!("fetched from {url}");
                    opts.status = Some(list);
                }
                Some((url, Err(why))) => {
                    // The issuer's server answered, but not with a list: refused, rather than
                    // falling back to an older stapled copy.
                    let refusal = verify::Refusal::StatusUnavailable(format!("{url}: {why}"));
                    return Ok(report(a, Err(refusal), &source));
                }
                None => {}
            }
        }
    }
    Ok(report(a, verify::verify(&b, &opts), &source))
}

/// Text from a certificate as the terminal shows it: control characters (escape sequences)
/// written out, not obeyed.
fn shown(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn report(
    a: &VerifyArgs,
    result: Result<verify::Verified, verify::Refusal>,
    status_source: &str,
) -> ExitCode {
    match result {
        Ok(v) => {
            if a.json {
                let mut out = serde_json::to_value(&v).unwrap_or_default();
                out["valid"] = json!(true);
                out["statusSource"] = json!(status_source);
                println!("{out}");
            } else {
                println!("VALID: {} / {}", v.title_ko, v.title_en);
                println!("issuer: {} ({})", shown(&v.issuer_name), shown(&v.issuer));
                for (k, val) in &v.fields {
                    println!(
                        "  {}: {}",
                        shown(k),
                        shown(&val.as_str().map_or_else(|| val.to_string(), str::to_string))
                    );
                }
                println!(
                    "valid from {}{}",
                    v.valid_from,
                    v.valid_until
                        .as_ref()
                        .map(|u| format!(" until {u}"))
                        .unwrap_or_default()
                );
                match &v.status {
                    Status::Active { as_of } => {
                        println!("status: not revoked (list signed {as_of}, {status_source})")
                    }
                    Status::Unchecked => println!("status: NOT CHECKED (no status list)"),
                }
                println!(
                    "on the log {} at index {} (checkpoint size {}, witnessed)",
                    v.origin, v.log_index, v.checkpoint_size
                );
                if !v.trust_pinned {
                    println!(
                        "trust: the log keys the certificate carries (pin the registry's with --trust)"
                    );
                }
                if let Some(aud) = &v.presented_to {
                    println!("presented to {} by the holder", shown(aud));
                }
            }
            ExitCode::SUCCESS
        }
        Err(r) => {
            if a.json {
                println!(
                    "{}",
                    json!({"valid": false, "code": r.code(), "reason": r.to_string()})
                );
            } else {
                println!("REFUSED ({}): {}", r.code(), shown(&r.to_string()));
            }
            ExitCode::from(1)
        }
    }
}

/// The log's entries and its latest checkpoint, from a directory or a server.
fn audit_source(
    a: &AuditArgs,
    pinned: Option<&Anchors>,
) -> Result<(Vec<Vec<u8>>, String, Option<Anchors>)> {
    if let Some(dir) = &a.data {
        let reader = LedgerReader::open(&dir.join("certs.db"))
            .with_context(|| format!("reading {}", dir.display()))?;
        let note = reader
            .latest_checkpoint()?
            .context("the log has no checkpoint")?;
        let size = Checkpoint::parse_body(&SignedNote::parse(&note)?.body)?.size;
        let mut entries = Vec::new();
        while (entries.len() as u64) < size {
            let start = entries.len() as u64;
            entries.extend(reader.entries(start, (start + 1000).min(size))?);
        }
        let own: Option<Anchors> = std::fs::read(dir.join("trust.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        return Ok((entries, note, own));
    }
    let url = a.url.as_deref().unwrap_or_default().trim_end_matches('/');
    let client = crate::http::Client::new(url);
    let note = String::from_utf8(client.get_ok("/api/v1/certs/checkpoint")?)
        .context("the checkpoint is not text")?;
    let registry: Value = serde_json::from_slice(&client.get_ok("/api/v1/certs")?)?;
    let served: Option<Anchors> = serde_json::from_value(registry["trust"].clone()).ok();
    // The size the server claims is believed (and that many entries fetched) only from a
    // checkpoint the log's key signed.
    let anchors = pinned
        .or(served.as_ref())
        .context("no trust anchors: pass --trust")?;
    let signed = SignedNote::parse(&note)?;
    signed
        .verify(&anchors.verifiers()?.0)
        .context("the server's checkpoint is not signed by the log's key")?;
    let size = Checkpoint::parse_body(&signed.body)?.size;
    let mut entries = Vec::new();
    while (entries.len() as u64) < size {
        let start = entries.len() as u64;
        let page: Value = serde_json::from_slice(&client.get_ok(&format!(
            "/api/v1/certs/entries?start={start}&end={}",
            (start + 256).min(size)
        ))?)?;
        let list = page["entries"].as_array().context("no entries")?;
        if list.is_empty() {
            bail!("the server sent no entries from {start}");
        }
        for e in list {
            // The log's bytes are the entry's JCS form (docs/certs.md).
            entries.push(hanpyo_certs::jcs::canonical(&e["entry"])?);
        }
    }
    Ok((entries, note, served))
}

pub fn audit(a: &AuditArgs) -> Result<ExitCode> {
    let pinned: Option<Anchors> = match &a.trust {
        Some(p) => Some(read_trust(p)?),
        None => None,
    };
    let (entries, note, own) = audit_source(a, pinned.as_ref())?;
    let anchors = pinned
        .clone()
        .or(own)
        .context("no trust anchors: pass --trust")?;
    let mut problems = Vec::new();
    // The checkpoint: the log's signature, a quorum of witnesses, and the root of these entries.
    let (log, witnesses) = anchors.verifiers()?;
    let signed = SignedNote::parse(&note)?;
    if let Err(e) = signed.verify(&log) {
        problems.push(format!(
            "the checkpoint is not signed by the log's key: {e}"
        ));
    }
    let cosigned = witnesses
        .iter()
        .filter(|w| signed.verify(w).is_ok())
        .count();
    if cosigned < anchors.quorum {
        problems.push(format!(
            "{cosigned} witness cosignature(s), {} required",
            anchors.quorum
        ));
    }
    let cp = Checkpoint::parse_body(&signed.body)?;
    let leaves: Vec<_> = entries
        .iter()
        .map(|e| hanpyo_ledger::merkle::leaf_hash(e))
        .collect();
    if hanpyo_ledger::merkle::root_of(&leaves) != cp.root || cp.size != entries.len() as u64 {
        problems.push("the entries do not make the checkpoint's tree".into());
    }
    let r = match Registry::replay(&entries) {
        Ok(r) => Some(r),
        Err((at, e)) => {
            problems.push(format!("entry {at} breaks the log's rules: {e}"));
            None
        }
    };
    if r.as_ref()
        .and_then(|r| r.registry.as_ref())
        .is_some_and(|g| g.operator != anchors.operator)
    {
        problems
            .push("the log's registry entry names another operator than the trust anchors".into());
    }
    let issuers: Vec<Value> = r
        .iter()
        .flat_map(|r| r.issuers.iter())
        .map(|(did, s)| {
            json!({"issuer": did, "name": s.name, "types": s.types, "issued": s.issued,
                   "issuedTotal": s.next_index, "revoked": s.revoked.len(), "provenanceEvents": s.events})
        })
        .collect();
    let valid = problems.is_empty();
    if a.json {
        println!(
            "{}",
            json!({"valid": valid, "problems": problems, "entries": entries.len(), "checkpointSize": cp.size,
                   "witnesses": cosigned, "trustPinned": pinned.is_some(), "issuers": issuers,
                   "lots": r.as_ref().map_or(0, |r| r.lots.len())})
        );
    } else {
        if valid {
            println!(
                "VALID: {} entries obey the rules and make the checkpoint's tree, signed by the log and {cosigned} witness(es)",
                entries.len()
            );
        } else {
            for p in &problems {
                println!("INVALID: {p}");
            }
        }
        for i in &issuers {
            println!(
                "  {}: issued {} {}, revoked {}, provenance events {}",
                i["name"].as_str().unwrap_or_default(),
                i["issuedTotal"],
                i["issued"],
                i["revoked"],
                i["provenanceEvents"]
            );
        }
        if pinned.is_none() {
            println!("trust: the registry's own anchors (pin them with --trust)");
        }
    }
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
