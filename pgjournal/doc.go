// Package pgjournal keeps the journal of a dynamo bulk job in PostgreSQL,
// so that any process of a fleet pointed at the same database can run the
// job, resume it after another process died, and never run it twice at
// once:
//
//	store, err := pgjournal.New(pool, "month-end-2026-01")
//	if err != nil {
//		return err
//	}
//	rep, err := client.PostBulk(ctx, batch, dynamo.WithJournalStore(store))
//
// # The promises
//
//   - Write-ahead and durable: Append returns once its line is committed
//     with synchronous_commit on (for the store's connection, whatever the
//     server's default), so the line survives a crash of the server and,
//     with synchronous standbys, a failover to one of them.
//   - One run at a time: Open takes a session-level advisory lock
//     (pg_try_advisory_lock, on a hash of the schema and the job) on a
//     connection of its own, taken from the pool and held until Close. A
//     second run, on this machine or another, fails at once with an
//     *InUseError that matches dynamo.ErrJournalInUse and names the host and
//     process that hold the job. The server releases the lock when the
//     connection ends, however it ends: the process dies, the node is
//     evicted, an administrator runs pg_terminate_backend, the server
//     restarts.
//   - Fencing: every Open increments the job's epoch, and every Append
//     writes only if the job's epoch is still the one its run opened, on the
//     connection that holds the lock. A run whose connection was cut (a
//     partition, a server restart) cannot write once another run took the
//     job: its Append fails with an error matching dynamo.ErrJournalLost,
//     PostBulk starts no further chunk, and the next run reads each chunk
//     whose outcome it did not record as unknown.
//
// A connection lost in the middle of an Append may leave the line written
// or not; either way Append reports the hold lost, and a line that was
// written is read by the next run as any other.
//
// # The tables
//
// One row per job in journal_jobs, one row per line in journal_lines, in a
// schema that WithSchema names ("dynamo" by default). Open creates them on
// first use, under a transaction-level advisory lock so that replicas
// starting together do not race; where the application's role may not
// create tables, apply schema.sql (beside this file, with the GRANTs it
// lists) and the store only uses them. A line holds what PostBulk writes:
// chunks, record IDs, batch IDs, never a credential.
//
// The database password, wherever it comes from (the pool's configuration,
// PGPASSWORD, a password file), never appears in an error of this package.
package pgjournal
