package pgjournal

import (
	"context"
	_ "embed"
	"strings"

	"github.com/jackc/pgx/v5"
)

// schemaSQL creates the store's tables; it is also the file users apply by
// hand, with psql's -v schema=NAME.
//
//go:embed schema.sql
var schemaSQL string

// schemaLockKey serializes the creation of the tables by processes that
// start together (pg_advisory_xact_lock): CREATE ... IF NOT EXISTS alone
// races.
var schemaLockKey = lockKey("schema", "")

// tables are the names the store's statements use, quoted for its schema.
type tables struct {
	schema, jobs, lines string
}

func tablesIn(schema string) tables {
	return tables{
		schema: pgx.Identifier{schema}.Sanitize(),
		jobs:   pgx.Identifier{schema, "journal_jobs"}.Sanitize(),
		lines:  pgx.Identifier{schema, "journal_lines"}.Sanitize(),
	}
}

// ensureSchema creates the store's tables unless both exist, so that a role
// that may not create them works with tables applied from schema.sql.
func (s *Store) ensureSchema(ctx context.Context) error {
	if s.schemaReady.Load() {
		return nil
	}
	var exists bool
	err := s.pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL",
		s.tables.jobs, s.tables.lines).Scan(&exists)
	if err != nil {
		return s.errorf("checking for the journal's tables in schema %s: %w", s.schema, err)
	}
	if !exists {
		if err := s.createSchema(ctx); err != nil {
			return err
		}
	}
	s.schemaReady.Store(true)
	return nil
}

func (s *Store) createSchema(ctx context.Context) error {
	ddl := strings.ReplaceAll(schemaSQL, `:"schema"`, s.tables.schema)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", schemaLockKey); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, ddl)
		return err
	})
	if err != nil {
		return s.errorf("creating the journal's tables in schema %s (or apply schema.sql with a role that may): %w", s.schema, err)
	}
	return nil
}
