//! Scratch databases for the storage tests: a SQLite file in a temporary directory, or a fresh
//! PostgreSQL database (created on the server named by `HANPYO_TEST_POSTGRES`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`, and dropped afterwards).
#![allow(dead_code)]
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hanpyo_ledger::checkpoint::NoteSigner;
use hanpyo_ledger::store::{Ledger, LedgerError};

/// The server the PostgreSQL tests create their databases on.
pub fn admin_url() -> String {
    std::env::var("HANPYO_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A scratch database of one engine.
#[derive(Debug)]
pub enum Db {
    /// A directory holding `ledger.db`.
    Sqlite(PathBuf),
    /// A database named `name` and its URL.
    Postgres { name: String, url: String },
}

impl Db {
    /// A fresh SQLite directory.
    pub fn sqlite(name: &str) -> Db {
        let d = std::env::temp_dir().join(format!("hanpyo-ledger-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("dir");
        Db::Sqlite(d)
    }

    /// A fresh PostgreSQL database.
    pub fn postgres(name: &str) -> Db {
        let name = format!("hanpyo_test_{}_{name}", std::process::id());
        let mut admin = postgres::Client::connect(&admin_url(), postgres::NoTls).unwrap_or_else(|e| {
            panic!(
                "PostgreSQL at {} (set HANPYO_TEST_POSTGRES; .ci/run installs and starts one): {e}",
                admin_url()
            )
        });
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .expect("drop database");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        let mut config: postgres::Config = admin_url().parse().expect("url");
        config.dbname(&name);
        let url = format!(
            "host={} port={} user={} dbname={name}",
            host_of(&config),
            config.get_ports().first().copied().unwrap_or(5432),
            config.get_user().unwrap_or("postgres"),
        );
        Db::Postgres { name, url }
    }

    /// Opens the writer of the log named by `signer`.
    pub fn open(&self, signer: NoteSigner) -> Result<Ledger, LedgerError> {
        match self {
            Db::Sqlite(dir) => Ledger::open(&dir.join("ledger.db"), signer),
            Db::Postgres { url, .. } => Ledger::open_postgres(url, signer),
        }
    }

    /// Opens the writer, waiting up to 10 s for another writer's lease to be released.
    pub fn open_waiting(&self, signer: fn() -> NoteSigner) -> Result<Ledger, LedgerError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.open(signer()) {
                Err(LedgerError::Busy(_)) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                other => return other,
            }
        }
    }

    /// Runs one statement directly on the database, as someone with write access to it could
    /// (`sqlite` on SQLite, `postgres` on PostgreSQL), with one text parameter (`?1` / `$1`).
    pub fn execute(&self, sqlite: &str, postgres: &str, param: &str) {
        match self {
            Db::Sqlite(dir) => {
                let c = rusqlite::Connection::open(dir.join("ledger.db")).expect("open");
                c.execute(sqlite, [param]).expect("statement");
            }
            Db::Postgres { url, .. } => {
                let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
                c.execute(postgres, &[&param]).expect("statement");
            }
        }
    }

    /// A string a child process can open the same database from.
    pub fn locator(&self) -> String {
        match self {
            Db::Sqlite(dir) => format!("sqlite:{}", dir.join("ledger.db").display()),
            Db::Postgres { url, .. } => format!("postgres:{url}"),
        }
    }
}

/// Opens the writer of the database named by [`Db::locator`] (in a child process).
pub fn open_locator(locator: &str, signer: NoteSigner) -> Result<Ledger, LedgerError> {
    match locator.split_once(':') {
        Some(("sqlite", path)) => Ledger::open(std::path::Path::new(path), signer),
        Some(("postgres", url)) => Ledger::open_postgres(url, signer),
        _ => panic!("bad locator {locator}"),
    }
}

fn host_of(config: &postgres::Config) -> String {
    match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "127.0.0.1".into(),
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        match self {
            Db::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Db::Postgres { name, .. } => {
                if let Ok(mut admin) = postgres::Client::connect(&admin_url(), postgres::NoTls) {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}
