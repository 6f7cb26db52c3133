//! `hanpyo cert …` from the outside: the commands, their files and exit codes (docs/certs.md).
mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn hanpyo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hanpyo"))
        .args(args)
        .output()
        .expect("run hanpyo")
}

fn ok(args: &[&str]) -> String {
    ok_out(hanpyo(args))
}

/// `out` succeeded; its standard output.
fn ok_out(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn verify_json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["cert", "verify", "--json"];
    all.extend_from_slice(args);
    let out = hanpyo(&all);
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (code(&out), v)
}

struct Registry {
    dir: PathBuf,
}

impl Registry {
    fn new(name: &str) -> Self {
        let dir = common::scratch(name);
        std::fs::create_dir_all(&dir).expect("dir");
        ok(&[
            "cert",
            "init",
            "--data",
            dir.join("reg").to_str().expect("utf8"),
            "--name",
            "테스트 레지스트리",
        ]);
        Self { dir }
    }
    fn reg(&self) -> String {
        self.dir.join("reg").display().to_string()
    }
    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
    /// A new issuer key file, registered by the operator for `types`; answers its DID.
    fn register(&self, key_file: &str, name: &str, types: &str) -> String {
        let did = self.key(key_file);
        ok(&[
            "cert",
            "register-issuer",
            "--data",
            &self.reg(),
            "--issuer",
            &did,
            "--name",
            name,
            "--types",
            types,
        ]);
        did
    }
    /// `hanpyo cert issue` with `key_file`'s key, a `doc_type`, and `rest` (fields, holder, out…).
    fn issue(&self, key_file: &str, doc_type: &str, rest: &[&str]) -> Output {
        let (reg, key) = (self.reg(), self.path(key_file));
        let mut args = vec![
            "cert", "issue", "--data", &reg, "--key", &key, "--type", doc_type,
        ];
        args.extend_from_slice(rest);
        hanpyo(&args)
    }
    /// A new key file; answers its DID.
    fn key(&self, name: &str) -> String {
        ok(&["cert", "key", "--out", &self.path(name)])
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn issue_present_verify_revoke_from_the_command_line() {
    let r = Registry::new("cert-cli");
    let issuer = r.key("issuer.key");
    let holder = r.key("holder.key");
    ok(&[
        "cert",
        "register-issuer",
        "--data",
        &r.reg(),
        "--issuer",
        &issuer,
        "--name",
        "한국교통안전공단",
        "--types",
        "drone-licence,badge",
    ]);
    let (lic, trust) = (r.path("licence.json"), format!("{}/trust.json", r.reg()));
    ok_out(r.issue(
        "issuer.key",
        "drone-licence",
        &[
            "--field",
            "holderName=박지성",
            "--field",
            "birthDate=1990-05-17",
            "--field",
            "licenceNumber=DR-2026-1",
            "--field",
            "category=C1",
            "--holder",
            &holder,
            "--out",
            &lic,
        ],
    ));
    // Valid, offline, with the trust anchors pinned.
    let (c, v) = verify_json(&[&lic, "--offline", "--trust", &trust]);
    assert_eq!(c, 0, "{v}");
    assert_eq!(v["valid"], true);
    assert_eq!(v["trustPinned"], true);
    assert_eq!(v["fields"]["category"], "C1");
    // Presented with only the category: the birth date is not in the file.
    let shown = r.path("shown.json");
    ok(&[
        "cert",
        "present",
        "--certificate",
        &lic,
        "--key",
        &r.path("holder.key"),
        "--disclose",
        "category",
        "--audience",
        "https://hire.example",
        "--nonce",
        "n-42",
        "--out",
        &shown,
    ]);
    assert!(
        !std::fs::read_to_string(&shown)
            .expect("read")
            .contains("1990-05-17")
    );
    let (c, v) = verify_json(&[
        &shown,
        "--offline",
        "--audience",
        "https://hire.example",
        "--nonce",
        "n-42",
    ]);
    assert_eq!(c, 0, "{v}");
    assert_eq!(v["fields"].as_object().map(|f| f.len()), Some(1));
    assert_eq!(v["presentedTo"], "https://hire.example");
    // Replayed to another verifier or with another nonce.
    let (c, v) = verify_json(&[
        &shown,
        "--offline",
        "--audience",
        "https://hire.example",
        "--nonce",
        "n-43",
    ]);
    assert_eq!((c, v["code"].as_str()), (1, Some("replayed")));
    // Expired (five years later).
    let (c, v) = verify_json(&[
        &lic,
        "--offline",
        "--allow-unchecked-status",
        "--at",
        "2032-01-01T00:00:00Z",
    ]);
    assert_eq!((c, v["code"].as_str()), (1, Some("expired")));
    // Tampered: a field changed in the file.
    let badge = r.path("badge.json");
    ok_out(r.issue(
        "issuer.key",
        "badge",
        &[
            "--field",
            "recipientName=김하늘",
            "--field",
            "achievementName=드론 교관 과정",
            "--field",
            "achievementDescription=40시간 과정",
            "--field",
            "criteria=실기 평가 통과",
            "--field",
            "awardedOn=2026-11-30",
            "--out",
            &badge,
        ],
    ));
    let text = std::fs::read_to_string(&badge)
        .expect("read")
        .replace("40시간 과정", "400시간 과정");
    let forged = r.path("forged.json");
    std::fs::write(&forged, text).expect("write");
    let (c, v) = verify_json(&[&forged, "--offline"]);
    assert_eq!((c, v["code"].as_str()), (1, Some("tampered")));
    // Not a certificate at all: refused as malformed (exit 1); a missing file is an I/O error (exit 2).
    std::fs::write(r.path("junk.json"), "{\"hello\": 1}").expect("write");
    assert_eq!(code(&hanpyo(&["cert", "verify", &r.path("junk.json")])), 1);
    assert_eq!(
        code(&hanpyo(&["cert", "verify", &r.path("missing.json")])),
        2
    );
    // A file whose status index was changed (to have someone else's certificate revoked) is
    // not revoked: it is not this registry's certificate.
    let mut forged: Value =
        serde_json::from_str(&std::fs::read_to_string(&lic).expect("read")).expect("json");
    forged["issuance"]["entry"]["statusIndex"] = Value::from(1);
    let forged_path = r.path("forged-index.json");
    std::fs::write(&forged_path, forged.to_string()).expect("write");
    let out = hanpyo(&[
        "cert",
        "revoke",
        "--data",
        &r.reg(),
        "--key",
        &r.path("issuer.key"),
        "--certificate",
        &forged_path,
        "--reason",
        "holder-request",
    ]);
    assert_eq!(code(&out), 2, "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a certificate of this registry"));
    // Revoked: the issuer's fresh status list says so.
    ok(&[
        "cert",
        "revoke",
        "--data",
        &r.reg(),
        "--key",
        &r.path("issuer.key"),
        "--certificate",
        &lic,
        "--reason",
        "fraud",
    ]);
    let list = r.path("status.json");
    ok(&[
        "cert",
        "status-list",
        "--data",
        &r.reg(),
        "--key",
        &r.path("issuer.key"),
        "--out",
        &list,
    ]);
    let (c, v) = verify_json(&[&lic, "--status", &list]);
    assert_eq!((c, v["code"].as_str()), (1, Some("revoked")));
    let (c, _) = verify_json(&[&badge, "--status", &list]);
    assert_eq!(c, 0);
    // Not allowed: this issuer is not registered for notarised documents.
    let out = r.issue(
        "issuer.key",
        "notarised-document",
        &["--field", "documentTitle=x", "--out", &r.path("n.json")],
    );
    assert_ne!(code(&out), 0);
    // The audit counts what was issued and revoked.
    let audit: Value =
        serde_json::from_str(&ok(&["cert", "audit", "--data", &r.reg(), "--json"])).expect("json");
    assert_eq!(audit["valid"], true);
    assert_eq!(audit["issuers"][0]["issuedTotal"], 2);
    assert_eq!(audit["issuers"][0]["revoked"], 1);
    assert_eq!(audit["trustPinned"], false);
    // Against other trust anchors (another log key), the audit fails: exit 1, with the problem.
    let mut other: Value =
        serde_json::from_str(&std::fs::read_to_string(&trust).expect("trust")).expect("json");
    other["logKey"] = other["witnesses"][0]["key"].clone();
    let other_trust = r.path("other-trust.json");
    std::fs::write(&other_trust, other.to_string()).expect("write");
    let out = hanpyo(&[
        "cert",
        "audit",
        "--data",
        &r.reg(),
        "--trust",
        &other_trust,
        "--json",
    ]);
    assert_eq!(code(&out), 1);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        v["problems"][0]
            .as_str()
            .is_some_and(|p| p.contains("not signed by the log")),
        "{v}"
    );
}

#[test]
fn a_registry_that_would_break_its_own_rules_is_not_created() {
    let dir = common::scratch("cert-init");
    let reg = dir.join("reg");
    let out = hanpyo(&[
        "cert",
        "init",
        "--data",
        reg.to_str().expect("utf8"),
        "--name",
        " padded ",
        "--status-base",
        "ftp://x",
    ]);
    assert_eq!(code(&out), 2);
    assert!(!reg.join("registry.json").exists(), "nothing is written");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bulk_issuance_from_csv() {
    let r = Registry::new("cert-csv");
    r.register("issuer.key", "Battery Lab", "battery-certificate");
    let csv = r.path("rows.csv");
    std::fs::write(
        &csv,
        "\u{feff}batterySerial,vehicleModel,stateOfHealthPercent,remainingCapacityWh,testMethod,testedOn\n\
         SN-1,\"Ioniq 5, 2022\",87,63684,KS R 1200,2026-11-28\n\
         SN-2,EV6,91,70000,KS R 1200,2026-11-28\n\
         SN-3,Niro EV,78,50100,KS R 1200,2026-11-29\n",
    )
    .expect("csv");
    let out = r.path("issued");
    ok_out(r.issue(
        "issuer.key",
        "battery-certificate",
        &["--csv", &csv, "--out", &out],
    ));
    let mut files: Vec<_> = std::fs::read_dir(&out)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3);
    let (c, v) = verify_json(&[files[0].to_str().expect("utf8"), "--offline"]);
    assert_eq!(c, 0, "{v}");
    assert_eq!(v["fields"]["vehicleModel"], "Ioniq 5, 2022");
    // A bad row refuses the whole file, with the row named.
    std::fs::write(&csv, "batterySerial,vehicleModel,stateOfHealthPercent,remainingCapacityWh,testMethod,testedOn\nSN-9,X,eighty,1,T,2026-11-28\n").expect("csv");
    let bad = r.issue(
        "issuer.key",
        "battery-certificate",
        &["--csv", &csv, "--out", &r.path("bad")],
    );
    assert_eq!(code(&bad), 2);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("stateOfHealthPercent"));
}

#[test]
fn provenance_chain_and_balance() {
    let r = Registry::new("cert-prov");
    let reg = r.reg();
    for (who, name) in [
        ("collector", "서울 수거"),
        ("carrier", "한강 운송"),
        ("refiner", "울산 정제"),
    ] {
        let did = r.key(&format!("{who}.key"));
        ok(&[
            "cert",
            "register-issuer",
            "--data",
            &reg,
            "--issuer",
            &did,
            "--name",
            name,
            "--types",
            "provenance-lot",
        ]);
    }
    let k = |who: &str| r.path(&format!("{who}.key"));
    let record = |who: &str, rest: &[&str]| {
        let key = k(who);
        let mut args = vec![
            "cert",
            "provenance",
            "record",
            "--data",
            &reg,
            "--key",
            &key,
        ];
        args.extend_from_slice(rest);
        hanpyo(&args)
    };
    assert_eq!(
        code(&record(
            "collector",
            &[
                "--lot",
                "COL-1",
                "--stage",
                "collection",
                "--quantity",
                "1000"
            ]
        )),
        0
    );
    assert_eq!(
        code(&record(
            "carrier",
            &[
                "--lot",
                "TRN-1",
                "--stage",
                "transport",
                "--quantity",
                "990",
                "--input",
                "COL-1=1000"
            ]
        )),
        0
    );
    assert_eq!(
        code(&record(
            "refiner",
            &[
                "--lot",
                "REF-1",
                "--stage",
                "refining",
                "--quantity",
                "900",
                "--input",
                "TRN-1=990"
            ]
        )),
        0
    );
    // Outputs exceeding inputs are refused with the reason.
    let out = record(
        "refiner",
        &[
            "--lot",
            "EXP-1",
            "--stage",
            "export",
            "--quantity",
            "950",
            "--input",
            "REF-1=900",
        ],
    );
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stdout).contains("exceeds its inputs"));
    let h: Value = serde_json::from_str(&ok(&[
        "cert",
        "provenance",
        "show",
        "--data",
        &reg,
        "--lot",
        "REF-1",
        "--json",
    ]))
    .expect("json");
    assert_eq!(h["balanced"], true);
    let lots: Vec<&str> = h["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|e| e["lot"].as_str())
        .collect();
    assert_eq!(lots, ["REF-1", "TRN-1", "COL-1"]);
    assert_eq!(h["history"][1]["loss"], 10);
    // The refiner's lot certificate verifies.
    let cert = r.path("lot.json");
    ok(&[
        "cert",
        "issue",
        "--data",
        &reg,
        "--key",
        &k("refiner"),
        "--type",
        "provenance-lot",
        "--field",
        "lot=REF-1",
        "--field",
        "product=UCO",
        "--out",
        &cert,
    ]);
    assert_eq!(verify_json(&[&cert, "--offline"]).0, 0);
    // Another party cannot certify the refiner's lot.
    let out = hanpyo(&[
        "cert",
        "issue",
        "--data",
        &reg,
        "--key",
        &k("carrier"),
        "--type",
        "provenance-lot",
        "--field",
        "lot=REF-1",
        "--field",
        "product=UCO",
        "--out",
        &r.path("x.json"),
    ]);
    assert_eq!(code(&out), 2);
}

/// The demo's root address and its issuers' password, from its banner.
fn demo_root(s: &common::Server) -> (String, String) {
    let line = |prefix: &str| {
        s.banner
            .iter()
            .find_map(|l| l.strip_prefix(prefix).map(str::to_string))
            .unwrap_or_else(|| panic!("no {prefix} line"))
    };
    let root = line("url: ").trim_end_matches('/').to_string();
    let issuers = line("issuer logins: ");
    let password = issuers.rsplit(' ').next().expect("password").to_string();
    (root, password)
}

#[test]
fn the_server_registers_issues_revokes_relays_and_is_audited() {
    let dir = common::scratch("cert-http");
    let s = common::start(&[
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--data",
        dir.to_str().expect("utf8"),
        "--voters",
        "5",
    ]);
    let (root, issuer_password) = demo_root(&s);
    let admin = s.token.clone().expect("admin session");
    // Public: the registry and its issuers, a lot's balanced history.
    let reg = common::get_json(&format!("{root}/api/v1/certs"));
    assert_eq!(reg["issuers"].as_array().map(Vec::len), Some(9));
    let lot = common::get_json(&format!("{root}/api/v1/certs/lots/EXP-2026-001"));
    assert_eq!(lot["balanced"], true);
    assert_eq!(lot["history"].as_array().map(Vec::len), Some(5));
    // The operator (platform administrator) registers an issuer with its console account.
    let body = serde_json::json!({"name": "한국배터리평가원", "types": ["battery-certificate"], "account": "battery-lab", "password": "battery-lab-password"}).to_string();
    let (status, v) = common::post(
        &format!("{root}/api/v1/certs/issuers"),
        body.as_bytes(),
        Some(&admin),
    );
    assert_eq!(status, 201, "{v}");
    // The operator may not issue; the issuer's account may, and only its own types.
    let issue = serde_json::json!({"type": "battery-certificate", "fields": {"batterySerial": "SN-1", "vehicleModel": "EV6", "stateOfHealthPercent": "91", "remainingCapacityWh": "70000", "testMethod": "KS R 1200", "testedOn": "2026-11-28"}}).to_string();
    let (status, v) = common::post(
        &format!("{root}/api/v1/certs/issue"),
        issue.as_bytes(),
        Some(&admin),
    );
    assert_eq!((status, v["code"].as_str()), (403, Some("not-an-issuer")));
    let lab = common::admin_login(&root, "battery-lab", "battery-lab-password");
    let (status, v) = common::post(
        &format!("{root}/api/v1/certs/issue"),
        issue.as_bytes(),
        Some(&lab),
    );
    assert_eq!(status, 201, "{v}");
    let cert = dir.join("battery.json");
    std::fs::write(&cert, v["certificates"][0].to_string()).expect("write");
    let badge = serde_json::json!({"type": "badge", "fields": {"recipientName": "x"}}).to_string();
    let (status, v) = common::post(
        &format!("{root}/api/v1/certs/issue"),
        badge.as_bytes(),
        Some(&lab),
    );
    assert_eq!((status, v["code"].as_str()), (403, Some("not-allowed")));
    // An issuer's account is no election's administrator.
    let (status, _) =
        common::get_authorized(&format!("{root}/e/demo-2026/api/v1/admin/status"), &lab);
    assert_eq!(status, 403);
    // Verified with the status list fetched from the server, then revoked there.
    let (c, v) = verify_json(&[cert.to_str().expect("utf8")]);
    assert_eq!(c, 0, "{v}");
    assert!(
        v["statusSource"]
            .as_str()
            .is_some_and(|s| s.starts_with("fetched")),
        "{v}"
    );
    let (status, v) = common::post(
        &format!("{root}/api/v1/certs/revoke"),
        br#"{"status_index": 0, "reason": "superseded"}"#,
        Some(&lab),
    );
    assert_eq!(status, 200, "{v}");
    let (c, v) = verify_json(&[cert.to_str().expect("utf8")]);
    assert_eq!((c, v["code"].as_str()), (1, Some("revoked")));
    // Offline, the stapled list (signed at issuance) still says not revoked: it is reported.
    let (c, v) = verify_json(&[cert.to_str().expect("utf8"), "--offline"]);
    assert_eq!(c, 0);
    assert_eq!(v["statusSource"], "stapled to the certificate");
    // Bulk from CSV through the API, one commit.
    let csv = "batterySerial,vehicleModel,stateOfHealthPercent,remainingCapacityWh,testMethod,testedOn\nSN-2,EV6,90,1,T,2026-11-28\nSN-3,EV9,88,2,T,2026-11-28\n";
    let body = serde_json::json!({"type": "battery-certificate", "csv": csv}).to_string();
    let (status, v) = common::post(
        &format!("{root}/api/v1/certs/issue"),
        body.as_bytes(),
        Some(&lab),
    );
    assert_eq!(
        (status, v["certificates"].as_array().map(Vec::len)),
        (201, Some(2)),
        "{v}"
    );
    // A provenance event that does not balance is refused with its code.
    let party = common::admin_login(&root, "party-exporter", &issuer_password);
    let over = br#"{"lot": "EXP-2026-002", "stage": "export", "quantity": 400, "unit": "kg", "inputs": [{"lot": "REF-2026-001", "quantity": 300}]}"#;
    let (status, v) = common::post(
        &format!("{root}/api/v1/certs/provenance"),
        over,
        Some(&party),
    );
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("unbalanced")),
        "{v}"
    );
    // An issuer's console scope can be given only for an issuer this server keeps on its log.
    let body = serde_json::json!({"name": "stray", "role": "administrator", "password": "stray-password-1",
        "elections": ["issuer:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"]})
    .to_string();
    let (status, v) = common::post(
        &format!("{root}/api/v1/admin/accounts"),
        body.as_bytes(),
        Some(&admin),
    );
    assert_eq!(
        (status, v["code"].as_str()),
        (404, Some("unknown-issuer")),
        "{v}"
    );
    // The relay takes presentations only, and gives each out once.
    let (status, v) = common::post(
        &format!("{root}/api/v1/certs/presentations"),
        &std::fs::read(&cert).expect("read"),
        None,
    );
    assert_eq!((status, v["code"].as_str()), (400, Some("malformed")));
    // Anyone audits the whole log from the server: valid, with the counts.
    let out = hanpyo(&["cert", "audit", "--url", &root, "--json"]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let audit: Value = serde_json::from_slice(&out.stdout).expect("json");
    let lab_counts = audit["issuers"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["name"] == "한국배터리평가원"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (
            lab_counts["issuedTotal"].as_u64(),
            lab_counts["revoked"].as_u64()
        ),
        (Some(3), Some(1))
    );
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_independent_witness_cosigns_what_the_registry_issues() {
    let r = Registry::new("cert-witness");
    let trust_path = format!("{}/trust.json", r.reg());
    let trust: Value =
        serde_json::from_str(&std::fs::read_to_string(&trust_path).expect("trust")).expect("json");
    // Another organisation's witness: its own key (sealed), following the certificate log.
    let wdir = r.path("witness");
    let pass = r.path("witness-pass");
    std::fs::write(&pass, "another organisation's passphrase\n").expect("pass");
    let out = ok(&[
        "witness",
        "init",
        "--dir",
        &wdir,
        "--name",
        "witness.ngo.example",
        "--passphrase-file",
        &pass,
    ]);
    let key = out.rsplit(' ').next().expect("key").to_string();
    ok(&[
        "witness",
        "follow",
        "--dir",
        &wdir,
        "--origin",
        trust["origin"].as_str().expect("origin"),
        "--log-key",
        trust["logKey"].as_str().expect("key"),
    ]);
    let (witness, url) = common::spawn_until(
        {
            let mut c = Command::new(env!("CARGO_BIN_EXE_hanpyo"));
            c.args([
                "witness",
                "serve",
                "--exit-with-parent",
                "--listen",
                "127.0.0.1:0",
                "--dir",
                &wdir,
                "--passphrase-file",
                &pass,
            ]);
            c
        },
        "witness witness.ngo.example serving on ",
    );
    let url = url
        .split(' ')
        .next()
        .expect("url")
        .trim_end_matches('/')
        .to_string();
    // The registry takes it, with a quorum of all three.
    ok(&[
        "cert",
        "add-witness",
        "--data",
        &r.reg(),
        "--name",
        "witness.ngo.example",
        "--key",
        &key,
        "--url",
        &url,
        "--quorum",
        "3",
    ]);
    r.register("issuer.key", "Notary", "notarised-document");
    let cert = r.path("doc.json");
    ok_out(r.issue(
        "issuer.key",
        "notarised-document",
        &[
            "--field",
            "documentTitle=계약서",
            "--field",
            "documentSha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "--field",
            "notary=공증인",
            "--field",
            "notarisedOn=2026-11-30",
            "--field",
            "registerNumber=1",
            "--out",
            &cert,
        ],
    ));
    let file = std::fs::read_to_string(&cert).expect("read");
    assert!(
        file.contains("witness.ngo.example"),
        "the checkpoint carries the independent witness's cosignature"
    );
    let (c, v) = verify_json(&[&cert, "--offline", "--trust", &trust_path]);
    assert_eq!(c, 0, "{v}");
    let audit: Value =
        serde_json::from_str(&ok(&["cert", "audit", "--data", &r.reg(), "--json"])).expect("json");
    assert_eq!(
        (audit["valid"].as_bool(), audit["witnesses"].as_u64()),
        (Some(true), Some(3))
    );
    // With the independent witness gone, the quorum of three is not met: issuing fails loudly.
    let mut witness = witness;
    let _ = witness.kill();
    let _ = witness.wait();
    let out = r.issue(
        "issuer.key",
        "notarised-document",
        &[
            "--field",
            "documentTitle=x",
            "--field",
            "documentSha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "--field",
            "notary=n",
            "--field",
            "notarisedOn=2026-11-30",
            "--field",
            "registerNumber=2",
            "--out",
            &r.path("doc2.json"),
        ],
    );
    assert_eq!(code(&out), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("witness cosignatures"), "{err}");
}
