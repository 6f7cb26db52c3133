//! # hanpyo-certs
//!
//! Verifiable public certificates on the same transparency log as the election record: an
//! organisation issues a document about a person or an object, the holder keeps it on a phone and
//! shows it to anyone, who checks it offline; the issuer can revoke it; and the log shows, without
//! any personal data, how many documents each issuer issued. Standards, not our own format:
//!
//! | module | what |
//! |---|---|
//! | [`did`] | `did:key` identifiers of Ed25519 keys (multibase base58btc, multicodec `0xed01`) |
//! | [`jcs`] | the JSON Canonicalization Scheme (RFC 8785), and strict canonical-only parsing |
//! | [`integrity`] | W3C Data Integrity proofs with the cryptosuite `eddsa-jcs-2022` |
//! | [`sd_jwt`] | SD-JWT (RFC 9901) with key binding, as SD-JWT VC (`dc+sd-jwt`), EdDSA only |
//! | [`status_list`] | the W3C Bitstring Status List and its status list credential |
//! | [`entry`] | the log's entries: registry, issuer, issuance, revocation, provenance |
//! | [`registry`] | the rules the log obeys, replayed from its entries (anyone can audit it) |
//! | [`template`] | the six document types and how their fields become credentials |
//! | [`issue`] | an issuer's side: credentials, their commitments, revocations, provenance events |
//! | [`bundle`] | the certificate file a holder keeps: credential, receipts, stapled status |
//! | [`verify`] | everything a verifier checks, each refusal with its reason |
//! | `directory` (feature `storage`) | a registry's directory: its log, keys and public configuration |
//! | `service` (feature `storage`) | a certificate log in durable storage: rules, commit, witnesses, receipts |
//!
//! The crate does no I/O and builds for `wasm32-unknown-unknown`; randomness comes from the
//! caller's [`rand_core::CryptoRng`]. The byte-exact specification is `docs/certs.md`.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(missing_docs))]

pub mod bundle;
pub mod did;
#[cfg(feature = "storage")]
pub mod directory;
pub mod entry;
pub mod error;
pub mod integrity;
pub mod issue;
pub mod jcs;
pub mod registry;
pub mod sd_jwt;
#[cfg(feature = "storage")]
pub mod service;
pub mod status_list;
pub mod template;
pub mod verify;

pub use error::CertError;

/// Seconds since the Unix epoch as an XML Schema `dateTime` in UTC (`2026-12-03T07:05:45Z`), the
/// form every date in a credential and an entry takes.
pub fn datetime(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Parses the `dateTime` form [`datetime`] writes (UTC, `Z`, no fraction); anything else is refused.
pub fn parse_datetime(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || d == 0 || d > 31 || hh > 23 || mm > 59 || ss > 59 || y < 1970 {
        return None;
    }
    let days = days_from_civil(y as i64, m as u32, d as u32);
    let unix = (days as u64) * 86_400 + hh * 3600 + mm * 60 + ss;
    // Refuses 31 February and the like: the date must survive the round trip.
    (datetime(unix) == s).then_some(unix)
}

/// A `YYYY-MM-DD` date (for fields such as a birth date), checked to exist.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| {
        s.get(r)
            .filter(|p| p.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|p| p.parse::<u32>().ok())
    };
    let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    (1..=12).contains(&m)
        && (1..=31).contains(&d)
        && civil_from_days(days_from_civil(i64::from(y), m, d)) == (i64::from(y), m, d)
}

// Howard Hinnant's civil-date algorithms (public domain), days since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_round_trip_and_impossible_dates_are_refused() {
        assert_eq!(datetime(0), "1970-01-01T00:00:00Z");
        assert_eq!(datetime(1_796_281_545), "2026-12-03T07:05:45Z");
        assert_eq!(parse_datetime("2026-12-03T07:05:45Z"), Some(1_796_281_545));
        assert_eq!(parse_datetime("2028-02-29T00:00:00Z"), Some(1_835_395_200));
        for bad in [
            "2026-02-31T00:00:00Z",
            "2027-02-29T00:00:00Z",
            "2026-12-03T07:05:45",
            "2026-12-03T07:05:45.1Z",
            "2026-12-03 07:05:45Z",
            "+026-12-03T07:05:45Z",
            "2026-12-03T24:00:00Z",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
        assert!(is_date("1990-05-17"));
        assert!(is_date("1962-03-09"));
        assert!(is_date("2000-02-29"));
        assert!(!is_date("1900-02-29"));
        assert!(!is_date("1990-13-01"));
    }
}
