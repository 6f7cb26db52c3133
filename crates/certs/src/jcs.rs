//! The JSON Canonicalization Scheme (RFC 8785): object members sorted by their UTF-16 code
//! units, no whitespace, numbers as ECMAScript prints them, strings with minimal escaping. Every
//! signature in this crate covers JCS bytes, and every ledger entry *is* JCS bytes.
use serde::Serialize;
use serde_json::Value;

use crate::CertError;

/// The JCS bytes of a JSON value.
pub fn canonical<T: Serialize>(value: &T) -> Result<Vec<u8>, CertError> {
    serde_json_canonicalizer::to_vec(value)
        .map_err(|e| CertError::malformed(format!("not canonicalisable JSON: {e}")))
}

/// Parses JSON that must already be in JCS form and at most `max` bytes: any other encoding of
/// the same value (spaces, member order, escapes, number forms) is refused, so one value has one
/// encoding and one hash.
pub fn parse_canonical(bytes: &[u8], max: usize) -> Result<Value, CertError> {
    if bytes.len() > max {
        return Err(CertError::malformed(format!(
            "{} bytes, at most {max}",
            bytes.len()
        )));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| CertError::malformed(format!("not JSON: {e}")))?;
    if canonical(&value)? != bytes {
        return Err(CertError::malformed("not in canonical (RFC 8785) form"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8785_sorting_numbers_and_strictness() {
        let v: Value = serde_json::from_str(r#"{"b":[1.0,1e21,-0],"a":"€\u0001","€":1,"aa":true}"#)
            .expect("json");
        let c = canonical(&v).expect("jcs");
        assert_eq!(
            String::from_utf8(c.clone()).expect("utf8"),
            "{\"a\":\"€\\u0001\",\"aa\":true,\"b\":[1,1e+21,0],\"€\":1}"
        );
        assert!(parse_canonical(&c, 1000).is_ok());
        assert!(parse_canonical(b"{\"b\":1,\"a\":2}", 1000).is_err());
        assert!(parse_canonical(b"{\"a\": 2}", 1000).is_err());
        assert!(parse_canonical(&c, 10).is_err());
    }
}
