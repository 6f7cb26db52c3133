//! Shared scaffolding: a certificate log in a temporary directory with two in-process witnesses,
//! its operator, and issuers registered for given types.
#![allow(dead_code)]
use std::collections::BTreeMap;
use std::path::PathBuf;

use chacha20::ChaCha20Rng;
use ed25519_dalek::SigningKey;
use hanpyo_certs::bundle::Bundle;
use hanpyo_certs::service::{CertLog, witness_keys};
use hanpyo_certs::{did, issue, template};
use hanpyo_ledger::checkpoint::{KeyKind, NoteSigner};
use hanpyo_ledger::witness::Cosigner;
use hanpyo_ledger::witness::{Witness, WitnessState};
use rand_core::SeedableRng;

pub const ORIGIN: &str = "certs.example.kr/test";
pub const STATUS_BASE: &str = "https://certs.example.kr/api/v1/certs/status";
/// 2026-12-03T00:00:00Z.
pub const NOW: u64 = 1_796_256_000;

pub struct Fixture {
    pub dir: PathBuf,
    pub log: CertLog,
    pub operator: SigningKey,
    pub log_key: SigningKey,
    pub witness_keys: Vec<SigningKey>,
    pub rng: ChaCha20Rng,
}

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn witnesses(
    log_key: &SigningKey,
    keys: &[SigningKey],
    size_root: Option<(u64, String)>,
) -> Vec<Box<dyn Cosigner>> {
    keys.iter()
        .enumerate()
        .map(|(i, k)| {
            let mut state = WitnessState::default();
            state.follow(ORIGIN, &log_key.verifying_key());
            if let (Some((size, root)), Some(l)) = (&size_root, state.logs.get_mut(ORIGIN)) {
                l.size = *size;
                l.root = root.clone();
            }
            Box::new(
                Witness::new(&format!("witness-{i}.example"), k.clone(), state).expect("witness"),
            ) as Box<dyn Cosigner>
        })
        .collect()
}

impl Fixture {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("hanpyo-certs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let (operator, log_key) = (key(1), key(2));
        let witness_keys = vec![key(3), key(4)];
        let log = Self::open_log(&dir, &operator, &log_key, &witness_keys, None);
        Self {
            dir,
            log,
            operator,
            log_key,
            witness_keys,
            rng: ChaCha20Rng::from_seed([42; 32]),
        }
    }

    pub fn open_log(
        dir: &std::path::Path,
        operator: &SigningKey,
        log_key: &SigningKey,
        witness_keys: &[SigningKey],
        size_root: Option<(u64, String)>,
    ) -> CertLog {
        let signer = NoteSigner::new(ORIGIN, log_key.clone(), KeyKind::Ed25519).expect("signer");
        let keys: Vec<_> = witness_keys
            .iter()
            .enumerate()
            .map(|(i, k)| (format!("witness-{i}.example"), k.verifying_key()))
            .collect();
        CertLog::open(
            &dir.join("certs.db"),
            signer,
            &operator.verifying_key(),
            "Test registry",
            STATUS_BASE,
            witnesses(log_key, witness_keys, size_root),
            witness_keys_of(&keys),
            2,
        )
        .expect("open the certificate log")
    }

    /// Registers an issuer with `types`.
    pub fn register(&mut self, seed: u8, name: &str, types: &[&str]) -> SigningKey {
        let k = key(seed);
        let types: Vec<String> = types.iter().map(|t| t.to_string()).collect();
        let e = issue::approve_issuer(&self.operator, &k.verifying_key(), name, &types, NOW)
            .expect("approve");
        self.log.append(&[e], NOW).expect("register");
        k
    }

    /// Issues one credential of `doc_type` with `values` to the holder `holder`.
    pub fn issue(
        &mut self,
        issuer: &SigningKey,
        doc_type: &str,
        values: &[(&str, &str)],
        holder: Option<&SigningKey>,
    ) -> Bundle {
        let t = template::find(doc_type).expect("template");
        let values: BTreeMap<String, String> = values
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut out = self
            .log
            .issue(
                &mut self.rng,
                issuer,
                &[(&t, values, holder.map(|h| h.verifying_key()))],
                NOW,
                None,
            )
            .expect("issue");
        out.remove(0)
    }

    pub fn did(k: &SigningKey) -> String {
        did::did_key(&k.verifying_key())
    }
}

fn witness_keys_of(
    keys: &[(String, ed25519_dalek::VerifyingKey)],
) -> Vec<hanpyo_certs::bundle::WitnessKey> {
    witness_keys(keys)
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Example field values for each document type.
pub fn sample(doc_type: &str) -> Vec<(&'static str, &'static str)> {
    match doc_type {
        "badge" => vec![
            ("recipientName", "김하늘"),
            ("achievementName", "용접기능사"),
            (
                "achievementDescription",
                "국가기술자격 용접기능사 실기 합격",
            ),
            ("criteria", "필기·실기 시험 합격"),
            ("achievementType", "Certificate"),
            ("awardedOn", "2026-11-20"),
        ],
        "notarised-document" => vec![
            ("documentTitle", "임대차 계약서"),
            (
                "documentSha256",
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            ),
            ("notary", "법무법인 한빛 공증인 이정민"),
            ("notarisedOn", "2026-11-30"),
            ("registerNumber", "2026-등-1234"),
        ],
        "drone-licence" => vec![
            ("holderName", "박지성"),
            ("birthDate", "1990-05-17"),
            ("licenceNumber", "DR-2026-000123"),
            ("category", "C1"),
            ("licenceValid", "yes"),
        ],
        "battery-certificate" => vec![
            ("batterySerial", "LGES-NCM811-0001234"),
            ("vehicleModel", "Ioniq 5 (2022)"),
            ("stateOfHealthPercent", "87"),
            ("remainingCapacityWh", "63684"),
            ("testMethod", "KS R 1200 residual capacity test"),
            ("testedOn", "2026-11-28"),
        ],
        "pension-receipt" => vec![
            ("applicantName", "최영희"),
            ("birthDate", "1962-03-09"),
            ("applicationNumber", "NPS-2026-55501"),
            ("applicationType", "노령연금 청구"),
            ("receivedOn", "2026-12-01"),
        ],
        "provenance-lot" => vec![("lot", "EXP-001"), ("product", "waste cooking oil (UCO)")],
        other => panic!("no sample for {other}"),
    }
}
