//! The six document types and how a row of field values becomes a credential.
//!
//! Each template names its fields (with Korean and English labels for the console and the
//! holder's page), their kinds, and which are **personal**: in an SD-JWT VC those are the
//! selectively disclosable claims; in a Data Integrity credential every field is shown. Field
//! values arrive as text (a form, a CSV row) and are checked strictly against their kind.
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::CertError;

/// The W3C Verifiable Credentials 2.0 context (its `@vocab` covers our own terms).
pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// The Open Badges 3.0 context.
pub const OB_CONTEXT: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
/// The prefix of an SD-JWT VC's `vct` (followed by the template's id).
pub const VCT_PREFIX: &str = "urn:hanpyo:vct:";

/// A row's claims: the visible ones, and the personal ones (disclosable in an SD-JWT VC).
pub type Claims = (Map<String, Value>, Vec<(String, Value)>);

/// How a credential is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Format {
    /// A W3C VC 2.0 with an `eddsa-jcs-2022` Data Integrity proof (every field visible).
    #[serde(rename = "vc-di")]
    DataIntegrity,
    /// An SD-JWT VC: personal fields are disclosed one by one, by the holder's choice.
    #[serde(rename = "sd-jwt")]
    SdJwt,
}

impl Format {
    /// Its name in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::DataIntegrity => "vc-di",
            Format::SdJwt => "sd-jwt",
        }
    }
}

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Text, 1–200 characters, no control characters.
    Text,
    /// A date `YYYY-MM-DD`.
    Date,
    /// A non-negative integer (in its unit), written without leading zeros.
    Integer,
    /// A SHA-256 digest in lowercase hex (a notarised document's fingerprint).
    Sha256,
    /// One of a fixed list of words.
    Choice(&'static [&'static str]),
}

/// Open Badges 3.0's `achievementType` vocabulary.
pub const OB_ACHIEVEMENT_TYPES: &[&str] = &[
    "Achievement",
    "ApprenticeshipCertificate",
    "Assessment",
    "Assignment",
    "AssociateDegree",
    "Award",
    "Badge",
    "BachelorDegree",
    "Certificate",
    "CertificateOfCompletion",
    "Certification",
    "CommunityService",
    "Competency",
    "Course",
    "CoCurricular",
    "Degree",
    "Diploma",
    "DoctoralDegree",
    "Fieldwork",
    "GeneralEducationDevelopment",
    "JourneymanCertificate",
    "LearningProgram",
    "License",
    "Membership",
    "ProfessionalDoctorate",
    "QualityAssuranceCredential",
    "MasterCertificate",
    "MasterDegree",
    "MicroCredential",
    "ResearchDoctorate",
    "SecondarySchoolDiploma",
];

/// One field of a template.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    /// Its name in the credential (camelCase).
    pub name: &'static str,
    /// What it holds.
    pub kind: Kind,
    /// Must be given.
    pub required: bool,
    /// About a person: selectively disclosable in an SD-JWT VC.
    pub personal: bool,
    /// Korean label.
    pub label_ko: &'static str,
    /// English label.
    pub label_en: &'static str,
}

/// A document type.
#[derive(Debug, Clone, Serialize)]
pub struct Template {
    /// Its id (in entries, `vct`, the allowed types of an issuer).
    pub id: &'static str,
    /// The credential's type after `VerifiableCredential`.
    pub vc_type: &'static str,
    /// The credential subject's `type`.
    pub subject_type: &'static str,
    /// Korean title.
    pub title_ko: &'static str,
    /// English title.
    pub title_en: &'static str,
    /// How it is secured.
    pub format: Format,
    /// Default validity in days (0: no expiry).
    pub validity_days: u64,
    /// Its fields.
    pub fields: Vec<Field>,
}

const fn field(
    name: &'static str,
    kind: Kind,
    required: bool,
    personal: bool,
    label_ko: &'static str,
    label_en: &'static str,
) -> Field {
    Field {
        name,
        kind,
        required,
        personal,
        label_ko,
        label_en,
    }
}

/// The id of the provenance template (also the type a provenance party must be allowed).
pub const PROVENANCE: &str = "provenance-lot";

/// Every template, in the console's order.
pub fn all() -> Vec<Template> {
    use Kind::*;
    vec![
        Template {
            id: "badge",
            vc_type: "OpenBadgeCredential",
            subject_type: "AchievementSubject",
            title_ko: "자격·직업훈련 디지털 배지",
            title_en: "Qualification or training badge",
            format: Format::DataIntegrity,
            validity_days: 0,
            fields: vec![
                field("recipientName", Text, true, true, "받는 사람", "Recipient"),
                field(
                    "achievementName",
                    Text,
                    true,
                    false,
                    "자격·과정명",
                    "Achievement",
                ),
                field(
                    "achievementDescription",
                    Text,
                    true,
                    false,
                    "설명",
                    "Description",
                ),
                field("criteria", Text, true, false, "취득 기준", "Criteria"),
                field(
                    "achievementType",
                    Choice(OB_ACHIEVEMENT_TYPES),
                    false,
                    false,
                    "종류",
                    "Type (Open Badges: Certificate, License, Course, …)",
                ),
                field("awardedOn", Date, true, false, "취득일", "Awarded on"),
            ],
        },
        Template {
            id: "notarised-document",
            vc_type: "NotarisedDocumentCredential",
            subject_type: "NotarisedDocument",
            title_ko: "전자공증 문서",
            title_en: "Electronically notarised document",
            format: Format::DataIntegrity,
            validity_days: 0,
            fields: vec![
                field(
                    "documentTitle",
                    Text,
                    true,
                    false,
                    "문서 제목",
                    "Document title",
                ),
                field(
                    "documentSha256",
                    Sha256,
                    true,
                    false,
                    "문서 해시(SHA-256)",
                    "Document hash (SHA-256)",
                ),
                field("notary", Text, true, false, "공증인", "Notary"),
                field("notarisedOn", Date, true, false, "공증일", "Notarised on"),
                field(
                    "registerNumber",
                    Text,
                    true,
                    false,
                    "등부 번호",
                    "Register number",
                ),
            ],
        },
        Template {
            id: "drone-licence",
            vc_type: "DronePilotLicenceCredential",
            subject_type: "DronePilot",
            title_ko: "드론 조종자 자격증명",
            title_en: "Drone pilot licence",
            format: Format::SdJwt,
            validity_days: 365 * 5,
            fields: vec![
                field("holderName", Text, true, true, "성명", "Name"),
                field("birthDate", Date, true, true, "생년월일", "Date of birth"),
                field(
                    "licenceNumber",
                    Text,
                    true,
                    true,
                    "자격번호",
                    "Licence number",
                ),
                field("category", Text, true, true, "종별", "Category"),
                field(
                    "licenceValid",
                    Text,
                    false,
                    true,
                    "자격 유효",
                    "Licence valid",
                ),
            ],
        },
        Template {
            id: "battery-certificate",
            vc_type: "BatteryResidualLifeCredential",
            subject_type: "TractionBattery",
            title_ko: "전기차 배터리 잔존수명 인증서",
            title_en: "EV battery residual-life certificate",
            format: Format::DataIntegrity,
            validity_days: 365,
            fields: vec![
                field(
                    "batterySerial",
                    Text,
                    true,
                    false,
                    "배터리 일련번호",
                    "Battery serial number",
                ),
                field("vehicleModel", Text, true, false, "차종", "Vehicle model"),
                field(
                    "stateOfHealthPercent",
                    Integer,
                    true,
                    false,
                    "잔존수명(SoH, %)",
                    "State of health (%)",
                ),
                field(
                    "remainingCapacityWh",
                    Integer,
                    true,
                    false,
                    "잔존용량(Wh)",
                    "Remaining capacity (Wh)",
                ),
                field("testMethod", Text, true, false, "시험 방법", "Test method"),
                field("testedOn", Date, true, false, "시험일", "Tested on"),
            ],
        },
        Template {
            id: "pension-receipt",
            vc_type: "PensionApplicationReceiptCredential",
            subject_type: "PensionApplication",
            title_ko: "국민연금 비대면 신청 접수증",
            title_en: "National Pension Service application receipt",
            format: Format::SdJwt,
            validity_days: 365,
            fields: vec![
                field("applicantName", Text, true, true, "신청인", "Applicant"),
                field("birthDate", Date, true, true, "생년월일", "Date of birth"),
                field(
                    "applicationNumber",
                    Text,
                    true,
                    true,
                    "접수번호",
                    "Application number",
                ),
                field(
                    "applicationType",
                    Text,
                    true,
                    false,
                    "신청 종류",
                    "Application type",
                ),
                field("receivedOn", Date, true, false, "접수일", "Received on"),
            ],
        },
        Template {
            id: PROVENANCE,
            vc_type: "ProvenanceLotCredential",
            subject_type: "ProvenanceLot",
            title_ko: "폐식용유 이력(로트) 증명",
            title_en: "Waste cooking oil lot provenance",
            format: Format::DataIntegrity,
            validity_days: 0,
            fields: vec![
                field("lot", Text, true, false, "로트", "Lot"),
                field("product", Text, true, false, "품목", "Product"),
            ],
        },
    ]
}

/// The template `id`.
pub fn find(id: &str) -> Option<Template> {
    all().into_iter().find(|t| t.id == id)
}

/// Checks one value against its kind and returns it as it goes into the credential.
pub fn field_value(field: &Field, raw: &str) -> Result<Value, CertError> {
    let bad = |reason: &str| CertError::Field {
        field: field.name.into(),
        reason: reason.into(),
    };
    match field.kind {
        Kind::Text => {
            let n = raw.chars().count();
            if n == 0 || n > 200 {
                return Err(bad("1 to 200 characters"));
            }
            if raw.chars().any(char::is_control) || raw.trim() != raw {
                return Err(bad("no control characters or surrounding spaces"));
            }
            Ok(json!(raw))
        }
        Kind::Date => {
            if crate::is_date(raw) {
                Ok(json!(raw))
            } else {
                Err(bad("a date YYYY-MM-DD"))
            }
        }
        Kind::Integer => match raw.parse::<u64>() {
            Ok(v) if v.to_string() == raw && v <= 1 << 53 => Ok(json!(v)),
            _ => Err(bad("a whole number without leading zeros")),
        },
        Kind::Choice(words) => {
            if words.contains(&raw) {
                Ok(json!(raw))
            } else {
                Err(bad(&format!("one of {}", words.join(", "))))
            }
        }
        Kind::Sha256 => {
            if raw.len() == 64
                && raw
                    .bytes()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
            {
                Ok(json!(raw))
            } else {
                Err(bad("64 lowercase hexadecimal digits"))
            }
        }
    }
}

impl Template {
    /// An Open Badges 3.0 badge (its own context, subject and achievement).
    pub fn is_open_badge(&self) -> bool {
        self.vc_type == "OpenBadgeCredential"
    }

    /// Checks a row of values: every required field given, no unknown field, each of its kind.
    /// Returns the visible and the personal claims, in field order.
    pub fn claims(&self, values: &BTreeMap<String, String>) -> Result<Claims, CertError> {
        if let Some(unknown) = values
            .keys()
            .find(|k| !self.fields.iter().any(|f| f.name == k.as_str()))
        {
            return Err(CertError::Field {
                field: crate::did::clip(unknown),
                reason: format!("not a field of {}", self.id),
            });
        }
        let mut visible = Map::new();
        let mut personal = Vec::new();
        for f in &self.fields {
            match values.get(f.name).filter(|v| !v.is_empty()) {
                None if f.required => {
                    return Err(CertError::Field {
                        field: f.name.into(),
                        reason: "required".into(),
                    });
                }
                None => {}
                Some(raw) => {
                    let v = field_value(f, raw)?;
                    if f.personal && self.format == Format::SdJwt {
                        personal.push((f.name.to_string(), v));
                    } else {
                        visible.insert(f.name.to_string(), v);
                    }
                }
            }
        }
        Ok((visible, personal))
    }

    /// The credential's `@context`.
    pub fn context(&self) -> Value {
        if self.is_open_badge() {
            json!([VC_CONTEXT, OB_CONTEXT])
        } else {
            json!([VC_CONTEXT])
        }
    }

    /// The members a Data Integrity credential gets from its claims: `credentialSubject`, and for
    /// an Open Badges 3.0 badge also `awardedDate` (the recipient is an `IdentityObject` by name,
    /// the achievement nested, as the 1EdTech schema has them).
    pub fn credential_members(
        &self,
        claims: &Map<String, Value>,
        holder: Option<&str>,
        credential_id: &str,
    ) -> Map<String, Value> {
        let mut s = Map::new();
        if let Some(h) = holder {
            s.insert("id".into(), json!(h));
        }
        let mut out = Map::new();
        if self.is_open_badge() {
            let get = |n: &str| claims.get(n).cloned().unwrap_or(Value::Null);
            s.insert("type".into(), json!([self.subject_type]));
            s.insert(
                "identifier".into(),
                json!([{"type": "IdentityObject", "identityType": "name", "hashed": false,
                        "identityHash": get("recipientName")}]),
            );
            let mut a = Map::new();
            a.insert("id".into(), json!(format!("{credential_id}#achievement")));
            a.insert("type".into(), json!(["Achievement"]));
            a.insert("name".into(), get("achievementName"));
            a.insert("description".into(), get("achievementDescription"));
            a.insert("criteria".into(), json!({"narrative": get("criteria")}));
            if let Some(t) = claims.get("achievementType") {
                a.insert("achievementType".into(), t.clone());
            }
            s.insert("achievement".into(), Value::Object(a));
            if let Some(d) = claims.get("awardedOn").and_then(Value::as_str) {
                out.insert("awardedDate".into(), json!(format!("{d}T00:00:00Z")));
            }
        } else {
            s.insert("type".into(), json!(self.subject_type));
            for (k, v) in claims {
                s.insert(k.clone(), v.clone());
            }
        }
        out.insert("credentialSubject".into(), Value::Object(s));
        out
    }

    /// Reads the fields back out of a Data Integrity credential (for display and checks).
    pub fn fields_of_credential(&self, vc: &Map<String, Value>) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        let empty = Map::new();
        let subject = vc
            .get("credentialSubject")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        if self.is_open_badge() {
            let a = subject.get("achievement").and_then(Value::as_object);
            let pick = |v: Option<&Value>| v.filter(|v| !v.is_null()).cloned();
            let name = subject
                .get("identifier")
                .and_then(Value::as_array)
                .and_then(|ids| {
                    ids.iter()
                        .find(|i| i.get("identityType") == Some(&json!("name")))
                })
                .and_then(|i| i.get("identityHash"));
            let awarded = vc
                .get("awardedDate")
                .and_then(Value::as_str)
                .and_then(|d| d.strip_suffix("T00:00:00Z"))
                .map(|d| json!(d));
            for (field, v) in [
                ("recipientName", pick(name)),
                ("awardedOn", awarded),
                ("achievementName", pick(a.and_then(|a| a.get("name")))),
                (
                    "achievementDescription",
                    pick(a.and_then(|a| a.get("description"))),
                ),
                (
                    "criteria",
                    pick(
                        a.and_then(|a| a.get("criteria"))
                            .and_then(|c| c.get("narrative")),
                    ),
                ),
                (
                    "achievementType",
                    pick(a.and_then(|a| a.get("achievementType"))),
                ),
            ] {
                if let Some(v) = v {
                    out.insert(field.to_string(), v);
                }
            }
        } else {
            for f in &self.fields {
                if let Some(v) = subject.get(f.name) {
                    out.insert(f.name.to_string(), v.clone());
                }
            }
        }
        out
    }
}

/// The most rows one bulk issuance takes.
pub const MAX_ROWS: usize = 10_000;

/// Reads a bulk-issuance CSV (RFC 4180, UTF-8, an optional byte-order mark): a header row of
/// field names (and optionally `holder`), then one row per certificate, each with as many fields
/// as the header. Blank lines are skipped; at most [`MAX_ROWS`] rows.
pub fn rows_from_csv(bytes: &[u8]) -> Result<Vec<BTreeMap<String, String>>, CertError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| CertError::malformed(format!("CSV header: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| CertError::malformed(format!("CSV row {}: {e}", i + 2)))?;
        if rows.len() == MAX_ROWS {
            return Err(CertError::malformed(format!(
                "at most {MAX_ROWS} rows per file"
            )));
        }
        rows.push(
            header
                .iter()
                .cloned()
                .zip(record.iter().map(str::to_string))
                .collect(),
        );
    }
    Ok(rows)
}
