//! What a verifier checks, in this order, and the refusal each failure gives:
//!
//! 1. the file: version, a known document type in its format → `malformed`;
//! 2. the issuer's registration is on the log (receipt against a checkpoint signed by the log's
//!    key and co-signed by a quorum of its witnesses, pinned or as carried) and approved by the
//!    operator → `not-in-log`, `issuer-not-registered`;
//! 3. the issuance entry is on the log, later than the registration, signed by that issuer, for
//!    a type it may issue → `not-in-log`, `wrong-issuer`, `issuer-not-allowed`;
//! 4. the credential's own signature (Data Integrity proof or SD-JWT with every disclosure's
//!    digest) → `tampered`; by the registered issuer → `wrong-issuer`; and it is the credential
//!    committed on the log (salted commitment, status index) → `not-in-log`;
//! 5. its validity period → `not-yet-valid`, `expired`;
//! 6. its status, from a status list signed by the issuer, still valid, the credential's own
//!    list → `status-unavailable`; its bit → `revoked`;
//! 7. when the verifier asked for a presentation: bound to the holder's key, for this verifier
//!    and nonce, recent → `not-holder-bound`, `replayed`.
use std::collections::BTreeMap;

use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::bundle::{Anchors, Bundle, Evidence};
use crate::entry::{self, Entry};
use crate::status_list::{self, LIST_BITS};
use crate::template::{self, Format, Template, VCT_PREFIX};
use crate::{CertError, did, integrity, jcs, sd_jwt};

/// Why a certificate is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a well-formed certificate.
    #[error("malformed: {0}")]
    Malformed(String),
    /// An entry is not shown to be on the trusted log.
    #[error("not on the log: {0}")]
    NotInLog(String),
    /// A signature over the credential does not verify: it was changed.
    #[error("tampered: {0}")]
    Tampered(String),
    /// Signed by another issuer than the one on the log.
    #[error("wrong issuer: {0}")]
    WrongIssuer(String),
    /// The issuer is not approved by the log's operator.
    #[error("issuer not registered: {0}")]
    IssuerNotRegistered(String),
    /// The issuer may not issue this type.
    #[error("issuer {issuer} is not allowed to issue {doc_type}")]
    IssuerNotAllowed {
        /// The issuer.
        issuer: String,
        /// The type.
        doc_type: String,
    },
    /// Not valid yet.
    #[error("not valid before {0}")]
    NotYetValid(String),
    /// Expired.
    #[error("expired at {0}")]
    Expired(String),
    /// Revoked by its issuer.
    #[error("revoked by its issuer (status list {list}, index {index})")]
    Revoked {
        /// The list.
        list: String,
        /// The index.
        index: u64,
    },
    /// Its status could not be checked.
    #[error("status unavailable: {0}")]
    StatusUnavailable(String),
    /// A presentation was required and this one is not bound to the holder.
    #[error("not holder-bound: {0}")]
    NotHolderBound(String),
    /// A presentation made for another verifier, nonce or time.
    #[error("replayed presentation: {0}")]
    Replayed(String),
}

impl Refusal {
    /// Its stable code (the CLI's `--json`, the API, the pages' messages).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Malformed(_) => "malformed",
            Refusal::NotInLog(_) => "not-in-log",
            Refusal::Tampered(_) => "tampered",
            Refusal::WrongIssuer(_) => "wrong-issuer",
            Refusal::IssuerNotRegistered(_) => "issuer-not-registered",
            Refusal::IssuerNotAllowed { .. } => "issuer-not-allowed",
            Refusal::NotYetValid(_) => "not-yet-valid",
            Refusal::Expired(_) => "expired",
            Refusal::Revoked { .. } => "revoked",
            Refusal::StatusUnavailable(_) => "status-unavailable",
            Refusal::NotHolderBound(_) => "not-holder-bound",
            Refusal::Replayed(_) => "replayed",
        }
    }
}

fn malformed(e: CertError) -> Refusal {
    Refusal::Malformed(e.to_string())
}

/// A verifier's request for a presentation made to it.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// Who the verifier is (`aud` / `domain`).
    pub audience: String,
    /// Its one-time nonce.
    pub nonce: String,
    /// How old a presentation may be, in seconds.
    pub max_age: u64,
}

/// How to verify.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Now (Unix seconds).
    pub now: u64,
    /// Pinned log keys; `None` trusts the keys the certificate carries (reported).
    pub trust: Option<Anchors>,
    /// A status list credential the verifier fetched; `None` uses the one stapled.
    pub status: Option<Map<String, Value>>,
    /// Accept a certificate whose status cannot be checked (reported as unchecked).
    pub allow_unchecked_status: bool,
    /// Require a presentation to this verifier.
    pub challenge: Option<Challenge>,
}

/// How the status was checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum Status {
    /// Not revoked in a list valid from `as_of`.
    Active {
        /// When the list was signed.
        #[serde(rename = "asOf")]
        as_of: String,
    },
    /// Not checked (allowed by the caller).
    Unchecked,
}

/// A certificate that verified.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verified {
    /// The document type.
    #[serde(rename = "type")]
    pub doc_type: String,
    /// Its Korean title.
    pub title_ko: String,
    /// Its English title.
    pub title_en: String,
    /// How it was secured.
    pub format: Format,
    /// The issuer's DID.
    pub issuer: String,
    /// The issuer's name as registered on the log.
    pub issuer_name: String,
    /// The fields shown (all of a `vc-di`, the visible and disclosed ones of an `sd-jwt`).
    pub fields: BTreeMap<String, Value>,
    /// Valid from.
    pub valid_from: String,
    /// Valid until, if it expires.
    pub valid_until: Option<String>,
    /// Status.
    pub status: Status,
    /// The issuance entry's index on the log.
    pub log_index: u64,
    /// The checkpoint size its receipt is against.
    pub checkpoint_size: u64,
    /// The log's origin.
    pub origin: String,
    /// Whether the log's keys were pinned by the verifier.
    pub trust_pinned: bool,
    /// The verifier a presentation was made for, if checked.
    pub presented_to: Option<String>,
}

fn evidence(ev: &Evidence, anchors: &Anchors, what: &str) -> Result<(Entry, u64, u64), Refusal> {
    let bytes = jcs::canonical(&ev.entry).map_err(malformed)?;
    let entry = Entry::from_json(ev.entry.clone()).map_err(malformed)?;
    let (log, witnesses) = anchors.verifiers().map_err(malformed)?;
    let leaf = ev
        .receipt
        .leaf()
        .map_err(|e| Refusal::Malformed(e.to_string()))?;
    if leaf != hanpyo_ledger::merkle::leaf_hash(&bytes) {
        return Err(Refusal::NotInLog(format!(
            "the {what} entry is not the one its receipt covers"
        )));
    }
    let cp = ev
        .receipt
        .verify(&log, &witnesses, anchors.quorum)
        .map_err(|e| Refusal::NotInLog(format!("the {what} receipt: {e}")))?;
    Ok((entry, ev.receipt.index, cp.size))
}

fn text<'a>(m: &'a Map<String, Value>, name: &str) -> Result<&'a str, Refusal> {
    m.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| Refusal::Malformed(format!("the credential has no {name}")))
}

struct Credential {
    issuer_key: VerifyingKey,
    fields: BTreeMap<String, Value>,
    valid_from: u64,
    valid_until: Option<u64>,
    status_url: String,
    status_index: u64,
    committed: Vec<u8>,
    holder: Option<VerifyingKey>,
}

fn data_integrity(b: &Bundle, t: &Template) -> Result<Credential, Refusal> {
    let vc = b
        .credential
        .as_ref()
        .ok_or_else(|| Refusal::Malformed("a vc-di certificate carries its credential".into()))?;
    let proof = integrity::verify(vc, "assertionMethod").map_err(|e| match e {
        CertError::Signature(s) => Refusal::Tampered(s),
        other => Refusal::Tampered(other.to_string()),
    })?;
    let issuer = vc
        .get("issuer")
        .and_then(|i| i.get("id").or(Some(i)))
        .and_then(Value::as_str)
        .ok_or_else(|| Refusal::Malformed("the credential has no issuer".into()))?;
    if did::controller(&proof.verification_method) != issuer {
        return Err(Refusal::WrongIssuer(
            "the proof's key is not the credential's issuer".into(),
        ));
    }
    let types = vc.get("type").and_then(Value::as_array);
    if !types.is_some_and(|ts| {
        ts.contains(&json!("VerifiableCredential")) && ts.contains(&json!(t.vc_type))
    }) {
        return Err(Refusal::Malformed(format!(
            "the credential is not a {}",
            t.vc_type
        )));
    }
    let date = |name: &str| -> Result<Option<u64>, Refusal> {
        match vc.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .and_then(crate::parse_datetime)
                .map(Some)
                .ok_or_else(|| Refusal::Malformed(format!("{name} is not a UTC dateTime"))),
        }
    };
    let valid_from = date("validFrom")?.ok_or_else(|| Refusal::Malformed("no validFrom".into()))?;
    let status = vc
        .get("credentialStatus")
        .and_then(Value::as_object)
        .ok_or_else(|| Refusal::Malformed("no credentialStatus".into()))?;
    if status.get("type") != Some(&json!("BitstringStatusListEntry"))
        || status.get("statusPurpose") != Some(&json!("revocation"))
    {
        return Err(Refusal::Malformed(
            "credentialStatus is not a revocation BitstringStatusListEntry".into(),
        ));
    }
    let index_text = text(status, "statusListIndex")?;
    let status_index = index_text
        .parse::<u64>()
        .ok()
        .filter(|i| i.to_string() == index_text)
        .ok_or_else(|| Refusal::Malformed("statusListIndex is a decimal string".into()))?;
    let subject = vc
        .get("credentialSubject")
        .and_then(Value::as_object)
        .ok_or_else(|| Refusal::Malformed("no credentialSubject".into()))?;
    let holder = match subject.get("id").and_then(Value::as_str) {
        Some(h) => Some(did::parse_did_key(h).map_err(malformed)?),
        None => None,
    };
    Ok(Credential {
        issuer_key: proof.key,
        fields: t.fields_of_credential(vc),
        valid_from,
        valid_until: date("validUntil")?,
        status_url: text(status, "statusListCredential")?.to_string(),
        status_index,
        committed: jcs::canonical(vc).map_err(malformed)?,
        holder,
    })
}

fn sd_jwt_credential(
    b: &Bundle,
    t: &Template,
) -> Result<(Credential, Option<sd_jwt::KeyBinding>), Refusal> {
    let s = b
        .sd_jwt
        .as_deref()
        .ok_or_else(|| Refusal::Malformed("an sd-jwt certificate carries its SD-JWT".into()))?;
    let v = sd_jwt::verify(s).map_err(|e| match e {
        CertError::Signature(s) => Refusal::Tampered(s),
        CertError::Malformed(m) if m.contains("digest") => Refusal::Tampered(m),
        other => Refusal::Malformed(other.to_string()),
    })?;
    let p = &v.payload;
    if text(p, "iss")? != did::did_key(&v.issuer) {
        return Err(Refusal::WrongIssuer(
            "the SD-JWT's kid is not its iss".into(),
        ));
    }
    if text(p, "vct")? != format!("{VCT_PREFIX}{}", t.id) {
        return Err(Refusal::Malformed(format!(
            "vct is not {VCT_PREFIX}{}",
            t.id
        )));
    }
    // Present means a whole number of seconds: anything else is refused, not ignored.
    let num = |n: &str| -> Result<Option<u64>, Refusal> {
        match p.get(n) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| Refusal::Malformed(format!("{n} is not a whole number of seconds"))),
        }
    };
    let sl = p
        .get("status")
        .and_then(|s| s.get("status_list"))
        .and_then(Value::as_object)
        .ok_or_else(|| Refusal::Malformed("no status.status_list".into()))?;
    let mut fields = BTreeMap::new();
    for f in &t.fields {
        if let Some(v) = p.get(f.name).or_else(|| v.disclosed.get(f.name)) {
            fields.insert(f.name.to_string(), v.clone());
        }
    }
    let (sd, _) = sd_jwt::SdJwt::parse(s).map_err(malformed)?;
    Ok((
        Credential {
            issuer_key: v.issuer,
            fields,
            valid_from: num("nbf")?
                .or(num("iat")?)
                .ok_or_else(|| Refusal::Malformed("no nbf".into()))?,
            valid_until: num("exp")?,
            status_url: text(sl, "uri")?.to_string(),
            status_index: sl
                .get("idx")
                .and_then(Value::as_u64)
                .ok_or_else(|| Refusal::Malformed("status_list.idx".into()))?,
            committed: sd.jwt.into_bytes(),
            holder: v.holder,
        },
        v.key_binding,
    ))
}

/// Verifies a certificate file.
pub fn verify(b: &Bundle, opts: &Options) -> Result<Verified, Refusal> {
    if b.hanpyo_certificate != crate::bundle::BUNDLE_VERSION {
        return Err(Refusal::Malformed("unknown certificate version".into()));
    }
    let t = template::find(&b.doc_type).ok_or_else(|| {
        Refusal::Malformed(format!("unknown document type {}", did::clip(&b.doc_type)))
    })?;
    if t.format != b.format {
        return Err(Refusal::Malformed(format!(
            "{} is issued as {}",
            t.id,
            t.format.name()
        )));
    }
    let anchors = opts.trust.as_ref().unwrap_or(&b.registry);
    // 2. The issuer's registration.
    let (reg, reg_index, _) = evidence(&b.issuer, anchors, "issuer registration")?;
    let Entry::Issuer(reg) = reg else {
        return Err(Refusal::IssuerNotRegistered(
            "the registration evidence is not an issuer entry".into(),
        ));
    };
    let operator = anchors.operator_key().map_err(malformed)?;
    Entry::Issuer(reg.clone())
        .verify_signature(&operator)
        .map_err(|_| {
            Refusal::IssuerNotRegistered(format!(
                "{} is not approved by the log's operator",
                did::clip(&reg.name)
            ))
        })?;
    let issuer_key = did::parse_did_key(&reg.issuer).map_err(malformed)?;
    // 3. The issuance.
    let (iss, iss_index, cp_size) = evidence(&b.issuance, anchors, "issuance")?;
    let Entry::Issuance(iss) = iss else {
        return Err(Refusal::Malformed(
            "the issuance evidence is not an issuance entry".into(),
        ));
    };
    if iss.issuer != reg.issuer {
        return Err(Refusal::WrongIssuer(format!(
            "issued by {}, registration of {}",
            did::clip(&iss.issuer),
            did::clip(&reg.issuer)
        )));
    }
    if iss_index <= reg_index {
        return Err(Refusal::IssuerNotRegistered(
            "issued before its issuer's registration".into(),
        ));
    }
    Entry::Issuance(iss.clone())
        .verify_signature(&issuer_key)
        .map_err(|_| {
            Refusal::WrongIssuer("the issuance entry is not signed by its issuer".into())
        })?;
    if iss.doc_type != t.id {
        return Err(Refusal::NotInLog(format!(
            "the log records a {}, not a {}",
            iss.doc_type, t.id
        )));
    }
    if !reg.types.contains(&iss.doc_type) {
        return Err(Refusal::IssuerNotAllowed {
            issuer: reg.name.clone(),
            doc_type: iss.doc_type.clone(),
        });
    }
    // 4. The credential.
    let (cred, key_binding) = match t.format {
        Format::DataIntegrity => (data_integrity(b, &t)?, None),
        Format::SdJwt => sd_jwt_credential(b, &t)?,
    };
    if cred.issuer_key != issuer_key {
        return Err(Refusal::WrongIssuer(format!(
            "signed by another key than {}'s",
            reg.name
        )));
    }
    let salt: [u8; 32] = hex::decode(&b.commitment_salt)
        .ok()
        .filter(|s| hex::encode(s) == b.commitment_salt)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| Refusal::Malformed("commitmentSalt is 64 lowercase hex digits".into()))?;
    if entry::commitment(&salt, &cred.committed) != iss.commitment {
        return Err(Refusal::NotInLog(
            "the credential is not the one committed on the log".into(),
        ));
    }
    let expected_url = crate::issue::status_url(
        cred.status_url.rsplitn(3, '/').nth(2).unwrap_or_default(),
        &issuer_key,
        iss.status_index,
    );
    if cred.status_index != iss.status_index % LIST_BITS || cred.status_url != expected_url {
        return Err(Refusal::NotInLog(
            "the credential's status entry is not its issuance's".into(),
        ));
    }
    // 5. Validity.
    if cred.valid_from > opts.now {
        return Err(Refusal::NotYetValid(crate::datetime(cred.valid_from)));
    }
    if let Some(u) = cred.valid_until.filter(|u| *u <= opts.now) {
        return Err(Refusal::Expired(crate::datetime(u)));
    }
    // 6. Status.
    let status = match opts.status.as_ref().or(b.status.as_ref()) {
        None if opts.allow_unchecked_status => Status::Unchecked,
        None => {
            return Err(Refusal::StatusUnavailable(
                "no status list (fetch the issuer's, or staple one)".into(),
            ));
        }
        Some(list) => {
            let list = status_list::verify_credential(list)
                .map_err(|e| Refusal::StatusUnavailable(e.to_string()))?;
            if list.issuer != reg.issuer {
                return Err(Refusal::StatusUnavailable(
                    "the status list is not the issuer's".into(),
                ));
            }
            if list.url != cred.status_url {
                return Err(Refusal::StatusUnavailable(
                    "the status list is not the credential's".into(),
                ));
            }
            if list.valid_until <= opts.now || list.valid_from > opts.now.saturating_add(300) {
                return Err(Refusal::StatusUnavailable(format!(
                    "the status list is valid {} to {}",
                    crate::datetime(list.valid_from),
                    crate::datetime(list.valid_until)
                )));
            }
            if list.bits.get(cred.status_index) != Some(false) {
                return Err(Refusal::Revoked {
                    list: list.url,
                    index: cred.status_index,
                });
            }
            Status::Active {
                as_of: crate::datetime(list.valid_from),
            }
        }
    };
    // 7. Presentation.
    let presented_to = match &opts.challenge {
        None => None,
        Some(c) => {
            let holder = cred.holder.ok_or_else(|| {
                Refusal::NotHolderBound("the credential names no holder key".into())
            })?;
            let (aud, nonce, iat) = match t.format {
                Format::SdJwt => {
                    let kb = key_binding
                        .ok_or_else(|| Refusal::NotHolderBound("no key-binding JWT".into()))?;
                    (kb.audience, kb.nonce, kb.iat)
                }
                Format::DataIntegrity => {
                    let vp = b
                        .presentation
                        .as_ref()
                        .ok_or_else(|| Refusal::NotHolderBound("no presentation".into()))?;
                    if vp.get("verifiableCredential") != Some(&json!([b.credential])) {
                        return Err(Refusal::NotHolderBound(
                            "the presentation holds another credential".into(),
                        ));
                    }
                    let proof = integrity::verify(vp, "authentication")
                        .map_err(|e| Refusal::NotHolderBound(e.to_string()))?;
                    if proof.key != holder {
                        return Err(Refusal::NotHolderBound(
                            "the presentation is not signed by the holder".into(),
                        ));
                    }
                    let created = crate::parse_datetime(&proof.created).unwrap_or(0);
                    (
                        proof.domain.unwrap_or_default(),
                        proof.challenge.unwrap_or_default(),
                        created,
                    )
                }
            };
            if aud != c.audience || nonce != c.nonce {
                return Err(Refusal::Replayed(format!(
                    "made for {} with another nonce",
                    did::clip(&aud)
                )));
            }
            if iat.saturating_add(c.max_age) < opts.now || iat > opts.now.saturating_add(60) {
                return Err(Refusal::Replayed(format!(
                    "made at {}",
                    crate::datetime(iat)
                )));
            }
            Some(aud)
        }
    };
    Ok(Verified {
        doc_type: t.id.to_string(),
        title_ko: t.title_ko.to_string(),
        title_en: t.title_en.to_string(),
        format: t.format,
        issuer: reg.issuer.clone(),
        issuer_name: reg.name.clone(),
        fields: cred.fields,
        valid_from: crate::datetime(cred.valid_from),
        valid_until: cred.valid_until.map(crate::datetime),
        status,
        log_index: iss_index,
        checkpoint_size: cp_size,
        origin: anchors.origin.clone(),
        trust_pinned: opts.trust.is_some(),
        presented_to,
    })
}
