package dynamo

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
)

// Validation checks the shape of a request without encoding it. Whether its
// values encode as JSON is found by encoding them once, as the request body;
// only when that fails does encodingProblems look at every value to name
// each one that cannot be encoded.

// form is how a batch or task is posted.
type form int

const (
	formAny       form = iota // as the request's Template implies
	formReference             // JSON body, template by reference
	formEmbedded              // multipart body, template embedded
)

// resolve turns formAny into the form that template implies.
func (f form) resolve(template string) form {
	if f != formAny {
		return f
	}
	if template != "" {
		return formReference
	}
	return formEmbedded
}

func validateTemplateRef(f form, template string, embeddedCall string, p *problems) {
	switch {
	case f == formReference && template == "":
		p.add("template", "is required when the template is not embedded")
	case f == formEmbedded && template != "":
		p.add("template", "must be empty when the template is embedded ("+embeddedCall+")")
	}
}

var partNamePattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// validateParts checks the extra parts' names and streams and returns the
// set of valid names.
func validateParts(parts []Part, f form, embeddedCall string, p *problems) map[string]bool {
	if f == formReference {
		if len(parts) > 0 {
			p.add("parts", "extra parts need an embedded template ("+embeddedCall+")")
		}
		return nil
	}
	names := make(map[string]bool, len(parts))
	for i, part := range parts {
		field := fmt.Sprintf("parts[%d]", i)
		switch {
		case !partNamePattern.MatchString(part.Name):
			p.add(field+".name", fmt.Sprintf("%q must match [A-Za-z0-9._-]+", part.Name))
		case names[part.Name]:
			p.add(field+".name", fmt.Sprintf("%q is used by an earlier part", part.Name))
		default:
			names[part.Name] = true
		}
		if s, ok := part.Value.(*JSONStream); ok {
			switch {
			case s == nil:
				p.add(field+".value", "is a nil *JSONStream")
			case s.open == nil:
				p.add(field+".value", "is a JSONStream without a source (use JSONStreamFromFile or JSONStreamFromOpener)")
			case s.size < -1:
				p.add(field+".value", fmt.Sprintf("JSONStream of invalid size %d", s.size))
			}
		}
	}
	return names
}

// validateID checks params["id"]: required when required is set, and a
// non-empty string whenever it is present.
func validateID(field string, params Params, required bool, p *problems) {
	id, ok := params["id"]
	switch {
	case !ok:
		if required {
			p.add(field+".id", "is required")
		}
	case id == "":
		p.add(field+".id", "must not be empty")
	default:
		if _, isString := id.(string); !isString {
			p.add(field+".id", fmt.Sprintf("must be a string, not %T", id))
		}
	}
}

// encodingProblems names every value of params that cannot be encoded as
// JSON, in key order.
func paramsEncodingProblems(field string, params Params, p *problems) {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		encodingProblem(field+"."+k, params[k], p)
	}
}

// partsEncodingProblems names every part value that cannot be encoded.
func partsEncodingProblems(parts []Part, p *problems) {
	for i, part := range parts {
		if _, ok := part.Value.(*JSONStream); !ok {
			encodingProblem(fmt.Sprintf("parts[%d].value", i), part.Value, p)
		}
	}
}

// paramsEncodable reports whether every value of params encodes as JSON,
// encoding only those of a kind that might not.
func paramsEncodable(params Params) bool {
	for _, v := range params {
		switch v := v.(type) {
		case nil, string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
			continue
		case float64:
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				continue
			}
		case float32:
			if f := float64(v); !math.IsNaN(f) && !math.IsInf(f, 0) {
				continue
			}
		}
		if _, err := json.Marshal(v); err != nil {
			return false
		}
	}
	return true
}

func encodingProblem(field string, v any, p *problems) {
	if _, err := json.Marshal(v); err != nil {
		p.add(field, "cannot be encoded as JSON: "+err.Error())
	}
}

// refuse returns the *ValidationError of an invalid request, p, completed
// with every value that cannot be encoded; nil when p is empty.
func refuse(p problems, encodingProblems func(*problems)) error {
	if len(p) == 0 {
		return nil
	}
	encodingProblems(&p)
	return p.err()
}
