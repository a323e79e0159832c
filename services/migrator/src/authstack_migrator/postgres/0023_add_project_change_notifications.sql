-- migrate: lock_timeout=5s
-- Every change to what request authentication reads of a project (the project row, its
-- tenancies with their config levels, its key sets) sends the project's id on the channel
-- authstack_project_changed; each API process listens there and drops its cached copy.
--
-- Triggers rather than calls in the application, so that no write path can forget: the API, the
-- migrator's seed, a psql session, a cascade of a project's deletion. NOTIFY is delivered at
-- commit, so a rolled-back write sends nothing, and PostgreSQL folds identical notifications of
-- one transaction into one. TRUNCATE sends '*': every cached project goes.
CREATE FUNCTION notify_project_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Each branch names only its own table's column: PL/pgSQL prepares an expression when it
    -- first runs it, so the other tables' column names are never looked up.
    IF TG_TABLE_NAME = 'projects' THEN
        IF TG_OP <> 'INSERT' THEN
            PERFORM pg_notify('authstack_project_changed', OLD.id);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM pg_notify('authstack_project_changed', NEW.id);
        END IF;
    ELSE
        IF TG_OP <> 'INSERT' THEN
            PERFORM pg_notify('authstack_project_changed', OLD.project_id);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM pg_notify('authstack_project_changed', NEW.project_id);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION notify_projects_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('authstack_project_changed', '*');
    RETURN NULL;
END
$$;

CREATE TRIGGER projects_changed AFTER INSERT OR UPDATE OR DELETE ON projects
    FOR EACH ROW EXECUTE FUNCTION notify_project_changed();
CREATE TRIGGER tenancies_changed AFTER INSERT OR UPDATE OR DELETE ON tenancies
    FOR EACH ROW EXECUTE FUNCTION notify_project_changed();
CREATE TRIGGER api_key_sets_changed AFTER INSERT OR UPDATE OR DELETE ON api_key_sets
    FOR EACH ROW EXECUTE FUNCTION notify_project_changed();

CREATE TRIGGER projects_truncated AFTER TRUNCATE ON projects
    FOR EACH STATEMENT EXECUTE FUNCTION notify_projects_truncated();
CREATE TRIGGER tenancies_truncated AFTER TRUNCATE ON tenancies
    FOR EACH STATEMENT EXECUTE FUNCTION notify_projects_truncated();
CREATE TRIGGER api_key_sets_truncated AFTER TRUNCATE ON api_key_sets
    FOR EACH STATEMENT EXECUTE FUNCTION notify_projects_truncated();
