//! What the command-line tests share: the `hanpyo` they run (on the embedded files, or with
//! `HANPYO_TEST_BACKEND=postgres` each deployment on a PostgreSQL database of its own), scratch
//! directories, and plain HTTP.
#![allow(dead_code)]
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// The `hanpyo` the tests run: the binary itself, or, with `HANPYO_TEST_BACKEND=postgres`, the
/// same binary run by [`POSTGRES_WRAPPER`] so that every deployment (data directory) keeps its
/// ledgers and state in a PostgreSQL database of its own: the whole suite on that backend.
pub fn bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        if !on_postgres() {
            return env!("CARGO_BIN_EXE_hanpyo").to_string();
        }
        let (base, _) = postgres_admin_url()
            .rsplit_once('/')
            .map(|(b, d)| (b.to_string(), d.to_string()))
            .expect("HANPYO_TEST_POSTGRES is a postgres:// URL");
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hanpyo-on-postgres");
        let script = POSTGRES_WRAPPER
            .replace("@ADMIN@", &postgres_admin_url())
            .replace("@BASE@", &base)
            .replace("@BIN@", env!("CARGO_BIN_EXE_hanpyo"));
        let tmp = path.with_extension(format!("{}", std::process::id()));
        std::fs::write(&tmp, script).expect("wrapper");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::rename(&tmp, &path).expect("wrapper");
        path.to_str().expect("utf8").to_string()
    })
}

/// Whether this run is the suite on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("HANPYO_TEST_BACKEND").as_deref() == Ok("postgres")
}

pub fn postgres_admin_url() -> String {
    std::env::var("HANPYO_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Runs hanpyo with `HANPYO_DATABASE` set to the database of the `--data` directory it is given
/// (`hanpyo_t_` and a hash of the path; created on first use). `scratch` drops it, so each test
/// starts from an empty one.
pub const POSTGRES_WRAPPER: &str = r#"#!/bin/sh
data=
prev=
for a in "$@"; do
  [ "$prev" = --data ] && data=$a
  case $a in --data=*) data=${a#--data=} ;; esac
  prev=$a
done
if [ -n "$data" ]; then
  db=hanpyo_t_$(printf %s "$data" | sha256sum | cut -c1-20)
  if [ "$(psql '@ADMIN@' -qAtc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    psql '@ADMIN@' -qc "CREATE DATABASE $db" >/dev/null 2>&1 || true
  fi
  HANPYO_DATABASE="@BASE@/$db"
  export HANPYO_DATABASE
fi
exec '@BIN@' "$@"
"#;

/// The PostgreSQL database the wrapper gives the deployment in `data` (its `--data` as given).
pub fn database_of(data: &Path) -> String {
    use sha2::Digest;
    let hash = hex::encode(sha2::Sha256::digest(
        data.to_str().expect("utf8").as_bytes(),
    ));
    format!("hanpyo_t_{}", &hash[..20])
}

/// `sql` run by `psql` on the server the tests use (`database` or its maintenance database);
/// answers its unaligned output.
pub fn psql(database: Option<&str>, sql: &str) -> String {
    let url = postgres_admin_url();
    let url = match database {
        Some(db) => format!("{}/{db}", url.rsplit_once('/').expect("url").0),
        None => url,
    };
    let o = Command::new("psql")
        .args([url.as_str(), "-qAtc", sql])
        .output()
        .expect("psql");
    assert!(
        o.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf8")
}

/// The deployment's audit log as text: `audit.log` beside the embedded state, or the rows of the
/// `audit` table on PostgreSQL (one line each).
pub fn audit_text(data: &Path) -> String {
    if on_postgres() {
        psql(
            Some(&database_of(data)),
            "SELECT time, account, coalesce(election, ''), action, outcome FROM hanpyo_platform.audit ORDER BY id",
        )
    } else {
        std::fs::read_to_string(data.join("audit.log")).expect("audit log")
    }
}

/// Copies the deployment in `from` (stopped) to `to`: the directory, and on PostgreSQL its
/// database.
pub fn copy_deployment(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    let o = Command::new("cp")
        .args(["-a", from.to_str().expect("p"), to.to_str().expect("p")])
        .status()
        .expect("cp");
    assert!(o.success());
    if on_postgres() {
        let (a, b) = (database_of(from), database_of(to));
        psql(None, &format!("DROP DATABASE IF EXISTS {b} WITH (FORCE)"));
        psql(None, &format!("CREATE DATABASE {b} TEMPLATE {a}"));
    }
}

/// A fresh scratch path `hanpyo-<name>-<pid>` (not created), and on PostgreSQL the deployment
/// database it will have dropped.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hanpyo-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    if on_postgres() {
        psql(
            None,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", database_of(&d)),
        );
    }
    d
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

pub fn get_json(url: &str) -> Value {
    agent()
        .get(url)
        .call()
        .expect("get")
        .body_mut()
        .read_json()
        .expect("json")
}

/// Starts `cmd` and reads its output up to the line starting with `prefix`; answers the process
/// and the rest of that line (an address, without a trailing `/`). Its output keeps being drained.
pub fn spawn_until(mut cmd: Command, prefix: &str) -> (Child, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(if std::env::var_os("HANPYO_TEST_STDERR").is_some() {
            // To see why a server did not start.
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let found = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix(prefix)
                .map(|u| u.trim_end_matches('/').to_string())
        })
        .unwrap_or_else(|| panic!("no line starting with {prefix:?}"));
    std::thread::spawn(move || for _ in lines {});
    (child, found)
}

/// A demo voter: resident id, birth date, credential code.
#[derive(Clone, Debug)]
pub struct Voter {
    pub id: String,
    pub birth: String,
    pub code: String,
    pub contact: String,
}

/// The demo voters of the election in `dir`.
pub fn voters_in(dir: &Path) -> Vec<Voter> {
    std::fs::read_to_string(dir.join("demo-voters.txt"))
        .expect("voters")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 4, "resident id, birth date, credential, contact");
            Voter {
                id: f[0].to_string(),
                birth: f[1].to_string(),
                code: f[2].to_string(),
                contact: f[3].to_string(),
            }
        })
        .collect()
}

/// A running `hanpyo` server (killed when dropped).
pub struct Server {
    pub child: Child,
    pub url: String,
    pub token: Option<String>,
    /// The banner's lines (up to the `vote:` line of a demo).
    pub banner: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `hanpyo ARGS` and reads its banner up to the `url:` line (and the admin token if any).
pub fn start(args: &[&str]) -> Server {
    let mut child = Command::new(bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let (mut url, mut token) = (None, None);
    let mut banner = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("line");
        banner.push(line.clone());
        if let Some(t) = line.strip_prefix("admin login: admin ") {
            token = Some(t.to_string());
        }
        if let Some(u) = line.strip_prefix("url: ") {
            url = Some(u.trim_end_matches('/').to_string());
        }
        // A demo's first election: the tests work at its own address, `/e/<id>`.
        if let Some(e) = line.strip_prefix("election: ")
            && !url.as_deref().is_some_and(|u| u.contains("/e/"))
            && let Some(u) = e.split(' ').nth(1)
        {
            url = Some(u.trim_end_matches('/').to_string());
        }
        if line.starts_with("vote:") || (url.is_some() && args[0] == "serve") {
            break;
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let url = url.expect("the server printed its url");
    // The demo prints the administrator's password; the tests work with a session.
    let token = token.map(|password| admin_login(&url, "admin", &password));
    Server {
        child,
        url,
        token,
        banner,
    }
}

/// Logs an administrator in; returns the session token.
pub fn admin_login(url: &str, name: &str, password: &str) -> String {
    let body = serde_json::json!({"name": name, "password": password}).to_string();
    let (s, v) = post_json(&format!("{url}/api/v1/admin/login"), &body);
    assert_eq!(s, 200, "{v}");
    v["session"].as_str().expect("session").to_string()
}

pub fn post(url: &str, body: &[u8], token: Option<&str>) -> (u16, Value) {
    let mut req = agent()
        .post(url)
        .header("content-type", "application/octet-stream");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let mut resp = req.send(body).expect("post");
    let status = resp.status().as_u16();
    let v = resp.body_mut().read_json().unwrap_or(Value::Null);
    (status, v)
}

pub fn post_json(url: &str, json: &str) -> (u16, Value) {
    let mut resp = agent()
        .post(url)
        .header("content-type", "application/json")
        .send(json.as_bytes())
        .expect("post");
    (
        resp.status().as_u16(),
        resp.body_mut().read_json().unwrap_or(Value::Null),
    )
}

pub fn get_authorized(url: &str, token: &str) -> (u16, Value) {
    let mut resp = agent()
        .get(url)
        .header("authorization", format!("Bearer {token}"))
        .call()
        .expect("get");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_json().unwrap_or(Value::Null))
}
