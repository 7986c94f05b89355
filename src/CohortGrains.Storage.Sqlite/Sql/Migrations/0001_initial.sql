-- Why: the first schema of the durable grain runtime (DESIGN.md "Grains are durable entities"):
-- grain rows with projected dashboard columns, durable timers (reminders and grain messages), the outbox of
-- everything that leaves the system, and hashed API keys. Instants are INTEGER unix milliseconds (UTC) taken
-- from the caller's clock; org_id leads every key so tenants never share rows.

-- state is the last column on purpose: SQLite reads a row's columns in order, so dashboards that read only the
-- projected columns never walk the (possibly overflowing) JSON.
CREATE TABLE grains (
    org_id                   TEXT    NOT NULL,
    grain_type               TEXT    NOT NULL,
    grain_key                TEXT    NOT NULL,
    version                  INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL,
    display_name             TEXT,
    cohort_id                TEXT,
    coach_id                 TEXT,
    status                   TEXT,
    status_since             INTEGER,
    status_detail            TEXT,
    risk                     INTEGER NOT NULL DEFAULT 0,
    last_rating              INTEGER,
    next_session_at          INTEGER,
    earliest_open_action_due INTEGER,
    prompts_sent             INTEGER NOT NULL DEFAULT 0,
    replies                  INTEGER NOT NULL DEFAULT 0,
    touches_sent             INTEGER NOT NULL DEFAULT 0,
    actions_total            INTEGER NOT NULL DEFAULT 0,
    actions_done             INTEGER NOT NULL DEFAULT 0,
    escalations              INTEGER NOT NULL DEFAULT 0,
    escalations_caught       INTEGER NOT NULL DEFAULT 0,
    phone                    TEXT,
    email                    TEXT,
    state                    TEXT    NOT NULL,
    PRIMARY KEY (org_id, grain_type, grain_key)
);
CREATE INDEX grains_cohort ON grains (org_id, grain_type, cohort_id);
CREATE INDEX grains_coach  ON grains (org_id, grain_type, coach_id);
CREATE INDEX grains_phone  ON grains (org_id, grain_type, phone);

-- attempt only grows while a row lives: every claim and every reschedule bumps it, and a turn must present the
-- attempt it claimed, which fences a worker whose lease expired or whose timer was replaced.
CREATE TABLE timers (
    org_id      TEXT    NOT NULL,
    grain_type  TEXT    NOT NULL,
    grain_key   TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    due_at      INTEGER NOT NULL,
    payload     TEXT    NOT NULL,
    attempt     INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until INTEGER,
    PRIMARY KEY (org_id, grain_type, grain_key, name)
);
-- Keeps future timers out of the claim's path.
CREATE INDEX timers_due ON timers (due_at);

CREATE TABLE outbox (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id              TEXT    NOT NULL,
    grain_type          TEXT    NOT NULL,
    grain_key           TEXT    NOT NULL,
    idempotency_key     TEXT    NOT NULL UNIQUE,
    channel             TEXT    NOT NULL,
    recipient           TEXT    NOT NULL,
    subject             TEXT,
    body                TEXT    NOT NULL,
    template            TEXT    NOT NULL,
    prompt_id           TEXT,
    status              TEXT    NOT NULL,
    attempt             INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     INTEGER NOT NULL,
    lease_owner         TEXT,
    lease_until         INTEGER,
    provider_message_id TEXT,
    provider_status     TEXT,
    error               TEXT,
    error_code          TEXT,
    created_at          INTEGER NOT NULL,
    sent_at             INTEGER,
    updated_at          INTEGER NOT NULL
);
-- Claiming scans only pending rows in due order; sent and failed rows pile up outside it.
CREATE INDEX outbox_claim ON outbox (next_attempt_at) WHERE status = 'pending';
-- Provider status callbacks find their row by the provider's message id.
CREATE INDEX outbox_provider ON outbox (provider_message_id) WHERE provider_message_id IS NOT NULL;
-- Newest-first paging of one org's messages, or of one grain's.
CREATE INDEX outbox_org   ON outbox (org_id, id);
CREATE INDEX outbox_grain ON outbox (org_id, grain_key, id);

CREATE TABLE api_keys (
    key_hash   TEXT    NOT NULL PRIMARY KEY,
    prefix     TEXT    NOT NULL,
    org_id     TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    subject_id TEXT,
    label      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
