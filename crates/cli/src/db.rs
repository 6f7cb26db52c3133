//! `hanpyo db`: the PostgreSQL database that several server nodes share (docs/deployment.md,
//! docs/ledger.md §Storage).
use std::process::ExitCode;

use anyhow::{Context, Result};
use hanpyo_ledger::store::postgres;

/// `hanpyo db ...`
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Creates or updates the schema (safe to repeat, and to run while nodes start: migrations
    /// take turns). Prints each migration applied now.
    Migrate(DatabaseArg),
    /// Lists the logs in the database: origin, size, closed, and which session holds each log's
    /// sequencer lease.
    Status(DatabaseArg),
    /// Writes one log, as it is at its latest checkpoint, as a record directory for `hanpyo
    /// verify` (reads only; the sequencer may go on appending).
    Export {
        #[command(flatten)]
        db: DatabaseArg,
        /// The log's origin (as `db status` lists it).
        #[arg(long)]
        log: String,
        /// The record directory to write (must not exist or be empty).
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

/// Where a command that also runs on the embedded files keeps the ledgers and the state: a
/// PostgreSQL database when given, else the data directory's SQLite files.
#[derive(clap::Args, Debug, Clone)]
pub struct StateDatabase {
    /// Keep the ledgers and the state in this PostgreSQL database (`postgres://user@host/db`;
    /// several hosts with `target_session_attrs=read-write` follow a failover) instead of the
    /// data directory's SQLite files; every node of a deployment names the same one.
    #[arg(long, env = "HANPYO_DATABASE", hide_env_values = true)]
    pub database: Option<String>,
}

impl StateDatabase {
    /// The server's setting.
    pub fn database(&self) -> hanpyo_server::database::Database {
        hanpyo_server::database::Database::from_url(self.database.clone())
    }
}

/// The database to act on.
#[derive(clap::Args, Debug)]
pub struct DatabaseArg {
    /// A PostgreSQL URL (`postgres://user@host:port/db`) or key/value string; several hosts
    /// (`host=a,b target_session_attrs=read-write`) follow a failover.
    #[arg(long, env = "HANPYO_DATABASE", hide_env_values = true)]
    database: String,
}

pub fn run(cmd: &Command) -> Result<ExitCode> {
    match cmd {
        Command::Migrate(a) => {
            let database = hanpyo_server::database::Database::Postgres {
                url: a.database.clone(),
            };
            let applied = database.migrate().context("migrating")?;
            if applied.is_empty() {
                println!("the schema is up to date");
            }
            for m in applied {
                println!("applied {m}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { db, log, out } => {
            let reader = hanpyo_ledger::store::LedgerReader::open_postgres(&db.database, log)
                .context("opening the log")?;
            let size = reader
                .export(out)
                .with_context(|| format!("exporting to {}", out.display()))?;
            println!("exported {log} at size {size} to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Status(a) => {
            let mut client = postgres::connect(&a.database).context("connecting")?;
            // A lease is the advisory lock (LEASE_CLASS, log id) in this database: pg_locks
            // shows it as (database, classid, objid, objsubid = 2).
            let rows = client
                .query(
                    "SELECT l.origin, l.size, l.closed, a.application_name, \
                            host(a.client_addr), a.pid \
                     FROM ledger_logs l \
                     LEFT JOIN pg_locks k ON k.locktype = 'advisory' AND k.granted \
                          AND k.database = (SELECT oid FROM pg_database \
                                            WHERE datname = current_database()) \
                          AND k.classid = $1::int8::oid AND k.objid = l.id::oid \
                          AND k.objsubid = 2 \
                     LEFT JOIN pg_stat_activity a ON a.pid = k.pid \
                     ORDER BY l.origin",
                    &[&i64::from(postgres::LEASE_CLASS)],
                )
                .context("reading the logs (has `hanpyo db migrate` run?)")?;
            println!("{:<40} {:>12} {:<7} sequencer", "log", "size", "closed");
            for r in rows {
                let origin: String = r.get(0);
                let size: i64 = r.get(1);
                let closed: bool = r.get(2);
                let holder = match (r.get::<_, Option<i32>>(5), r.get::<_, Option<String>>(4)) {
                    (Some(pid), addr) => format!(
                        "{} (pid {pid}{})",
                        r.get::<_, Option<String>>(3).unwrap_or_default(),
                        addr.map(|a| format!(", {a}")).unwrap_or_default()
                    ),
                    (None, _) => "none".into(),
                };
                println!("{origin:<40} {size:>12} {:<7} {holder}", closed);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
