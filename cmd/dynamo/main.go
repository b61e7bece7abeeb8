// Command dynamo posts Dynamo batches and tasks and follows them from the
// command line.
//
// Credentials come only from the environment, never from flags:
//
//	DYNAMO_TENANT_ID      the tenant (with Salesforce, the organization ID)
//	DYNAMO_API_KEY        the API key
//	DYNAMO_BASE_URL       another API base URL (optional)
//
// A Salesforce session (post, bulk and task post; optional) comes from one
// complete set of these, in this order, or from the flag --sf-org:
//
//	DYNAMO_SF_SESSION_ID, DYNAMO_SF_SERVER_URL     a fixed session and its server
//	DYNAMO_SF_CLIENT_ID, DYNAMO_SF_USERNAME,
//	DYNAMO_SF_JWT_KEY_FILE [, DYNAMO_SF_LOGIN_URL,
//	DYNAMO_SF_AUDIENCE]                            the JWT bearer flow
//	DYNAMO_SF_CLIENT_ID, DYNAMO_SF_CLIENT_SECRET,
//	DYNAMO_SF_LOGIN_URL                            the client credentials flow
//	DYNAMO_SF_ORG (or --sf-org)                    the Salesforce CLI's org
//	DYNAMO_SF_SESSION_MAX_AGE                      a new session after this age (10m)
//
// "dynamo auth" shows where the session comes from, its org, user and
// instance, and whether the org is the tenant's.
//
// Commands:
//
//	dynamo post    --template T | --dap FILE  --id ID... | --csv FILE [--allow-duplicates]  [--part name=file.json] [--param k=v] [--wait]
//	dynamo status  BATCH [TASK]
//	dynamo wait    BATCH
//	dynamo results BATCH --out DIR
//	dynamo bulk    --template T | --dap FILE  --csv FILE [--allow-duplicates] [--journal run.jsonl] [--repost-unknown] [--chunk-size N] [--concurrency N] [--grace D] [--no-wait]
//	dynamo task post    --template T | --dap FILE  [--param k=v]... [--part name=file.json]... [--wait]
//	dynamo task status  TASK
//	dynamo task wait    TASK
//	dynamo task results TASK --out DIR
//	dynamo auth    shows where the Salesforce session comes from, and whose it is
//	dynamo fake    [--addr HOST:PORT] [--auto-complete D] [--result-files ID,...] [--tenant-id T] [--api-key K] [--check-sessions]
//
// "dynamo fake" runs the fake server (package dynamotest) as a process of its
// own and prints the variables to export; it keeps its state until it stops,
// and its control API (under /_dynamotest/) drives it from any language.
//
// The global flag --fake runs a command against a fake server instead of the
// API: the running "dynamo fake" that DYNAMO_FAKE_URL names, with the
// credentials it printed, or else an in-process fake for that one run, whose
// tasks complete on their own after a moment, each with one result file. An
// in-process fake keeps nothing after the run, so the follow-up commands
// (status, wait, results, task status, task wait, task results) refuse
// --fake without a running "dynamo fake".
//
// The first SIGINT or SIGTERM cancels a command. "dynamo bulk" stops
// gracefully instead: no new chunk starts, and the posts in flight finish, for
// up to --grace; a second signal aborts them.
//
// Exit codes: 0 done without errors; 1 a call failed; 2 bad usage or input;
// 3 the batch or task completed but some tasks had errors.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	code := run(context.Background(), process{
		args:    os.Args[1:],
		stdin:   os.Stdin,
		stdout:  os.Stdout,
		stderr:  os.Stderr,
		env:     os.Getenv,
		signals: signals,

		ownsRuntime: true,
	})
	signal.Stop(signals)
	os.Exit(code)
}
