//! Where a deployment keeps its ledgers and its state: embedded SQLite files in the data directory
//! (the default, no setup), or one PostgreSQL database (`--database postgres://…`).
//!
//! On PostgreSQL each election's ledger is a log of the ledger's tables (keyed by its origin,
//! `hanpyo/<election id>`), each election's state is a schema of its own (`hanpyo_e_<id>`: its
//! roll, logins, sessions, bindings and trustee tokens, as apart from another election's as two
//! files are), and the deployment's accounts, administrator sessions and audit log are the schema
//! `hanpyo_platform`. The data directory still holds what is secret or configuration: each
//! election's log signing key (`log.json`), roll key, witness URLs.
use std::path::{Path, PathBuf};

use hanpyo_ledger::checkpoint::NoteSigner;
use hanpyo_ledger::store::{Ledger, LedgerError, LedgerReader};

use crate::sql::{Sql, SqlError, SqlPool, schema_name, search_path};
use crate::{ServerError, data_err};

/// Connections one node keeps at most for its elections' state on PostgreSQL (all of them):
/// concurrent logins and ballots use them side by side, opened as they are needed.
pub const STATE_CONNECTIONS: usize = 16;
/// The schema of the deployment's own state on PostgreSQL.
pub const PLATFORM_SCHEMA: &str = "hanpyo_platform";
/// The table in which `refinery` records each state schema's applied migrations.
const STATE_MIGRATIONS: &str = "state_schema_history";
/// The advisory lock that serialises the state's migrations between nodes starting together.
const MIGRATE_CLASS: i32 = 0x4850_5354; // "HPST"

mod election_migrations {
    refinery::embed_migrations!("migrations/postgres/election");
}
mod platform_migrations {
    refinery::embed_migrations!("migrations/postgres/platform");
}

/// Where the ledgers and the state are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Database {
    /// SQLite files in the data directory.
    #[default]
    Embedded,
    /// One PostgreSQL database for every node of the deployment.
    Postgres {
        /// Its connection string (`postgres://…` or `host=… dbname=…`; several hosts for
        /// failover, with `target_session_attrs=read-write`).
        url: String,
    },
}

/// Where one election's ledger is.
#[derive(Clone, Debug)]
pub enum LogPlace {
    /// `ledger.db` in the election's directory.
    File(PathBuf),
    /// The log `origin` in a PostgreSQL database.
    Postgres {
        /// The database.
        url: String,
        /// The log's origin.
        origin: String,
    },
}

impl LogPlace {
    /// Opens the ledger to write (on PostgreSQL: taking its sequencer lease).
    pub fn open_writer(&self, signer: NoteSigner) -> Result<Ledger, LedgerError> {
        match self {
            LogPlace::File(path) => Ledger::open(path, signer),
            LogPlace::Postgres { url, .. } => Ledger::open_postgres(url, signer),
        }
    }

    /// Opens an election's ledger that must already be there, to write: a data directory whose
    /// election is not in the database (made against another one, or copied without it) is
    /// refused instead of starting an empty log.
    pub fn open_existing(&self, signer: NoteSigner) -> Result<Ledger, ServerError> {
        let missing = match self {
            LogPlace::File(path) => (!path.exists()).then(|| path.display().to_string()),
            LogPlace::Postgres { origin, .. } => match self.reader() {
                Ok(_) => None,
                Err(LedgerError::NotFound(_)) => Some(format!("the database's log {origin}")),
                Err(e) => return Err(e.into()),
            },
        };
        if let Some(what) = missing {
            return Err(ServerError::Config(format!(
                "{what} is missing: was this election made with another --database?"
            )));
        }
        Ok(self.open_writer(signer)?)
    }

    /// Opens the ledger to read.
    pub fn reader(&self) -> Result<LedgerReader, LedgerError> {
        match self {
            LogPlace::File(path) => LedgerReader::open(path),
            LogPlace::Postgres { url, origin } => LedgerReader::open_postgres(url, origin),
        }
    }
}

fn sql_err(what: &str, e: impl std::fmt::Display) -> ServerError {
    ServerError::Config(format!("the database ({what}): {e}"))
}

/// Runs `runner`'s migrations in `schema` (created if absent), one node at a time.
fn migrate_schema(
    client: &mut postgres::Client,
    schema: &str,
    runner: refinery::Runner,
) -> Result<Vec<String>, ServerError> {
    let first = format!(
        "CREATE SCHEMA IF NOT EXISTS \"{schema}\"; {}",
        search_path(schema)
    );
    let applied = hanpyo_ledger::store::postgres::run_migrations(
        client,
        MIGRATE_CLASS,
        Some(&first),
        runner,
        STATE_MIGRATIONS,
    )
    .map_err(|e| sql_err(schema, e))?;
    Ok(applied
        .into_iter()
        .map(|m| format!("{schema}: {m}"))
        .collect())
}

/// Creates and migrates `schema` once, on a connection of its own (closed after), made on a
/// thread of its own: the synchronous client may neither start nor be dropped on a thread that
/// drives the server's runtime, and this is called from both kinds.
fn migrated(url: &str, schema: &str, runner: refinery::Runner) -> Result<(), ServerError> {
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut client = hanpyo_ledger::store::postgres::connect(url)?;
            migrate_schema(&mut client, schema, runner).map(drop)
        })
        .join()
        .unwrap_or_else(|_| Err(sql_err(schema, "the migration's thread panicked")))
    })
}

/// A connection to the database at `url` whose commits are durable (see
/// [`hanpyo_ledger::store::postgres::durable_session`]), in no schema yet.
fn durable_connection(url: &str) -> Result<Sql, SqlError> {
    let url = url.to_string();
    Sql::postgres(move || {
        let engine = |e: LedgerError| SqlError::Engine(e.to_string());
        let mut client = hanpyo_ledger::store::postgres::connect(&url).map_err(engine)?;
        hanpyo_ledger::store::postgres::durable_session(&mut client).map_err(engine)?;
        Ok(client)
    })
}

impl Database {
    /// PostgreSQL at `url`, or the embedded files when `url` is `None`.
    pub fn from_url(url: Option<String>) -> Self {
        match url {
            Some(url) => Database::Postgres { url },
            None => Database::Embedded,
        }
    }

    /// The PostgreSQL connection string, if that is the engine.
    pub fn url(&self) -> Option<&str> {
        match self {
            Database::Embedded => None,
            Database::Postgres { url } => Some(url),
        }
    }

    /// Brings every schema up to date: the ledger's, the deployment's, and each election's
    /// already in the database. Answers the migrations applied now. Nothing to do for SQLite (its
    /// files are upgraded as they are opened).
    pub fn migrate(&self) -> Result<Vec<String>, ServerError> {
        let Some(url) = self.url() else {
            return Ok(Vec::new());
        };
        let mut client = hanpyo_ledger::store::postgres::connect(url)?;
        let mut applied: Vec<String> = hanpyo_ledger::store::postgres::migrate(&mut client)?
            .into_iter()
            .map(|m| format!("ledger: {m}"))
            .collect();
        applied.extend(migrate_schema(
            &mut client,
            PLATFORM_SCHEMA,
            platform_migrations::migrations::runner(),
        )?);
        let schemas: Vec<String> = client
            .query(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'hanpyo\\_e\\_%' ORDER BY 1",
                &[],
            )
            .map_err(|e| sql_err("schemas", e))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for schema in schemas {
            applied.extend(migrate_schema(
                &mut client,
                &schema,
                election_migrations::migrations::runner(),
            )?);
        }
        Ok(applied)
    }

    /// A connection to the deployment's own state (accounts, administrator sessions, audit log):
    /// `state.db` in `data`, or the schema [`PLATFORM_SCHEMA`] (migrated first).
    pub fn platform_state(&self, data: &Path) -> Result<Sql, ServerError> {
        match self {
            Database::Embedded => {
                let path = data.join("state.db");
                Sql::sqlite(&path).map_err(|e| data_err(&path, e))
            }
            Database::Postgres { url } => {
                migrated(
                    url,
                    PLATFORM_SCHEMA,
                    platform_migrations::migrations::runner(),
                )?;
                let mut sql = durable_connection(url).map_err(|e| sql_err(PLATFORM_SCHEMA, e))?;
                sql.use_schema(PLATFORM_SCHEMA)
                    .map_err(|e| sql_err(PLATFORM_SCHEMA, e))?;
                Ok(sql)
            }
        }
    }

    /// Connections to election `id`'s state (roll, logins, sessions, bindings, trustee tokens,
    /// forwarded writes): its `state.db` (one connection: SQLite has a single writer anyway), or
    /// its schema (created and migrated first) on the node's pool of PostgreSQL connections, which
    /// every election of the node shares ([`SqlPool::in_schema`]).
    pub fn election_state_pool(&self, dir: &Path, id: &str) -> Result<SqlPool, ServerError> {
        match self {
            Database::Embedded => {
                let path = dir.join("state.db");
                let opened = path.clone();
                SqlPool::new(1, move || Sql::sqlite(&opened)).map_err(|e| data_err(&path, e))
            }
            Database::Postgres { url } => {
                let schema = schema_name(id);
                migrated(url, &schema, election_migrations::migrations::runner())?;
                Ok(shared_state(url)?.in_schema(schema))
            }
        }
    }

    /// Where the ledger of the election in `dir` (whose log is `origin`) is.
    pub fn ledger(&self, dir: &Path, origin: &str) -> LogPlace {
        match self {
            Database::Embedded => LogPlace::File(dir.join("ledger.db")),
            Database::Postgres { url } => LogPlace::Postgres {
                url: url.clone(),
                origin: origin.to_string(),
            },
        }
    }

    /// Whether the election directory `dir` holds a whole election: its ledger file, or (on
    /// PostgreSQL, where the log is made before the key file is put in place) its `log.json`.
    pub fn holds_election(&self, dir: &Path) -> bool {
        match self {
            Database::Embedded => dir.join("ledger.db").exists(),
            Database::Postgres { .. } => dir.join("log.json").exists(),
        }
    }
}

/// This process's pool of connections for the elections' state in the database at `url` (made
/// once, shared by every election: each hands its schema to [`SqlPool::in_schema`]).
fn shared_state(url: &str) -> Result<SqlPool, ServerError> {
    static POOLS: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<String, SqlPool>>,
    > = std::sync::OnceLock::new();
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(pool) = pools.get(url) {
        return Ok(pool.clone());
    }
    let target = url.to_string();
    let pool = SqlPool::new(STATE_CONNECTIONS, move || durable_connection(&target))
        .map_err(|e| ServerError::Config(format!("the database: {e}")))?;
    pools.insert(url.to_string(), pool.clone());
    Ok(pool)
}
