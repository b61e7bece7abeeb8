package dynamotest

import (
	"encoding/json"
	"net/http"
	"time"
)

// postTask handles POST /v1/task in both forms.
func (s *Server) postTask(x *exchange, r *http.Request) *reply {
	form, rep := postForm(r)
	if rep != nil {
		return rep
	}
	if form == formMultipart {
		return s.postTaskMultipart(x, r)
	}
	top, rep := readJSONBody(x, r)
	if rep != nil {
		return rep
	}
	var p problems
	checkTaskFields(top, "", &p, "template")
	template := checkTemplateRef(top, &p)
	integration := checkIntegration(top, &p)
	params := checkTaskParams(top, nil, &p)
	if len(p) > 0 {
		return p.reply()
	}
	return s.acceptTask(&singleState{template: template, integration: integration, params: params})
}

// postTaskMultipart handles the multipart form of a task: embedded template and
// extra JSON parts, each of which becomes the param its name gives.
func (s *Server) postTaskMultipart(x *exchange, r *http.Request) *reply {
	f, top, p, rep := readFormData(x, r)
	if rep != nil {
		return rep
	}
	checkTaskFields(top, "the data part", &p, "template")
	integration := checkIntegration(top, &p)
	params := checkTaskParams(top, f.parts, &p)
	if len(p) > 0 {
		return p.reply()
	}
	return s.acceptTask(&singleState{embedded: f.template, integration: integration, params: params, parts: f.parts})
}

// checkTaskFields names the keys a task post does not have, besides those in also,
// which the caller judges; where is "" for a JSON body.
func checkTaskFields(top map[string]json.RawMessage, where string, p *problems, also ...string) {
	if _, ok := top["partParams"]; ok {
		p.add("partParams is not part of the Task API: a part %q<name> becomes the param <name> by itself", paramPrefix)
	}
	known := append([]string{"params", "integration", "partParams"}, also...)
	checkFields(top, where, p, known...)
}

// checkTaskParams checks a task's params and returns them with the param parts merged
// in. With an integration, params.id names the Salesforce record and is required;
// standalone, id is a param like any other. A part may neither replace a key of
// params nor set the record ID.
func checkTaskParams(top map[string]json.RawMessage, parts map[string]json.RawMessage, p *problems) map[string]any {
	_, withIntegration := top["integration"]
	params := map[string]any{}
	if raw, ok := top["params"]; !ok {
		if withIntegration {
			p.add("params is required with an integration: params.id names the Salesforce record")
		}
	} else if err := json.Unmarshal(raw, &params); err != nil || params == nil {
		p.add("params must be an object")
		params = map[string]any{}
	} else if withIntegration {
		id, present := params["id"]
		str, isString := id.(string)
		switch {
		case !present:
			p.add("params.id is required with an integration: it names the Salesforce record")
		case !isString:
			p.add("params.id must be a string")
		case str == "":
			p.add("params.id is required (it is empty)")
		}
	}
	for _, name := range sortedKeys(parts) {
		part := paramPrefix + name
		if name == "id" {
			p.add("part %q must not set the record ID: send it as params.id", part)
			continue
		}
		if _, clash := params[name]; clash {
			p.add("part %q has the name of params.%s: a part must not replace a key of params", part, name)
			continue
		}
		var v any
		if json.Unmarshal(parts[name], &v) == nil {
			params[name] = v
		}
	}
	return params
}

type acceptedTaskBody struct {
	TaskID  string    `json:"taskID"`
	Message string    `json:"message"`
	Usage   usageBody `json:"usage"`
}

type usageBody struct {
	API     usageCount `json:"api"`
	Signing usageCount `json:"signing"`
}

type usageCount struct {
	Term    int `json:"term"`
	TermMax int `json:"termMax"`
}

// acceptTask stores a valid task, counts it, tells the accept callbacks, and
// answers 202.
func (s *Server) acceptTask(t *singleState) *reply {
	if rep := s.admitSingle(t); rep != nil {
		return rep
	}
	t.id = newTaskID()
	s.mu.Lock()
	t.postedAt = s.cfg.now()
	s.singles = append(s.singles, t)
	s.singleIndex[t.id] = t
	s.apiTerm++
	term := s.apiTerm
	s.mu.Unlock()
	s.notify(func(now time.Time) Accepted {
		s.settleSingle(t, now)
		snap := t.snapshot()
		return Accepted{Task: &snap}
	})
	return jsonReply(http.StatusAccepted, acceptedTaskBody{
		TaskID:  t.id,
		Message: "Success",
		Usage: usageBody{
			API:     usageCount{Term: term, TermMax: s.cfg.apiTermMax},
			Signing: usageCount{Term: 0, TermMax: s.cfg.signingTermMax},
		},
	})
}
