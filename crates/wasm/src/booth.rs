//! The voting booth's cryptography, as plain Rust over JSON.
use hanpyo_crypto::credential::SecretCredential;
use hanpyo_crypto::elgamal::PublicKey;
use hanpyo_ledger::merkle::leaf_hash;
use hanpyo_ledger::receipt::Receipt;
use hanpyo_record::authority::encrypt_ballot_with_rng;
use hanpyo_record::context::election_context;
use hanpyo_record::entry::{AuditedBallot, Entry, TrackingCode};
use serde::{Deserialize, Serialize};

/// What the page asks for.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_debug_implementations)] // holds the credential code: never printed
pub struct BallotRequest {
    /// The election's manifest entry (hex, from `GET /api/v1/elections/{id}`).
    pub manifest_entry: String,
    /// The joint key (hex).
    pub joint_key: String,
    /// The voter's credential code.
    pub credential: String,
    /// Per question, the answer: the chosen choice indices; a score question's points per choice;
    /// a scale question's step (0-based) per item.
    pub selections: Vec<Vec<u32>>,
    /// Make an audited ballot: its randomness is revealed and it is never counted.
    #[serde(default)]
    pub audit: bool,
}

/// What the page gets back.
#[derive(Serialize, Deserialize, Debug)]
pub struct BallotOut {
    /// The entry to POST to `/api/v1/elections/{id}/ballots` (hex).
    pub entry: String,
    /// Its tracking code (hex).
    pub tracking_code: String,
    /// Its short tracking code (as shown to people).
    pub tracking_code_short: String,
    /// For an audited ballot: the choices decoded from the revealed randomness — what anyone
    /// checking the audit (another device, the `hanpyo` CLI) will see.
    pub audited_choices: Option<Vec<Vec<u32>>>,
}

fn err<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> String {
    move |e| format!("{what}: {e}")
}

/// The manifest entry's bytes and the manifest, from hex.
fn manifest(
    manifest_entry_hex: &str,
) -> Result<(Vec<u8>, hanpyo_record::manifest::Manifest), String> {
    let bytes = hex::decode(manifest_entry_hex).map_err(err("manifest"))?;
    match Entry::decode(&bytes, None).map_err(err("manifest"))? {
        Entry::Manifest(m) => Ok((bytes, *m)),
        _ => Err("manifest: not a manifest entry".into()),
    }
}

/// The joint public key, from hex.
fn joint_key(joint_key_hex: &str) -> Result<PublicKey, String> {
    PublicKey::decode(&hex::decode(joint_key_hex).map_err(err("joint key"))?)
        .map_err(err("joint key"))
}

/// Encrypts the selections, proves them well formed, signs with the credential.
pub fn make_ballot(request_json: &str) -> Result<String, String> {
    let req: BallotRequest = serde_json::from_str(request_json).map_err(err("request"))?;
    let (manifest_entry, m) = manifest(&req.manifest_entry)?;
    let pk = joint_key(&req.joint_key)?;
    let ctx = election_context(&leaf_hash(&manifest_entry), &pk);
    let specs = m.contest_specs();
    if req.selections.len() != specs.len() {
        return Err(format!("selections: {} question(s) expected", specs.len()));
    }
    let values = m.values_of(&req.selections).map_err(err("selections"))?;
    let key = SecretCredential::parse(&req.credential)
        .map_err(err("credential"))?
        .signing_key(m.election_id.as_bytes());
    let mut rng = hanpyo_crypto::os_rng();
    let (ballot, openings) = encrypt_ballot_with_rng(&ctx, &pk, &specs, &key, &values, &mut rng)
        .map_err(err("ballot"))?;
    let (entry, audited_choices) = if req.audit {
        // The audit carries only the ciphertexts and their openings: no credential, no signature.
        let audit = AuditedBallot::of(&ballot, openings);
        let decoded = audit
            .check(&pk, &specs)
            .map_err(|e| format!("audit: {e}"))?;
        (
            Entry::AuditedBallot(Box::new(audit)).encode(),
            Some(m.answers_of(&decoded)),
        )
    } else {
        (Entry::Ballot(Box::new(ballot)).encode(), None)
    };
    let code = TrackingCode::of(&entry);
    serde_json::to_string(&BallotOut {
        entry: hex::encode(&entry),
        tracking_code: code.hex(),
        tracking_code_short: code.short(),
        audited_choices,
    })
    .map_err(err("output"))
}

/// The result of a receipt check.
#[derive(Serialize, Deserialize, Debug)]
pub struct ReceiptCheck {
    /// The log.
    pub origin: String,
    /// The entry's index.
    pub index: u64,
    /// The checkpoint's size.
    pub size: u64,
    /// Short tracking code.
    pub tracking_code_short: String,
    /// Witness cosignatures required (all present and valid if this check passed).
    pub witnesses_required: u32,
}

/// The manifest, with its log and witnesses checked against a trust policy when one is given
/// (its text, docs/ledger.md): the policy's quorum then applies. Without one, what the manifest
/// names is trusted.
fn trusted_manifest(
    manifest_entry_hex: &str,
    trust_policy: Option<&str>,
) -> Result<hanpyo_record::manifest::Manifest, String> {
    let (_, mut m) = manifest(manifest_entry_hex)?;
    if let Some(text) = trust_policy {
        let policy = hanpyo_record::manifest::LedgerInfo::parse_trust_policy(text)
            .map_err(err("trust policy"))?;
        let differences = m.ledger.differences_from(&policy);
        if !differences.is_empty() {
            return Err(format!("trust policy: {}", differences.join("; ")));
        }
        m.ledger = policy;
    }
    Ok(m)
}

/// Checks a receipt: the log's signature, the witness quorum, the inclusion proof; the log and
/// witnesses are the manifest's, checked against `trust_policy` when given.
pub fn verify_receipt(
    receipt_json: &str,
    manifest_entry_hex: &str,
    trust_policy: Option<&str>,
) -> Result<String, String> {
    let receipt: Receipt = serde_json::from_str(receipt_json).map_err(err("receipt"))?;
    let m = trusted_manifest(manifest_entry_hex, trust_policy)?;
    let log = m.ledger.log_verifier().map_err(err("manifest"))?;
    let witnesses = m.ledger.witness_verifiers().map_err(err("manifest"))?;
    let cp = receipt
        .verify(&log, &witnesses, m.ledger.witness_quorum as usize)
        .map_err(err("receipt"))?;
    let leaf = receipt.leaf().map_err(err("receipt"))?;
    serde_json::to_string(&ReceiptCheck {
        origin: cp.origin,
        index: receipt.index,
        size: cp.size,
        tracking_code_short: TrackingCode(leaf).short(),
        witnesses_required: m.ledger.witness_quorum,
    })
    .map_err(err("output"))
}

/// The receipt's QR code as an SVG document (black modules on white, with a quiet zone).
pub fn qr_svg(text: &str) -> Result<String, String> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
        .map_err(err("QR code"))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// Verifies a whole election record held in memory (the three files of `/api/v1/record/{file}`),
/// calling `progress(entries read)` as it goes; answers the verifier's report as JSON.
pub fn verify_record(
    entries: Vec<u8>,
    checkpoint: Vec<u8>,
    checkpoints: Vec<u8>,
    progress: &mut dyn FnMut(u64),
) -> Result<String, String> {
    let mut source = hanpyo_ledger::export::MemoryRecord::new(entries, checkpoint, checkpoints);
    let report = hanpyo_record::verify::verify_source(
        &mut source,
        &hanpyo_record::verify::Options::default(),
        progress,
    );
    serde_json::to_string(&report).map_err(err("output"))
}

/// A checked checkpoint, for the public board.
#[derive(Serialize, Deserialize, Debug)]
pub struct CheckpointCheck {
    /// The log.
    pub origin: String,
    /// Entries covered.
    pub size: u64,
    /// Merkle root (hex).
    pub root: String,
    /// Witnesses whose cosignature verified (name, cosigning time in Unix seconds).
    pub cosigned_by: Vec<(String, u64)>,
    /// Witnesses named in the manifest.
    pub witnesses: Vec<String>,
    /// Cosignatures the manifest requires.
    pub witnesses_required: u32,
}

/// Checks a signed checkpoint against the manifest: the log's signature (an error if missing or
/// bad) and which of the manifest's witnesses cosigned it (an error if fewer than its quorum).
pub fn verify_checkpoint(note: &str, manifest_entry_hex: &str) -> Result<String, String> {
    use hanpyo_ledger::checkpoint::{Checkpoint, SignedNote};
    let (_, m) = manifest(manifest_entry_hex)?;
    let log = m.ledger.log_verifier().map_err(err("manifest"))?;
    let witnesses = m.ledger.witness_verifiers().map_err(err("manifest"))?;
    let n = SignedNote::parse(note).map_err(err("checkpoint"))?;
    n.verify(&log).map_err(err("log signature"))?;
    let cp = Checkpoint::parse_body(&n.body).map_err(err("checkpoint"))?;
    if cp.origin != log.name() {
        return Err("checkpoint: another log's origin".into());
    }
    let cosigned_by: Vec<(String, u64)> = witnesses
        .iter()
        .filter_map(|w| {
            n.verify(w)
                .ok()
                .map(|t| (w.name().to_string(), t.unwrap_or(0)))
        })
        .collect();
    if cosigned_by.len() < m.ledger.witness_quorum as usize {
        return Err(format!(
            "checkpoint: {} of {} required witness cosignatures",
            cosigned_by.len(),
            m.ledger.witness_quorum
        ));
    }
    serde_json::to_string(&CheckpointCheck {
        origin: cp.origin,
        size: cp.size,
        root: hex::encode(cp.root),
        cosigned_by,
        witnesses: witnesses.iter().map(|w| w.name().to_string()).collect(),
        witnesses_required: m.ledger.witness_quorum,
    })
    .map_err(err("output"))
}

/// One entry as the board lists it.
#[derive(Serialize, Debug)]
pub struct EntrySummary {
    /// Index in the ledger.
    pub index: u64,
    /// Kind (`ballot`, `audited-ballot`, `manifest`, ...).
    pub kind: Option<hanpyo_record::entry::Kind>,
    /// Tracking code (hex).
    pub tracking_code: String,
    /// Short tracking code.
    pub tracking_code_short: String,
    /// Encoded size in bytes.
    pub bytes: usize,
}

/// Lists the framed entries of `/api/v1/board/entries?start=...` (the first is entry `start`).
pub fn describe_entries(framed: &[u8], start: u64) -> Result<String, String> {
    let mut reader = hanpyo_ledger::export::ExportReader::from_reader(framed);
    let mut out = Vec::new();
    while let Some(f) = reader.next_frame().map_err(err("entries"))? {
        let code = TrackingCode::of(&f.bytes);
        out.push(EntrySummary {
            index: start + f.index,
            kind: hanpyo_record::entry::Kind::of(&f.bytes).ok(),
            tracking_code: code.hex(),
            tracking_code_short: code.short(),
            bytes: f.bytes.len(),
        });
    }
    serde_json::to_string(&out).map_err(err("output"))
}

/// What an audited ballot turned out to contain, checked independently of the page that made it.
#[derive(Serialize, Deserialize, Debug)]
pub struct AuditCheck {
    /// Per question, the answer decoded from the revealed randomness (as in
    /// [`BallotRequest::selections`]).
    pub choices: Vec<Vec<u32>>,
    /// Its tracking code (hex), to match against its receipt's leaf hash.
    pub tracking_code: String,
    /// Its tracking code (short form).
    pub tracking_code_short: String,
}

/// Checks an audit entry (from the booth's audit file or the board): re-encrypting the revealed
/// values with the revealed randomness under this election's key gives exactly its ciphertexts,
/// and each question's answer is within its limits. Answers the decoded answers.
pub fn check_audit(
    entry_hex: &str,
    manifest_entry_hex: &str,
    joint_key_hex: &str,
) -> Result<String, String> {
    let (_, m) = manifest(manifest_entry_hex)?;
    let pk = joint_key(joint_key_hex)?;
    let shapes = hanpyo_record::entry::Shapes::of(&m);
    let entry = hex::decode(entry_hex).map_err(err("entry"))?;
    let Entry::AuditedBallot(audit) = Entry::decode(&entry, Some(&shapes)).map_err(err("entry"))?
    else {
        return Err("entry: not an audited ballot".into());
    };
    let choices = m.answers_of(
        &audit
            .check(&pk, &shapes.specs)
            .map_err(|e| format!("audit: {e}"))?,
    );
    let code = TrackingCode::of(&entry);
    serde_json::to_string(&AuditCheck {
        choices,
        tracking_code: code.hex(),
        tracking_code_short: code.short(),
    })
    .map_err(err("output"))
}

/// Checks the server's answer to `GET /api/v1/board/status/{hash}` for the entry
/// `tracking_code_hex`: both receipts (log signature, witness quorum, inclusion), the entries'
/// bytes, and that a later ballot really has the same credential. Answers the [`Standing`] as
/// JSON (`{"standing": "counted" | "superseded" | "audit", ...}`).
///
/// [`Standing`]: hanpyo_record::standing::Standing
pub fn check_standing(
    proof_json: &str,
    tracking_code_hex: &str,
    manifest_entry_hex: &str,
    trust_policy: Option<&str>,
) -> Result<String, String> {
    let m = trusted_manifest(manifest_entry_hex, trust_policy)?;
    let proof: hanpyo_record::standing::StandingProof =
        serde_json::from_str(proof_json).map_err(err("answer"))?;
    let leaf: hanpyo_ledger::merkle::Hash = hex::decode(tracking_code_hex)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or("tracking code: 64 hex digits expected")?;
    let standing = hanpyo_record::standing::check_standing(&m, &leaf, &proof)?;
    serde_json::to_string(&standing).map_err(err("output"))
}
