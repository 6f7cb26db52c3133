//! The operator's and issuers' commands: register, issue (single and CSV), revoke, status lists.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use hanpyo_certs::bundle::Bundle;
use hanpyo_certs::status_list::LIST_BITS;
use hanpyo_certs::{did, directory, issue, template};

use super::{now, open};

/// `hanpyo cert register-issuer`.
#[derive(Args, Debug)]
pub struct RegisterArgs {
    /// The registry's directory.
    #[arg(long)]
    pub data: PathBuf,
    /// The issuer's DID (`did:key:z6Mk…`, from `hanpyo cert key`).
    #[arg(long)]
    pub issuer: String,
    /// The organisation's name.
    #[arg(long)]
    pub name: String,
    /// The document types it may issue, comma-separated (`hanpyo cert templates`).
    #[arg(long, value_delimiter = ',', required = true)]
    pub types: Vec<String>,
}

/// `hanpyo cert issue`.
#[derive(Args, Debug)]
pub struct IssueArgs {
    /// The registry's directory.
    #[arg(long)]
    pub data: PathBuf,
    /// The issuer's key file.
    #[arg(long)]
    pub key: PathBuf,
    /// The document type.
    #[arg(long = "type")]
    pub doc_type: String,
    /// A field, `name=value` (repeat); or use --csv.
    #[arg(long = "field", value_name = "NAME=VALUE", conflicts_with = "csv")]
    pub fields: Vec<String>,
    /// Bulk: a CSV file with a header row of field names (and optionally `holder`, a DID);
    /// one certificate per row, written to --out as a directory.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// The holder's DID (binds presentations to the holder's key).
    #[arg(long)]
    pub holder: Option<String>,
    /// Valid until (`YYYY-MM-DD`, end of day UTC); default the type's validity.
    #[arg(long)]
    pub valid_until: Option<String>,
    /// The certificate file to write (a directory with --csv).
    #[arg(long)]
    pub out: PathBuf,
}

/// `hanpyo cert revoke`.
#[derive(Args, Debug)]
pub struct RevokeArgs {
    /// The registry's directory.
    #[arg(long)]
    pub data: PathBuf,
    /// The issuer's key file.
    #[arg(long)]
    pub key: PathBuf,
    /// The certificate file to revoke.
    #[arg(long, conflicts_with = "index", required_unless_present = "index")]
    pub certificate: Option<PathBuf>,
    /// Or its status index.
    #[arg(long)]
    pub index: Option<u64>,
    /// Why: issued-in-error, superseded, withdrawn, holder-request, fraud.
    #[arg(long)]
    pub reason: String,
}

/// `hanpyo cert status-list`.
#[derive(Args, Debug)]
pub struct StatusListArgs {
    /// The registry's directory.
    #[arg(long)]
    pub data: PathBuf,
    /// The issuer's key file.
    #[arg(long)]
    pub key: PathBuf,
    /// Which list (each holds 131,072 certificates).
    #[arg(long, default_value_t = 0)]
    pub list: u64,
    /// Where to write it.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn register(a: &RegisterArgs) -> Result<ExitCode> {
    let mut log = open(&a.data)?;
    let key = did::parse_did_key(&a.issuer).context("--issuer")?;
    let operator = directory::read_key(&a.data.join("operator.key"))?;
    let entry = issue::approve_issuer(&operator, &key, &a.name, &a.types, now())?;
    let ev = log.append(&[entry], now())?;
    println!(
        "registered {} ({}) for {} at log index {}",
        a.name,
        a.issuer,
        a.types.join(", "),
        ev[0].receipt.index
    );
    Ok(ExitCode::SUCCESS)
}

fn parse_date_end(s: &str) -> Result<u64> {
    hanpyo_certs::parse_datetime(&format!("{s}T23:59:59Z"))
        .with_context(|| format!("--valid-until {s}: a date YYYY-MM-DD"))
}

fn holder(s: Option<&str>) -> Result<Option<ed25519_dalek::VerifyingKey>> {
    s.filter(|s| !s.is_empty())
        .map(|d| did::parse_did_key(d).with_context(|| format!("holder {d}")))
        .transpose()
}

fn read_csv(path: &std::path::Path) -> Result<Vec<BTreeMap<String, String>>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    template::rows_from_csv(&bytes).with_context(|| path.display().to_string())
}

pub fn issue(a: &IssueArgs) -> Result<ExitCode> {
    let t = template::find(&a.doc_type).with_context(|| {
        format!(
            "--type {}: not a document type (hanpyo cert templates)",
            a.doc_type
        )
    })?;
    let mut log = open(&a.data)?;
    let key = directory::read_key(&a.key)?;
    let valid_until = a.valid_until.as_deref().map(parse_date_end).transpose()?;
    let rows: Vec<(
        BTreeMap<String, String>,
        Option<ed25519_dalek::VerifyingKey>,
    )> = match &a.csv {
        None => {
            let mut values = BTreeMap::new();
            for f in &a.fields {
                let (k, v) = f
                    .split_once('=')
                    .with_context(|| format!("--field {f}: NAME=VALUE"))?;
                if values.insert(k.to_string(), v.to_string()).is_some() {
                    bail!("--field {k} given twice");
                }
            }
            vec![(values, holder(a.holder.as_deref())?)]
        }
        Some(csv) => read_csv(csv)?
            .into_iter()
            .enumerate()
            .map(|(i, mut row)| {
                let h = row.remove("holder");
                let h = holder(h.as_deref().or(a.holder.as_deref()))
                    .with_context(|| format!("row {}", i + 2))?;
                Ok((row, h))
            })
            .collect::<Result<_>>()?,
    };
    let batch: Vec<_> = rows.into_iter().map(|(v, h)| (&t, v, h)).collect();
    let bundles = log
        .issue(
            &mut hanpyo_crypto::os_rng(),
            &key,
            &batch,
            now(),
            valid_until,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("issuing {}", t.id))?;
    write_bundles(a, &bundles)?;
    Ok(ExitCode::SUCCESS)
}

fn write_bundles(a: &IssueArgs, bundles: &[Bundle]) -> Result<()> {
    if a.csv.is_some() {
        std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
        for (i, b) in bundles.iter().enumerate() {
            let path = a.out.join(format!("{}-{:06}.json", b.doc_type, i + 1));
            std::fs::write(&path, b.to_json())
                .with_context(|| format!("writing {}", path.display()))?;
        }
        println!(
            "issued {} {} certificates into {}",
            bundles.len(),
            a.doc_type,
            a.out.display()
        );
    } else if let Some(b) = bundles.first() {
        std::fs::write(&a.out, b.to_json())
            .with_context(|| format!("writing {}", a.out.display()))?;
        println!(
            "issued {} at log index {} (status index {}) to {}",
            b.doc_type,
            b.issuance.receipt.index,
            b.issuance.entry["statusIndex"],
            a.out.display()
        );
    }
    Ok(())
}

pub fn revoke(a: &RevokeArgs) -> Result<ExitCode> {
    let mut log = open(&a.data)?;
    let key = directory::read_key(&a.key)?;
    let index = match (&a.certificate, a.index) {
        (Some(path), _) => {
            let b = Bundle::parse(
                &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
            )?;
            if b.issuance.entry["issuer"] != serde_json::json!(did::did_key(&key.verifying_key())) {
                bail!("{} was not issued with this key", path.display());
            }
            // The file's status index is believed only once the file is shown to be this log's
            // certificate (its commitment ties the credential to the issuance entry): a holder
            // asking for a revocation cannot point it at someone else's index. It is checked as
            // of its issuance, so an expired certificate can still be revoked.
            let issued = b.issuance.entry["issued"]
                .as_str()
                .and_then(hanpyo_certs::parse_datetime)
                .context("the certificate's issuance has no time")?;
            let unstapled = Bundle {
                status: None,
                ..b.clone()
            };
            let opts = hanpyo_certs::verify::Options {
                now: issued,
                trust: Some(log.anchors().clone()),
                allow_unchecked_status: true,
                ..Default::default()
            };
            if let Err(r) = hanpyo_certs::verify::verify(&unstapled, &opts) {
                bail!(
                    "{} is not a certificate of this registry: {r}",
                    path.display()
                );
            }
            b.issuance.entry["statusIndex"]
                .as_u64()
                .context("the certificate has no status index")?
        }
        (None, Some(i)) => i,
        (None, None) => bail!("--certificate or --index"),
    };
    let entry = issue::revoke(&key, index, &a.reason, now())?;
    let ev = log
        .append(&[entry], now())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "revoked status index {index} ({}) at log index {}",
        a.reason, ev[0].receipt.index
    );
    Ok(ExitCode::SUCCESS)
}

pub fn status_list(a: &StatusListArgs) -> Result<ExitCode> {
    let log = open(&a.data)?;
    let key = directory::read_key(&a.key)?;
    let list = log
        .status_list(&key, a.list, now())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::write(&a.out, serde_json::to_string_pretty(&list)?)
        .with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "status list {} (indexes {}..{}) written to {}",
        a.list,
        a.list * LIST_BITS,
        (a.list + 1) * LIST_BITS,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
