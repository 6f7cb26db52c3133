//! `hanpyo db`: migrating a shared PostgreSQL database and listing its logs with their sequencer,
//! against the server at `HANPYO_TEST_POSTGRES` (default 127.0.0.1:5432, as .ci/run starts it).
use std::process::Command;

use ed25519_dalek::SigningKey;
use hanpyo_ledger::checkpoint::{KeyKind, NoteSigner};
use hanpyo_ledger::store::Ledger;

fn hanpyo(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hanpyo"))
        .args(args)
        .output()
        .expect("run hanpyo");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn admin() -> postgres::Client {
    let url = std::env::var("HANPYO_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    postgres::Client::connect(&url, postgres::NoTls).unwrap_or_else(|e| {
        panic!("PostgreSQL at {url} (set HANPYO_TEST_POSTGRES; .ci/run starts one): {e}")
    })
}

/// A scratch database, dropped at the end.
struct Scratch(String);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let name = format!("hanpyo_test_cli_{tag}_{}", std::process::id());
        let mut a = admin();
        a.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .expect("drop");
        a.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create");
        Scratch(name)
    }

    fn url(&self) -> String {
        let base = std::env::var("HANPYO_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut config: postgres::Config = base.parse().expect("url");
        config.dbname(&self.0);
        let host = match config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(h)) => h.clone(),
            _ => "127.0.0.1".into(),
        };
        format!(
            "host={host} port={} user={} dbname={}",
            config.get_ports().first().copied().unwrap_or(5432),
            config.get_user().unwrap_or("postgres"),
            self.0
        )
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = admin().batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0));
    }
}

#[test]
fn db_migrate_is_repeatable_and_status_names_each_logs_sequencer() {
    let db = Scratch::new("status");
    let url = db.url();
    let (code, out, err) = hanpyo(&["db", "migrate", "--database", &url]);
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            "applied ledger: V1__ledger\napplied hanpyo_platform: V1__platform_state\n"
        ),
        "{err}"
    );
    let (code, out, _) = hanpyo(&["db", "migrate", "--database", &url]);
    assert_eq!((code, out.as_str()), (0, "the schema is up to date\n"));

    let signer = || {
        NoteSigner::new(
            "cli.test/log",
            SigningKey::from_bytes(&[3; 32]),
            KeyKind::Ed25519,
        )
        .expect("signer")
    };
    let mut ledger =
        Ledger::open_postgres(&format!("{url} application_name=node-a"), signer()).expect("open");
    ledger
        .append_batch(&[b"one".as_slice(), b"two"])
        .expect("append");
    let (code, out, _) = hanpyo(&["db", "status", "--database", &url]);
    assert_eq!(code, 0);
    let line = out
        .lines()
        .find(|l| l.starts_with("cli.test/log"))
        .unwrap_or_else(|| panic!("the log is listed: {out}"));
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        &fields[..4],
        ["cli.test/log", "2", "false", "node-a"],
        "{line}"
    );
    drop(ledger);
    // The lease went with the writer's connection (the server notices within moments).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, out, _) = hanpyo(&["db", "status", "--database", &url]);
        if out
            .lines()
            .any(|l| l.starts_with("cli.test/log") && l.ends_with(" none"))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "lease still held: {out}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn db_commands_fail_with_exit_2_and_a_reason() {
    let (code, _, err) = hanpyo(&[
        "db",
        "migrate",
        "--database",
        "host=127.0.0.1 user=postgres dbname=hanpyo_no_such_database connect_timeout=5",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("hanpyo_no_such_database"), "{err}");
    let (code, _, err) = hanpyo(&["db", "status", "--database", "not a url ="]);
    assert_eq!(code, 2);
    assert!(err.starts_with("error:"), "{err}");
}

/// A whole simulated election with its ledger in PostgreSQL: its record verifies, `hanpyo db
/// export` gives the same record byte for byte from the database, and a ballot rewritten in the
/// database makes the exported record fail `hanpyo verify`.
#[test]
fn an_election_on_the_postgres_ledger_exports_and_verifies() {
    let db = Scratch::new("election");
    let url = db.url();
    let dir = std::env::temp_dir().join(format!("hanpyo-cli-db-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // The same 40-voter election (seed 7) simulated into `dir/name` with its ledger in the database.
    let simulate = |name: &str| {
        let out = dir.join(name);
        let result = hanpyo(&[
            "simulate",
            "--voters",
            "40",
            "--seed",
            "7",
            "--database",
            &url,
            "--out",
            out.to_str().expect("utf8"),
        ]);
        (out, result)
    };
    let (sim, (code, out, err)) = simulate("sim");
    let sim_s = sim.to_str().expect("utf8");
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        !sim.join("ledger.db").exists(),
        "the ledger is in the database"
    );
    let (code, out, _) = hanpyo(&["verify", sim_s]);
    assert_eq!(code, 0, "{out}");

    let checkpoint = std::fs::read_to_string(sim.join("record/checkpoint")).expect("checkpoint");
    let origin = checkpoint.lines().next().expect("origin").to_string();
    // `hanpyo db export` of the log into `dir/name`, which must succeed.
    let export = |name: &str| {
        let to = dir.join(name);
        let (code, out, err) = hanpyo(&[
            "db",
            "export",
            "--database",
            &url,
            "--log",
            &origin,
            "--out",
            to.to_str().expect("utf8"),
        ]);
        assert_eq!(code, 0, "{out}{err}");
        to
    };
    let exported = export("exported");
    let names = |d: &std::path::Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let files = names(&sim.join("record"));
    assert_eq!(names(&exported), files);
    assert!(files.iter().any(|f| f == "entries"), "{files:?}");
    for file in &files {
        assert_eq!(
            std::fs::read(exported.join(file)).expect("exported"),
            std::fs::read(sim.join("record").join(file)).expect("simulated"),
            "{file}"
        );
    }
    let (code, out, _) = hanpyo(&["verify", exported.to_str().expect("utf8")]);
    assert_eq!(code, 0, "{out}");

    // The same election again: its log is already there.
    let (_, (code, _, err)) = simulate("again");
    assert_eq!(code, 2);
    assert!(err.contains("already holds log"), "{err}");

    // Someone with the database's password rewrites one byte of a ballot.
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let changed = client
        .execute(
            "UPDATE ledger_entries SET data = set_byte(data, 40, get_byte(data, 40) # 1) \
             WHERE idx = (SELECT max(idx) - 10 FROM ledger_entries)",
            &[],
        )
        .expect("rewrite");
    assert_eq!(changed, 1);
    let tampered = export("tampered");
    let (code, out, _) = hanpyo(&["verify", tampered.to_str().expect("utf8")]);
    assert_eq!(code, 1, "a rewritten ballot is found: {out}");
    let _ = std::fs::remove_dir_all(&dir);
}
