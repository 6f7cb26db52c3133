//! The data directory of a deployment that hosts many elections:
//!
//! | path | what |
//! |---|---|
//! | `state.db` | administrator and observer accounts (Argon2id), each scoped to the platform or to elections |
//! | `audit.log` | every administrative action: time, account, election, action, outcome |
//! | `outbox.jsonl` | the development delivery backend for one-time codes (all elections) |
//! | `witnesses/NAME/` | a demo's witnesses, each run as its own process |
//! | `elections/<id>/` | one election: its ledger, keys, roll and tokens (below) |
//!
//! and in each `elections/<id>/`:
//!
//! | file | what |
//! |---|---|
//! | `ledger.db` | the election's ledger (SQLite) — every public entry |
//! | `log.json` | its ledger operator's origin and signing key (secret) |
//! | `witnesses.json` | co-located witnesses (demo only) |
//! | `witness-urls.json` | where the manifest's witnesses answer |
//! | `demo-trustees.json` | the demo trustees' key shares (**demo only**) |
//! | `roll.key` | the key sealing the roll and bindings (or `HANPYO_ROLL_KEY_DIR/<id>.key`) |
//! | `state.db` | personal data (the sealed roll, login codes, sessions, bindings), trustee tokens |
//!
//! A data directory of the single-election layout (its `ledger.db` at the top) is moved into
//! this one when the server opens it ([`migrate_single_election`]).
use std::path::{Path, PathBuf};

use crate::database::Database;
use crate::{LogKeyFile, ServerError, data_err, read_json};

/// Where the elections live.
pub fn elections_dir(data: &Path) -> PathBuf {
    data.join("elections")
}

/// One election's directory.
pub fn election_dir(data: &Path, id: &str) -> PathBuf {
    elections_dir(data).join(id)
}

/// The ids of the elections in `data`, sorted (directories whose name is not an election id are
/// ignored).
pub fn election_ids(data: &Path, database: &Database) -> Result<Vec<String>, ServerError> {
    let dir = elections_dir(data);
    let mut ids = Vec::new();
    match std::fs::read_dir(&dir) {
        Ok(entries) => {
            for e in entries {
                let e = e?;
                let name = e.file_name().to_string_lossy().into_owned();
                if e.file_type()?.is_dir()
                    && hanpyo_record::manifest::valid_election_id(&name)
                    && database.holds_election(&e.path())
                {
                    ids.push(name);
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(data_err(&dir, e)),
    }
    ids.sort();
    Ok(ids)
}

/// Whether `data` is a Hanpyo data directory (accounts, elections, or the single-election layout).
pub fn is_data_dir(data: &Path) -> bool {
    data.join("state.db").exists()
        || data.join("ledger.db").exists()
        || elections_dir(data).exists()
}

/// Whether `data` holds a demo election (its trustees' shares are in the directory).
pub fn is_demo(data: &Path) -> bool {
    data.join("demo-trustees.json").exists()
        || std::fs::read_dir(elections_dir(data))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .any(|e| e.path().join("demo-trustees.json").exists())
}

/// Where the key sealing an election's roll lives: `HANPYO_ROLL_KEY_DIR/<election id>.key`, or
/// `roll.key` in the election's directory.
pub fn roll_key_path(election_dir: &Path) -> PathBuf {
    match (
        std::env::var_os("HANPYO_ROLL_KEY_DIR"),
        election_dir.file_name(),
    ) {
        (Some(keys), Some(id)) => PathBuf::from(keys).join(format!("{}.key", id.to_string_lossy())),
        _ => election_dir.join("roll.key"),
    }
}

/// The files of the single-election layout that belong to its election.
const ELECTION_FILES: [&str; 7] = [
    "log.json",
    "witnesses.json",
    "witness-urls.json",
    "demo-trustees.json",
    "demo-voters.txt",
    "trust-policy.toml",
    "roll.key",
];

/// The `state.db` tables that hold an election's personal data and tokens (the rest are the
/// platform's accounts).
const ELECTION_TABLES: [&str; 8] = [
    "roll",
    "codes",
    "login_codes",
    "sessions",
    "bindings",
    "login_failures",
    "trustee_tokens",
    "meta",
];

/// Moves a data directory of the single-election layout (`ledger.db`, `log.json`, … at the top)
/// into `elections/<id>/`, the id taken from the ledger origin's last segment. Each step can be
/// repeated, and the ledger moves last, so a crash part-way is finished by the next start. The
/// accounts stay at the top; the election's personal data and tokens move with it (the top
/// `state.db` keeps none: its copies are dropped and the file compacted).
pub fn migrate_single_election(data: &Path) -> Result<Option<String>, ServerError> {
    let ledger = data.join("ledger.db");
    if !ledger.exists() {
        return Ok(None);
    }
    let log_path = if data.join("log.json").exists() {
        data.join("log.json")
    } else {
        // A crash after log.json moved: find the election it moved to.
        let ids = std::fs::read_dir(elections_dir(data))
            .map_err(|e| data_err(data, e))?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("log.json"))
            .find(|p| p.exists());
        ids.ok_or_else(|| data_err(&ledger, "log.json is missing"))?
    };
    let log: LogKeyFile = read_json(&log_path)?;
    let id = log.origin.rsplit('/').next().unwrap_or("").to_string();
    if !hanpyo_record::manifest::valid_election_id(&id) {
        return Err(data_err(
            &log_path,
            format!("the ledger origin {:?} names no election id", log.origin),
        ));
    }
    let dir = election_dir(data, &id);
    std::fs::create_dir_all(&dir)?;
    let state = data.join("state.db");
    if state.exists() {
        let conn = rusqlite::Connection::open(&state).map_err(|e| data_err(&state, e))?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|e| data_err(&state, e))?;
        drop(conn);
        let tmp = dir.join("state.db.migrating");
        std::fs::copy(&state, &tmp)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, dir.join("state.db"))?;
    }
    if let Some(old_key) = std::env::var_os("HANPYO_ROLL_KEY_FILE") {
        // The old setting named one key file: it becomes this election's.
        let to = roll_key_path(&dir);
        if !to.exists() && Path::new(&old_key).exists() {
            crate::write_secret(&to, &std::fs::read(&old_key)?)?;
        }
    }
    for name in ELECTION_FILES {
        let from = data.join(name);
        if from.exists() {
            std::fs::rename(&from, dir.join(name))?;
        }
    }
    // The ledger last: while it is at the top, the next start finishes the move.
    for suffix in ["-wal", "-shm", ""] {
        let from = data.join(format!("ledger.db{suffix}"));
        if from.exists() {
            std::fs::rename(&from, dir.join(format!("ledger.db{suffix}")))?;
        }
    }
    strip_tables(&dir.join("state.db"), &["admins", "login_throttle"])?;
    if state.exists() {
        strip_tables(&state, &ELECTION_TABLES)?;
    }
    tracing::info!(election = %id, "moved the single-election data directory into elections/");
    Ok(Some(id))
}

/// Drops `tables` with their pages overwritten, and compacts the file.
fn strip_tables(db: &Path, tables: &[&str]) -> Result<(), ServerError> {
    if !db.exists() {
        return Ok(());
    }
    let conn = rusqlite::Connection::open(db).map_err(|e| data_err(db, e))?;
    let mut sql = String::from("PRAGMA secure_delete = ON;");
    for t in tables {
        sql.push_str(&format!("DROP TABLE IF EXISTS {t};"));
    }
    sql.push_str("VACUUM;");
    conn.execute_batch(&sql).map_err(|e| data_err(db, e))?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(|e| data_err(db, e))?;
    Ok(())
}
