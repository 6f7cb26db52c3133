//! The server's state (accounts, the roll, logins, sessions, bindings, tokens) on either engine:
//! an SQLite file (the default: one per election and one for the deployment) or a PostgreSQL
//! database shared by every node (one schema per election and one for the deployment).
//!
//! The statements are written once, in the dialect both engines share: `?1`, `?2` … placeholders
//! (sent to PostgreSQL as `$1`, `$2` …), `INSERT … ON CONFLICT … DO UPDATE`, `RETURNING`, integers
//! as 64-bit (`BIGINT` on PostgreSQL), bytes as `BLOB`/`BYTEA`. Only the schemas differ: SQLite's is
//! created in place (existing files are upgraded column by column, as before), PostgreSQL's comes
//! from the migrations in `migrations/postgres/` (`hanpyo db migrate`).
use std::path::Path;

use postgres::error::SqlState;

/// An error from either engine.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// A unique key (or primary key) already holds the value.
    #[error("a row with this key already exists")]
    Conflict,
    /// Anything else: the engine's message.
    #[error("{0}")]
    Engine(String),
}

impl From<rusqlite::Error> for SqlError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                SqlError::Conflict
            }
            _ => SqlError::Engine(e.to_string()),
        }
    }
}

impl From<postgres::Error> for SqlError {
    fn from(e: postgres::Error) -> Self {
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            SqlError::Conflict
        } else {
            // The server's message (the Display of a database error is only "db error").
            SqlError::Engine(match e.as_db_error() {
                Some(db) => format!("{}: {}", db.severity(), db.message()),
                None => e.to_string(),
            })
        }
    }
}

impl From<SqlError> for crate::error::ApiError {
    /// The state store failed: logged, and answered as an internal error (never the details).
    fn from(e: SqlError) -> Self {
        tracing::error!(error = %e, "state store");
        crate::error::ApiError::internal()
    }
}

/// A statement's parameter.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    /// A 64-bit integer.
    Int(i64),
    /// Bytes.
    Bytes(&'a [u8]),
    /// Text.
    Text(&'a str),
    /// A NULL in a text column (PostgreSQL types every parameter).
    NullText,
}

impl From<i64> for Param<'_> {
    fn from(x: i64) -> Self {
        Param::Int(x)
    }
}
impl From<u32> for Param<'_> {
    fn from(x: u32) -> Self {
        Param::Int(i64::from(x))
    }
}
impl<'a> From<&'a [u8]> for Param<'a> {
    fn from(x: &'a [u8]) -> Self {
        Param::Bytes(x)
    }
}
impl<'a> From<&'a [u8; 32]> for Param<'a> {
    fn from(x: &'a [u8; 32]) -> Self {
        Param::Bytes(x)
    }
}
impl<'a> From<&'a Vec<u8>> for Param<'a> {
    fn from(x: &'a Vec<u8>) -> Self {
        Param::Bytes(x)
    }
}
impl<'a> From<&'a str> for Param<'a> {
    fn from(x: &'a str) -> Self {
        Param::Text(x)
    }
}
impl<'a> From<&'a String> for Param<'a> {
    fn from(x: &'a String) -> Self {
        Param::Text(x)
    }
}

/// `[a, b, c]` as statement parameters.
#[macro_export]
macro_rules! sql_params {
    ($($p:expr),* $(,)?) => { &[$($crate::sql::Param::from($p)),*][..] };
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Param::Int(x) => ValueRef::Integer(x),
            Param::Bytes(b) => ValueRef::Blob(b),
            Param::Text(t) => ValueRef::Text(t.as_bytes()),
            Param::NullText => ValueRef::Null,
        }))
    }
}

/// A value read back.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cell {
    Null,
    Int(i64),
    Bytes(Vec<u8>),
    Text(String),
}

/// A row read back; columns by position.
#[derive(Debug, Clone)]
pub struct Row(Vec<Cell>);

impl Row {
    fn cell(&self, i: usize) -> Result<&Cell, SqlError> {
        self.0
            .get(i)
            .ok_or_else(|| SqlError::Engine(format!("no column {i}")))
    }

    /// Column `i` as an integer.
    pub fn int(&self, i: usize) -> Result<i64, SqlError> {
        match self.cell(i)? {
            Cell::Int(x) => Ok(*x),
            other => Err(SqlError::Engine(format!(
                "column {i}: an integer expected, found {other:?}"
            ))),
        }
    }

    /// Column `i` as bytes.
    pub fn bytes(&self, i: usize) -> Result<Vec<u8>, SqlError> {
        match self.cell(i)? {
            Cell::Bytes(b) => Ok(b.clone()),
            _ => Err(SqlError::Engine(format!("column {i}: bytes expected"))),
        }
    }

    /// Column `i` as text.
    pub fn text(&self, i: usize) -> Result<String, SqlError> {
        match self.cell(i)? {
            Cell::Text(t) => Ok(t.clone()),
            _ => Err(SqlError::Engine(format!("column {i}: text expected"))),
        }
    }

    /// Column `i` as text, or `None` for NULL.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, SqlError> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }
}

enum Engine {
    Sqlite(rusqlite::Connection),
    Postgres(PgWorker),
}

/// A statement for the connection's thread: run with the connection and whether this is its last
/// try; answers whether it is done (it answered its caller).
type Job = Box<dyn FnMut(&mut postgres::Client, bool) -> bool + Send>;

/// A PostgreSQL connection owned by a thread of its own. The synchronous `postgres` client runs
/// its own small runtime, which may neither start nor be dropped on a thread that drives the
/// server's: so the handlers hand each statement to this thread and wait for its answer, as they
/// wait for an SQLite file. A connection found closed (the database restarted, or failed over to
/// its standby) is made again before a statement that is not inside a transaction; a query that
/// found it closed is tried once more on the new one (a write is not: it may have been applied
/// before the connection broke, and fails instead, as one inside a transaction does). The thread
/// ends, and the connection closes, when the `Sql` is dropped.
struct PgWorker {
    /// Each job, with whether the connection may be made again before it, and whether the job
    /// may then be tried again.
    jobs: std::sync::mpsc::Sender<(Retry, Job)>,
    /// The schema the connection works in (its `search_path`), set again on a new connection.
    schema: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

/// What a job may do when it finds the connection closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Retry {
    /// Nothing: inside a transaction.
    Never,
    /// Reconnect before it, if the connection is known closed (a write).
    Reconnect,
    /// That, and run again once on a new connection if it found the connection closed (a read).
    Again,
}

fn worker_gone() -> SqlError {
    SqlError::Engine("the database connection's thread stopped".into())
}

impl PgWorker {
    /// Starts the thread and makes the connection there with `open`.
    fn start(
        open: impl Fn() -> Result<postgres::Client, SqlError> + Send + 'static,
    ) -> Result<Self, SqlError> {
        let (jobs, queue) = std::sync::mpsc::channel::<(Retry, Job)>();
        let schema = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
        let wanted = schema.clone();
        let (ready, opened) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("hanpyo-state-db".into())
            .spawn(move || {
                let mut client = match open() {
                    Ok(c) => {
                        let _ = ready.send(Ok(()));
                        c
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                let reconnect = |client: &mut postgres::Client| match open() {
                    Ok(c) => {
                        tracing::info!("reconnected to the database");
                        *client = c;
                        let schema = wanted.lock().unwrap_or_else(|e| e.into_inner()).clone();
                        if let Some(schema) = schema
                            && let Err(e) = client.batch_execute(&search_path(&schema))
                        {
                            tracing::warn!(error = %e, "setting the schema again");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "reconnecting to the database"),
                };
                while let Ok((retry, mut job)) = queue.recv() {
                    if retry != Retry::Never && client.is_closed() {
                        reconnect(&mut client);
                    }
                    if !job(&mut client, retry != Retry::Again) {
                        reconnect(&mut client);
                        job(&mut client, true);
                    }
                }
            })
            .map_err(|e| SqlError::Engine(e.to_string()))?;
        opened.recv().map_err(|_| worker_gone())??;
        Ok(Self { jobs, schema })
    }

    /// Runs `f` on the connection (made again first if it was lost and `may_reconnect`) and
    /// waits for its answer.
    fn run<T: Send + 'static>(
        &self,
        retry: Retry,
        mut f: impl FnMut(&mut postgres::Client) -> Result<T, SqlError> + Send + 'static,
    ) -> Result<T, SqlError> {
        let (answer, answered) = std::sync::mpsc::sync_channel(1);
        self.jobs
            .send((
                retry,
                Box::new(move |c, last_try| {
                    let r = f(c);
                    if r.is_err() && c.is_closed() && !last_try {
                        return false;
                    }
                    let _ = answer.send(r);
                    true
                }),
            ))
            .map_err(|_| worker_gone())?;
        answered.recv().map_err(|_| worker_gone())?
    }
}

/// What a statement may do on a closed connection: nothing inside a transaction; a `read` (a
/// SELECT) may be run again on a new connection; a write only after one was made.
fn retry(in_transaction: bool, read: bool) -> Retry {
    match (in_transaction, read) {
        (true, _) => Retry::Never,
        (false, true) => Retry::Again,
        (false, false) => Retry::Reconnect,
    }
}

/// A parameter that can cross to the connection's thread.
#[derive(Debug, Clone)]
enum OwnedParam {
    Int(i64),
    Bytes(Vec<u8>),
    Text(String),
    NullText,
}

fn owned(params: &[Param<'_>]) -> Vec<OwnedParam> {
    params
        .iter()
        .map(|p| match *p {
            Param::Int(x) => OwnedParam::Int(x),
            Param::Bytes(b) => OwnedParam::Bytes(b.to_vec()),
            Param::Text(t) => OwnedParam::Text(t.to_string()),
            Param::NullText => OwnedParam::NullText,
        })
        .collect()
}

/// One connection to the state, on either engine.
pub struct Sql {
    engine: Engine,
    /// Inside [`Sql::transaction`].
    in_transaction: bool,
    /// The schema a PostgreSQL connection works in now, when a pool set it.
    schema: Option<String>,
}

/// `SET search_path` to `schema` (a name this server made: see [`schema_name`]).
pub(crate) fn search_path(schema: &str) -> String {
    format!("SET search_path TO \"{}\"", schema.replace('"', ""))
}

impl std::fmt::Debug for Sql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.engine {
            Engine::Sqlite(_) => "Sql(SQLite)",
            Engine::Postgres(_) => "Sql(PostgreSQL)",
        })
    }
}

/// `?1` → `$1` outside quoted text (PostgreSQL's placeholders).
fn postgres_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c == '?' && !quoted && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// The PostgreSQL schema of election `id`'s state: `hanpyo_e_` and the id with `-` as `_` (ids are
/// `a-z 0-9 -`, so no two share one), shortened with a hash of the id when it would pass
/// PostgreSQL's 63-byte limit on names.
pub fn schema_name(id: &str) -> String {
    let name = format!("hanpyo_e_{}", id.replace('-', "_"));
    if name.len() <= 63 {
        return name;
    }
    use sha2::Digest;
    let hash = hex::encode(&sha2::Sha256::digest(id.as_bytes())[..8]);
    format!("{}_{hash}", &name[..46])
}

impl Sql {
    /// Opens (or creates) the SQLite file at `path`: write-ahead log, every commit synced, deleted
    /// rows overwritten.
    pub fn sqlite(path: &Path) -> Result<Self, SqlError> {
        let conn = rusqlite::Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        Ok(Self {
            engine: Engine::Sqlite(conn),
            in_transaction: false,
            schema: None,
        })
    }

    /// A PostgreSQL connection made by `open`, on a thread of its own (see [`PgWorker`]).
    pub(crate) fn postgres(
        open: impl Fn() -> Result<postgres::Client, SqlError> + Send + 'static,
    ) -> Result<Self, SqlError> {
        Ok(Self {
            engine: Engine::Postgres(PgWorker::start(open)?),
            in_transaction: false,
            schema: None,
        })
    }

    /// The SQLite connection, for what only a file has (its schema upgrades, `VACUUM`).
    pub(crate) fn sqlite_connection(&self) -> Option<&rusqlite::Connection> {
        match &self.engine {
            Engine::Sqlite(c) => Some(c),
            Engine::Postgres(_) => None,
        }
    }

    /// Works in `schema` from now on (PostgreSQL; one round trip when it changes), on a new
    /// connection too.
    pub(crate) fn use_schema(&mut self, schema: &str) -> Result<(), SqlError> {
        if self.schema.as_deref() == Some(schema) {
            return Ok(());
        }
        let Engine::Postgres(w) = &self.engine else {
            return Ok(());
        };
        *w.schema.lock().unwrap_or_else(|e| e.into_inner()) = Some(schema.to_string());
        self.schema = None;
        self.batch(&search_path(schema))?;
        self.schema = Some(schema.to_string());
        Ok(())
    }

    /// Runs one statement; answers the rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, SqlError> {
        match &mut self.engine {
            Engine::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                Ok(stmt.execute(rusqlite::params_from_iter(params.iter()))? as u64)
            }
            Engine::Postgres(w) => {
                let (sql, params) = (postgres_placeholders(sql), owned(params));
                w.run(retry(self.in_transaction, false), move |c| {
                    let values = postgres_values(&params);
                    Ok(c.execute(sql.as_str(), &postgres_refs(&values))?)
                })
            }
        }
    }

    /// Runs several statements without parameters.
    pub fn batch(&mut self, sql: &str) -> Result<(), SqlError> {
        match &mut self.engine {
            Engine::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Engine::Postgres(w) => {
                let sql = sql.to_string();
                w.run(retry(self.in_transaction, false), move |c| {
                    Ok(c.batch_execute(&sql)?)
                })
            }
        }
    }

    /// Every row `sql` answers.
    pub fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, SqlError> {
        match &mut self.engine {
            Engine::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let width = stmt.column_count();
                let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), |r| {
                    (0..width)
                        .map(|i| {
                            use rusqlite::types::ValueRef;
                            Ok(match r.get_ref(i)? {
                                ValueRef::Null => Cell::Null,
                                ValueRef::Integer(x) => Cell::Int(x),
                                ValueRef::Blob(b) => Cell::Bytes(b.to_vec()),
                                ValueRef::Text(t) => {
                                    Cell::Text(String::from_utf8_lossy(t).into_owned())
                                }
                                ValueRef::Real(x) => Cell::Int(x as i64),
                            })
                        })
                        .collect::<rusqlite::Result<Vec<Cell>>>()
                        .map(Row)
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<Row>>>()?)
            }
            Engine::Postgres(w) => {
                let (sql, params) = (postgres_placeholders(sql), owned(params));
                let read = sql
                    .trim_start()
                    .get(..6)
                    .is_some_and(|k| k.eq_ignore_ascii_case("select"));
                w.run(retry(self.in_transaction, read), move |c| {
                    let values = postgres_values(&params);
                    let rows = c.query(sql.as_str(), &postgres_refs(&values))?;
                    rows.iter().map(postgres_row).collect()
                })
            }
        }
    }

    /// The row `sql` answers, if any (the first of several).
    pub fn query_opt(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Option<Row>, SqlError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The row `sql` answers; an error if none.
    pub fn query_one(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Row, SqlError> {
        self.query_opt(sql, params)?
            .ok_or_else(|| SqlError::Engine("the query answered no row".into()))
    }

    /// Runs `f` in one transaction: committed if it returns `Ok`, rolled back otherwise.
    pub fn transaction<T, E: From<SqlError>>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, E>,
    ) -> Result<T, E> {
        self.batch("BEGIN")?;
        self.in_transaction = true;
        // A panic inside must not leave the connection in an open transaction for whoever takes
        // it from the pool next: roll back, then let the panic go on.
        let done = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self))) {
            Ok(done) => done,
            Err(panic) => {
                let _ = self.batch("ROLLBACK");
                self.in_transaction = false;
                std::panic::resume_unwind(panic);
            }
        };
        let end = match &done {
            Ok(_) => self.batch("COMMIT"),
            // The error that matters is `done`'s; a failed rollback ends the transaction anyway.
            Err(_) => self.batch("ROLLBACK").or(Ok(())),
        };
        self.in_transaction = false;
        end?;
        done
    }
}

/// A few connections used side by side, so that concurrent requests (voters logging in) do not
/// wait for each other's round trips and commits. It starts with one and opens more, up to its
/// limit, only while every one is busy. On PostgreSQL one pool serves every election of a node
/// ([`SqlPool::in_schema`]): a connection switches to the election's schema when it is handed out,
/// so a node holds a few connections for all its elections' state, not a few for each.
#[derive(Clone)]
pub struct SqlPool {
    connections: std::sync::Arc<Connections>,
    /// The schema this handle works in (PostgreSQL).
    schema: Option<String>,
}

struct Connections {
    conns: std::sync::RwLock<Vec<std::sync::Arc<std::sync::Mutex<Sql>>>>,
    open: Box<dyn Fn() -> Result<Sql, SqlError> + Send + Sync>,
    limit: usize,
}

impl std::fmt::Debug for SqlPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlPool")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl SqlPool {
    /// A pool of at most `limit` connections made by `open` (the first one now).
    pub fn new(
        limit: usize,
        open: impl Fn() -> Result<Sql, SqlError> + Send + Sync + 'static,
    ) -> Result<Self, SqlError> {
        let first = std::sync::Arc::new(std::sync::Mutex::new(open()?));
        Ok(Self {
            connections: std::sync::Arc::new(Connections {
                conns: std::sync::RwLock::new(vec![first]),
                open: Box::new(open),
                limit: limit.max(1),
            }),
            schema: None,
        })
    }

    /// The same connections, working in `schema` (PostgreSQL).
    pub fn in_schema(&self, schema: String) -> Self {
        Self {
            connections: self.connections.clone(),
            schema: Some(schema),
        }
    }

    /// Runs `f` with a free connection — an idle one, a new one while under the limit, or else
    /// the first to come free — switched to this handle's schema.
    pub fn with<T>(&self, f: impl FnOnce(&mut Sql) -> T) -> T {
        self.connections.with(|conn| {
            if let Some(schema) = &self.schema
                && let Err(e) = conn.use_schema(schema)
            {
                // Its statements fail in turn (no such table), each answered as an error.
                tracing::error!(error = %e, schema, "switching schema");
            }
            f(conn)
        })
    }
}

impl Connections {
    fn with<T>(&self, f: impl FnOnce(&mut Sql) -> T) -> T {
        let conns: Vec<_> = self.conns.read().unwrap_or_else(|e| e.into_inner()).clone();
        for c in &conns {
            if let Ok(mut guard) = c.try_lock() {
                return f(&mut guard);
            }
        }
        if conns.len() < self.limit {
            // Counted again under the lock: two requests at once must not pass the limit.
            let mut all = self.conns.write().unwrap_or_else(|e| e.into_inner());
            if all.len() < self.limit
                && let Ok(sql) = (self.open)()
            {
                let c = std::sync::Arc::new(std::sync::Mutex::new(sql));
                all.push(c.clone());
                drop(all);
                let mut guard = c.lock().unwrap_or_else(|e| e.into_inner());
                return f(&mut guard);
            }
        }
        // All busy and no more allowed: wait for one (spread by thread, not all on the first).
        let pick = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            std::thread::current().id().hash(&mut h);
            (h.finish() as usize) % conns.len()
        };
        let mut guard = conns[pick].lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }
}

type PgValue<'a> = Box<dyn postgres::types::ToSql + Sync + 'a>;

fn postgres_values(params: &[OwnedParam]) -> Vec<PgValue<'_>> {
    params
        .iter()
        .map(|p| -> PgValue<'_> {
            match p {
                OwnedParam::Int(x) => Box::new(*x),
                OwnedParam::Bytes(b) => Box::new(b.as_slice()),
                OwnedParam::Text(t) => Box::new(t.as_str()),
                // Typed by the column it goes in.
                OwnedParam::NullText => Box::new(None::<&str>),
            }
        })
        .collect()
}

fn postgres_refs<'a>(values: &'a [PgValue<'_>]) -> Vec<&'a (dyn postgres::types::ToSql + Sync)> {
    values
        .iter()
        .map(|v| -> &(dyn postgres::types::ToSql + Sync) { v.as_ref() })
        .collect()
}

fn postgres_row(row: &postgres::Row) -> Result<Row, SqlError> {
    use postgres::types::Type;
    let mut cells = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let cell = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Cell::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?
                .map(|x| Cell::Int(i64::from(x)))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)?
                .map(|x| Cell::Int(i64::from(x)))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?
                .map(|x| Cell::Int(i64::from(x)))
        } else if *ty == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(i)?.map(Cell::Bytes)
        } else if *ty == Type::TEXT || *ty == Type::VARCHAR || *ty == Type::NAME {
            row.try_get::<_, Option<String>>(i)?.map(Cell::Text)
        } else {
            return Err(SqlError::Engine(format!(
                "column {}: unexpected type {ty}",
                column.name()
            )));
        };
        cells.push(cell.unwrap_or(Cell::Null));
    }
    Ok(Row(cells))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_postgres_ones_outside_quoted_text() {
        assert_eq!(
            postgres_placeholders("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND d = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND d = $12"
        );
    }

    #[test]
    fn a_transaction_is_committed_rolled_back_on_error_and_on_panic() {
        let dir = std::env::temp_dir().join(format!("hanpyo-sql-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let mut db = Sql::sqlite(&dir.join("t.db")).expect("open");
        db.batch("CREATE TABLE t (x INTEGER)").expect("table");
        let count = |db: &mut Sql| {
            db.query_one("SELECT COUNT(*) FROM t", &[])
                .and_then(|r| r.int(0))
        };
        let insert =
            |tx: &mut Sql| tx.execute("INSERT INTO t (x) VALUES (?1)", crate::sql_params![1i64]);
        db.transaction(|tx| insert(tx)).expect("committed");
        assert_eq!(count(&mut db).expect("count"), 1);
        let refused: Result<(), SqlError> = db.transaction(|tx| {
            insert(tx)?;
            Err(SqlError::Conflict)
        });
        assert!(refused.is_err());
        assert_eq!(count(&mut db).expect("count"), 1, "rolled back");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _: Result<(), SqlError> = db.transaction(|tx| {
                insert(tx)?;
                panic!("inside the transaction");
            });
        }));
        assert!(panicked.is_err());
        assert_eq!(
            count(&mut db).expect("count"),
            1,
            "rolled back after the panic"
        );
        // The connection is usable: no transaction left open.
        db.transaction(|tx| insert(tx)).expect("a new transaction");
        assert_eq!(count(&mut db).expect("count"), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn schema_names_are_one_to_one_and_fit_postgres() {
        assert_eq!(schema_name("seoul-2026"), "hanpyo_e_seoul_2026");
        let long_a = "a".repeat(64);
        let long_b = format!("{}b", "a".repeat(63));
        assert!(schema_name(&long_a).len() <= 63);
        assert_ne!(schema_name(&long_a), schema_name(&long_b));
    }
}
