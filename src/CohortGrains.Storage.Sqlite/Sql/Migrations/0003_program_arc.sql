-- Why: the program arc (issue 9). Mid-program churn needs to know which clients ended early: a projected column,
-- aggregated per cohort like the others. Prompt analytics need one row per answerable touch with its template
-- version and first answer, written in the turn that sent or answered it, so reply rates per template are SQL
-- aggregates instead of grain JSON read in bulk. Webhook delivery logs list the outbox by recipient (the endpoint).
ALTER TABLE grains ADD COLUMN ended_early INTEGER NOT NULL DEFAULT 0;

CREATE TABLE touch_stats (
    org_id           TEXT    NOT NULL,
    grain_key        TEXT    NOT NULL,
    touch_id         TEXT    NOT NULL,
    cohort_id        TEXT,
    coach_id         TEXT,
    template         TEXT    NOT NULL,
    template_version INTEGER NOT NULL,
    kind             TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    sent_at          INTEGER NOT NULL,
    replied_at       INTEGER,
    reply_seconds    INTEGER,
    rating           INTEGER,
    PRIMARY KEY (org_id, grain_key, touch_id)
);
-- The analytics read one org's (or one cohort's) touches of the last weeks.
CREATE INDEX touch_stats_org_sent    ON touch_stats (org_id, sent_at);
CREATE INDEX touch_stats_cohort_sent ON touch_stats (org_id, cohort_id, sent_at);

CREATE INDEX outbox_recipient ON outbox (org_id, channel, recipient, id);
