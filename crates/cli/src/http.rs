//! A small blocking HTTP client for the command-line roles (voter, auditor).
use anyhow::{Context, Result, bail};
use hanpyo_crypto::elgamal::PublicKey;
use hanpyo_ledger::merkle::leaf_hash;
use hanpyo_record::entry::Entry;
use hanpyo_record::manifest::Manifest;

/// GET/POST against a Hanpyo server; non-2xx answers come back as `{code, message}` errors.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
}

/// An API error answer.
#[derive(Debug, serde::Deserialize)]
pub struct ApiError {
    /// Stable code.
    pub code: String,
    /// Human message.
    pub message: String,
}

/// The outcome of a request: the body, or the server's error.
pub type Answer = std::result::Result<Vec<u8>, (u16, ApiError)>;

impl Client {
    /// A client for `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(60)))
            .build()
            .into();
        Self {
            agent,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// A client for one election of a server: `URL/e/<election>` (without `election`, the URL as
    /// given: a server's only election, or a mirror).
    pub fn at(url: &str, election: Option<&str>) -> Result<Self> {
        match election {
            Some(id) if !hanpyo_record::manifest::valid_election_id(id) => {
                bail!("--election {id:?}: election ids are 1-64 of a-z, 0-9 and -")
            }
            Some(id) => Ok(Self::new(&format!("{}/e/{id}", url.trim_end_matches('/')))),
            None => Ok(Self::new(url)),
        }
    }

    fn finish(mut resp: ureq::http::Response<ureq::Body>) -> Result<Answer> {
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(16 * 1024 * 1024 * 1024)
            .read_to_vec()
            .context("reading the answer")?;
        if (200..300).contains(&status) {
            return Ok(Ok(body));
        }
        let err: ApiError = serde_json::from_slice(&body).unwrap_or(ApiError {
            code: "http".into(),
            message: String::from_utf8_lossy(&body).into_owned(),
        });
        Ok(Err((status, err)))
    }

    /// `GET path`, the body streamed into `dest` (a whole record can be gigabytes: it is never held
    /// in memory, and only the wait for the answer is bounded in time, not the transfer).
    pub fn get_to_file(&self, path: &str, dest: &std::path::Path) -> Result<u64> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(std::time::Duration::from_secs(10)))
            .timeout_recv_response(Some(std::time::Duration::from_secs(60)))
            .build()
            .into();
        let mut resp = agent
            .get(format!("{}{path}", self.base))
            .call()
            .with_context(|| format!("GET {path}"))?;
        if !resp.status().is_success() {
            match Self::finish(resp)? {
                Err((status, e)) => bail!("{path}: {status} {}: {}", e.code, e.message),
                Ok(_) => bail!("{path}: unexpected answer"),
            }
        }
        let mut file =
            std::fs::File::create(dest).with_context(|| format!("creating {}", dest.display()))?;
        let bar = crate::progress::bytes("download");
        let mut body = bar.wrap_read(resp.body_mut().as_reader());
        let n = std::io::copy(&mut body, &mut file).with_context(|| format!("GET {path}"))?;
        bar.finish_and_clear();
        file.sync_all()?;
        Ok(n)
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Result<Answer> {
        let resp = self
            .agent
            .get(format!("{}{path}", self.base))
            .call()
            .with_context(|| format!("GET {path}"))?;
        Self::finish(resp)
    }

    /// `POST path` with a binary body.
    pub fn post(&self, path: &str, body: &[u8], bearer: Option<&str>) -> Result<Answer> {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/octet-stream");
        if let Some(t) = bearer {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = req.send(body).with_context(|| format!("POST {path}"))?;
        Self::finish(resp)
    }

    /// `POST path` with a JSON body.
    pub fn post_json(&self, path: &str, json: &str) -> Result<Answer> {
        let resp = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .send(json.as_bytes())
            .with_context(|| format!("POST {path}"))?;
        Self::finish(resp)
    }

    /// `GET path`, failing on an error answer.
    pub fn get_ok(&self, path: &str) -> Result<Vec<u8>> {
        match self.get(path)? {
            Ok(b) => Ok(b),
            Err((status, e)) => bail!("{path}: {status} {}: {}", e.code, e.message),
        }
    }
}

/// An election as a client sees it: its manifest entry (from which the client derives the shapes and
/// the fingerprint itself) and its joint key, once the ceremony is over.
#[derive(Debug)]
pub struct ElectionView {
    /// The election id.
    pub id: String,
    /// The manifest.
    pub manifest: Manifest,
    /// The manifest entry's bytes.
    pub manifest_entry: Vec<u8>,
    /// The joint key, once it exists.
    pub joint_key: Option<PublicKey>,
}

impl ElectionView {
    /// The election's proof context (needs the joint key).
    pub fn context(&self) -> Result<(PublicKey, hanpyo_crypto::transcript::ProofContext)> {
        let pk = self
            .joint_key
            .context("the election has no joint key yet")?;
        Ok((
            pk,
            hanpyo_record::context::election_context(&leaf_hash(&self.manifest_entry), &pk),
        ))
    }
}

impl Client {
    /// The election `id`, or the server's only election.
    pub fn election(&self, id: Option<&str>) -> Result<ElectionView> {
        let id = match id {
            Some(id) => id.to_string(),
            None => {
                let list: Vec<serde_json::Value> =
                    serde_json::from_slice(&self.get_ok("/api/v1/elections")?)?;
                match list.as_slice() {
                    [one] => one["election_id"]
                        .as_str()
                        .context("election list")?
                        .to_string(),
                    _ => bail!(
                        "the server has {} elections: choose one with --election",
                        list.len()
                    ),
                }
            }
        };
        let info: serde_json::Value =
            serde_json::from_slice(&self.get_ok(&format!("/api/v1/elections/{id}"))?)?;
        let manifest_entry = hex::decode(info["manifest_entry"].as_str().context("no manifest")?)?;
        let Entry::Manifest(manifest) = Entry::decode(&manifest_entry, None)? else {
            bail!("the server's manifest is not a manifest entry")
        };
        let joint_key = match info["joint_key"].as_str() {
            Some(h) => Some(PublicKey::decode(&hex::decode(h)?)?),
            None => None,
        };
        Ok(ElectionView {
            id,
            manifest: *manifest,
            manifest_entry,
            joint_key,
        })
    }
}
