//! The election manifest: what is being voted on, when, by whom it is decrypted, and which ledger
//! carries it. Administrators write it as TOML ([`Manifest::from_toml`]); the record holds its
//! canonical binary form (entry kind `manifest`).
use hanpyo_crypto::ballot::ContestSpec;
use hanpyo_crypto::threshold::{MAX_TRUSTEES, ThresholdParams};
use serde::{Deserialize, Serialize};

use crate::encoding::{Reader, Writer};
use crate::error::RecordError;
use crate::question::TomlQuestion;
pub use crate::question::{Question, QuestionKind};

/// Most questions in one election.
pub const MAX_QUESTIONS: usize = 64;
/// Longest text (bytes of UTF-8) of a title or choice.
pub const MAX_TEXT: usize = 1024;
/// Longest election id.
pub const MAX_ID: usize = 64;

/// A text in Korean and English.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// Korean.
    pub ko: String,
    /// English.
    pub en: String,
}

impl Text {
    pub(crate) fn encode(&self, w: &mut Writer) {
        w.str(&self.ko).str(&self.en);
    }
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, RecordError> {
        let t = Self {
            ko: r.str(MAX_TEXT, "text")?,
            en: r.str(MAX_TEXT, "text")?,
        };
        t.validate()?;
        Ok(t)
    }
    pub(crate) fn validate(&self) -> Result<(), RecordError> {
        for s in [&self.ko, &self.en] {
            if s.trim().is_empty() || s.len() > MAX_TEXT {
                return Err(RecordError::Invalid(
                    "text",
                    "empty or longer than 1024 bytes".into(),
                ));
            }
            if s.chars().any(|c| c.is_control() && c != '\n') || s.trim() != s {
                return Err(RecordError::Invalid(
                    "text",
                    "control characters or surrounding spaces".into(),
                ));
            }
        }
        Ok(())
    }
}

/// Most bytes of encrypted answers one ballot may carry (its contests; the server takes request
/// bodies of up to 256 KiB).
pub const MAX_BALLOT_CONTESTS_LEN: usize = 192 * 1024;

/// Most witnesses one election may name.
pub const MAX_WITNESSES: usize = 16;

/// An independent witness that co-signs the ledger's checkpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessInfo {
    /// Its key name (no whitespace or `+`).
    pub name: String,
    /// Its Ed25519 public key.
    pub key: [u8; 32],
}

/// Where the election's ledger is, who signs its checkpoints and who witnesses them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerInfo {
    /// The log origin (checkpoint first line and key name).
    pub origin: String,
    /// The log operator's Ed25519 public key.
    pub key: [u8; 32],
    /// The witnesses.
    pub witnesses: Vec<WitnessInfo>,
    /// How many witness cosignatures the final checkpoint needs.
    pub witness_quorum: u32,
}

/// A C2SP note key name: 1–256 bytes, no whitespace, `+` or control character.
fn key_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

impl LedgerInfo {
    /// The witness list's rules: at most [`MAX_WITNESSES`]; each name a valid key name and each key
    /// a valid Ed25519 public key of large order (not the log's own); no name and no key twice (a
    /// witness listed twice would count twice toward the quorum); the quorum is `1..=count`, or 0
    /// when no witness is named.
    pub fn validate_witnesses(&self) -> Result<(), RecordError> {
        let bad = |why: String| Err(RecordError::Invalid("witnesses", why));
        let w = &self.witnesses;
        if w.len() > MAX_WITNESSES {
            return bad(format!("at most {MAX_WITNESSES} witnesses"));
        }
        for (i, x) in w.iter().enumerate() {
            if !key_name_ok(&x.name) {
                return bad(format!(
                    "witness {i}: name of 1-256 bytes, no whitespace, + or control character"
                ));
            }
            let key = ed25519_dalek::VerifyingKey::from_bytes(&x.key);
            if key.is_err() || key.is_ok_and(|k| k.is_weak()) {
                return bad(format!(
                    "witness {i} ({}): not a valid Ed25519 public key of large order",
                    x.name
                ));
            }
            if x.key == self.key {
                return bad(format!(
                    "witness {i} ({}): the log's own key cannot witness it",
                    x.name
                ));
            }
            if let Some(j) = w[..i].iter().position(|y| y.name == x.name) {
                return bad(format!(
                    "witnesses {j} and {i} have the same name {}",
                    x.name
                ));
            }
            if let Some(j) = w[..i].iter().position(|y| y.key == x.key) {
                return bad(format!("witnesses {j} and {i} have the same key"));
            }
        }
        let quorum_ok = match w.len() {
            0 => self.witness_quorum == 0,
            n => (1..=n as u32).contains(&self.witness_quorum),
        };
        if !quorum_ok {
            return bad(format!(
                "witness_quorum {} with {} witness(es): it must be 1 to the number of witnesses (0 without witnesses)",
                self.witness_quorum,
                w.len()
            ));
        }
        Ok(())
    }

    /// The verifier of the log operator's checkpoint signatures.
    pub fn log_verifier(&self) -> Result<hanpyo_ledger::checkpoint::NoteVerifier, RecordError> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(&self.key)
            .map_err(|e| RecordError::Invalid("ledger key", e.to_string()))?;
        hanpyo_ledger::checkpoint::NoteVerifier::new(
            &self.origin,
            key,
            hanpyo_ledger::checkpoint::KeyKind::Ed25519,
        )
        .map_err(|e| RecordError::Invalid("ledger origin", e.to_string()))
    }

    /// The verifiers of the witnesses' cosignatures.
    pub fn witness_verifiers(
        &self,
    ) -> Result<Vec<hanpyo_ledger::checkpoint::NoteVerifier>, RecordError> {
        self.witnesses
            .iter()
            .map(|w| {
                let key = ed25519_dalek::VerifyingKey::from_bytes(&w.key)
                    .map_err(|e| RecordError::Invalid("witness key", e.to_string()))?;
                hanpyo_ledger::checkpoint::NoteVerifier::new(
                    &w.name,
                    key,
                    hanpyo_ledger::checkpoint::KeyKind::Cosignature,
                )
                .map_err(|e| RecordError::Invalid("witness name", e.to_string()))
            })
            .collect()
    }
}

/// An election manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// Unique id: `[a-z0-9-]`, 1–64 characters.
    pub election_id: String,
    /// Title.
    pub title: Text,
    /// Voting opens (Unix seconds, UTC).
    pub opens_at: i64,
    /// Voting closes (Unix seconds, UTC).
    pub closes_at: i64,
    /// Number of trustees `n`.
    pub trustees: u32,
    /// Threshold `t`.
    pub threshold: u32,
    /// Questions, in ballot order.
    pub questions: Vec<Question>,
    /// The ledger.
    pub ledger: LedgerInfo,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlManifest {
    election_id: String,
    title: Text,
    opens_at: When,
    closes_at: When,
    trustees: u32,
    threshold: u32,
    questions: Vec<TomlQuestion>,
    #[serde(default)]
    witnesses: Option<Vec<TomlWitness>>,
    #[serde(default)]
    witness_quorum: Option<u32>,
}

/// A date-time: a TOML datetime, or (in JSON) an RFC 3339 string.
#[derive(Deserialize)]
#[serde(untagged)]
enum When {
    Datetime(toml::value::Datetime),
    Text(String),
}

impl When {
    fn unix(&self, what: &'static str) -> Result<i64, RecordError> {
        match self {
            When::Datetime(d) => unix_seconds(d, what),
            When::Text(t) => {
                let d: toml::value::Datetime = t
                    .parse()
                    .map_err(|_| RecordError::Invalid(what, "not an RFC 3339 date-time".into()))?;
                unix_seconds(&d, what)
            }
        }
    }
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct TomlWitness {
    name: String,
    /// Ed25519 public key, 64 hex digits.
    key: String,
    /// Where it answers C2SP tlog-witness (http or https): operational, so kept beside the election
    /// and not in the signed record ([`Manifest::parse_with_witness_urls`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

fn hex_key(what: &'static str, h: &str) -> Result<[u8; 32], RecordError> {
    hex::decode(h)
        .ok()
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
        .ok_or_else(|| RecordError::Invalid(what, "64 hex digits".into()))
}

fn witness_infos(ws: Vec<TomlWitness>) -> Result<Vec<WitnessInfo>, RecordError> {
    ws.into_iter()
        .map(|w| {
            Ok(WitnessInfo {
                key: hex_key("witness key", &w.key)?,
                name: w.name,
            })
        })
        .collect()
}

/// A trust policy (TOML), published apart from any record by the commission and the witnesses:
/// the log an auditor trusts and the witnesses whose cosignatures count.
///
/// ```toml
/// origin = "hanpyo.example/demo-2026"
/// log_key = "<64 hex digits>"
/// witness_quorum = 2
/// [[witnesses]]
/// name = "kisa.example/witness"
/// key = "<64 hex digits>"
/// ```
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct TomlTrustPolicy {
    origin: String,
    log_key: String,
    #[serde(default)]
    witnesses: Vec<TomlWitness>,
    witness_quorum: u32,
}

impl LedgerInfo {
    /// Parses and validates a trust policy (see [`TomlTrustPolicy`]'s format in docs/ledger.md).
    pub fn parse_trust_policy(text: &str) -> Result<Self, RecordError> {
        let t: TomlTrustPolicy = toml::from_str(text)
            .map_err(|e| RecordError::Invalid("trust policy", e.message().to_string()))?;
        let info = LedgerInfo {
            origin: t.origin,
            key: hex_key("log_key", &t.log_key)?,
            witnesses: witness_infos(t.witnesses)?,
            witness_quorum: t.witness_quorum,
        };
        info.validate_witnesses()?;
        info.log_verifier()?;
        Ok(info)
    }

    /// This ledger as a trust policy (what the commission publishes for a manifest's ledger);
    /// [`LedgerInfo::parse_trust_policy`] reads it back.
    pub fn to_trust_policy(&self) -> Result<String, RecordError> {
        let policy = TomlTrustPolicy {
            origin: self.origin.clone(),
            log_key: hex::encode(self.key),
            witnesses: self
                .witnesses
                .iter()
                .map(|w| TomlWitness {
                    name: w.name.clone(),
                    key: hex::encode(w.key),
                    url: None,
                })
                .collect(),
            witness_quorum: self.witness_quorum,
        };
        toml::to_string(&policy).map_err(|e| RecordError::Invalid("trust policy", e.to_string()))
    }

    /// How this ledger (a manifest's) differs from a trust policy's: none when the manifest
    /// names the policy's log, log key and exactly its witnesses (the quorum is the policy's).
    pub fn differences_from(&self, policy: &LedgerInfo) -> Vec<String> {
        let mut out = Vec::new();
        if self.origin != policy.origin {
            out.push(format!(
                "the manifest's log is {:?}, the trust policy's {:?}",
                self.origin, policy.origin
            ));
        }
        if self.key != policy.key {
            out.push("the manifest names another log key than the trust policy".into());
        }
        let mut named: Vec<_> = self.witnesses.iter().map(|w| (&w.name, w.key)).collect();
        let mut trusted: Vec<_> = policy.witnesses.iter().map(|w| (&w.name, w.key)).collect();
        named.sort();
        trusted.sort();
        if named != trusted {
            out.push("the manifest names other witnesses than the trust policy".into());
        }
        out
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn unix_seconds(dt: &toml::value::Datetime, what: &'static str) -> Result<i64, RecordError> {
    let bad = |why: &str| RecordError::Invalid(what, why.to_string());
    let (Some(date), Some(time), Some(offset)) = (dt.date, dt.time, dt.offset) else {
        return Err(bad(
            "needs a date, a time and a UTC offset, e.g. 2026-12-01T09:00:00+09:00",
        ));
    };
    let offset_minutes = match offset {
        toml::value::Offset::Z => 0,
        toml::value::Offset::Custom { minutes } => i64::from(minutes),
    };
    let days = days_from_civil(
        i64::from(date.year),
        i64::from(date.month),
        i64::from(date.day),
    );
    let secs = i64::from(time.hour) * 3600
        + i64::from(time.minute) * 60
        + i64::from(time.second.unwrap_or(0));
    Ok(days * 86_400 + secs - offset_minutes * 60)
}

/// Whether `id` is a well-formed election id: 1–64 of `a-z`, `0-9` and `-` (also the name of the
/// election's directory and its URL segment, so nothing else may appear in it).
pub fn valid_election_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Manifest {
    /// Parses and validates an administrator's TOML manifest; `ledger` is set by the system.
    pub fn from_toml(text: &str, ledger: LedgerInfo) -> Result<Self, RecordError> {
        let t: TomlManifest =
            toml::from_str(text).map_err(|e| RecordError::Invalid("manifest", e.to_string()))?;
        Self::from_parsed(t, ledger)
    }

    /// A manifest as TOML, or as JSON if it starts with `{`, validated.
    pub fn parse(text: &str, ledger: LedgerInfo) -> Result<Self, RecordError> {
        Ok(Self::parse_with_witness_urls(text, ledger)?.0)
    }

    /// [`Manifest::parse`], and the witnesses' URLs the manifest gives as `url`: `(name, url)`
    /// pairs, each an http(s) URL without whitespace. They are where the server reaches the
    /// witnesses, not part of the manifest (nor of the signed record).
    pub fn parse_with_witness_urls(
        text: &str,
        ledger: LedgerInfo,
    ) -> Result<(Self, Vec<(String, String)>), RecordError> {
        let t: TomlManifest = if text.trim_start().starts_with('{') {
            serde_json::from_str(text)
                .map_err(|e| RecordError::Invalid("manifest", e.to_string()))?
        } else {
            toml::from_str(text).map_err(|e| RecordError::Invalid("manifest", e.to_string()))?
        };
        let mut urls = Vec::new();
        for w in t.witnesses.iter().flatten() {
            if let Some(url) = &w.url {
                let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
                if !scheme_ok
                    || url.len() > 2048
                    || url.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err(RecordError::Invalid(
                        "witness url",
                        format!("{}: an http(s) URL without spaces", w.name),
                    ));
                }
                urls.push((w.name.clone(), url.clone()));
            }
        }
        Ok((Self::from_parsed(t, ledger)?, urls))
    }

    /// The same manifest as JSON (date-times as RFC 3339 strings).
    pub fn from_json(text: &str, ledger: LedgerInfo) -> Result<Self, RecordError> {
        let t: TomlManifest = serde_json::from_str(text)
            .map_err(|e| RecordError::Invalid("manifest", e.to_string()))?;
        Self::from_parsed(t, ledger)
    }

    fn from_parsed(t: TomlManifest, ledger: LedgerInfo) -> Result<Self, RecordError> {
        let questions = t
            .questions
            .into_iter()
            .map(TomlQuestion::into_question)
            .collect::<Result<Vec<_>, _>>()?;
        let mut ledger = ledger;
        if let Some(ws) = t.witnesses {
            ledger.witnesses = witness_infos(ws)?;
            ledger.witness_quorum = t.witness_quorum.unwrap_or(ledger.witnesses.len() as u32);
        } else if t.witness_quorum.is_some() {
            return Err(RecordError::Invalid(
                "witness_quorum",
                "given without witnesses".into(),
            ));
        }
        let m = Self {
            election_id: t.election_id,
            title: t.title,
            opens_at: t.opens_at.unix("opens_at")?,
            closes_at: t.closes_at.unix("closes_at")?,
            trustees: t.trustees,
            threshold: t.threshold,
            questions,
            ledger,
        };
        m.validate()?;
        Ok(m)
    }

    /// Checks every rule of the format.
    pub fn validate(&self) -> Result<(), RecordError> {
        if !valid_election_id(&self.election_id) {
            return Err(RecordError::Invalid(
                "election_id",
                "1-64 characters of a-z, 0-9 and -".into(),
            ));
        }
        self.title.validate()?;
        if self.closes_at <= self.opens_at {
            return Err(RecordError::Invalid(
                "voting window",
                "closes_at must be after opens_at".into(),
            ));
        }
        ThresholdParams::new(self.trustees, self.threshold).map_err(|_| {
            RecordError::Invalid(
                "trustees",
                format!("need 1 ≤ threshold ≤ trustees ≤ {MAX_TRUSTEES}"),
            )
        })?;
        if self.questions.is_empty() || self.questions.len() > MAX_QUESTIONS {
            return Err(RecordError::Invalid(
                "questions",
                "1 to 64 questions".into(),
            ));
        }
        for (i, q) in self.questions.iter().enumerate() {
            q.validate(i)?;
        }
        let ballot_len: usize = self.contest_specs().iter().map(|s| s.encoded_len()).sum();
        if ballot_len > MAX_BALLOT_CONTESTS_LEN {
            return Err(RecordError::Invalid(
                "questions",
                format!(
                    "a ballot would carry {ballot_len} bytes of encrypted answers, more than {MAX_BALLOT_CONTESTS_LEN}: fewer questions, choices, points or steps"
                ),
            ));
        }
        let width = crate::mixing::Rows::of(self).width;
        if width > hanpyo_crypto::shuffle::MAX_WIDTH {
            return Err(RecordError::Invalid(
                "questions",
                format!(
                    "the ranked questions have {width} ranks × choices in all, more than {} one shuffle row holds",
                    hanpyo_crypto::shuffle::MAX_WIDTH
                ),
            ));
        }
        if !key_name_ok(&self.ledger.origin) {
            return Err(RecordError::Invalid(
                "ledger origin",
                "1-256 bytes, no whitespace, + or control character".into(),
            ));
        }
        self.ledger.validate_witnesses()
    }

    /// The cryptographic shape of each question.
    pub fn contest_specs(&self) -> Vec<ContestSpec> {
        self.questions
            .iter()
            .enumerate()
            .map(|(i, q)| q.spec(i as u32))
            .collect()
    }

    /// A voter's answers (one per question, [`Question::values_of`]) as the values each contest
    /// encrypts.
    pub fn values_of(&self, answers: &[Vec<u32>]) -> Result<Vec<Vec<u8>>, String> {
        if answers.len() != self.questions.len() {
            return Err(format!(
                "{} answer(s) given, {} question(s)",
                answers.len(),
                self.questions.len()
            ));
        }
        self.questions
            .iter()
            .zip(answers)
            .enumerate()
            .map(|(i, (q, a))| {
                q.values_of(a)
                    .map_err(|e| format!("question {}: {e}", i + 1))
            })
            .collect()
    }

    /// The answers that contests' values encode (an audit's opening read back).
    pub fn answers_of(&self, values: &[Vec<u8>]) -> Vec<Vec<u32>> {
        self.questions
            .iter()
            .zip(values)
            .map(|(q, v)| q.answer_of(v))
            .collect()
    }

    /// The most each question's tally cells can hold with `counted` ballots counted: `counted`
    /// times the most one ballot adds to a cell (a score's `max_score`, else 1).
    pub fn cell_maxima(&self, counted: u64) -> Vec<u64> {
        self.questions
            .iter()
            .map(|q| counted.saturating_mul(u64::from(q.value_max())))
            .collect()
    }

    /// Threshold parameters (validated by [`Manifest::validate`]).
    pub fn threshold_params(&self) -> Result<ThresholdParams, RecordError> {
        Ok(ThresholdParams::new(self.trustees, self.threshold)?)
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.str(&self.election_id);
        self.title.encode(w);
        w.i64(self.opens_at)
            .i64(self.closes_at)
            .u32(self.trustees)
            .u32(self.threshold);
        w.u32(self.questions.len() as u32);
        for q in &self.questions {
            q.encode(w);
        }
        w.str(&self.ledger.origin).raw(&self.ledger.key);
        w.u32(self.ledger.witnesses.len() as u32);
        for x in &self.ledger.witnesses {
            w.str(&x.name).raw(&x.key);
        }
        w.u32(self.ledger.witness_quorum);
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, RecordError> {
        let election_id = r.str(MAX_ID, "election_id")?;
        let title = Text::decode(r)?;
        let opens_at = r.i64()?;
        let closes_at = r.i64()?;
        let trustees = r.u32()?;
        let threshold = r.u32()?;
        let nq = r.count(MAX_QUESTIONS, "questions")?;
        let questions = (0..nq)
            .map(|_| Question::decode(r))
            .collect::<Result<Vec<_>, _>>()?;
        let origin = r.str(256, "ledger origin")?;
        let key = r.array()?;
        let nw = r.count(MAX_WITNESSES, "witnesses")?;
        let mut witnesses = Vec::with_capacity(nw);
        for _ in 0..nw {
            witnesses.push(WitnessInfo {
                name: r.str(256, "witness name")?,
                key: r.array()?,
            });
        }
        let witness_quorum = r.u32()?;
        let m = Self {
            election_id,
            title,
            opens_at,
            closes_at,
            trustees,
            threshold,
            questions,
            ledger: LedgerInfo {
                origin,
                key,
                witnesses,
                witness_quorum,
            },
        };
        m.validate()?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ledger_written_as_a_trust_policy_reads_back_and_differences_are_named() {
        let key = |seed: u8| {
            ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
                .verifying_key()
                .to_bytes()
        };
        let ledger = LedgerInfo {
            origin: "hanpyo.example/vote-2026".into(),
            key: key(1),
            witnesses: vec![
                WitnessInfo {
                    name: "kisa.example/witness".into(),
                    key: key(2),
                },
                WitnessInfo {
                    name: "press.example/witness".into(),
                    key: key(3),
                },
            ],
            witness_quorum: 2,
        };
        let text = ledger.to_trust_policy().expect("written");
        let back = LedgerInfo::parse_trust_policy(&text).expect("read back");
        assert_eq!(back, ledger);
        assert!(ledger.differences_from(&back).is_empty());
        let mut other = ledger.clone();
        other.witnesses[1].key = key(4);
        other.origin = "elsewhere".into();
        assert_eq!(ledger.differences_from(&other).len(), 2);
    }

    #[test]
    fn witness_urls_are_read_beside_the_manifest_not_into_it() {
        let key = |seed: u8| {
            hex::encode(
                ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
                    .verifying_key()
                    .to_bytes(),
            )
        };
        let ledger = LedgerInfo {
            origin: "o".into(),
            key: [9; 32],
            witnesses: Vec::new(),
            witness_quorum: 0,
        };
        let toml = |url: &str| {
            format!(
                "election_id = \"e\"\nopens_at = 2026-12-01T09:00:00+09:00\ncloses_at = 2026-12-02T09:00:00+09:00\n\
                 trustees = 1\nthreshold = 1\ntitle = {{ ko = \"가\", en = \"A\" }}\n\
                 witnesses = [{{ name = \"kisa.example/w\", key = \"{}\"{url} }}, {{ name = \"press.example/w\", key = \"{}\" }}]\n\
                 [[questions]]\nkind = \"referendum\"\ntitle = {{ ko = \"가\", en = \"A\" }}\n",
                key(2),
                key(3)
            )
        };
        let with = toml(", url = \"https://witness.kisa.example/\"");
        let (a, urls) = Manifest::parse_with_witness_urls(&with, ledger.clone()).expect("with");
        assert_eq!(
            urls,
            vec![(
                "kisa.example/w".to_string(),
                "https://witness.kisa.example/".to_string()
            )]
        );
        // The URL is not part of the manifest: with or without it, the same canonical bytes.
        let b = Manifest::from_toml(&toml(""), ledger.clone()).expect("without");
        assert_eq!(a, b);
        for bad in [
            "ftp://w.example/",
            "https://w.example/ x",
            "witness.example",
        ] {
            let text = toml(&format!(", url = \"{bad}\""));
            assert!(
                Manifest::parse_with_witness_urls(&text, ledger.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn json_and_toml_manifests_agree() {
        let ledger = LedgerInfo {
            origin: "o".into(),
            key: [0; 32],
            witnesses: Vec::new(),
            witness_quorum: 0,
        };
        let toml = "election_id = \"e\"\nopens_at = 2026-12-01T09:00:00+09:00\ncloses_at = 2026-12-02T09:00:00+09:00\n\
                    trustees = 1\nthreshold = 1\ntitle = { ko = \"가\", en = \"A\" }\n\
                    [[questions]]\nkind = \"referendum\"\ntitle = { ko = \"가\", en = \"A\" }\n";
        let json = r#"{"election_id": "e", "opens_at": "2026-12-01T09:00:00+09:00", "closes_at": "2026-12-02T09:00:00+09:00",
            "trustees": 1, "threshold": 1, "title": {"ko": "가", "en": "A"},
            "questions": [{"kind": "referendum", "title": {"ko": "가", "en": "A"}}]}"#;
        let a = Manifest::from_toml(toml, ledger.clone()).expect("toml");
        let b = Manifest::from_json(json, ledger.clone()).expect("json");
        assert_eq!(a, b);
        assert!(Manifest::from_json(&json.replace("2026-12-01T09", "yesterday"), ledger).is_err());
    }

    #[test]
    fn witness_lists_are_refused_when_a_witness_could_count_twice_or_the_quorum_is_unreachable() {
        let key = |seed: u8| {
            ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
                .verifying_key()
                .to_bytes()
        };
        let base = "election_id = \"e\"\nopens_at = 2026-12-01T09:00:00+09:00\ncloses_at = 2026-12-02T09:00:00+09:00\n\
                    trustees = 1\nthreshold = 1\ntitle = { ko = \"가\", en = \"A\" }\n";
        let tail = "[[questions]]\nkind = \"referendum\"\ntitle = { ko = \"가\", en = \"A\" }\n";
        let ledger = LedgerInfo {
            origin: "o".into(),
            key: key(9),
            witnesses: Vec::new(),
            witness_quorum: 0,
        };
        let with = |witnesses: &[(&str, [u8; 32])], quorum: Option<u32>| {
            let mut t = base.to_string();
            if let Some(q) = quorum {
                t += &format!("witness_quorum = {q}\n");
            }
            t += tail;
            for (name, k) in witnesses {
                t += &format!(
                    "[[witnesses]]\nname = \"{name}\"\nkey = \"{}\"\n",
                    hex::encode(k)
                );
            }
            Manifest::from_toml(&t, ledger.clone())
        };
        assert!(with(&[("w1", key(1)), ("w2", key(2))], None).is_ok());
        assert!(with(&[("w1", key(1)), ("w2", key(2))], Some(1)).is_ok());
        assert!(with(&[], None).is_ok());
        for (case, witnesses, quorum) in [
            ("same name", vec![("w1", key(1)), ("w1", key(2))], None),
            ("same key", vec![("w1", key(1)), ("w2", key(1))], None),
            (
                "quorum above the count",
                vec![("w1", key(1)), ("w2", key(2))],
                Some(3),
            ),
            ("quorum 0 with witnesses", vec![("w1", key(1))], Some(0)),
            ("the log's own key", vec![("w1", key(9))], None),
            ("a small-order key", vec![("w1", [0; 32])], None),
            ("a name with a space", vec![("w 1", key(1))], None),
        ] {
            assert!(with(&witnesses, quorum).is_err(), "{case} must be refused");
        }
        // Decoding applies the same rules: a record's manifest cannot list a witness twice.
        let mut m = with(&[("w1", key(1))], None).expect("valid");
        m.ledger.witnesses.push(m.ledger.witnesses[0].clone());
        m.ledger.witness_quorum = 2;
        let bytes = crate::entry::Entry::Manifest(Box::new(m)).encode();
        assert!(crate::entry::Entry::decode(&bytes, None).is_err());
    }

    #[test]
    fn unix_time_conversion() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        let dt: toml::value::Datetime = "2026-12-01T09:00:00+09:00".parse().expect("datetime");
        assert_eq!(unix_seconds(&dt, "t").expect("ok"), 1_796_083_200);
    }
}
