package main

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/dynamokit/dynamo/dynamotest"
)

// fakeAPI is what --fake runs: package dynamotest's fake of the batch API,
// behind a small fake of the Task API, which dynamotest does not have. Like
// dynamotest, it reads the wire form on its own (encoding/json and
// mime/multipart), not with the SDK's code.
//
// A task of the Task API is "Queued" until the test drives it with
// completeTask or failTask, or until delay has passed since it was posted
// (judged whenever its status is read; 0 means never); it then completes
// with one result file, "Document", served from the same host.
type fakeAPI struct {
	URL, TenantID, APIKey string

	batches   *dynamotest.Server
	http      *httptest.Server
	transport *http.Transport
	delay     time.Duration
	onPost    func(taskID string) // called once a task is accepted; for tests

	mu    sync.Mutex
	tasks map[string]*fakeTask
	calls int // tasks accepted: the API usage reported
}

// fakeTask is one task of the fake Task API.
type fakeTask struct {
	posted   postedTask
	postedAt time.Time
	done     bool
	failure  string
	endedAt  time.Time
	results  []dynamotest.ResultFile
}

// newFakeAPI starts a fake of both APIs whose tasks complete after delay (0:
// only when driven).
func newFakeAPI(delay time.Duration) *fakeAPI {
	opts := []dynamotest.ServerOption{dynamotest.WithResultFiles("Document")}
	if delay > 0 {
		opts = append(opts, dynamotest.WithAutoComplete(delay))
	}
	f := &fakeAPI{batches: dynamotest.NewServer(opts...), delay: delay, tasks: make(map[string]*fakeTask), transport: &http.Transport{}}
	f.TenantID, f.APIKey = f.batches.TenantID, f.batches.APIKey
	target, _ := url.Parse(f.batches.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = f.transport
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/task", f.authorized(f.postTask))
	mux.HandleFunc("GET /v1/task/{id}", f.authorized(f.getTask))
	mux.HandleFunc("GET /taskfiles/{id}/{result}", f.download)
	mux.Handle("/", proxy)
	f.http = httptest.NewServer(mux)
	f.URL = f.http.URL
	return f
}

// Close shuts both fakes down.
func (f *fakeAPI) Close() {
	f.http.Close()
	f.transport.CloseIdleConnections()
	f.batches.Close()
}

// completeTask completes a task without errors, with the given results.
func (f *fakeAPI) completeTask(id string, results ...dynamotest.ResultFile) {
	f.drive(id, "", results)
}

// failTask completes a task with errors.
func (f *fakeAPI) failTask(id, message string) { f.drive(id, message, nil) }

func (f *fakeAPI) drive(id, failure string, results []dynamotest.ResultFile) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[id]
	if !ok {
		panic("fakeAPI: unknown task " + id)
	}
	t.done, t.failure, t.endedAt, t.results = true, failure, time.Now(), results
}

// authorized refuses a request without the fake's credentials.
func (f *fakeAPI) authorized(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tenant := r.Header.Get("x-dynamo-tenant-id")
		key := r.Header.Get("x-dynamo-api-key")
		if tenant != f.TenantID || subtle.ConstantTimeCompare([]byte(key), []byte(f.APIKey)) != 1 {
			fakeReply(w, http.StatusUnauthorized, map[string]any{"message": "unknown tenant or API key"})
			return
		}
		h(w, r)
	}
}

// postedTask is a task as it was posted.
type postedTask struct {
	Template     string          // the reference of a JSON post
	TemplateFile string          // the template part's file name of a multipart post
	Params       map[string]any  // with the param parts' values
	Integration  *map[string]any // nil when standalone
}

// task returns a task as it was posted.
func (f *fakeAPI) task(id string) (postedTask, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[id]
	if !ok {
		return postedTask{}, false
	}
	return t.posted, true
}

func (f *fakeAPI) postTask(w http.ResponseWriter, r *http.Request) {
	posted, err := readTaskPost(r)
	if err != nil {
		fakeReply(w, http.StatusBadRequest, map[string]any{"message": err.Error()})
		return
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	id := "t-" + hex.EncodeToString(raw[:])
	f.mu.Lock()
	f.tasks[id] = &fakeTask{posted: posted, postedAt: time.Now()}
	f.calls++
	usage := map[string]any{
		"api":     map[string]int{"term": f.calls, "termMax": 10000},
		"signing": map[string]int{"term": 0, "termMax": 100},
	}
	f.mu.Unlock()
	if f.onPost != nil {
		f.onPost(id)
	}
	fakeReply(w, http.StatusAccepted, map[string]any{"taskID": id, "message": "Success", "usage": usage})
}

func (f *fakeAPI) getTask(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[id]
	if !ok {
		fakeReply(w, http.StatusNotFound, map[string]any{"message": "no such task"})
		return
	}
	if !t.done && f.delay > 0 && time.Since(t.postedAt) >= f.delay {
		t.done, t.endedAt = true, t.postedAt.Add(f.delay)
		t.results = []dynamotest.ResultFile{{ID: "Document", Content: []byte("result Document of task " + id)}}
	}
	st := map[string]any{
		"startDateTime": t.postedAt.UTC().Format(time.RFC3339Nano), "endDateTime": nil,
		"completed": t.done, "errors": t.failure != "",
		"statusMessage": "Queued", "statusDescription": "Waiting to run",
		"results": []string{}, "resultList": []map[string]string{}, "log": []string{},
	}
	switch {
	case t.failure != "":
		st["statusMessage"], st["statusDescription"] = t.failure, "Failed"
		st["log"] = []string{"SEVERE " + t.failure}
	case t.done:
		st["statusMessage"], st["statusDescription"] = "Ready", "Ready"
	}
	if t.done {
		st["endDateTime"] = t.endedAt.UTC().Format(time.RFC3339Nano)
		ids, list := []string{}, []map[string]string{}
		for _, res := range t.results {
			ids = append(ids, res.ID)
			list = append(list, map[string]string{"id": res.ID, "url": f.URL + "/taskfiles/" + url.PathEscape(id) + "/" + url.PathEscape(res.ID)})
		}
		st["results"], st["resultList"] = ids, list
	}
	fakeReply(w, http.StatusOK, st)
}

// download serves a task's result file, without credentials, as a storage
// host does.
func (f *fakeAPI) download(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.tasks[r.PathValue("id")]; ok && t.done {
		for _, res := range t.results {
			if res.ID == r.PathValue("result") {
				w.Header().Set("Content-Type", "application/octet-stream")
				_, _ = w.Write(res.Content)
				return
			}
		}
	}
	http.NotFound(w, r)
}

func fakeReply(w http.ResponseWriter, status int, body any) {
	data, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// readTaskPost checks a task post against the documented wire form: a JSON
// body, or a multipart body of a template file, a data part and param.<name>
// parts.
func readTaskPost(r *http.Request) (postedTask, error) {
	mediaType, mp, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return postedTask{}, errors.New("no valid Content-Type")
	}
	body := http.MaxBytesReader(nil, r.Body, 64<<20)
	switch mediaType {
	case "application/json":
		data, err := io.ReadAll(body)
		if err != nil {
			return postedTask{}, err
		}
		return readTaskJSON(data, true, nil)
	case "multipart/form-data":
		return readTaskMultipart(multipart.NewReader(body, mp["boundary"]))
	}
	return postedTask{}, fmt.Errorf("unsupported Content-Type %s", mediaType)
}

func readTaskMultipart(mr *multipart.Reader) (postedTask, error) {
	var data []byte
	var file string
	parts := make(map[string]any)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return postedTask{}, fmt.Errorf("multipart body: %v", err)
		}
		content, err := io.ReadAll(p)
		if err != nil {
			return postedTask{}, fmt.Errorf("multipart body: %v", err)
		}
		switch name := p.FormName(); {
		case name == "template":
			if file = p.FileName(); file == "" {
				return postedTask{}, errors.New("the template part has no file name")
			}
		case name == "data":
			data = content
		case strings.HasPrefix(name, "param."):
			var v any
			if json.Unmarshal(content, &v) != nil || !strings.HasPrefix(p.Header.Get("Content-Type"), "application/json") {
				return postedTask{}, fmt.Errorf("part %s is not JSON", name)
			}
			parts[strings.TrimPrefix(name, "param.")] = v
		default:
			return postedTask{}, fmt.Errorf("unexpected part %q", name)
		}
	}
	if file == "" || data == nil {
		return postedTask{}, errors.New("a multipart task needs a template part and a data part")
	}
	task, err := readTaskJSON(data, false, parts)
	task.TemplateFile = file
	return task, err
}

// readTaskJSON reads a task's JSON: the whole body of a post by reference
// (withTemplate), or the data part of a multipart post, whose param parts
// are in parts.
func readTaskJSON(data []byte, withTemplate bool, parts map[string]any) (postedTask, error) {
	var task struct {
		Template    *string         `json:"template"`
		Params      map[string]any  `json:"params"`
		Integration *map[string]any `json:"integration"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&task); err != nil {
		return postedTask{}, fmt.Errorf("task JSON: %v", err)
	}
	switch {
	case withTemplate && (task.Template == nil || *task.Template == ""):
		return postedTask{}, errors.New("template is required")
	case !withTemplate && task.Template != nil:
		return postedTask{}, errors.New("a multipart task carries its template as a part, not in data")
	}
	posted := postedTask{Params: task.Params, Integration: task.Integration}
	if task.Template != nil {
		posted.Template = *task.Template
	}
	for name, v := range parts {
		if _, clash := posted.Params[name]; clash {
			return postedTask{}, fmt.Errorf("part param.%s and params.%s clash", name, name)
		}
		if posted.Params == nil {
			posted.Params = make(map[string]any)
		}
		posted.Params[name] = v
	}
	return posted, checkIntegration(task.Integration, posted.Params)
}

// checkIntegration checks a Salesforce integration, which needs the record's
// id among the params.
func checkIntegration(in *map[string]any, params map[string]any) error {
	if in == nil {
		return nil
	}
	for _, k := range []string{"sessionID", "serverURL"} {
		if s, _ := (*in)[k].(string); s == "" {
			return fmt.Errorf("integration.%s is required", k)
		}
	}
	if (*in)["type"] != "Salesforce" {
		return errors.New(`integration.type must be "Salesforce"`)
	}
	if id, _ := params["id"].(string); id == "" {
		return errors.New("params.id is required with the Salesforce integration")
	}
	return nil
}
