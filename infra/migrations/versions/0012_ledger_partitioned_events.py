"""Ledger: ledger.events partitioned by year of `recorded_at`; its keys in tables of their own.

Years of events in one table make every vacuum, index rebuild and archive of it a
whole-history job; yearly partitions make them a year's, and a read that names the year
(a stream's head, a stream read, see ledger.adapters.event_store) reads one partition.

* **Partitions**: RANGE on `recorded_at`, one per calendar year in UTC, named
  `events_YYYY`. Years, not months: the feed (and the feed's lag, the feed status, the
  overlap check) cannot be narrowed by `recorded_at` — a later transaction may carry an
  earlier clock — so it visits every partition, and each costs it a few index probes and
  some planning (docs/architecture.md has the figures); a district writes about 400,000
  events a year, a size one partition holds well. UTC: the append stamps UTC instants, and
  a UTC year is the same for every tenant whatever its zone; nothing is read by local year.
  `events_history` holds everything before the year this revision ran in (the events it
  copies, and any that a clock set back would write). There is no DEFAULT partition: rows
  landing there would make creating their year's partition fail, and could not be moved
  out of an append-only table. Instead `ledger.ensure_partitions(months_ahead)` creates
  every year up to the one `months_ahead` months from now: this revision with three
  months, the ledger at start-up and every few hours (ledger.adapters.partitions). It runs
  as the tables' owner (SECURITY DEFINER), so the ledger's role needs no CREATE; it
  ATTACHes a new, empty table, which locks ledger.events only in SHARE UPDATE EXCLUSIVE
  mode (appends and reads go on).
* **Keys**: a unique index of a partitioned table must contain the partition key, so
  "one event per (stream, version)" and "one event per event id" can no longer be indexes
  of ledger.events. They are the primary keys of two small tables, `ledger.stream_versions`
  and `ledger.event_ids`, filled by a statement trigger on ledger.events in the statement
  that inserts the events (an INSERT or a COPY alike): a clash makes the whole statement
  fail as before, with the key table's constraint named, and a concurrent writer of the
  same key waits for the first one's outcome as it did on the old indexes. The trigger, not
  each writer, fills them, so no writer (the ledger's role inserting by hand included) can
  store an event without its keys. `stream_versions` also holds each event's `recorded_at`:
  a stream's head is found there, then read from its one partition.
* The ledger's role keeps SELECT and INSERT on ledger.events, has only SELECT on the key
  tables and nothing on the partitions themselves: an insert into a partition directly
  would pass the parent's statement trigger by. The key tables are append-only like the
  events.

Existing events are copied into the new table with their positions, txids, hashes and
seals; the identity continues where the old one stopped; the old table is dropped.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

MONTHS_AHEAD = 3

COLUMNS = ("tenant_id, position, txid, event_id, stream_id, version, type, schema_version, "
           "data, metadata, recorded_at, hash, chain_version, seal")

# The shape of 0001 and 0007, partitioned. position is unique by its identity; the primary
# key must name the partition key too.
_EVENTS = """
CREATE TABLE ledger.events (
    tenant_id       text        NOT NULL REFERENCES ledger.tenants,
    position        bigint      GENERATED ALWAYS AS IDENTITY,
    txid            xid8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id        uuid        NOT NULL,
    stream_id       text        NOT NULL,
    version         integer     NOT NULL CHECK (version >= 1),
    type            text        NOT NULL,
    schema_version  smallint    NOT NULL,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    hash            bytea       NOT NULL,
    chain_version   smallint    NOT NULL DEFAULT 1,
    seal            bytea,
    PRIMARY KEY (tenant_id, position, recorded_at),
    CONSTRAINT events_sealed CHECK (chain_version = 1 OR seal IS NOT NULL)
) PARTITION BY RANGE (recorded_at)"""

INDEXES = [
    "CREATE INDEX events_feed ON ledger.events (tenant_id, txid, position)",
    # The old unique indexes, now plain: streams are read and event ids looked up here.
    "CREATE INDEX events_stream ON ledger.events (tenant_id, stream_id, version)",
    "CREATE INDEX events_event_id ON ledger.events (tenant_id, event_id)",
    """CREATE INDEX events_member_participation ON ledger.events
        (tenant_id, ((data->>'member_id')::uuid), position)
    WHERE type IN ('CheckedIn', 'CheckedOut', 'ParticipationCorrected',
                   'ParticipationRevoked')""",
]

KEY_TABLES = [
    """CREATE TABLE ledger.stream_versions (
        tenant_id    text        NOT NULL,
        stream_id    text        NOT NULL,
        version      integer     NOT NULL,
        recorded_at  timestamptz NOT NULL,
        CONSTRAINT stream_versions_pkey PRIMARY KEY (tenant_id, stream_id, version)
    )""",
    """CREATE TABLE ledger.event_ids (
        tenant_id  text NOT NULL,
        event_id   uuid NOT NULL,
        CONSTRAINT event_ids_pkey PRIMARY KEY (tenant_id, event_id)
    )""",
]

# Event ids first: a retry of a stored event is then told by its id at once.
_RECORD_KEYS = """
CREATE FUNCTION ledger.record_event_keys() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO ledger.event_ids (tenant_id, event_id)
    SELECT tenant_id, event_id FROM appended;
    INSERT INTO ledger.stream_versions (tenant_id, stream_id, version, recorded_at)
    SELECT tenant_id, stream_id, version, recorded_at FROM appended;
    RETURN NULL;
END
$$"""

TRIGGERS = [
    """CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON ledger.events
        FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change()""",
    """CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON ledger.events
        FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()""",
    """CREATE TRIGGER events_keys AFTER INSERT ON ledger.events
        REFERENCING NEW TABLE AS appended
        FOR EACH STATEMENT EXECUTE FUNCTION ledger.record_event_keys()""",
    *(f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON ledger.{table}
        FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change()"""
      for table in ("stream_versions", "event_ids")),
    *(f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON ledger.{table}
        FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()"""
      for table in ("stream_versions", "event_ids")),
]

# A partition is made as a table of its own and attached: CREATE TABLE ... PARTITION OF
# would lock ledger.events in ACCESS EXCLUSIVE mode, stopping appends and the feed while
# it waits for every running query on it; ATTACH takes SHARE UPDATE EXCLUSIVE. The row
# triggers and indexes come from the parent; the TRUNCATE guard is a statement trigger,
# which partitions do not inherit. The ledger's role reads and writes through the parent
# only (an INSERT into a partition would pass the key trigger by).
_ADD_PARTITION = """
CREATE FUNCTION ledger.add_events_partition(name text, lower text, upper text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('CREATE TABLE ledger.%I (LIKE ledger.events INCLUDING CONSTRAINTS)', name);
    EXECUTE format('CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON ledger.%I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()', name);
    EXECUTE format('REVOKE ALL ON ledger.%I FROM PUBLIC', name);
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledger_writer') THEN
        EXECUTE format('REVOKE ALL ON ledger.%I FROM ledger_writer', name);
    END IF;
    EXECUTE format('ALTER TABLE ledger.events ATTACH PARTITION ledger.%I '
                   'FOR VALUES FROM (%s) TO (%s)', name, lower, upper);
END
$$"""

# Years are UTC years: the bounds are written as UTC instants, whatever the session's
# TimeZone. Serialised by an advisory lock, as every ledger process calls it at start-up;
# a lock it cannot get soon (someone holds ledger.events exclusively) fails the call rather
# than queueing the appends behind it, and the next call tries again.
_ENSURE = """
CREATE FUNCTION ledger.ensure_partitions(months_ahead integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
    utc_now timestamp := now() AT TIME ZONE 'UTC';
    this_year timestamp := date_trunc('year', utc_now);
    year timestamp;
    created integer := 0;
BEGIN
    IF months_ahead NOT BETWEEN 0 AND 120 THEN
        RAISE EXCEPTION 'months_ahead must be between 0 and 120, not %', months_ahead;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('ledger.ensure_partitions'));
    IF to_regclass('ledger.events_history') IS NULL THEN
        PERFORM ledger.add_events_partition(
            'events_history', 'MINVALUE', quote_literal(this_year || '+00'));
    END IF;
    -- From the oldest year's partition on, so that a ledger stopped for long leaves no gap
    -- between the years it made before and the ones it makes now.
    SELECT coalesce(min(to_date(substr(c.relname, 8), 'YYYY'))::timestamp, this_year)
        INTO year
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'ledger.events'::regclass AND c.relname ~ '^events_\\d{4}$';
    WHILE year <= utc_now + make_interval(months => months_ahead) LOOP
        IF to_regclass(format('ledger.events_%s', to_char(year, 'YYYY'))) IS NULL THEN
            PERFORM ledger.add_events_partition(
                format('events_%s', to_char(year, 'YYYY')),
                quote_literal(year || '+00'), quote_literal((year + interval '1 year') || '+00'));
            created := created + 1;
        END IF;
        year := year + interval '1 year';
    END LOOP;
    RETURN created;
END
$$"""

# The old table's rows, exactly; its identity's state carried over, so positions go on
# growing from where they were (even past a rolled-back append's).
_COPY = f"""
INSERT INTO ledger.events ({COLUMNS}) OVERRIDING SYSTEM VALUE
SELECT {COLUMNS} FROM ledger_unpartitioned.events ORDER BY position"""

_KEYS_BACKFILL = [
    "INSERT INTO ledger.event_ids (tenant_id, event_id) "
    "SELECT tenant_id, event_id FROM ledger.events",
    "INSERT INTO ledger.stream_versions (tenant_id, stream_id, version, recorded_at) "
    "SELECT tenant_id, stream_id, version, recorded_at FROM ledger.events",
]

_IDENTITY = """
DO $$
DECLARE last bigint; called boolean;
BEGIN
    EXECUTE format('SELECT last_value, is_called FROM %s',
                   pg_get_serial_sequence('ledger_unpartitioned.events', 'position'))
        INTO last, called;
    PERFORM setval(pg_get_serial_sequence('ledger.events', 'position'), last, called);
END $$"""

# What 0007 gave the writer on ledger.events, and only SELECT on the key tables (the
# trigger writes them as their owner).
_GRANTS = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledger_writer') THEN
        RAISE NOTICE 'no role ledger_writer: grant its privileges by hand';
        RETURN;
    END IF;
    GRANT SELECT, INSERT ON ledger.events TO ledger_writer;
    REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ledger.events FROM ledger_writer;
    GRANT SELECT ON ledger.stream_versions, ledger.event_ids TO ledger_writer;
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
        ON ledger.stream_versions, ledger.event_ids FROM ledger_writer;
    GRANT EXECUTE ON FUNCTION ledger.ensure_partitions(integer) TO ledger_writer;
    REVOKE EXECUTE ON FUNCTION ledger.add_events_partition(text, text, text),
        ledger.record_event_keys() FROM ledger_writer;
END $$"""

# The published feed functions (revision 0002) read every partition whatever their
# arguments: a plan made for each call's arguments, which the plan cache prefers here (it
# looks cheaper), costs more to make than it saves. SQL functions cache plans from
# PostgreSQL 18 on; before that, each call is planned for any arguments anyway.
FEED_FUNCTIONS = ("ledger.feed_batch(text, bigint, bigint, integer)",
                  "ledger.feed_lag(text, bigint, bigint)", "ledger.feed_txid_of(text, bigint)")

_FUNCTIONS = ("ledger.ensure_partitions(integer)", "ledger.add_events_partition(text, text, text)",
              "ledger.record_event_keys()")


def upgrade() -> None:
    op.execute("CREATE SCHEMA ledger_unpartitioned")
    # With its indexes, constraints, triggers and identity sequence, out of the way.
    op.execute("ALTER TABLE ledger.events SET SCHEMA ledger_unpartitioned")
    op.execute(_EVENTS)
    for statement in INDEXES + KEY_TABLES:
        op.execute(statement)
    for function in (_RECORD_KEYS, _ADD_PARTITION, _ENSURE):
        op.execute(function)
    op.execute(f"REVOKE EXECUTE ON FUNCTION {', '.join(_FUNCTIONS)} FROM PUBLIC")
    op.execute(f"SELECT ledger.ensure_partitions({MONTHS_AHEAD})")
    op.execute(_COPY)
    for statement in _KEYS_BACKFILL:
        op.execute(statement)
    op.execute(_IDENTITY)
    # The owner may drop what the append-only triggers guard; the rows live on above.
    op.execute("DROP SCHEMA ledger_unpartitioned CASCADE")
    for statement in TRIGGERS:
        op.execute(statement)
    op.execute(_GRANTS)
    for function in FEED_FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} SET plan_cache_mode = force_generic_plan")


# 0011's table: one, with the old unique keys, holding every event again.
_UNPARTITIONED = """
CREATE TABLE ledger.events (
    tenant_id       text        NOT NULL REFERENCES ledger.tenants,
    position        bigint      GENERATED ALWAYS AS IDENTITY,
    txid            xid8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id        uuid        NOT NULL,
    stream_id       text        NOT NULL,
    version         integer     NOT NULL CHECK (version >= 1),
    type            text        NOT NULL,
    schema_version  smallint    NOT NULL,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    hash            bytea       NOT NULL,
    chain_version   smallint    NOT NULL DEFAULT 1,
    seal            bytea,
    PRIMARY KEY (tenant_id, position),
    UNIQUE (tenant_id, stream_id, version),
    UNIQUE (tenant_id, event_id),
    CONSTRAINT events_sealed CHECK (chain_version = 1 OR seal IS NOT NULL)
)"""


def downgrade() -> None:
    for function in FEED_FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} RESET plan_cache_mode")
    op.execute("CREATE SCHEMA ledger_partitioned")
    op.execute("ALTER TABLE ledger.events SET SCHEMA ledger_partitioned")
    op.execute(_UNPARTITIONED)
    # 0001's feed and participation indexes (the other two are its unique keys again).
    op.execute(INDEXES[0])
    op.execute(INDEXES[3])
    op.execute(f"""INSERT INTO ledger.events ({COLUMNS}) OVERRIDING SYSTEM VALUE
        SELECT {COLUMNS} FROM ledger_partitioned.events ORDER BY position""")
    op.execute(_IDENTITY.replace("ledger_unpartitioned.events", "ledger_partitioned.events"))
    op.execute("DROP SCHEMA ledger_partitioned CASCADE")
    op.execute("DROP TABLE ledger.stream_versions, ledger.event_ids")
    op.execute(f"DROP FUNCTION {', '.join(_FUNCTIONS)}")
    for statement in TRIGGERS[:2]:
        op.execute(statement)
    op.execute("""
        DO $$ BEGIN
            IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledger_writer') THEN
                GRANT SELECT, INSERT ON ledger.events TO ledger_writer;
                REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ledger.events
                    FROM ledger_writer;
            END IF;
        END $$""")
