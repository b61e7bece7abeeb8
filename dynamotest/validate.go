package dynamotest

import (
	"encoding/json"
	"fmt"
)

// checkIntegration checks the optional integration object and returns it decoded.
func checkIntegration(top map[string]json.RawMessage, p *problems) map[string]any {
	raw, ok := top["integration"]
	if !ok {
		return nil
	}
	obj, ok := decodeObject(raw)
	if !ok {
		p.add("integration must be an object (leave it out when Salesforce is not used)")
		return nil
	}
	for _, k := range sortedKeys(obj) {
		switch k {
		case "type", "sessionID", "serverURL":
		default:
			p.add("integration.%s is not a known field", k)
		}
	}
	if typ, _ := nonEmptyString(obj["type"]); typ != "Salesforce" {
		p.add(`integration.type must be "Salesforce"`)
	}
	// Values are never echoed: sessionID is a live session.
	if _, ok := nonEmptyString(obj["sessionID"]); !ok {
		p.add("integration.sessionID is required (a non-empty string)")
	}
	if _, ok := nonEmptyString(obj["serverURL"]); !ok {
		p.add("integration.serverURL is required (a non-empty string)")
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

// checkTasks checks the tasks array and returns the tasks, their params as posted.
// parts holds the attached param parts of a multipart post, nil for a JSON post.
func checkTasks(top map[string]json.RawMessage, parts map[string]json.RawMessage, multipart bool, p *problems) []*taskState {
	raw, ok := top["tasks"]
	if !ok {
		p.add("tasks is required")
		return nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		p.add("tasks must be an array")
		return nil
	}
	switch {
	case len(list) == 0:
		p.add("tasks must hold at least 1 task")
		return nil
	case len(list) > maxTasks:
		p.add("tasks holds %d tasks; a batch holds at most %d", len(list), maxTasks)
		return nil
	}
	tasks := make([]*taskState, 0, len(list))
	for i, rawTask := range list {
		field := fmt.Sprintf("tasks[%d]", i)
		obj, ok := decodeObject(rawTask)
		if !ok {
			p.add("%s must be an object", field)
			continue
		}
		for _, k := range sortedKeys(obj) {
			switch k {
			case "params", "partParams":
			default:
				p.add("%s.%s is not a known field", field, k)
			}
		}
		t := &taskState{}
		if rawParams, ok := obj["params"]; !ok {
			p.add("%s.params is required", field)
		} else {
			var params map[string]any
			if err := json.Unmarshal(rawParams, &params); err != nil || params == nil {
				p.add("%s.params must be an object", field)
			} else {
				id, present := params["id"]
				str, isString := id.(string)
				switch {
				case !present:
					p.add("%s.params.id is required", field)
				case !isString:
					p.add("%s.params.id must be a string", field)
				case str == "":
					p.add("%s.params.id is required (it is empty)", field)
				}
				t.params = rawParams
			}
		}
		if rawPP, ok := obj["partParams"]; ok {
			if multipart {
				t.partParams = checkPartParams(field, rawPP, parts, p)
			} else {
				p.add("%s.partParams is not allowed in a JSON post: part params need an embedded template (multipart)", field)
			}
		}
		tasks = append(tasks, t)
	}
	return tasks
}

// checkPartParams checks a task's partParams and returns its valid entries.
func checkPartParams(field string, raw json.RawMessage, parts map[string]json.RawMessage, p *problems) []PartParam {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		p.add("%s.partParams must be an array", field)
		return nil
	}
	var out []PartParam
	for j, rawEntry := range list {
		f := fmt.Sprintf("%s.partParams[%d]", field, j)
		obj, ok := decodeObject(rawEntry)
		if !ok {
			p.add("%s must be an object", f)
			continue
		}
		for _, k := range sortedKeys(obj) {
			switch k {
			case "partName", "paramName":
			default:
				p.add("%s.%s is not a known field", f, k)
			}
		}
		partName, okPart := nonEmptyString(obj["partName"])
		paramName, okParam := nonEmptyString(obj["paramName"])
		if !okPart {
			p.add("%s.partName is required (a non-empty string)", f)
		}
		if !okParam {
			p.add("%s.paramName is required (a non-empty string)", f)
		}
		if okPart {
			if _, attached := parts[partName]; !attached {
				p.add("%s.partName %q names no attached part (expected a part named %q)", f, partName, paramPrefix+partName)
				okPart = false
			}
		}
		if okParam && paramName == "id" {
			p.add("%s.paramName must not be \"id\": the part would replace the task's record ID", f)
			okParam = false
		}
		if okPart && okParam {
			out = append(out, PartParam{PartName: partName, ParamName: paramName})
		}
	}
	return out
}
