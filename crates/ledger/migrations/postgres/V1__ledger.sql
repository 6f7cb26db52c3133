-- The ledger's tables in PostgreSQL: any number of logs, each keyed by its origin.
-- docs/ledger.md §Storage describes every column; rows are only ever inserted, except a log's
-- size and closed flag, partial tiles (which grow until full) and checkpoint notes (which gain
-- cosignatures).

CREATE TABLE ledger_logs (
    id      BIGSERIAL PRIMARY KEY,
    origin  TEXT NOT NULL UNIQUE,
    size    BIGINT NOT NULL DEFAULT 0 CHECK (size >= 0),
    closed  BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE ledger_entries (
    log_id  BIGINT NOT NULL REFERENCES ledger_logs (id),
    idx     BIGINT NOT NULL CHECK (idx >= 0),
    data    BYTEA NOT NULL,
    PRIMARY KEY (log_id, idx)
);
-- Entries are ciphertexts and signatures: compressing them only costs time.
ALTER TABLE ledger_entries ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE ledger_leaves (
    log_id  BIGINT NOT NULL REFERENCES ledger_logs (id),
    hash    BYTEA NOT NULL CHECK (length(hash) = 32),
    idx     BIGINT NOT NULL,
    PRIMARY KEY (log_id, hash)
);

CREATE TABLE ledger_tiles (
    log_id  BIGINT NOT NULL REFERENCES ledger_logs (id),
    level   INTEGER NOT NULL CHECK (level >= 0),
    idx     BIGINT NOT NULL CHECK (idx >= 0),
    data    BYTEA NOT NULL,
    PRIMARY KEY (log_id, level, idx)
);
ALTER TABLE ledger_tiles ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE ledger_checkpoints (
    log_id  BIGINT NOT NULL REFERENCES ledger_logs (id),
    size    BIGINT NOT NULL,
    note    TEXT NOT NULL,
    PRIMARY KEY (log_id, size)
);
