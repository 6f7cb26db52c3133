//! `/api/v1/certs/…`: the certificate registry's public reads (issuers and their counts, status
//! lists, lots, the log), the operator's issuer registration, the issuer's console (issue,
//! revoke, record provenance) and the presentation relay. See docs/api.md and docs/certs.md.
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hanpyo_certs::bundle::Bundle;
use hanpyo_certs::entry::LotInput;
use hanpyo_certs::{did, issue, template};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::{Certs, issuer_of, rule_error};
use crate::accounts::{Role, Scope};
use crate::api::{bearer, parse_json};
use crate::error::{ApiError, ErrorBody};
use crate::platform::Platform;

fn now() -> u64 {
    hanpyo_certs::service::unix_now()
}

fn certs(p: &Platform) -> Result<Arc<Certs>, ApiError> {
    p.certs.clone().ok_or_else(|| {
        ApiError::new(
            404,
            "no-certificates",
            "this server hosts no certificate registry",
        )
    })
}

/// Runs blocking work (SQLite commits, witnesses) off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::internal())?
}

/// An issuer as the log counts it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IssuerOut {
    /// Its DID (`did:key:z…`).
    issuer: String,
    /// Its key's multibase form (the status lists' path).
    key: String,
    /// Its name.
    name: String,
    /// The document types it may issue.
    types: Vec<String>,
    /// Issued, by type.
    issued: BTreeMap<String, u64>,
    /// Issued in all.
    issued_total: u64,
    /// Revoked.
    revoked: u64,
    /// Provenance events recorded.
    provenance_events: u64,
}

impl IssuerOut {
    fn of(did: &str, s: &hanpyo_certs::registry::IssuerState) -> Self {
        Self {
            issuer: did.to_string(),
            key: did::multibase_key(&s.key),
            name: s.name.clone(),
            types: s.types.clone(),
            issued: s.issued.clone(),
            issued_total: s.next_index,
            revoked: s.revoked.len() as u64,
            provenance_events: s.events,
        }
    }
}

/// The registry: who runs it, its log, its issuers.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegistryOut {
    /// The operator's name.
    name: String,
    /// The log's origin.
    origin: String,
    /// Entries on the log.
    size: u64,
    /// The anchors a verifier pins (trust.json).
    #[schema(value_type = Object)]
    trust: Value,
    /// Every issuer, in the order of its key.
    issuers: Vec<IssuerOut>,
    /// Provenance lots recorded.
    lots: u64,
}

/// The registry, its trust anchors and every issuer with what it issued and revoked (public:
/// counts, never the certificates).
#[utoipa::path(
    get,
    path = "/api/v1/certs",
    tag = "certs",
    responses(
        (status = 200, description = "The registry", body = RegistryOut),
        (status = 404, description = "`no-certificates`", body = ErrorBody),
    )
)]
pub(crate) async fn registry(State(p): State<Platform>) -> Result<Json<RegistryOut>, ApiError> {
    let c = certs(&p)?;
    blocking(move || {
        let log = c.log();
        let r = log.registry();
        Ok(Json(RegistryOut {
            name: r
                .registry
                .as_ref()
                .map(|g| g.name.clone())
                .unwrap_or_default(),
            origin: log.anchors().origin.clone(),
            size: r.size,
            trust: serde_json::to_value(log.anchors()).unwrap_or_default(),
            issuers: r.issuers.iter().map(|(d, s)| IssuerOut::of(d, s)).collect(),
            lots: r.lots.len() as u64,
        }))
    })
    .await
}

/// The document types (templates): fields, kinds, labels, which are disclosable.
#[utoipa::path(
    get,
    path = "/api/v1/certs/templates",
    tag = "certs",
    responses((status = 200, description = "The templates", body = [Object]))
)]
pub(crate) async fn templates() -> Json<Value> {
    Json(serde_json::to_value(template::all()).unwrap_or_default())
}

/// An issuer's signed status list (W3C Bitstring Status List credential), valid 24 hours.
#[utoipa::path(
    get,
    path = "/api/v1/certs/status/{key}/{list}",
    tag = "certs",
    params(
        ("key" = String, Path, description = "The issuer's key, multibase (z…)"),
        ("list" = u64, Path, description = "The list (status index / 131072)"),
    ),
    responses(
        (status = 200, description = "The status list credential", body = Object),
        (status = 404, description = "`no-certificates`, `unknown-issuer`, `not-found`", body = ErrorBody),
    )
)]
pub(crate) async fn status(
    State(p): State<Platform>,
    UrlPath((key, list)): UrlPath<(String, u64)>,
) -> Result<Json<Value>, ApiError> {
    let c = certs(&p)?;
    blocking(move || {
        c.status_list(&key, list, now())
            .map(|m| Json(Value::Object(m)))
    })
    .await
}

/// A provenance lot: its history back to collection with the balance of each step.
#[utoipa::path(
    get,
    path = "/api/v1/certs/lots/{lot}",
    tag = "certs",
    params(("lot" = String, Path, description = "The lot id")),
    responses(
        (status = 200, description = "The lot's history", body = Object),
        (status = 404, description = "`no-certificates`, `unknown-lot`", body = ErrorBody),
    )
)]
pub(crate) async fn lot(
    State(p): State<Platform>,
    UrlPath(lot): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    let c = certs(&p)?;
    blocking(move || {
        let report = c.log().registry().lot_report(&lot);
        report
            .map(Json)
            .ok_or_else(|| ApiError::new(404, "unknown-lot", "no such lot on the log"))
    })
    .await
}

/// A range of entries.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct Range {
    /// First index (default 0).
    start: Option<u64>,
    /// One past the last (at most start + 256).
    end: Option<u64>,
}

/// Entries of the log (for auditors: replay them with the rules of docs/certs.md).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EntriesOut {
    /// The log's size.
    size: u64,
    /// The entries, each with its index.
    #[schema(value_type = Vec<Object>)]
    entries: Vec<Value>,
}

/// The log's entries `start..end` (at most 256) as JSON objects; their log bytes are their JCS form.
#[utoipa::path(
    get,
    path = "/api/v1/certs/entries",
    tag = "certs",
    params(Range),
    responses(
        (status = 200, description = "Entries", body = EntriesOut),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 404, description = "`no-certificates`", body = ErrorBody),
    )
)]
pub(crate) async fn entries(
    State(p): State<Platform>,
    Query(r): Query<Range>,
) -> Result<Json<EntriesOut>, ApiError> {
    let c = certs(&p)?;
    blocking(move || {
        let log = c.log();
        let size = log.ledger().size();
        let start = r.start.unwrap_or(0).min(size);
        let end = r.end.unwrap_or(size).min(size).min(start + 256);
        if end < start {
            return Err(ApiError::malformed("end before start"));
        }
        let raw = log
            .ledger()
            .entries(start, end)
            .map_err(|_| ApiError::internal())?;
        let entries = raw
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let entry: Value = serde_json::from_slice(b).unwrap_or(Value::Null);
                json!({"index": start + i as u64, "entry": entry})
            })
            .collect();
        Ok(Json(EntriesOut { size, entries }))
    })
    .await
}

/// The log's latest checkpoint (a C2SP signed note with the witnesses' cosignatures).
#[utoipa::path(
    get,
    path = "/api/v1/certs/checkpoint",
    tag = "certs",
    responses(
        (status = 200, description = "The signed checkpoint", body = String, content_type = "text/plain"),
        (status = 404, description = "`no-certificates`", body = ErrorBody),
    )
)]
pub(crate) async fn checkpoint(State(p): State<Platform>) -> Result<Response, ApiError> {
    let c = certs(&p)?;
    let note = blocking(move || {
        c.log()
            .ledger()
            .latest_checkpoint()
            .map_err(|_| ApiError::internal())
    })
    .await?
    .unwrap_or_default();
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

/// A new issuer whose console is this server.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewIssuer {
    /// The organisation's name.
    name: String,
    /// Document types it may issue (template ids).
    types: Vec<String>,
    /// Its console account's name.
    account: String,
    /// The account's password (at least 12 characters).
    password: String,
}

/// The issuer registered.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IssuerRegistered {
    /// Its DID.
    issuer: String,
    /// Its key (multibase).
    key: String,
    /// Its console account.
    account: String,
}

/// Register an issuer (the registry's operator: a platform administrator). The server makes and
/// keeps its key; the approval goes on the log; the account logs in to the issuer console.
#[utoipa::path(
    post,
    path = "/api/v1/certs/issuers",
    tag = "certs",
    security(("admin" = [])),
    request_body(content = NewIssuer, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered", body = IssuerRegistered),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`, `platform-only`", body = ErrorBody),
        (status = 404, description = "`no-certificates`", body = ErrorBody),
        (status = 409, description = "`account-exists`, `refused`", body = ErrorBody),
        (status = 503, description = "`witnesses-unavailable`", body = ErrorBody),
    )
)]
pub(crate) async fn register(
    State(p): State<Platform>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<IssuerRegistered>), ApiError> {
    let who = p
        .accounts()
        .authorize_platform(bearer(&headers), Role::Administrator)?;
    let c = certs(&p)?;
    let req: NewIssuer = parse_json(&headers, &body)?;
    if req.name.trim().is_empty() || req.name.chars().count() > 200 {
        return Err(ApiError::malformed("an issuer's name is 1-200 characters"));
    }
    if req.types.is_empty() || req.types.iter().any(|t| template::find(t).is_none()) {
        return Err(ApiError::malformed(
            "types are template ids (GET /api/v1/certs/templates)",
        ));
    }
    if req.password.chars().count() < 12 {
        return Err(ApiError::malformed("passwords have at least 12 characters"));
    }
    let accounts = p.accounts.clone();
    let out = blocking(move || {
        let lock = || accounts.lock().unwrap_or_else(|e| e.into_inner());
        // The account first, made under the same lock that found its name free (making it
        // replaces an account of that name), with no rights until the issuer is on the log.
        {
            let mut a = lock();
            if a.list()?.iter().any(|x| x.name == req.account) {
                return Err(ApiError::new(
                    409,
                    "account-exists",
                    "an account of that name exists",
                ));
            }
            let none = Scope::Elections(Default::default());
            a.create_user(&req.account, Role::Administrator, &none, &req.password)?;
        }
        // The key and the log entry without the accounts' lock (the witnesses take a while).
        let key = match c.register_hosted_issuer(&req.name, &req.types, now()) {
            Ok(k) => k,
            Err(e) => {
                lock().delete_user(&req.account);
                return Err(e);
            }
        };
        lock().set_scope(&req.account, &Scope::Issuer(key.clone()))?;
        Ok(IssuerRegistered {
            issuer: format!("did:key:{key}"),
            key,
            account: req.account,
        })
    })
    .await?;
    p.accounts().audit(
        None,
        &who.name,
        "cert-register-issuer",
        &format!("{} ({})", out.issuer, out.account),
    );
    Ok((StatusCode::CREATED, Json(out)))
}

/// The issuer behind a session: its account name and key (multibase).
fn issuer_session(p: &Platform, headers: &HeaderMap) -> Result<(String, String), ApiError> {
    let who = p
        .accounts()
        .authorize(bearer(headers), Role::Administrator)?;
    let key = issuer_of(&who.scope)
        .ok_or_else(|| {
            ApiError::new(
                403,
                "not-an-issuer",
                "this needs an issuer's console account",
            )
        })?
        .to_string();
    Ok((who.name, key))
}

/// One certificate an issuer issued, as its console lists it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IssuedOut {
    /// Its status index.
    status_index: u64,
    /// Its issuance entry's index on the log.
    log_index: u64,
    /// Its document type.
    #[serde(rename = "type")]
    doc_type: String,
    /// When.
    issued: String,
    /// Its revocation reason, if revoked.
    revoked: Option<String>,
}

/// The issuer console's view.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConsoleOut {
    /// The account.
    account: String,
    /// The issuer, as the log counts it.
    issuer: IssuerOut,
    /// The latest 100 certificates, newest first.
    recent: Vec<IssuedOut>,
}

/// The issuer console: who is logged in, its counts, its latest certificates.
#[utoipa::path(
    get,
    path = "/api/v1/certs/console",
    tag = "certs",
    security(("admin" = [])),
    responses(
        (status = 200, description = "The issuer's console", body = ConsoleOut),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`, `not-an-issuer`", body = ErrorBody),
        (status = 404, description = "`no-certificates`, `unknown-issuer`", body = ErrorBody),
    )
)]
pub(crate) async fn console(
    State(p): State<Platform>,
    headers: HeaderMap,
) -> Result<Json<ConsoleOut>, ApiError> {
    let (account, key) = issuer_session(&p, &headers)?;
    let c = certs(&p)?;
    blocking(move || {
        let log = c.log();
        let did = format!("did:key:{key}");
        let s =
            log.registry().issuers.get(&did).ok_or_else(|| {
                ApiError::new(404, "unknown-issuer", "the issuer is not on the log")
            })?;
        let mut recent = Vec::new();
        for (status_index, &log_index) in s.issuances.iter().enumerate().rev().take(100) {
            let e = log
                .ledger()
                .entry(log_index)
                .map_err(|_| ApiError::internal())?;
            let v: Value = serde_json::from_slice(&e).unwrap_or_default();
            recent.push(IssuedOut {
                status_index: status_index as u64,
                log_index,
                doc_type: v["type"].as_str().unwrap_or_default().to_string(),
                issued: v["issued"].as_str().unwrap_or_default().to_string(),
                revoked: s.revoked.get(&(status_index as u64)).cloned(),
            });
        }
        Ok(Json(ConsoleOut {
            account,
            issuer: IssuerOut::of(&did, s),
            recent,
        }))
    })
    .await
}

/// What to issue: one certificate from `fields`, or one per row of `csv`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IssueRequest {
    /// The document type.
    #[serde(rename = "type")]
    doc_type: String,
    /// The fields of one certificate.
    #[serde(default)]
    fields: Option<BTreeMap<String, String>>,
    /// Or a CSV file's text: a header of field names (and optionally `holder`), one row each.
    #[serde(default)]
    csv: Option<String>,
    /// The holder's DID (one certificate).
    #[serde(default)]
    holder: Option<String>,
    /// Valid until `YYYY-MM-DD` (end of day, UTC); default the type's validity.
    #[serde(default)]
    valid_until: Option<String>,
}

/// The certificates issued.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IssuedCertificates {
    /// Each certificate file, as its holder keeps it.
    #[schema(value_type = Vec<Object>)]
    certificates: Vec<Value>,
}

fn holder(s: Option<&str>) -> Result<Option<ed25519_dalek::VerifyingKey>, ApiError> {
    s.filter(|s| !s.is_empty())
        .map(|d| did::parse_did_key(d).map_err(|e| ApiError::malformed(format!("holder: {e}"))))
        .transpose()
}

/// Issue certificates (an issuer's console account): one, or a CSV file's rows in one commit.
/// Each is on the log (a salted commitment, witnessed) before it is answered.
#[utoipa::path(
    post,
    path = "/api/v1/certs/issue",
    tag = "certs",
    security(("admin" = [])),
    request_body(content = IssueRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Issued", body = IssuedCertificates),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`, `not-an-issuer`, `not-registered`, `not-allowed`", body = ErrorBody),
        (status = 404, description = "`no-certificates`, `unknown-issuer`, `unknown-lot`", body = ErrorBody),
        (status = 409, description = "`refused`", body = ErrorBody),
        (status = 503, description = "`witnesses-unavailable`", body = ErrorBody),
    )
)]
pub(crate) async fn issue_certificates(
    State(p): State<Platform>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<IssuedCertificates>), ApiError> {
    let (account, key) = issuer_session(&p, &headers)?;
    let c = certs(&p)?;
    let req: IssueRequest = parse_json(&headers, &body)?;
    let t = template::find(&req.doc_type)
        .ok_or_else(|| ApiError::malformed("type: not a document type"))?;
    let valid_until = match &req.valid_until {
        Some(d) => Some(
            hanpyo_certs::parse_datetime(&format!("{d}T23:59:59Z"))
                .ok_or_else(|| ApiError::malformed("valid_until: a date YYYY-MM-DD"))?,
        ),
        None => None,
    };
    let rows: Vec<(
        BTreeMap<String, String>,
        Option<ed25519_dalek::VerifyingKey>,
    )> = match (req.fields, req.csv) {
        (Some(f), None) => vec![(f, holder(req.holder.as_deref())?)],
        (None, Some(csv)) => template::rows_from_csv(csv.as_bytes())
            .map_err(|e| ApiError::malformed(e.to_string()))?
            .into_iter()
            .enumerate()
            .map(|(i, mut row)| {
                let h = row.remove("holder");
                let h = holder(h.as_deref().or(req.holder.as_deref()))
                    .map_err(|e| ApiError::malformed(format!("row {}: {}", i + 2, e.message)))?;
                Ok((row, h))
            })
            .collect::<Result<_, ApiError>>()?,
        _ => return Err(ApiError::malformed("give fields or csv")),
    };
    if rows.is_empty() {
        return Err(ApiError::malformed("no rows"));
    }
    let n = rows.len();
    let doc_type = t.id;
    let out = blocking(move || {
        let issuer = c.issuer_key(&key)?;
        let batch: Vec<_> = rows.into_iter().map(|(v, h)| (&t, v, h)).collect();
        // The log is locked for the issuance only, not while the files are written out.
        let bundles = c
            .log()
            .issue(
                &mut hanpyo_crypto::os_rng(),
                &issuer,
                &batch,
                now(),
                valid_until,
            )
            .map_err(|e| match e {
                // The only thing issuing looks up: a provenance lot.
                hanpyo_certs::service::ServiceError::NotFound(m) => {
                    ApiError::new(404, "unknown-lot", m)
                }
                e => rule_error(e),
            })?;
        Ok(IssuedCertificates {
            certificates: bundles
                .iter()
                .map(|b| serde_json::to_value(b).unwrap_or_default())
                .collect(),
        })
    })
    .await?;
    p.accounts()
        .audit(None, &account, "cert-issue", &format!("{n} {doc_type}"));
    Ok((StatusCode::CREATED, Json(out)))
}

/// A revocation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokeRequest {
    /// The certificate's status index.
    status_index: u64,
    /// issued-in-error, superseded, withdrawn, holder-request or fraud.
    reason: String,
}

/// Where an entry went on the log.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Logged {
    /// Its index.
    log_index: u64,
}

/// Revoke a certificate (its issuer's console), with a reason code; its status list changes at once.
#[utoipa::path(
    post,
    path = "/api/v1/certs/revoke",
    tag = "certs",
    security(("admin" = [])),
    request_body(content = RevokeRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Revoked", body = Logged),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`, `not-an-issuer`, `not-registered`", body = ErrorBody),
        (status = 404, description = "`no-certificates`, `unknown-issuer`", body = ErrorBody),
        (status = 409, description = "`refused`", body = ErrorBody),
        (status = 503, description = "`witnesses-unavailable`", body = ErrorBody),
    )
)]
pub(crate) async fn revoke(
    State(p): State<Platform>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Logged>, ApiError> {
    let (account, key) = issuer_session(&p, &headers)?;
    let c = certs(&p)?;
    let req: RevokeRequest = parse_json(&headers, &body)?;
    let (index, reason) = (req.status_index, req.reason.clone());
    let out = blocking(move || {
        let issuer = c.issuer_key(&key)?;
        let entry = issue::revoke(&issuer, index, &reason, now())
            .map_err(|e| ApiError::malformed(e.to_string()))?;
        let mut log = c.log();
        let appended = log.append(&[entry], now());
        // Whatever came of it (a witness round can fail after the commit), the list is signed anew;
        // forgotten under the log's lock, so no list signed before the revocation is cached after it.
        c.status_changed(&key);
        drop(log);
        let ev = appended.map_err(rule_error)?;
        Ok(Logged {
            log_index: ev[0].receipt.index,
        })
    })
    .await?;
    p.accounts().audit(
        None,
        &account,
        "cert-revoke",
        &format!("{} ({})", req.status_index, req.reason),
    );
    Ok(Json(out))
}

/// A provenance event.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProvenanceRequest {
    /// The new lot's id.
    lot: String,
    /// collection, transport, refining or export.
    stage: String,
    /// Its quantity (whole units).
    quantity: u64,
    /// kg or L.
    unit: String,
    /// What it was made from.
    #[serde(default)]
    inputs: Vec<LotIn>,
}

/// An input lot.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LotIn {
    /// The earlier lot.
    lot: String,
    /// How much of it.
    quantity: u64,
}

/// Record a provenance event (a registered party's console): refused unless its quantities
/// balance (docs/certs.md, *Provenance*).
#[utoipa::path(
    post,
    path = "/api/v1/certs/provenance",
    tag = "certs",
    security(("admin" = [])),
    request_body(content = ProvenanceRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded", body = Logged),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`, `not-an-issuer`, `not-registered`, `not-allowed`", body = ErrorBody),
        (status = 404, description = "`no-certificates`, `unknown-issuer`", body = ErrorBody),
        (status = 409, description = "`refused`, `unbalanced`", body = ErrorBody),
        (status = 503, description = "`witnesses-unavailable`", body = ErrorBody),
    )
)]
pub(crate) async fn provenance(
    State(p): State<Platform>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Logged>), ApiError> {
    let (account, key) = issuer_session(&p, &headers)?;
    let c = certs(&p)?;
    let req: ProvenanceRequest = parse_json(&headers, &body)?;
    let what = format!("{} {} {} {}", req.lot, req.stage, req.quantity, req.unit);
    let out = blocking(move || {
        let party = c.issuer_key(&key)?;
        let inputs = req
            .inputs
            .into_iter()
            .map(|i| LotInput {
                lot: i.lot,
                quantity: i.quantity,
            })
            .collect();
        let entry = issue::provenance(
            &party,
            &req.lot,
            &req.stage,
            req.quantity,
            &req.unit,
            inputs,
            now(),
        )
        .map_err(|e| ApiError::malformed(e.to_string()))?;
        let ev = c.log().append(&[entry], now()).map_err(rule_error)?;
        Ok(Logged {
            log_index: ev[0].receipt.index,
        })
    })
    .await?;
    p.accounts().audit(None, &account, "cert-provenance", &what);
    Ok((StatusCode::CREATED, Json(out)))
}

/// A presentation waiting to be fetched.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Relayed {
    /// Its one-time id (the QR code's link carries it).
    id: String,
    /// Seconds it waits.
    expires_in: u64,
}

/// Leave a presentation (a certificate file made for one verifier) for one fetch within five
/// minutes: the holder's QR code links to it. Never stored on disk, never logged.
#[utoipa::path(
    post,
    path = "/api/v1/certs/presentations",
    tag = "certs",
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 201, description = "Waiting", body = Relayed),
        (status = 400, description = "`malformed`", body = ErrorBody),
        (status = 404, description = "`no-certificates`", body = ErrorBody),
        (status = 429, description = "`rate-limited`", body = ErrorBody),
        (status = 503, description = "`busy`: too many presentations waiting", body = ErrorBody),
    )
)]
pub(crate) async fn relay_put(
    State(p): State<Platform>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    body: Bytes,
) -> Result<(StatusCode, Json<Relayed>), ApiError> {
    p.limit_client(peer.ip())?;
    let c = certs(&p)?;
    let b = Bundle::parse(&body).map_err(|e| ApiError::malformed(e.to_string()))?;
    if b.presentation.is_none() && b.sd_jwt.as_deref().is_none_or(|s| s.ends_with('~')) {
        return Err(ApiError::malformed(
            "only presentations (made for one verifier) are relayed",
        ));
    }
    let id = c.relay_put(b.to_json())?;
    Ok((
        StatusCode::CREATED,
        Json(Relayed {
            id,
            expires_in: super::RELAY_TTL.as_secs(),
        }),
    ))
}

/// Fetch a relayed presentation (once: it is gone afterwards).
#[utoipa::path(
    get,
    path = "/api/v1/certs/presentations/{id}",
    tag = "certs",
    params(("id" = String, Path, description = "The presentation's id")),
    responses(
        (status = 200, description = "The presentation", body = Object),
        (status = 404, description = "`no-certificates`, `unknown-presentation`", body = ErrorBody),
    )
)]
pub(crate) async fn relay_get(
    State(p): State<Platform>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let c = certs(&p)?;
    let text = c.relay_take(&id).ok_or_else(|| {
        ApiError::new(
            404,
            "unknown-presentation",
            "no such presentation (or it was fetched, or it expired)",
        )
    })?;
    Ok(([(header::CONTENT_TYPE, "application/json")], text).into_response())
}
