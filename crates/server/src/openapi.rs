//! The API contract: an OpenAPI 3.1 document generated from the handlers themselves. Each
//! handler carries `#[utoipa::path]` (its path, parameters, body, answers and the error codes it
//! can send), and the router registers handlers only through those descriptions
//! ([`crate::api::operations`]), so a served route cannot be missing from the document. What every
//! operation can answer whatever its handler does (the deadline, an internal failure, a body over
//! the limit, a cross-site refusal) is added here, once, by [`CommonAnswers`].
use std::collections::BTreeSet;
use std::sync::LazyLock;

use axum::Json;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

use crate::error::ErrorBody;

/// The document's fixed parts: title, version, the three kinds of bearer session.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Hanpyo",
        version = "1",
        description = "Verifiable online voting on a public ledger. Every error answer is `{code, message}` JSON; the codes each operation can send are listed with its answers. See docs/api.md."
    ),
    components(schemas(ErrorBody)),
    modifiers(&SessionSchemes)
)]
pub struct ApiDoc;

/// The bearer sessions: an administrator's or observer's (`POST /api/v1/admin/login`), a voter's
/// (`POST /api/v1/login/verify`) and a trustee's invitation token.
#[derive(Debug)]
struct SessionSchemes;

impl utoipa::Modify for SessionSchemes {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, what) in [
            (
                "admin",
                "An administrator's or observer's session (POST /api/v1/admin/login). Routes that change the election need the administrator role.",
            ),
            (
                "voter",
                "A voter's session (POST /api/v1/login/verify), needed to cast once a roll is imported.",
            ),
            (
                "trustee",
                "A trustee's token (POST /api/v1/admin/trustees/{index}/invite).",
            ),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(what))
                        .build(),
                ),
            );
        }
    }
}

/// Answers any operation can give, whatever its handler does.
#[derive(Debug)]
struct CommonAnswers;

impl CommonAnswers {
    fn add(op: &mut Operation, status: &str, codes: &str) {
        let responses = &mut op.responses.responses;
        match responses.get_mut(status) {
            Some(RefOr::T(r)) => {
                for code in codes.split(", ") {
                    if !r.description.contains(code) {
                        r.description = format!("{}, {code}", r.description);
                    }
                }
            }
            Some(RefOr::Ref(_)) => {}
            None => {
                responses.insert(status.to_string(), RefOr::T(error_answer(codes)));
            }
        }
    }
}

impl utoipa::Modify for CommonAnswers {
    fn modify(&self, doc: &mut OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let api = path.starts_with("/api/");
            // An election's route, at the top of a server with several elections.
            let of_an_election =
                api && !crate::platform::is_platform_path(path) && path != "/api/v1/elections";
            for op in operations_mut(item) {
                let security = serde_json::to_string(&op.security).unwrap_or_default();
                if of_an_election {
                    Self::add(op, "404", "`election-required`");
                    if security.contains("\"admin\"") {
                        Self::add(op, "403", "`not-your-election`");
                    }
                    if security.contains("\"voter\"") || security.contains("\"trustee\"") {
                        Self::add(op, "403", "`wrong-election`");
                    }
                }
                let has_input = op.request_body.is_some()
                    || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let changes = op.request_body.is_some();
                if has_input {
                    Self::add(op, "400", "`malformed`");
                }
                if changes {
                    // The body limit, and a browser page of another site (refused by `Origin`).
                    Self::add(op, "413", "`too-large`");
                    Self::add(op, "403", "`forbidden`");
                }
                Self::add(op, "500", "`internal`");
                if api {
                    // The 30-second deadline; and, before an administrator has created the
                    // election, every route that needs one.
                    Self::add(op, "503", "`timeout`, `no-election`");
                }
            }
        }
    }
}

/// An error answer whose `code` is one of `codes` (a description like "`a`, `b`").
pub(crate) fn error_answer(codes: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(codes)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// The document, made once from the router's operations.
pub fn document() -> &'static serde_json::Value {
    static DOCUMENT: LazyLock<serde_json::Value> = LazyLock::new(|| {
        // The platform's operations first: where it and an election serve the same path (the
        // list of elections, the audit log), the document describes the top-level one.
        let (_, mut doc) = crate::platform::operations().split_for_parts();
        let (_, elections) = crate::api::operations().split_for_parts();
        doc.merge(elections);
        utoipa::Modify::modify(&CommonAnswers, &mut doc);
        serde_json::to_value(&doc).unwrap_or_default()
    });
    &DOCUMENT
}

/// Every error code the document says an operation can answer (the backquoted words of its
/// error answers' descriptions).
pub fn error_codes(doc: &serde_json::Value) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    let paths = doc["paths"].as_object().into_iter().flatten();
    for op in paths.flat_map(|(_, item)| item.as_object().into_iter().flatten()) {
        let responses = op.1["responses"].as_object().into_iter().flatten();
        for (status, answer) in responses {
            if status.starts_with('2') {
                continue;
            }
            let description = answer["description"].as_str().unwrap_or("");
            codes.extend(
                description
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_string),
            );
        }
    }
    codes
}

/// Raw bytes in a request or an answer (an encoded entry, framed entries): a binary string.
#[derive(Debug)]
pub(crate) struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )))
            .into()
    }
}

impl utoipa::ToSchema for Binary {}

/// Liveness.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "service",
    responses((status = 200, description = "The server runs", body = String, content_type = "text/plain"))
)]
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "service",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object))
)]
pub(crate) async fn openapi_json() -> Json<&'static serde_json::Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use super::{document, error_codes};

    #[test]
    fn every_operation_answers_json_errors_with_their_codes() {
        let doc = document();
        let paths = doc["paths"].as_object().expect("paths");
        assert!(paths.len() > 30, "{}", paths.len());
        for (path, item) in paths {
            for (method, op) in item.as_object().expect("operations") {
                let responses = op["responses"].as_object().expect("responses");
                assert!(
                    responses.keys().any(|s| s.starts_with('2')),
                    "{method} {path}: no success answer"
                );
                for (status, answer) in responses.iter().filter(|(s, _)| !s.starts_with('2')) {
                    let description = answer["description"].as_str().unwrap_or("");
                    assert!(
                        description.starts_with('`'),
                        "{method} {path} {status}: no error code in {description:?}"
                    );
                    assert_eq!(
                        answer["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
        let codes = error_codes(doc);
        for code in ["malformed", "wrong-phase", "timeout", "no-session", "busy"] {
            assert!(codes.contains(code), "{code} missing from {codes:?}");
        }
    }
}
