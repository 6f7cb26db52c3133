//! The issuer's side: a credential from a template and a row of values, its salted commitment
//! and signed issuance entry; revocations; provenance events; and the operator's approval of an
//! issuer.
use std::collections::BTreeMap;

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use serde_json::{Map, Value, json};

use crate::entry::{self, Entry, LotInput};
use crate::sd_jwt::{self, SdJwt};
use crate::status_list::LIST_BITS;
use crate::template::{Format, Template, VCT_PREFIX};
use crate::{CertError, did, integrity, jcs};

/// A credential, as issued.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A VC 2.0 with its Data Integrity proof.
    DataIntegrity(Map<String, Value>),
    /// An SD-JWT VC with all its disclosures.
    SdJwt(SdJwt),
}

impl Credential {
    /// The bytes the log's commitment covers: JCS of the secured VC, or the issuer-signed JWT
    /// (without disclosures or key binding, so every presentation of it still matches).
    pub fn committed_bytes(&self) -> Result<Vec<u8>, CertError> {
        match self {
            Credential::DataIntegrity(vc) => jcs::canonical(vc),
            Credential::SdJwt(sd) => Ok(sd.jwt.clone().into_bytes()),
        }
    }
}

/// The URL of the status list holding `index` of `issuer`'s credentials.
pub fn status_url(status_base: &str, issuer: &VerifyingKey, index: u64) -> String {
    format!(
        "{}/{}/{}",
        status_base.trim_end_matches('/'),
        did::multibase_key(issuer),
        index / LIST_BITS
    )
}

/// What to issue.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The document type.
    pub template: &'a Template,
    /// Its fields, as text.
    pub values: &'a BTreeMap<String, String>,
    /// The holder's key (binds presentations to it), if any.
    pub holder: Option<VerifyingKey>,
    /// The issuer's name as registered.
    pub issuer_name: &'a str,
    /// The next status index of this issuer (from the log).
    pub status_index: u64,
    /// The registry's `statusBase`.
    pub status_base: &'a str,
    /// Now (Unix seconds): `validFrom`.
    pub now: u64,
    /// `validUntil`; `None` takes the template's default validity.
    pub valid_until: Option<u64>,
}

/// A credential issued, its commitment's salt and its (signed) issuance entry.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The credential.
    pub credential: Credential,
    /// The commitment's salt.
    pub salt: [u8; 32],
    /// The entry to append.
    pub entry: Entry,
}

fn uuid<R: CryptoRng + ?Sized>(rng: &mut R) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Issues one credential.
pub fn issue<R: CryptoRng + ?Sized>(
    rng: &mut R,
    key: &SigningKey,
    req: &Request<'_>,
) -> Result<Issued, CertError> {
    let t = req.template;
    let (visible, personal) = t.claims(req.values)?;
    let issuer_key = key.verifying_key();
    let issuer_did = did::did_key(&issuer_key);
    let url = status_url(req.status_base, &issuer_key, req.status_index);
    let list_index = req.status_index % LIST_BITS;
    let valid_until = req
        .valid_until
        .or((t.validity_days > 0).then(|| req.now + t.validity_days * 86_400));
    if valid_until.is_some_and(|u| u <= req.now) {
        return Err(CertError::Field {
            field: "validUntil".into(),
            reason: "must be after the issuance".into(),
        });
    }
    let credential = match t.format {
        Format::DataIntegrity => {
            let id = uuid(rng);
            let holder = req.holder.as_ref().map(did::did_key);
            let mut issuer = Map::new();
            issuer.insert("id".into(), json!(issuer_did));
            if t.is_open_badge() {
                issuer.insert("type".into(), json!(["Profile"]));
            }
            issuer.insert("name".into(), json!(req.issuer_name));
            let mut vc = Map::new();
            vc.insert("@context".into(), t.context());
            vc.insert("id".into(), json!(id));
            vc.insert("type".into(), json!(["VerifiableCredential", t.vc_type]));
            vc.insert("name".into(), json!(t.title_en));
            vc.insert("issuer".into(), Value::Object(issuer));
            vc.insert("validFrom".into(), json!(crate::datetime(req.now)));
            if let Some(u) = valid_until {
                vc.insert("validUntil".into(), json!(crate::datetime(u)));
            }
            vc.extend(t.credential_members(&visible, holder.as_deref(), &id));
            vc.insert(
                "credentialStatus".into(),
                json!({
                    "id": format!("{url}#{list_index}"),
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": "revocation",
                    "statusListIndex": list_index.to_string(),
                    "statusListCredential": url,
                }),
            );
            Credential::DataIntegrity(integrity::sign(
                &vc,
                key,
                &integrity::ProofOptions {
                    created: crate::datetime(req.now),
                    verification_method: did::verification_method(&issuer_key),
                    proof_purpose: "assertionMethod".into(),
                    challenge: None,
                    domain: None,
                },
            )?)
        }
        Format::SdJwt => {
            let mut claims = visible;
            claims.insert("iss".into(), json!(issuer_did));
            claims.insert("iat".into(), json!(req.now));
            claims.insert("nbf".into(), json!(req.now));
            if let Some(u) = valid_until {
                claims.insert("exp".into(), json!(u));
            }
            claims.insert("vct".into(), json!(format!("{VCT_PREFIX}{}", t.id)));
            claims.insert("issuer_name".into(), json!(req.issuer_name));
            if let Some(h) = &req.holder {
                claims.insert("cnf".into(), json!({"jwk": sd_jwt::jwk(h)}));
            }
            claims.insert(
                "status".into(),
                json!({"status_list": {"idx": list_index, "uri": url}}),
            );
            Credential::SdJwt(SdJwt::issue(rng, key, claims, &personal)?)
        }
    };
    let mut salt = [0u8; 32];
    rng.fill_bytes(&mut salt);
    let entry = Entry::Issuance(entry::Issuance {
        issuer: issuer_did,
        doc_type: t.id.to_string(),
        commitment: entry::commitment(&salt, &credential.committed_bytes()?),
        status_index: req.status_index,
        issued: crate::datetime(req.now),
        signature: String::new(),
    })
    .sign(key)?;
    Ok(Issued {
        credential,
        salt,
        entry,
    })
}

/// The operator's approval of an issuer.
pub fn approve_issuer(
    operator: &SigningKey,
    issuer: &VerifyingKey,
    name: &str,
    types: &[String],
    now: u64,
) -> Result<Entry, CertError> {
    Entry::Issuer(entry::Issuer {
        issuer: did::did_key(issuer),
        name: name.to_string(),
        types: types.to_vec(),
        approved: crate::datetime(now),
        signature: String::new(),
    })
    .sign(operator)
}

/// A revocation by the issuer.
pub fn revoke(
    issuer: &SigningKey,
    status_index: u64,
    reason: &str,
    now: u64,
) -> Result<Entry, CertError> {
    Entry::Revocation(entry::Revocation {
        issuer: did::did_key(&issuer.verifying_key()),
        status_index,
        reason: reason.to_string(),
        revoked: crate::datetime(now),
        signature: String::new(),
    })
    .sign(issuer)
}

/// A provenance event by a registered party.
pub fn provenance(
    party: &SigningKey,
    lot: &str,
    stage: &str,
    quantity: u64,
    unit: &str,
    inputs: Vec<LotInput>,
    now: u64,
) -> Result<Entry, CertError> {
    // Checked here, on the numbers themselves: above 2^53 the log's JSON would round them.
    let max = crate::registry::MAX_QUANTITY;
    if quantity > max || inputs.iter().any(|i| i.quantity > max) {
        return Err(CertError::Field {
            field: "quantity".into(),
            reason: format!("at most {max}"),
        });
    }
    Entry::Provenance(entry::Provenance {
        party: did::did_key(&party.verifying_key()),
        lot: lot.to_string(),
        stage: stage.to_string(),
        quantity,
        unit: unit.to_string(),
        inputs,
        recorded: crate::datetime(now),
        signature: String::new(),
    })
    .sign(party)
}
