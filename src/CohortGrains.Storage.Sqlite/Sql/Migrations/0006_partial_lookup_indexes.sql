-- The cohort, coach and phone lookups only ever ask for a value, never for NULL: index only the rows that have one.
-- Besides being smaller (coaches, cohorts and orgs have none of these), this keeps the planner from reading a whole
-- org through one of them when it looks up a grain by its key: on a table too new to have statistics, all three
-- (org_id, grain_type, …) indexes looked as cheap as the primary key for that lookup, and one of them was chosen.
DROP INDEX grains_cohort;
DROP INDEX grains_coach;
DROP INDEX grains_phone;
CREATE INDEX grains_cohort ON grains (org_id, grain_type, cohort_id) WHERE cohort_id IS NOT NULL;
CREATE INDEX grains_coach  ON grains (org_id, grain_type, coach_id)  WHERE coach_id IS NOT NULL;
CREATE INDEX grains_phone  ON grains (org_id, grain_type, phone)     WHERE phone IS NOT NULL;
