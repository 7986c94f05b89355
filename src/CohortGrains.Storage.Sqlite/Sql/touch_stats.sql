-- Touch facts: one row per answerable touch of a client and its first answer, for per-template reply rates.

-- name: UpsertTouchFact
-- Written in the turn that sent or answered the touch; a later turn that changes the fact replaces it.
INSERT INTO touch_stats (org_id, grain_key, touch_id, cohort_id, coach_id, template, template_version, kind, channel,
                         sent_at, replied_at, reply_seconds, rating)
VALUES (@OrgId, @GrainKey, @TouchId, @CohortId, @CoachId, @Template, @TemplateVersion, @Kind, @Channel,
        @SentAt, @RepliedAt, @ReplySeconds, @Rating)
ON CONFLICT (org_id, grain_key, touch_id) DO UPDATE SET
    cohort_id = excluded.cohort_id, coach_id = excluded.coach_id, template = excluded.template,
    template_version = excluded.template_version, kind = excluded.kind, channel = excluded.channel,
    sent_at = excluded.sent_at, replied_at = excluded.replied_at, reply_seconds = excluded.reply_seconds,
    rating = excluded.rating;

-- name: TemplateStats
-- /**cohort**/ is "cohort_id" or "NULL" and /**version**/ "template_version" or "NULL" (fixed fragments), so the same
-- query groups per cohort and/or version or not; /**filters**/ adds "AND column … @Param" fragments.
-- The median reply time is the middle of the ordered reply times (the mean of the two middle ones for an even count).
WITH f AS (
    SELECT /**cohort**/ AS cohort_id, template, /**version**/ AS template_version, kind, sent_at, replied_at, reply_seconds, rating
    FROM touch_stats
    WHERE org_id = @OrgId /**filters**/
),
ranked AS (
    SELECT cohort_id, template, template_version, reply_seconds,
           ROW_NUMBER() OVER (PARTITION BY cohort_id, template, template_version ORDER BY reply_seconds) AS rn,
           COUNT(*) OVER (PARTITION BY cohort_id, template, template_version) AS n
    FROM f
    WHERE reply_seconds IS NOT NULL
),
medians AS (
    SELECT cohort_id, template, template_version, AVG(reply_seconds) AS median_reply_seconds
    FROM ranked
    WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
    GROUP BY cohort_id, template, template_version
),
totals AS (
    SELECT cohort_id, template, template_version,
           MAX(kind)                                 AS kind,
           COUNT(*)                                  AS sent,
           COUNT(replied_at)                         AS replied,
           SUM(CASE WHEN rating = 1 THEN 1 ELSE 0 END) AS rating1,
           SUM(CASE WHEN rating = 2 THEN 1 ELSE 0 END) AS rating2,
           SUM(CASE WHEN rating = 3 THEN 1 ELSE 0 END) AS rating3,
           SUM(CASE WHEN rating = 4 THEN 1 ELSE 0 END) AS rating4,
           SUM(CASE WHEN rating = 5 THEN 1 ELSE 0 END) AS rating5,
           MIN(sent_at)                              AS first_sent_at,
           MAX(sent_at)                              AS last_sent_at
    FROM f
    GROUP BY cohort_id, template, template_version
)
SELECT t.cohort_id, t.template, t.template_version, t.kind, t.sent, t.replied, m.median_reply_seconds,
       t.rating1, t.rating2, t.rating3, t.rating4, t.rating5, t.first_sent_at, t.last_sent_at
FROM totals t
LEFT JOIN medians m
       ON m.template = t.template AND m.cohort_id IS t.cohort_id AND m.template_version IS t.template_version
ORDER BY t.cohort_id, t.template, t.template_version;
