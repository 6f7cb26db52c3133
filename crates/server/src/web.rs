//! The web pages (`web/` in the repository), embedded in the binary so `hanpyo serve` and
//! `hanpyo demo` serve the booth, the receipt checker, the public board and the admin console with
//! no build step and no files beside the binary.
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::Embed)]
#[folder = "../../web"]
// The browser tests and their npm packages live beside the pages but are not served.
#[exclude = "tests/*"]
struct Assets;

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("wasm") => "application/wasm",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Serves `uri`'s page or asset; `/` is `index.html`.
pub async fn asset(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = match path {
        "" => "index.html",
        // Clients that ask for the classic name get the SVG icon the pages link to.
        "favicon.ico" => "favicon.svg",
        other => other,
    };
    match Assets::get(path) {
        Some(file) => (
            [(header::CONTENT_TYPE, content_type(path))],
            file.data.into_owned(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "not found",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_and_the_wasm_bundle_are_embedded() {
        for p in [
            "index.html",
            "vote.html",
            "check.html",
            "board.html",
            "admin.html",
            "i18n/ko.json",
            "i18n/en.json",
            "pkg/hanpyo_wasm.js",
            "pkg/hanpyo_wasm_bg.wasm",
            "pkg-certs/hanpyo_wasm.js",
            "pkg-certs/hanpyo_wasm_bg.wasm",
            "cert-issuer.html",
            "cert-wallet.html",
            "cert-verify.html",
            "cert-provenance.html",
            "favicon.svg",
        ] {
            assert!(Assets::get(p).is_some(), "{p} is not embedded");
        }
        assert_eq!(content_type("pkg/hanpyo_wasm_bg.wasm"), "application/wasm");
        assert!(
            Assets::iter().all(|p| !p.starts_with("tests/")),
            "the browser tests and node_modules are not served"
        );
    }

    fn messages(lang: &str) -> serde_json::Map<String, serde_json::Value> {
        let file = Assets::get(&format!("i18n/{lang}.json")).expect("translation file");
        match serde_json::from_slice(&file.data).expect("JSON") {
            serde_json::Value::Object(m) => m,
            _ => panic!("{lang}.json is not an object"),
        }
    }

    /// Keys a page or script uses: `data-i18n="k"`, `data-i18n-attr="attr:k;..."`, `t('k'`.
    fn used_keys(text: &str) -> Vec<String> {
        let mut keys = Vec::new();
        for part in text.split("data-i18n=\"").skip(1) {
            keys.extend(part.split('"').next().map(str::to_string));
        }
        // `t('key'` as a call, not the tail of another name (`split('|')`).
        for (at, _) in text.match_indices("t('") {
            let before = text[..at].chars().next_back().unwrap_or(' ');
            if !(before.is_alphanumeric() || before == '_' || before == '.') {
                keys.extend(text[at + 3..].split('\'').next().map(str::to_string));
            }
        }
        for part in text.split("data-i18n-attr=\"").skip(1) {
            let spec = part.split('"').next().unwrap_or_default();
            for pair in spec.split(';') {
                if let Some((_, k)) = pair.split_once(':') {
                    keys.push(k.trim().to_string());
                }
            }
        }
        keys
    }

    #[test]
    fn korean_and_english_have_the_same_keys_and_every_used_key_exists() {
        let (ko, en) = (messages("ko"), messages("en"));
        let ko_keys: Vec<&String> = ko.keys().collect();
        let en_keys: Vec<&String> = en.keys().collect();
        assert_eq!(ko_keys, en_keys, "ko.json and en.json differ in keys");
        for (k, v) in &ko {
            assert!(
                v.as_str().is_some_and(|s| !s.trim().is_empty()),
                "ko {k} is empty"
            );
            assert!(
                en[k].as_str().is_some_and(|s| !s.trim().is_empty()),
                "en {k} is empty"
            );
        }
        // The same placeholders in both languages (a Korean one may carry its particle,
        // `{id|을}`), and no Korean particle left detached after a placeholder.
        let names = |text: &str| {
            let mut out: Vec<String> = text
                .split('{')
                .skip(1)
                .filter_map(|p| p.split_once('}'))
                .map(|(inner, _)| inner.split('|').next().unwrap_or_default().to_string())
                .collect();
            out.sort();
            out
        };
        for (k, v) in &ko {
            let (ko_text, en_text) = (v.as_str().unwrap_or(""), en[k].as_str().unwrap_or(""));
            assert_eq!(names(ko_text), names(en_text), "{k}: placeholders differ");
            for (at, _) in ko_text.match_indices('}') {
                let rest = ko_text[at + 1..]
                    .strip_prefix(' ')
                    .unwrap_or(&ko_text[at + 1..]);
                for particle in ["으로", "을", "를", "이", "가", "은", "는", "로", "와", "과"]
                {
                    let detached = rest.strip_prefix(particle).is_some_and(|after| {
                        !after
                            .chars()
                            .next()
                            .is_some_and(|c| ('가'..='힣').contains(&c))
                    });
                    assert!(
                        !detached,
                        "{k}: write {{name|{particle}}} so the particle fits the sound: {ko_text}"
                    );
                }
            }
        }
        let mut checked = 0;
        for path in Assets::iter() {
            if !(path.ends_with(".html") || path.starts_with("js/")) {
                continue;
            }
            let file = Assets::get(&path).expect("listed");
            let text = std::str::from_utf8(&file.data).expect("UTF-8");
            for key in used_keys(text) {
                assert!(
                    ko.contains_key(&key),
                    "{path} uses {key:?}, missing from the translations"
                );
                checked += 1;
            }
        }
        assert!(
            checked > 200,
            "only {checked} keys found: the scan is broken"
        );
    }

    #[test]
    fn every_error_code_the_api_answers_has_a_sentence_in_both_languages() {
        let (ko, en) = (messages("ko"), messages("en"));
        let codes = crate::openapi::error_codes(crate::openapi::document());
        assert!(codes.len() > 15, "{codes:?}");
        for code in codes {
            let key = format!("error.{code}");
            assert!(
                ko.contains_key(&key) && en.contains_key(&key),
                "no translation for {key}"
            );
        }
    }

    /// The board names every entry kind (`kind.<name>`), so a new kind cannot show as its key.
    #[test]
    fn every_entry_kind_has_a_name_in_both_languages() {
        let (ko, en) = (messages("ko"), messages("en"));
        for k in 1..=u8::MAX {
            let Ok(kind) =
                hanpyo_record::entry::Kind::of(&[hanpyo_record::entry::FORMAT_VERSION, k])
            else {
                continue;
            };
            let name = serde_json::to_value(kind).expect("kind");
            let key = format!("kind.{}", name.as_str().expect("name"));
            assert!(
                ko.contains_key(&key) && en.contains_key(&key),
                "no translation for {key}"
            );
        }
    }
}
