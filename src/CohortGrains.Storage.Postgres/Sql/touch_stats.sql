-- Touch facts: one row per answerable touch of a client and its first answer, for per-template reply rates.

-- name: TemplateStats
-- /**cohort**/ is "cohort_id" or "NULL::text" and /**version**/ "template_version" or "NULL::integer" (fixed fragments),
-- so the same query groups per cohort and/or version or not; /**filters**/ adds "AND column … @Param" fragments.
-- percentile_cont(0.5) is the middle reply time, or the mean of the two middle ones for an even count (as on SQLite);
-- it skips touches without a reply. NULLS FIRST orders like SQLite.
SELECT /**cohort**/ AS cohort_id, template, /**version**/ AS template_version,
       MAX(kind)                                                    AS kind,
       COUNT(*)                                                     AS sent,
       COUNT(replied_at)                                            AS replied,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY reply_seconds)   AS median_reply_seconds,
       COUNT(*) FILTER (WHERE rating = 1)                           AS rating1,
       COUNT(*) FILTER (WHERE rating = 2)                           AS rating2,
       COUNT(*) FILTER (WHERE rating = 3)                           AS rating3,
       COUNT(*) FILTER (WHERE rating = 4)                           AS rating4,
       COUNT(*) FILTER (WHERE rating = 5)                           AS rating5,
       MIN(sent_at)                                                 AS first_sent_at,
       MAX(sent_at)                                                 AS last_sent_at
FROM touch_stats
WHERE org_id = @OrgId /**filters**/
GROUP BY 1, 2, 3
ORDER BY 1 NULLS FIRST, 2, 3 NULLS FIRST;
