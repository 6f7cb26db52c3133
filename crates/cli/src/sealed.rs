//! Key files sealed with a passphrase (Argon2id → ChaCha20-Poly1305), for the secrets that
//! independent parties keep on their own machines: a trustee's keys, a witness's signing key. The
//! passphrase is typed at the terminal (not echoed) or read from a file — never taken from the
//! command line.
use std::path::Path;

use anyhow::{Context, Result, bail};
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit};
use rand_core::Rng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The key file on disk.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    format: String,
    kdf: String,
    salt: String,
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
    nonce: String,
    ciphertext: String,
}

/// How hard the passphrase is to guess from a stolen file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cost {
    /// Argon2id with 64 MiB, 3 passes: for real keys.
    Standard,
    /// 8 MiB, 1 pass: a demo's keys, whose passphrase lies next to them anyway.
    Demo,
}

/// The passphrase: the first line of `file`, or typed at the terminal (twice when `confirm`).
pub fn passphrase(file: Option<&Path>, confirm: bool) -> Result<Zeroizing<String>> {
    let p = match file {
        Some(f) => Zeroizing::new(
            std::fs::read_to_string(f)
                .with_context(|| format!("reading {}", f.display()))?
                .lines()
                .next()
                .unwrap_or("")
                .to_string(),
        ),
        None => {
            let p = Zeroizing::new(rpassword::prompt_password("passphrase: ")?);
            if confirm && *p != rpassword::prompt_password("again: ")? {
                bail!("the passphrases differ");
            }
            p
        }
    };
    if p.chars().count() < 12 {
        bail!("a passphrase has at least 12 characters");
    }
    Ok(p)
}

fn derive(pass: &str, salt: &[u8], m: u32, t: u32, p: u32) -> Result<Zeroizing<[u8; 32]>> {
    let params =
        Params::new(m, t, p, Some(32)).map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(pass.as_bytes(), salt, &mut *key)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(key)
}

/// Seals `plain` under `pass` into `path` (owner-only), labelled `format`.
pub fn seal(path: &Path, format: &str, pass: &str, plain: &[u8], cost: Cost) -> Result<()> {
    let mut rng = hanpyo_crypto::os_rng();
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 12];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut nonce);
    let (m, t, p) = match cost {
        Cost::Standard => (65_536, 3, 1),
        Cost::Demo => (8_192, 1, 1),
    };
    let key = derive(pass, &salt, m, t, p)?;
    let ct = ChaCha20Poly1305::new(&(*key).into())
        .encrypt(&nonce.into(), plain)
        .map_err(|_| anyhow::anyhow!("sealing failed"))?;
    let file = KeyFile {
        format: format.into(),
        kdf: "argon2id".into(),
        salt: hex::encode(salt),
        m_cost: m,
        t_cost: t,
        p_cost: p,
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ct),
    };
    hanpyo_server::write_secret(path, &serde_json::to_vec_pretty(&file)?)?;
    Ok(())
}

/// Whether `path` holds a sealed key file of `format`.
pub fn is_sealed(path: &Path, format: &str) -> bool {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<KeyFile>(&b).ok())
        .is_some_and(|f| f.format == format)
}

/// Opens the key file `path` of `format` with `pass`.
pub fn unseal(path: &Path, format: &str, pass: &str) -> Result<Zeroizing<Vec<u8>>> {
    let file: KeyFile = serde_json::from_slice(
        &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
    )
    .with_context(|| format!("{} is not a sealed key file", path.display()))?;
    if file.format != format
        || file.kdf != "argon2id"
        || file.m_cost > 1 << 21
        || file.t_cost > 64
        || file.p_cost > 16
    {
        bail!("{}: unsupported key file", path.display());
    }
    let key = derive(
        pass,
        &hex::decode(&file.salt)?,
        file.m_cost,
        file.t_cost,
        file.p_cost,
    )?;
    let nonce: [u8; 12] = hex::decode(&file.nonce)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("bad nonce"))?;
    Ok(Zeroizing::new(
        ChaCha20Poly1305::new(&(*key).into())
            .decrypt(&nonce.into(), hex::decode(&file.ciphertext)?.as_slice())
            .map_err(|_| anyhow::anyhow!("wrong passphrase (or a damaged key file)"))?,
    ))
}
