"""After every upgrade: the read-model schemas and everything in them belong to
`reports_writer` (revision r0008), which may create schemas in the database.

A revision of the reports branch creates its tables as the migrating role. Default
privileges cannot cover them: they are attached to a schema, and a rebuild replaces the
`reports` schema by another one. So the hand-over is done here, each time, for whatever is
not the role's yet; it does nothing when the role does not exist (before r0008, or where
an administrator has not created it).
"""

HAND_OVER = """
DO $$
DECLARE
    object record;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reports_writer') THEN
        RETURN;
    END IF;
    -- The database's own privilege (a rebuild creates a schema), again here because a
    -- database restored from pg_dump does not carry its database-level grants.
    IF EXISTS (SELECT FROM pg_namespace WHERE nspname = 'reports') THEN
        EXECUTE format('GRANT CREATE ON DATABASE %I TO reports_writer', current_database());
    END IF;
    FOR object IN SELECT nspname FROM pg_namespace
                  WHERE nspname IN ('reports', 'reports_next', 'reports_retired')
                    AND nspowner <> 'reports_writer'::regrole LOOP
        EXECUTE format('ALTER SCHEMA %I OWNER TO reports_writer', object.nspname);
    END LOOP;
    -- Tables take their indexes and owned sequences with them; a sequence owned by a
    -- column cannot be handed over on its own.
    FOR object IN
        SELECT c.oid::regclass::text AS name,
               CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                              WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('reports', 'reports_next', 'reports_retired')
          AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND c.relowner <> 'reports_writer'::regrole
          AND NOT (c.relkind = 'S' AND EXISTS (
              SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO reports_writer', object.kind, object.name);
    END LOOP;
    FOR object IN
        SELECT p.oid::regprocedure::text AS name,
               CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END AS kind
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname IN ('reports', 'reports_next', 'reports_retired')
          AND p.proowner <> 'reports_writer'::regrole
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO reports_writer', object.kind, object.name);
    END LOOP;
END $$
"""
