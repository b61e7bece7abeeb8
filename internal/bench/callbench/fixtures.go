package main

import (
	"bytes"

	"github.com/dynamokit/dynamo"
)

// What both clients post: the same template reference, Salesforce session and
// records.
const (
	templateRef  = "0695g00000Dq3xYAAR" // a Salesforce Content Document ID
	sessionID    = "00D5g000004QdDe!AQ4AQFwYr3n0cE1Xq9vJkM2sT8bZpL6hW4dG7aN5yR0uC3iK9oB1eV2xH8mQ7tF6jS4zP0lD5gA3wE9rY2nU1cI8vO7kJ6hB5"
	serverURL    = "https://acme-corp.my.salesforce.com"
	templateName = "Invoice.dap"
	templateSize = 4 << 10 // "a few KB"
	extraParams  = 4       // params besides "id"
)

// salesforceID returns the 18-character ID of the n-th record of the object
// whose 3-character key prefix is prefix: 15 case-sensitive characters and
// the 3-character suffix Salesforce derives from their case.
func salesforceID(prefix string, n int) string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	id := []byte(prefix + "5g000000000000")[:15]
	for i := 14; i >= 9 && n > 0; i-- {
		id[i] = digits[n%len(digits)]
		n /= len(digits)
	}
	const suffix = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	for chunk := 0; chunk < 3; chunk++ {
		bits := 0
		for i := 0; i < 5; i++ {
			if c := id[chunk*5+i]; c >= 'A' && c <= 'Z' {
				bits |= 1 << i
			}
		}
		id = append(id, suffix[bits])
	}
	return string(id)
}

var locales = [...]string{"fi-FI", "en-US", "sv-SE", "de-DE"}

// recordParams are the params of the n-th record: its ID and a few values of
// the kinds a template reads (an account, a locale, an amount, a flag).
func recordParams(n int) map[string]any {
	return map[string]any{
		"id":        salesforceID("a0B", n+1),
		"accountId": salesforceID("001", n/7+1),
		"locale":    locales[n%len(locales)],
		"amount":    float64(n%100000) * 1.25,
		"sendEmail": n%3 == 0,
	}
}

// records are n records, each held once and shared by both clients' task
// lists, so that neither pays for the other's data.
type records struct {
	params []map[string]any
}

func newRecords(n int) *records {
	r := &records{params: make([]map[string]any, n)}
	for i := range r.params {
		r.params[i] = recordParams(i)
	}
	return r
}

// sdkTasks is the records as the SDK's tasks.
func (r *records) sdkTasks() []dynamo.Task {
	tasks := make([]dynamo.Task, len(r.params))
	for i, p := range r.params {
		tasks[i] = dynamo.Task{Params: p}
	}
	return tasks
}

// handTasks is the records as the baseline's tasks.
func (r *records) handTasks() []handTask {
	tasks := make([]handTask, len(r.params))
	for i, p := range r.params {
		tasks[i] = handTask{Params: p}
	}
	return tasks
}

// templateBytes is a small DAP-like file: not a real template, but bytes of
// the size and mix of one (the server does not open it).
func templateBytes() []byte {
	var b bytes.Buffer
	b.WriteString("PK\x03\x04")
	for b.Len() < templateSize {
		b.WriteString("<w:p><w:r><w:t>${param.locale} ${param.amount}</w:t></w:r></w:p>\n")
	}
	return b.Bytes()[:templateSize]
}
