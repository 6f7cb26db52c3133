//! The voter roll: CSV import with every bad line reported (nothing half-imported), and the
//! validated records. Personal data never reaches the ledger or the logs.
use serde::Serialize;

/// One voter as the commission's roll lists them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Voter {
    /// Full name.
    pub name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// Resident registration number, `YYMMDD-NNNNNNN`.
    pub resident_id: String,
    /// Phone number or e-mail address, for one-time codes.
    pub contact: String,
    /// District.
    pub district: String,
    /// The voter's public credential (hex), when the roll comes from the credential authority
    /// (`hanpyo ca generate` writes it): the login is then bound to it from the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// A problem on one line of the CSV.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LineError {
    /// 1-based line number in the file.
    pub line: usize,
    /// What is wrong, as a stable code pages translate: `header`, `fields`, `credential`,
    /// `credential-twice`, `name`, `birth-date`, `resident-id`, `resident-id-twice`, `contact`,
    /// `district`, `too-many`, `already-on-roll`, `credential-bound`.
    pub code: String,
    /// What is wrong, in English.
    pub error: String,
}

impl LineError {
    /// A problem on `line`.
    pub fn new(line: usize, code: &str, error: impl Into<String>) -> Self {
        Self {
            line,
            code: code.into(),
            error: error.into(),
        }
    }
}

/// The expected header.
pub const HEADER: &str = "name,birth_date,resident_id,contact,district";
/// The header of a roll from the credential authority: each voter's public credential too.
pub const HEADER_WITH_CREDENTIALS: &str = "name,birth_date,resident_id,contact,district,credential";
/// Most voters in one roll.
pub const MAX_VOTERS: usize = 20_000_000;

fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1900..=2100).contains(&y) && (1..=days).contains(&d)
}

fn valid_resident_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 14
        && b[6] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 6 || c.is_ascii_digit())
}

fn valid_contact(s: &str) -> bool {
    let email = s
        .split_once('@')
        .is_some_and(|(u, d)| !u.is_empty() && d.contains('.') && !s.contains(' '));
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let phone =
        (8..=15).contains(&digits) && s.chars().all(|c| c.is_ascii_digit() || "+- ".contains(c));
    email || phone
}

/// The text encoding of a roll file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RollEncoding {
    /// UTF-8 when the bytes are valid UTF-8, else CP949.
    #[default]
    Auto,
    /// UTF-8 (a leading byte-order mark is skipped).
    #[serde(rename = "utf-8")]
    Utf8,
    /// CP949 (Korean Excel's default for CSV; the WHATWG "EUC-KR" encoding, which is CP949).
    Cp949,
}

/// A roll's bytes as text, strictly: a byte sequence the encoding does not define is an error,
/// never a replacement character in a name or district. Returns the text and the encoding used
/// (`"utf-8"` or `"cp949"`).
pub fn decode_roll(bytes: &[u8], encoding: RollEncoding) -> Result<(String, &'static str), String> {
    let utf8 = || {
        let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        std::str::from_utf8(body).ok().map(str::to_string)
    };
    let cp949 = || {
        encoding_rs::EUC_KR
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(|t| t.into_owned())
    };
    match encoding {
        RollEncoding::Utf8 => utf8().map(|t| (t, "utf-8")).ok_or_else(|| {
            "the roll is not valid UTF-8 (choose CP949 for a Korean Excel CSV)".into()
        }),
        RollEncoding::Cp949 => cp949()
            .map(|t| (t, "cp949"))
            .ok_or_else(|| "the roll is not valid CP949".into()),
        RollEncoding::Auto => utf8()
            .map(|t| (t, "utf-8"))
            .or_else(|| cp949().map(|t| (t, "cp949")))
            .ok_or_else(|| "the roll is neither UTF-8 nor CP949 text".into()),
    }
}

/// Parses a roll: header `name,birth_date,resident_id,contact,district` (or, from the credential
/// authority, `…,credential` with each voter's public credential in hex), one voter per line, no
/// quoting (fields may not contain commas). Returns every voter, or every bad line.
pub fn parse_roll(text: &str) -> Result<Vec<Voter>, Vec<LineError>> {
    let mut errors = Vec::new();
    let mut voters = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut seen_credentials = std::collections::HashSet::new();
    let mut lines = text.lines().enumerate();
    let with_credentials = match lines.next() {
        Some((_, h)) if h.trim().trim_start_matches('\u{feff}') == HEADER => false,
        Some((_, h)) if h.trim().trim_start_matches('\u{feff}') == HEADER_WITH_CREDENTIALS => true,
        _ => {
            errors.push(LineError::new(
                1,
                "header",
                format!("the first line must be the header {HEADER}"),
            ));
            false
        }
    };
    let fields = if with_credentials { 6 } else { 5 };
    for (i, raw) in lines {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = raw.split(',').map(str::trim).collect();
        let mut err = |code: &str, e: String| errors.push(LineError::new(line, code, e));
        if f.len() != fields {
            err(
                "fields",
                format!("expected {fields} fields, found {}", f.len()),
            );
            continue;
        }
        let v = Voter {
            name: f[0].to_string(),
            birth_date: f[1].to_string(),
            resident_id: f[2].to_string(),
            contact: f[3].to_string(),
            district: f[4].to_string(),
            credential: f.get(5).map(|c| c.to_string()),
        };
        let mut ok = true;
        if let Some(c) = &v.credential {
            let valid = hex::decode(c).ok().is_some_and(|b| {
                hex::encode(&b) == *c
                    && hanpyo_crypto::credential::PublicCredential::decode(&b).is_ok()
            });
            if !valid {
                err(
                    "credential",
                    "credential must be a public credential in lowercase hex (64 digits)".into(),
                );
                ok = false;
            } else if !seen_credentials.insert(c.clone()) {
                err(
                    "credential-twice",
                    "credential appears twice in the roll".into(),
                );
                ok = false;
            }
        }
        if v.name.is_empty() || v.name.chars().count() > 100 || v.name.chars().any(char::is_control)
        {
            err(
                "name",
                "name is empty, too long or has control characters".into(),
            );
            ok = false;
        }
        if !valid_date(&v.birth_date) {
            err(
                "birth-date",
                "birth_date must be a real date YYYY-MM-DD".into(),
            );
            ok = false;
        }
        if !valid_resident_id(&v.resident_id) {
            err(
                "resident-id",
                "resident_id must look like YYMMDD-NNNNNNN".into(),
            );
            ok = false;
        } else if !seen.insert(v.resident_id.clone()) {
            err(
                "resident-id-twice",
                "resident_id appears twice in the roll".into(),
            );
            ok = false;
        }
        if !valid_contact(&v.contact) {
            err(
                "contact",
                "contact must be a phone number or an e-mail address".into(),
            );
            ok = false;
        }
        if v.district.is_empty() || v.district.chars().count() > 100 {
            err("district", "district is empty or too long".into());
            ok = false;
        }
        if ok {
            voters.push(v);
        }
        if voters.len() > MAX_VOTERS {
            errors.push(LineError::new(
                line,
                "too-many",
                format!("more than {MAX_VOTERS} voters"),
            ));
            break;
        }
    }
    if errors.is_empty() {
        Ok(voters)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_korean_excel_roll_in_cp949_is_read_exactly() {
        let csv = format!("{HEADER}\n홍길동,1990-01-31,900131-1234567,010-1234-5678,종로구\n");
        let (cp949, _, unmappable) = encoding_rs::EUC_KR.encode(&csv);
        assert!(!unmappable);
        assert!(std::str::from_utf8(&cp949).is_err(), "CP949 is not UTF-8");
        for enc in [RollEncoding::Auto, RollEncoding::Cp949] {
            let (text, used) = decode_roll(&cp949, enc).expect("decoded");
            assert_eq!((text.as_str(), used), (csv.as_str(), "cp949"));
            let voters = parse_roll(&text).expect("valid");
            assert_eq!(
                (voters[0].name.as_str(), voters[0].district.as_str()),
                ("홍길동", "종로구")
            );
        }
        // UTF-8 (with or without a byte-order mark) is read as UTF-8.
        let bom = [b"\xEF\xBB\xBF".as_slice(), csv.as_bytes()].concat();
        for bytes in [csv.as_bytes(), bom.as_slice()] {
            assert_eq!(
                decode_roll(bytes, RollEncoding::Auto).expect("utf-8"),
                (csv.clone(), "utf-8")
            );
        }
        // Strict: the wrong declared encoding, or bytes neither encoding defines, are refused.
        assert!(decode_roll(&cp949, RollEncoding::Utf8).is_err());
        assert!(decode_roll(&[0xFF, 0xFF, 0xFF], RollEncoding::Auto).is_err());
        assert!(
            decode_roll(&[0xB0], RollEncoding::Cp949).is_err(),
            "a lead byte alone"
        );
    }

    #[test]
    fn every_bad_line_is_reported() {
        let csv = format!(
            "{HEADER}\n홍길동,1990-01-31,900131-1234567,010-1234-5678,종로구\n\
             ,1990-02-30,9001-1,nobody,\n김철수,2001-12-01,011201-3234567,kim@example.kr,중구\n\
             이영희,2001-12-01,011201-3234567,lee@example.kr,중구\nonly,three,fields\n"
        );
        let errs = parse_roll(&csv).expect_err("bad lines");
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 3, 3, 3, 3, 5, 6]);
        let good = format!("{HEADER}\n홍길동,1990-01-31,900131-1234567,010-1234-5678,종로구\n");
        assert_eq!(parse_roll(&good).expect("valid").len(), 1);
        assert!(parse_roll("wrong,header\n").is_err());
        assert!(!valid_date("2023-02-29") && valid_date("2024-02-29"));
    }

    #[test]
    fn a_roll_with_credentials_needs_valid_distinct_ones() {
        let g = "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76";
        let line = |id: &str, c: &str| format!("홍길동,1990-01-31,{id},010-1234-5678,종로구,{c}\n");
        let ok = format!("{HEADER_WITH_CREDENTIALS}\n{}", line("900131-1234567", g));
        assert_eq!(
            parse_roll(&ok).expect("valid")[0].credential.as_deref(),
            Some(g)
        );
        let twice = format!(
            "{HEADER_WITH_CREDENTIALS}\n{}{}",
            line("900131-1234567", g),
            line("900131-2234567", g)
        );
        assert_eq!(parse_roll(&twice).expect_err("twice")[0].line, 3);
        for bad in ["00", &g.to_uppercase(), &"00".repeat(32)] {
            let csv = format!("{HEADER_WITH_CREDENTIALS}\n{}", line("900131-1234567", bad));
            assert!(parse_roll(&csv).is_err(), "{bad}");
        }
        // Five fields under the six-field header, and the reverse, are refused.
        assert!(
            parse_roll(&format!(
                "{HEADER_WITH_CREDENTIALS}\n홍길동,1990-01-31,900131-1234567,010-1234-5678,종로구\n"
            ))
            .is_err()
        );
        assert!(parse_roll(&format!("{HEADER}\n{}", line("900131-1234567", g))).is_err());
    }
}
