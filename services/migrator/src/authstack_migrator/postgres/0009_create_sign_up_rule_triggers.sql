-- One row per sign-up rule that matched a real sign-up (Stack Auth's `$sign-up-rule-trigger`
-- event), so that GET /internal/sign-up-rules-stats can count triggers per rule and hour. The
-- rule is kept by id only: a rule deleted from the config keeps its history. email and the
-- sign-up method are what upstream's event carries.
CREATE TABLE sign_up_rule_triggers (
    tenancy_id      uuid NOT NULL REFERENCES tenancies (id) ON DELETE CASCADE,
    id              uuid NOT NULL,
    rule_id         text NOT NULL,
    action          text NOT NULL,
    email           text NOT NULL,
    auth_method     text NOT NULL,
    oauth_provider  text NOT NULL,
    triggered_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenancy_id, id)
);
CREATE INDEX sign_up_rule_triggers_time_idx ON sign_up_rule_triggers (tenancy_id, triggered_at);
