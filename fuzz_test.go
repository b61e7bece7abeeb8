package dynamo_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dynamokit/dynamo"
)

// Seeds shared by the two status decoders: documented answers, and answers
// with the wrong types, odd dates, both log spellings and broken JSON.
var statusSeeds = []string{
	`{"postDateTime":"2022-02-10T11:03:30.100Z","completed":true,"completedDateTime":"2022-02-10T11:03:39.616069Z","errors":false,"statusMessage":"Completed","tasks":[{"id":"334b2fc3-49cf-4089-a09b-f638fb1f97dc","completed":true,"errors":false}]}`,
	`{"startDateTime":"2022-02-10T11:03:36.498963Z","endDateTime":"2022-02-10T11:03:39.616069Z","completed":true,"errors":false,"statusMessage":"Completed","log":[],"results":["Profile"],"resultList":[{"id":"Profile","url":"https://storage.example/Profile?sig=x"}]}`,
	`{"postDateTime":"datetime","completedDateTime":null,"completed":false,"statusMessage":"Waiting","tasks":[]}`,
	`{"startDateTime":12,"endDateTime":{"a":[1]},"log":["SEVERE x",{"level":"SEVERE"}],"logs":[null,3]}`,
	`{"completed":"yes"}`,
	`{"tasks":[{"id":5}]}`,
	`{"postDateTime":"2022-02-10T11:03:30+02:00"}`,
	`{"startDateTime":"2023-03-07T10:26:35.405631389Z","endDateTime":"2023-03-07T10:26:47.781174583Z","completed":true,"errors":false,"results":[],"resultList":[],"statusMessage":"Ready","statusDescription":"Ready","log":[]}`,
	`{"statusMessage":"Received","statusDescription":"The task was received","taskID":"t-1"}`,
	`{"completed": tr`,
	`null`,
	`[]`,
	``,
}

// checkStatusRoundTrip checks that a value that decoded encodes, and that
// decoding what it encodes to gives the same encoding again. Text kept from
// input that was not valid UTF-8 is encoded with replacement characters, so
// then only the second round trip must be exact.
func checkStatusRoundTrip[T any](t *testing.T, data []byte, v *T) {
	t.Helper()
	encode := func(v *T) []byte {
		t.Helper()
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("a decoded %T does not encode: %v", v, err)
		}
		return out
	}
	decode := func(data []byte) *T {
		t.Helper()
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("%T: its own encoding %s does not decode: %v", v, data, err)
		}
		return &v
	}
	out := encode(v)
	out2 := encode(decode(out))
	if !utf8.Valid(data) {
		out, out2 = out2, encode(decode(out2))
	}
	if !bytes.Equal(out, out2) {
		t.Fatalf("%T does not survive a round trip:\n%s\n%s", v, out, out2)
	}
}

func FuzzDecodeBatchStatus(f *testing.F) {
	for _, s := range statusSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var st dynamo.BatchStatus
		if json.Unmarshal(data, &st) != nil {
			return
		}
		for _, ts := range []dynamo.Timestamp{st.PostDateTime, st.CompletedDateTime} {
			if !ts.IsZero() && ts.Raw == "" {
				t.Fatalf("a parsed date keeps no text: %+v", ts)
			}
		}
		checkStatusRoundTrip(t, data, &st)
	})
}

func FuzzDecodeTaskStatus(f *testing.F) {
	for _, s := range statusSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var st dynamo.TaskStatus
		if json.Unmarshal(data, &st) != nil {
			return
		}
		// Every log entry of either spelling is kept.
		var raw struct {
			Log  []json.RawMessage `json:"log"`
			Logs []json.RawMessage `json:"logs"`
		}
		if json.Unmarshal(data, &raw) == nil && len(st.Log) != len(raw.Log)+len(raw.Logs) {
			t.Fatalf("log has %d entries, the answer %d", len(st.Log), len(raw.Log)+len(raw.Logs))
		}
		checkStatusRoundTrip(t, data, &st)
	})
}

var fuzzPartName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// idKinds say what FuzzValidate puts under a task's "id".
const (
	idString = iota
	idAbsent
	idNumber
	idNull
	idUnencodable
	idKinds
)

func FuzzValidate(f *testing.F) {
	// template, id, key, value (JSON, or else a string), part name,
	// partParam part and param, tasks, id kind, session, server URL.
	f.Add("3242374783", "1111", "locale", []byte(`"fi-FI"`), "", "", "", uint16(2), uint8(idString), "", "")
	f.Add("", "1111", "amount", []byte(`12.5`), "additionalData", "additionalData", "extra", uint16(1), uint8(idString), "SESSION-s3cr3t-x", "https://x.my.salesforce.com")
	f.Add("", "1111", "k", []byte(`{"a":[1,2]}`), "bad name", "other", "", uint16(3), uint8(idString), "", "")
	f.Add("tmpl", "", "id", []byte(`5`), "", "", "", uint16(1001), uint8(idNumber), "s\r\n", "h\n")
	f.Add("tmpl", "x", "k", []byte(`not json`), "p", "p", "q", uint16(0), uint8(idUnencodable), "SESSION-s3cr3t-y", "")
	f.Add("", "\x00", "\xff", []byte{0xff, 0xfe}, "a.b_c-d", "a.b_c-d", "\x00", uint16(1000), uint8(idNull), "", "s")
	f.Fuzz(func(t *testing.T, template, id, key string, value []byte, partName, ppPart, ppParam string,
		nTasks uint16, idKind uint8, session, serverURL string) {
		var v any
		if json.Unmarshal(value, &v) != nil {
			v = string(value)
		}
		params := func() dynamo.Params {
			p := dynamo.Params{}
			switch idKind % idKinds {
			case idString:
				p["id"] = id
			case idNumber:
				p["id"] = len(id)
			case idNull:
				p["id"] = nil
			case idUnencodable:
				p["id"] = id
				p[key+"!"] = math.NaN()
			}
			if key != "id" {
				p[key] = v
			}
			return p
		}
		n := int(nTasks % 1100)
		b := &dynamo.Batch{Template: template}
		for range n {
			task := dynamo.Task{Params: params()}
			if ppPart != "" || ppParam != "" {
				task.PartParams = []dynamo.PartParam{{PartName: ppPart, ParamName: ppParam}}
			}
			b.Tasks = append(b.Tasks, task)
		}
		if partName != "" {
			b.Parts = []dynamo.Part{{Name: partName, Value: v}}
		}
		if session != "" || serverURL != "" {
			b.Integration = dynamo.Salesforce(session, serverURL)
		}

		err := b.Validate()

		if err == nil {
			checkValid(t, b)
			return
		}
		var verr *dynamo.ValidationError
		if !errors.As(err, &verr) || err != error(verr) {
			t.Fatalf("Validate returned %T, not a *ValidationError: %v", err, err)
		}
		if len(verr.Problems) == 0 {
			t.Fatal("a ValidationError without problems")
		}
		for _, p := range verr.Problems {
			if p.Field == "" || p.Message == "" {
				t.Fatalf("an incomplete problem: %+v", p)
			}
		}
		if got, want := errors.Is(err, dynamo.ErrTooManyTasks), n > dynamo.MaxTasksPerBatch; got != want {
			t.Fatalf("errors.Is(err, ErrTooManyTasks) = %v with %d tasks", got, n)
		}
		// A plain batch by reference with a string id is valid.
		if template != "" && n >= 1 && n <= dynamo.MaxTasksPerBatch && idKind%idKinds == idString && id != "" &&
			key != "id" && partName == "" && ppPart == "" && ppParam == "" && b.Integration == nil {
			t.Fatalf("a valid batch was refused: %v", err)
		}
		// The session is never shown, unless another input holds it too.
		if len(session) >= 8 && !strings.Contains(template+id+key+string(value)+partName+ppPart+ppParam+serverURL, session) &&
			strings.Contains(err.Error(), session) {
			t.Fatalf("the error shows the session: %v", err)
		}
	})
}

// checkValid checks what Validate promises of a batch it accepted.
func checkValid(t *testing.T, b *dynamo.Batch) {
	t.Helper()
	if n := len(b.Tasks); n < 1 || n > dynamo.MaxTasksPerBatch {
		t.Fatalf("accepted %d tasks", n)
	}
	parts := map[string]bool{}
	for _, p := range b.Parts {
		if !fuzzPartName.MatchString(p.Name) {
			t.Fatalf("accepted part name %q", p.Name)
		}
		parts[p.Name] = true
		if _, err := json.Marshal(p.Value); err != nil {
			t.Fatalf("accepted a part that does not encode: %v", err)
		}
	}
	if b.Template != "" && len(b.Parts) > 0 {
		t.Fatal("accepted parts with a template by reference")
	}
	for i, task := range b.Tasks {
		if id, ok := task.Params["id"].(string); !ok || id == "" {
			t.Fatalf("task %d: accepted id %#v", i, task.Params["id"])
		}
		if _, err := json.Marshal(task); err != nil {
			t.Fatalf("task %d: accepted params that do not encode: %v", i, err)
		}
		for _, pp := range task.PartParams {
			if b.Template != "" || !parts[pp.PartName] || pp.ParamName == "" || pp.ParamName == "id" {
				t.Fatalf("task %d: accepted partParam %+v", i, pp)
			}
		}
	}
	if in := b.Integration; in != nil {
		if in.Type != dynamo.IntegrationSalesforce || in.SessionID == "" || in.ServerURL == "" ||
			strings.ContainsFunc(in.SessionID+in.ServerURL, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("accepted integration %+v", in)
		}
	}
}

func FuzzTaskRequest(f *testing.F) {
	// template, id, key, value (JSON, or else a string), part name, id kind,
	// session, server URL.
	f.Add("069000000000001AAA", "001000000000001AAA", "locale", []byte(`"fi-FI"`), "", uint8(idString), "SESSION-s3cr3t-x", "https://x.my.salesforce.com")
	f.Add("", "", "order", []byte(`{"total":42}`), "lines", uint8(idString), "", "")
	f.Add("", "1", "k", []byte(`1`), "k", uint8(idNumber), "", "")
	f.Add("t", "x", "k", []byte(`NaN`), "bad name", uint8(idUnencodable), "s\r\n", "h\n")
	f.Fuzz(func(t *testing.T, template, id, key string, value []byte, partName string, idKind uint8, session, serverURL string) {
		var v any
		if json.Unmarshal(value, &v) != nil {
			v = string(value)
		}
		r := &dynamo.TaskRequest{Template: template, Params: dynamo.Params{}}
		switch idKind % idKinds {
		case idString:
			r.Params["id"] = id
		case idNumber:
			r.Params["id"] = len(id)
		case idNull:
			r.Params["id"] = nil
		case idUnencodable:
			r.Params[key+"!"] = math.Inf(1)
		}
		if key != "id" {
			r.Params[key] = v
		}
		if partName != "" {
			r.Parts = []dynamo.Part{{Name: partName, Value: v}}
		}
		if session != "" || serverURL != "" {
			r.Integration = dynamo.Salesforce(session, serverURL)
		}

		err := r.Validate()

		if err == nil {
			checkValidTask(t, r)
			return
		}
		var verr *dynamo.ValidationError
		if !errors.As(err, &verr) || err != error(verr) || len(verr.Problems) == 0 {
			t.Fatalf("Validate returned %T, not a *ValidationError with problems: %v", err, err)
		}
		for _, p := range verr.Problems {
			if p.Field == "" || p.Message == "" {
				t.Fatalf("an incomplete problem: %+v", p)
			}
		}
		if len(session) >= 8 && !strings.Contains(template+id+key+string(value)+partName+serverURL, session) &&
			strings.Contains(err.Error(), session) {
			t.Fatalf("the error shows the session: %v", err)
		}
	})
}

// checkValidTask checks what Validate promises of a task request it
// accepted.
func checkValidTask(t *testing.T, r *dynamo.TaskRequest) {
	t.Helper()
	if id, present := r.Params["id"]; r.Integration != nil || present {
		if s, ok := id.(string); !ok || s == "" {
			t.Fatalf("accepted id %#v", id)
		}
	}
	if _, err := json.Marshal(r.Params); err != nil {
		t.Fatalf("accepted params that do not encode: %v", err)
	}
	if r.Template != "" && len(r.Parts) > 0 {
		t.Fatal("accepted parts with a template by reference")
	}
	for _, p := range r.Parts {
		if !fuzzPartName.MatchString(p.Name) {
			t.Fatalf("accepted part name %q", p.Name)
		}
		if _, clash := r.Params[p.Name]; clash {
			t.Fatalf("accepted part %q that a param of the same name would meet", p.Name)
		}
		if _, err := json.Marshal(p.Value); err != nil {
			t.Fatalf("accepted a part that does not encode: %v", err)
		}
	}
}

func FuzzDecodeTaskResponse(f *testing.F) {
	f.Add([]byte(`{"taskID":"t-223e5458ec7f9a57802e3e31deba48cb","message":"Success","usage":{"api":{"term":1,"termMax":10000},"signing":{"term":0,"termMax":500}}}`))
	f.Add([]byte(`{"taskID":"t-1","usage":{"api":{"term":"1"},"signing":[1]}}`))
	f.Add([]byte(`{"taskID":"t-1","usage":"none"}`))
	f.Add([]byte(`{"taskID":"t-1","usage":{"api":{"term":1e300,"termMax":-2.5}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var u dynamo.Usage
		if err := u.UnmarshalJSON(data); err != nil {
			t.Fatalf("usage failed to decode: %v", err)
		}
		var resp dynamo.TaskResponse
		var plain struct {
			TaskID  string `json:"taskID"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &plain) == nil && json.Unmarshal(data, &resp) != nil {
			t.Fatalf("the usage made an answer fail to decode: %s", data)
		}
	})
}
