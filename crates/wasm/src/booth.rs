//! The voting booth's cryptography, as plain Rust over JSON.
use hanpyo_crypto::credential::SecretCredential;
use hanpyo_crypto::elgamal::PublicKey;
use hanpyo_ledger::merkle::leaf_hash;
use hanpyo_ledger::receipt::Receipt;
use hanpyo_record::authority::encrypt_ballot_with_rng;
use hanpyo_record::context::election_context;
use hanpyo_record::entry::{Entry, TrackingCode};
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
    /// Per question, the chosen choice indices.
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

/// Encrypts the selections, proves them well formed, signs with the credential.
pub fn make_ballot(request_json: &str) -> Result<String, String> {
    let req: BallotRequest = serde_json::from_str(request_json).map_err(err("request"))?;
    let manifest_entry = hex::decode(&req.manifest_entry).map_err(err("manifest"))?;
    let Entry::Manifest(m) = Entry::decode(&manifest_entry, None).map_err(err("manifest"))? else {
        return Err("manifest: not a manifest entry".into());
    };
    let pk = PublicKey::decode(&hex::decode(&req.joint_key).map_err(err("joint key"))?)
        .map_err(err("joint key"))?;
    let ctx = election_context(&leaf_hash(&manifest_entry), &pk);
    let specs = m.contest_specs();
    if req.selections.len() != specs.len() {
        return Err(format!("selections: {} question(s) expected", specs.len()));
    }
    let selections: Vec<Vec<bool>> = req
        .selections
        .iter()
        .zip(&specs)
        .map(|(chosen, s)| (0..s.choices).map(|j| chosen.contains(&j)).collect())
        .collect();
    let key = SecretCredential::parse(&req.credential)
        .map_err(err("credential"))?
        .signing_key(m.election_id.as_bytes());
    let mut rng = hanpyo_crypto::os_rng();
    let (ballot, openings) =
        encrypt_ballot_with_rng(&ctx, &pk, &specs, &key, &selections, &mut rng)
            .map_err(err("ballot"))?;
    let (entry, audited_choices) = if req.audit {
        let decoded = ballot
            .contests
            .iter()
            .zip(&openings)
            .map(|(c, o)| {
                let bits = c.check_opening(&pk, o).map_err(err("audit"))?;
                Ok(bits
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == 1)
                    .map(|(j, _)| j as u32)
                    .collect())
            })
            .collect::<Result<Vec<Vec<u32>>, String>>()?;
        (
            Entry::AuditedBallot(Box::new(ballot), openings).encode(),
            Some(decoded),
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

/// Checks a receipt: the log's signature, the manifest's witness quorum, the inclusion proof.
pub fn verify_receipt(receipt_json: &str, manifest_entry_hex: &str) -> Result<String, String> {
    let receipt: Receipt = serde_json::from_str(receipt_json).map_err(err("receipt"))?;
    let manifest_entry = hex::decode(manifest_entry_hex).map_err(err("manifest"))?;
    let Entry::Manifest(m) = Entry::decode(&manifest_entry, None).map_err(err("manifest"))? else {
        return Err("manifest: not a manifest entry".into());
    };
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
