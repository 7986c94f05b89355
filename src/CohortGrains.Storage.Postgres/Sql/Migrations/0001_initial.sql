-- Why: the first schema of the durable grain runtime on PostgreSQL, the cluster store (DESIGN.md "Grains are durable
-- entities", "Scaling out"). Same tables and meaning as the SQLite store's 0001, so a migration number means the same
-- schema on both engines. Instants are timestamptz written from the caller's clock (UTC), never now() of the database.
-- Keys are COLLATE "C": byte order like SQLite (the same listing order on both stores) and cheaper comparisons.
-- org_id leads every key so tenants never share rows and the tables can later be partitioned by org.

-- state is text, not jsonb: it is stored verbatim and parsed only by the application; jsonb would rewrite the JSON
-- and cost a parse on every turn's write. fillfactor leaves room on each page so the per-turn UPDATE can stay a HOT
-- update (no index touched) when no indexed column changes.
CREATE TABLE grains (
    org_id                   text COLLATE "C" NOT NULL,
    grain_type               text COLLATE "C" NOT NULL,
    grain_key                text COLLATE "C" NOT NULL,
    version                  bigint      NOT NULL,
    updated_at               timestamptz NOT NULL,
    display_name             text,
    cohort_id                text COLLATE "C",
    coach_id                 text COLLATE "C",
    status                   text,
    status_since             timestamptz,
    status_detail            text,
    risk                     integer     NOT NULL DEFAULT 0,
    last_rating              integer,
    next_session_at          timestamptz,
    earliest_open_action_due timestamptz,
    prompts_sent             integer     NOT NULL DEFAULT 0,
    replies                  integer     NOT NULL DEFAULT 0,
    touches_sent             integer     NOT NULL DEFAULT 0,
    actions_total            integer     NOT NULL DEFAULT 0,
    actions_done             integer     NOT NULL DEFAULT 0,
    escalations              integer     NOT NULL DEFAULT 0,
    escalations_caught       integer     NOT NULL DEFAULT 0,
    phone                    text,
    email                    text,
    state                    text        NOT NULL,
    PRIMARY KEY (org_id, grain_type, grain_key)
) WITH (fillfactor = 80);
CREATE INDEX grains_cohort ON grains (org_id, grain_type, cohort_id);
CREATE INDEX grains_coach  ON grains (org_id, grain_type, coach_id);
CREATE INDEX grains_phone  ON grains (org_id, grain_type, phone);

-- attempt only grows while a row lives: every claim and every reschedule bumps it, and a turn must present the
-- attempt it claimed, which fences a worker whose lease expired or whose timer was replaced.
-- A claim only changes lease and attempt (no indexed column), so with free space on the page it is a HOT update.
CREATE TABLE timers (
    org_id      text COLLATE "C" NOT NULL,
    grain_type  text COLLATE "C" NOT NULL,
    grain_key   text COLLATE "C" NOT NULL,
    name        text COLLATE "C" NOT NULL,
    due_at      timestamptz NOT NULL,
    payload     text        NOT NULL,
    attempt     integer     NOT NULL DEFAULT 0,
    lease_owner text,
    lease_until timestamptz,
    PRIMARY KEY (org_id, grain_type, grain_key, name)
) WITH (fillfactor = 80);
-- Keeps future timers out of the claim's path.
CREATE INDEX timers_due ON timers (due_at);

CREATE TABLE outbox (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id              text COLLATE "C" NOT NULL,
    grain_type          text COLLATE "C" NOT NULL,
    grain_key           text COLLATE "C" NOT NULL,
    idempotency_key     text COLLATE "C" NOT NULL UNIQUE,
    channel             text        NOT NULL,
    recipient           text        NOT NULL,
    subject             text,
    body                text        NOT NULL,
    template            text        NOT NULL,
    prompt_id           text,
    status              text        NOT NULL,
    attempt             integer     NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL,
    lease_owner         text,
    lease_until         timestamptz,
    provider_message_id text,
    provider_status     text,
    error               text,
    error_code          text,
    created_at          timestamptz NOT NULL,
    sent_at             timestamptz,
    updated_at          timestamptz NOT NULL
);
-- Claiming scans only pending rows in due order; sent and failed rows pile up outside it.
CREATE INDEX outbox_claim ON outbox (next_attempt_at) WHERE status = 'pending';
-- Provider status callbacks find their row by the provider's message id.
CREATE INDEX outbox_provider ON outbox (provider_message_id) WHERE provider_message_id IS NOT NULL;
-- Newest-first paging of one org's messages, or of one grain's.
CREATE INDEX outbox_org   ON outbox (org_id, id);
CREATE INDEX outbox_grain ON outbox (org_id, grain_key, id);

CREATE TABLE api_keys (
    key_hash   text COLLATE "C" NOT NULL PRIMARY KEY,
    prefix     text        NOT NULL,
    org_id     text COLLATE "C" NOT NULL,
    role       text        NOT NULL,
    subject_id text,
    label      text        NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
