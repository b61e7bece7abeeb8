-- The tables of the PostgreSQL journal store for dynamo's bulk jobs
-- (github.com/dynamokit/dynamo/pgjournal).
--
-- The store creates them on first use when its role may. Where the
-- application's role may not create tables, apply this file once with a
-- role that may, naming the schema the application gives WithSchema
-- ("dynamo" by default):
--
--	psql -v ON_ERROR_STOP=1 -v schema=dynamo -f schema.sql
--
-- and grant the application's role what the store uses:
--
--	GRANT USAGE ON SCHEMA dynamo TO app;
--	GRANT SELECT, INSERT, UPDATE ON dynamo.journal_jobs TO app;
--	GRANT SELECT, INSERT ON dynamo.journal_lines TO app;
--
-- Nothing here holds a secret: a line records chunks, record IDs and batch
-- IDs, never a credential.

CREATE SCHEMA IF NOT EXISTS :"schema";

-- One row per job. epoch is incremented by each run that opens the job (the
-- fencing token every append checks); holder_host and holder_pid name the
-- process that opened it last, for the message that refuses a second run.
CREATE TABLE IF NOT EXISTS :"schema".journal_jobs (
	job         text PRIMARY KEY,
	epoch       bigint NOT NULL,
	holder_host text NOT NULL,
	holder_pid  integer NOT NULL,
	held_since  timestamptz NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per journal line, in the order seq gives.
CREATE TABLE IF NOT EXISTS :"schema".journal_lines (
	job        text NOT NULL REFERENCES :"schema".journal_jobs (job) ON DELETE CASCADE,
	seq        bigint GENERATED ALWAYS AS IDENTITY,
	line       json NOT NULL,
	written_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (job, seq)
);
