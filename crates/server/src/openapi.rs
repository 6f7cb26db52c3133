//! The OpenAPI 3.1 description of `/api/v1`, built from one table of the routes. A test checks
//! that every route in the table is served and every served route is in the table, so the
//! document cannot drift from the handlers.

/// `(method, path, summary, security, success status, error codes)`.
pub type Route = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u16,
    &'static [&'static str],
);

/// Every route.
pub const ROUTES: &[Route] = &[
    (
        "get",
        "/api/v1/demo",
        "Demo servers only: the demo data directory (for hanpyo loadtest) and a few demo voters",
        "none",
        200,
        &["not-found"],
    ),
    (
        "get",
        "/api/v1/demo/mailbox",
        "Demo servers only: the latest one-time code sent to a demo contact (?to=)",
        "none",
        200,
        &["not-found"],
    ),
    (
        "get",
        "/api/v1/board/search",
        "Entries by tracking code (?code= short form or 64 hex digits)",
        "none",
        200,
        &["malformed"],
    ),
    (
        "get",
        "/api/v1/admin/turnout",
        "Turnout over time and per district (aggregates only)",
        "observer",
        200,
        &["unauthorized"],
    ),
    (
        "post",
        "/api/v1/admin/elections",
        "Create the election from a manifest (TOML or JSON); only while the data directory has none (201), then served at once",
        "administrator",
        201,
        &[
            "unauthorized",
            "forbidden",
            "malformed",
            "bad-manifest",
            "election-exists",
        ],
    ),
    (
        "post",
        "/api/v1/admin/manifest-check",
        "Validate a manifest (TOML or JSON) as hanpyo admin init would",
        "admin",
        200,
        &["unauthorized", "forbidden", "malformed", "bad-manifest"],
    ),
    (
        "get",
        "/api/v1/elections",
        "This server's elections",
        "none",
        200,
        &[],
    ),
    (
        "get",
        "/api/v1/progress",
        "Key ceremony and decryption progress per trustee",
        "none",
        200,
        &[],
    ),
    (
        "post",
        "/api/v1/trustee/entries",
        "A trustee's ceremony or partial-decryption entry (encoded)",
        "trustee",
        200,
        &[
            "unauthorized",
            "malformed",
            "not-your-entry",
            "wrong-phase",
            "digest-mismatch",
            "bad-proof",
            "bad-share",
        ],
    ),
    (
        "post",
        "/api/v1/admin/trustees/{index}/invite",
        "A trustee's access token",
        "administrator",
        200,
        &["unauthorized", "forbidden", "not-found"],
    ),
    (
        "post",
        "/api/v1/admin/finish-ceremony",
        "Resolve the key ceremony and publish the joint key",
        "administrator",
        200,
        &[
            "unauthorized",
            "forbidden",
            "wrong-phase",
            "ceremony-failed",
        ],
    ),
    (
        "post",
        "/api/v1/admin/close-digests",
        "Stop waiting for missing commitment digests: trustees may reveal, and a dealer without a digest is left out",
        "administrator",
        200,
        &["unauthorized", "forbidden", "wrong-phase"],
    ),
    (
        "post",
        "/api/v1/admin/credentials",
        "Publish public credentials (hex lines, sorted)",
        "administrator",
        200,
        &["unauthorized", "forbidden", "malformed", "wrong-phase"],
    ),
    (
        "post",
        "/api/v1/admin/open",
        "Open voting",
        "administrator",
        200,
        &["unauthorized", "forbidden", "wrong-phase"],
    ),
    (
        "post",
        "/api/v1/admin/publish",
        "Publish the result from t valid partial decryptions",
        "administrator",
        200,
        &["unauthorized", "forbidden", "wrong-phase", "shares-missing"],
    ),
    ("get", "/healthz", "Liveness", "none", 200, &[]),
    (
        "get",
        "/api/v1/openapi.json",
        "This document",
        "none",
        200,
        &[],
    ),
    (
        "get",
        "/api/v1/elections/{id}",
        "The election: manifest summary, phase, joint key, counts",
        "none",
        200,
        &[],
    ),
    (
        "post",
        "/api/v1/login/start",
        "Ask for a one-time login code (sent only if on the roll)",
        "none",
        202,
        &[
            "malformed",
            "rate-limited",
            "no-delivery",
            "delivery-failed",
        ],
    ),
    (
        "post",
        "/api/v1/login/verify",
        "Exchange the code for a voter session",
        "none",
        200,
        &["malformed", "bad-code", "locked", "rate-limited"],
    ),
    (
        "post",
        "/api/v1/elections/{id}/ballots",
        "Cast a ballot (body: one encoded ballot entry, kind 9); answers with the receipt after the durable commit",
        "voter",
        200,
        &[
            "malformed",
            "audit-not-ballot",
            "no-session",
            "not-eligible",
            "credential-mismatch",
            "bad-proof",
            "audited-encryption",
            "replay",
            "election-closed",
            "unknown-election",
            "rate-limited",
            "busy",
        ],
    ),
    (
        "post",
        "/api/v1/elections/{id}/audits",
        "Post a Benaloh audit (body: one encoded audit entry, kind 10) with no session: it carries no credential and is never counted; answers with the receipt after the durable commit",
        "none",
        200,
        &[
            "malformed",
            "bad-opening",
            "replay",
            "election-closed",
            "unknown-election",
            "rate-limited",
            "busy",
        ],
    ),
    (
        "get",
        "/api/v1/board/checkpoint",
        "The latest signed checkpoint (C2SP note)",
        "none",
        200,
        &["not-found"],
    ),
    (
        "get",
        "/api/v1/board/entries",
        "Entries start..end, framed",
        "none",
        200,
        &["not-found"],
    ),
    (
        "get",
        "/api/v1/board/receipts/{hash}",
        "A receipt for the entry with this leaf hash (tracking code)",
        "none",
        200,
        &["malformed", "not-found"],
    ),
    (
        "get",
        "/api/v1/board/status/{hash}",
        "A ballot's standing with its proof: a fresh receipt and the entry, and the credential's later ballot with its receipt when it was superseded (the client checks both)",
        "none",
        200,
        &["malformed", "not-found"],
    ),
    (
        "get",
        "/api/v1/board/consistency",
        "Consistency proof between two sizes",
        "none",
        200,
        &["not-found"],
    ),
    (
        "get",
        "/api/v1/record/{file}",
        "The record as files: entries (streamed), checkpoint, checkpoints — at the latest checkpoint or ?size=N",
        "none",
        200,
        &["not-found", "busy"],
    ),
    (
        "post",
        "/api/v1/admin/login",
        "Administrator login",
        "none",
        200,
        &["malformed", "bad-login", "locked"],
    ),
    (
        "post",
        "/api/v1/admin/logout",
        "End the session (its token stops working at once)",
        "none",
        204,
        &[],
    ),
    (
        "get",
        "/api/v1/admin/status",
        "Phase, roll size and turnout",
        "observer",
        200,
        &["unauthorized"],
    ),
    (
        "get",
        "/api/v1/admin/audit-log",
        "Every administrative action",
        "observer",
        200,
        &["unauthorized"],
    ),
    (
        "post",
        "/api/v1/admin/roll",
        "Import the voter roll (CSV); every bad line reported, nothing half-imported",
        "administrator",
        200,
        &["unauthorized", "forbidden", "bad-roll", "already-on-roll"],
    ),
    (
        "post",
        "/api/v1/admin/purge-roll",
        "Erase the roll, codes, sessions and bindings",
        "administrator",
        200,
        &["unauthorized", "forbidden", "wrong-phase"],
    ),
    (
        "post",
        "/api/v1/admin/close",
        "Close voting",
        "administrator",
        200,
        &["unauthorized", "forbidden", "wrong-phase"],
    ),
    (
        "post",
        "/api/v1/admin/tally",
        "Tally and (demo trustees) decrypt",
        "administrator",
        200,
        &["unauthorized", "forbidden", "wrong-phase"],
    ),
];

/// The document.
pub fn document() -> serde_json::Value {
    let mut paths = serde_json::Map::new();
    for (method, path, summary, security, ok, errors) in ROUTES {
        let mut responses = serde_json::Map::new();
        responses.insert(
            ok.to_string(),
            serde_json::json!({ "description": "success" }),
        );
        if !errors.is_empty() {
            responses.insert(
                "default".into(),
                serde_json::json!({
                    "description": format!("error; code is one of: {}", errors.join(", ")),
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
                }),
            );
        }
        let mut op = serde_json::json!({ "summary": summary, "responses": responses });
        if *security != "none" {
            op["security"] = serde_json::json!([{ "bearer": [] }]);
            op["description"] = serde_json::json!(format!("Requires a {security} session."));
        }
        let entry = paths
            .entry(path.to_string())
            .or_insert_with(|| serde_json::json!({}));
        entry[*method] = op;
    }
    serde_json::json!({
        "openapi": "3.1.0",
        "info": { "title": "Hanpyo", "version": "1", "description": "Verifiable online voting on a public ledger. See docs/api.md." },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": { "Error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": { "code": { "type": "string" }, "message": { "type": "string" } }
            } }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::ROUTES;

    /// Every `.route(path, method(...))` of the router is documented, and nothing else is.
    #[test]
    fn the_document_lists_exactly_the_routes_of_the_router() {
        let source = include_str!("api.rs");
        let mut served: Vec<(String, String)> = Vec::new();
        for part in source.split(".route(").skip(1) {
            let part = part.trim_start();
            let Some(path) = part.strip_prefix('"').and_then(|p| p.split('"').next()) else {
                continue;
            };
            let after = &part[path.len() + 2..];
            let method = after
                .trim_start_matches([',', ' ', '\n'])
                .split('(')
                .next()
                .unwrap_or("")
                .to_string();
            served.push((method, path.to_string()));
        }
        served.sort();
        let mut documented: Vec<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.0.to_string(), r.1.to_string()))
            .collect();
        documented.sort();
        assert_eq!(served, documented);
    }
}
