-- One election's state, in its own schema (hanpyo_e_<id>): personal data and tokens, never on the
-- ledger. Integers are BIGINT (the server binds 64-bit values), bytes BYTEA.

-- The roll: each voter sealed (ChaCha20-Poly1305 under the roll key), found by a keyed hash of
-- resident id and birth date; the district in the clear for turnout per district.
CREATE TABLE roll (
    id BIGSERIAL PRIMARY KEY,
    lookup BYTEA NOT NULL UNIQUE,
    sealed BYTEA NOT NULL,
    district TEXT
);
-- Live one-time login codes (keyed hashes), several per voter.
CREATE TABLE login_codes (
    roll_id BIGINT NOT NULL,
    code_hash BYTEA NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX login_codes_by_voter ON login_codes (roll_id);
-- Wrong codes per voter, and the lockout they lead to.
CREATE TABLE login_failures (
    roll_id BIGINT PRIMARY KEY,
    failures BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);
-- Voters' sessions (keyed hashes of the tokens).
CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY,
    roll_id BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
-- A login's credential (sealed; a keyed hash makes "one credential, one login" a unique key).
CREATE TABLE bindings (
    roll_id BIGINT PRIMARY KEY,
    credential_lookup BYTEA NOT NULL UNIQUE,
    sealed BYTEA NOT NULL,
    voted BIGINT NOT NULL DEFAULT 1
);
-- Trustees' access tokens (SHA-256).
CREATE TABLE trustee_tokens (
    trustee BIGINT PRIMARY KEY,
    token_hash BYTEA NOT NULL UNIQUE
);
-- Flags such as 'opened' (voting opened by an administrator).
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Writes a node that is not the log's sequencer hands to the one that is: a ballot (its entry), an
-- administrator's action (JSON) or a trustee's entry. The sequencer sets the outcome: 'ok' with
-- the ballot's index or the ledger's size and the checkpoint the witnesses co-signed after it, or an
-- error code with its HTTP status and message ('expired': the asking node stopped waiting, and
-- the write is never committed).
-- Holds no personal data (ballots are public entries once recorded); answered rows are deleted
-- after a few minutes.
CREATE TABLE pending (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    body BYTEA NOT NULL,
    trustee BIGINT NOT NULL, -- the trustee of a trustee entry (from 1), else 0
    created BIGINT NOT NULL,
    outcome TEXT,
    status BIGINT,
    message TEXT,
    size BIGINT,
    checkpoint BIGINT
);
CREATE INDEX pending_unanswered ON pending (id) WHERE outcome IS NULL;
