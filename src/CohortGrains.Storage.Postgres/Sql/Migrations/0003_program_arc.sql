-- Why: the program arc (issue 9), as in the SQLite store's 0003. Mid-program churn needs to know which clients ended
-- early: a projected column, aggregated per cohort like the others. Prompt analytics need one row per answerable
-- touch with its template version and first answer, written in the turn that sent or answered it, so reply rates per
-- template are SQL aggregates instead of grain JSON read in bulk. Webhook delivery logs list the outbox by recipient.
-- Adding a NOT NULL column with a constant default is a catalog-only change on PostgreSQL: no table rewrite.
ALTER TABLE grains ADD COLUMN ended_early boolean NOT NULL DEFAULT false;

CREATE TABLE touch_stats (
    org_id           text COLLATE "C" NOT NULL,
    grain_key        text COLLATE "C" NOT NULL,
    touch_id         text COLLATE "C" NOT NULL,
    cohort_id        text COLLATE "C",
    coach_id         text COLLATE "C",
    template         text COLLATE "C" NOT NULL,
    template_version integer     NOT NULL,
    kind             text        NOT NULL,
    channel          text        NOT NULL,
    sent_at          timestamptz NOT NULL,
    replied_at       timestamptz,
    reply_seconds    bigint,
    rating           integer,
    PRIMARY KEY (org_id, grain_key, touch_id)
);
-- The analytics read one org's (or one cohort's) touches of the last weeks.
CREATE INDEX touch_stats_org_sent    ON touch_stats (org_id, sent_at);
CREATE INDEX touch_stats_cohort_sent ON touch_stats (org_id, cohort_id, sent_at);

CREATE INDEX outbox_recipient ON outbox (org_id, channel, recipient, id);
