-- migrate: lock_timeout=5s
-- The branch and environment levels of a project's config (contract §10), beside the project
-- level that projects.config_override holds: dot-path overrides, merged project < branch <
-- environment over the defaults in code. They live on the tenancy row, which request
-- authentication already joins, so loading a project stays one query. branch_config_source
-- records where the branch level was pushed from ({"type": "unlinked"} until a push says so).
--
-- The lock on tenancies is held until this file commits; the copy below touches one row per
-- project, so that is brief. lock_timeout makes the file give up (and the next run retry)
-- rather than queue requests behind a lock it cannot get.
ALTER TABLE tenancies
    ADD COLUMN branch_config_override jsonb NOT NULL DEFAULT '{}'::jsonb
        CHECK (jsonb_typeof(branch_config_override) = 'object'),
    ADD COLUMN environment_config_override jsonb NOT NULL DEFAULT '{}'::jsonb
        CHECK (jsonb_typeof(environment_config_override) = 'object'),
    ADD COLUMN branch_config_source jsonb NOT NULL DEFAULT '{"type": "unlinked"}'::jsonb
        CHECK (jsonb_typeof(branch_config_source) = 'object');

-- Settings written before the levels existed were all stored on the project level; those that
-- belong to the branch and environment levels (everything but project.* and sourceOfTruth) are
-- copied to the environment level, where the API now writes them. The project row keeps its copy
-- so that a release still running the previous code renders the same config during an upgrade;
-- the environment level covers every copied key, so the new code renders the same config too.
UPDATE tenancies t
SET environment_config_override = coalesce(
    (SELECT jsonb_object_agg(e.key, e.value)
     FROM jsonb_each(p.config_override) AS e
     WHERE e.key NOT IN ('project', 'sourceOfTruth')
       AND NOT starts_with(e.key, 'project.')
       AND NOT starts_with(e.key, 'sourceOfTruth.')),
    '{}'::jsonb)
FROM projects p
WHERE p.id = t.project_id;
