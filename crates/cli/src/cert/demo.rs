//! The demo's certificate registry: an issuer per document type and four provenance parties,
//! each with its console account, and a lot of waste cooking oil from collection to export.
use std::path::Path;

use anyhow::{Result, anyhow};
use hanpyo_certs::entry::LotInput;
use hanpyo_certs::{directory, issue};
use hanpyo_server::accounts::{Accounts, Role, Scope};
use hanpyo_server::certs::{Certs, certs_dir};

/// The demo's issuers: account, name, the types it may issue.
pub const DEMO_ISSUERS: &[(&str, &str, &[&str])] = &[
    ("issuer-badge", "한국산업인력공단 (데모)", &["badge"]),
    (
        "issuer-notary",
        "대한공증인협회 (데모)",
        &["notarised-document"],
    ),
    (
        "issuer-drone",
        "한국교통안전공단 (데모)",
        &["drone-licence"],
    ),
    (
        "issuer-battery",
        "한국배터리시험원 (데모)",
        &["battery-certificate"],
    ),
    (
        "issuer-pension",
        "국민연금공단 (데모)",
        &["pension-receipt"],
    ),
    (
        "party-collector",
        "서울 폐식용유 수거 (데모)",
        &["provenance-lot"],
    ),
    ("party-carrier", "한강 물류 (데모)", &["provenance-lot"]),
    (
        "party-refiner",
        "울산 바이오정제 (데모)",
        &["provenance-lot"],
    ),
    ("party-exporter", "부산 수출 (데모)", &["provenance-lot"]),
];

/// The demo registry log's origin and key.
pub fn log_of(data: &Path) -> Result<(String, ed25519_dalek::VerifyingKey)> {
    let config = directory::config(&certs_dir(data))?;
    let key = directory::read_key(&certs_dir(data).join("log.key"))?;
    Ok((config.origin, key.verifying_key()))
}

/// Makes the demo's witness processes (which follow the certificate log) witnesses of the
/// registry too, all of them required.
pub fn add_witnesses(data: &Path, witnesses: &[crate::witness::Process]) -> Result<()> {
    let dir = certs_dir(data);
    let colocated = directory::config(&dir)?.witnesses.len();
    for (i, w) in witnesses.iter().enumerate() {
        let remote = directory::RemoteWitness {
            name: w.name.clone(),
            key: w.key.clone(),
            url: w.url.clone(),
        };
        directory::add_remote_witness(
            &dir,
            remote,
            Some(colocated + i + 1),
            &hanpyo_server::certs::connect_witness,
        )?;
    }
    Ok(())
}

/// Creates the registry in `data` (status lists at `status_base`) with the demo's issuers, their
/// accounts (all with `password`) and a provenance chain.
pub fn create(
    data: &Path,
    accounts: &mut Accounts,
    status_base: &str,
    password: &str,
) -> Result<()> {
    let dir = certs_dir(data);
    directory::init(
        &mut hanpyo_crypto::os_rng(),
        &dir,
        "공공 증명 레지스트리 (데모)",
        "demo.hanpyo.example/certs",
        status_base,
        2,
    )?;
    let certs = Certs::open(data)?.ok_or_else(|| anyhow!("the registry just made is missing"))?;
    let now = super::now();
    let mut keys = Vec::new();
    for (account, name, types) in DEMO_ISSUERS {
        let types: Vec<String> = types.iter().map(|t| t.to_string()).collect();
        let key = certs
            .register_hosted_issuer(name, &types, now)
            .map_err(|e| anyhow!("{e}"))?;
        accounts
            .create_user(
                account,
                Role::Administrator,
                &Scope::Issuer(key.clone()),
                password,
            )
            .map_err(|e| anyhow!("{e}"))?;
        keys.push(directory::read_key(
            &dir.join("issuers").join(format!("{key}.key")),
        )?);
    }
    let party = |i: usize| &keys[5 + i];
    let input = |lot: &str, quantity: u64| LotInput {
        lot: lot.into(),
        quantity,
    };
    let chain = [
        issue::provenance(
            party(0),
            "COL-2026-001",
            "collection",
            1200,
            "kg",
            vec![],
            now,
        )?,
        issue::provenance(
            party(0),
            "COL-2026-002",
            "collection",
            800,
            "kg",
            vec![],
            now,
        )?,
        issue::provenance(
            party(1),
            "TRN-2026-001",
            "transport",
            1985,
            "kg",
            vec![input("COL-2026-001", 1200), input("COL-2026-002", 800)],
            now,
        )?,
        issue::provenance(
            party(2),
            "REF-2026-001",
            "refining",
            1790,
            "kg",
            vec![input("TRN-2026-001", 1985)],
            now,
        )?,
        issue::provenance(
            party(3),
            "EXP-2026-001",
            "export",
            1500,
            "kg",
            vec![input("REF-2026-001", 1500)],
            now,
        )?,
    ];
    certs
        .log()
        .append(&chain, now)
        .map_err(|e| anyhow!("{e}"))?;
    Ok(())
}
