-- The deployment's own state (schema hanpyo_platform): administrator and observer accounts, their
-- sessions, login throttling and the audit log.

-- Accounts: Argon2id PHC strings; elections is '*' (the platform) or a comma-separated list.
CREATE TABLE admins (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    phc TEXT NOT NULL,
    elections TEXT NOT NULL DEFAULT '*'
);
-- Failed logins per (account, address), with the time the next attempt is allowed.
CREATE TABLE login_throttle (
    account TEXT NOT NULL,
    address TEXT NOT NULL,
    failures BIGINT NOT NULL,
    next_allowed BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    PRIMARY KEY (account, address)
);
-- Live administrator sessions (SHA-256 of the token), shared by every node.
CREATE TABLE admin_sessions (
    token_hash BYTEA PRIMARY KEY,
    name TEXT NOT NULL,
    started BIGINT NOT NULL
);
-- Every administrative action, oldest first.
CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY,
    time BIGINT NOT NULL,
    account TEXT NOT NULL,
    election TEXT,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL
);
