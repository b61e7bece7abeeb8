package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/dynamokit/dynamo"
)

// templateFlags choose the template: by reference or embedded from a file.
type templateFlags struct {
	template string
	dap      string
}

func (t *templateFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&t.template, "template", "", "the template's ID (template by reference)")
	fs.StringVar(&t.dap, "dap", "", "a DAP `file` to embed as the template")
}

// check makes sure exactly one of --template and --dap is given.
func (t *templateFlags) check() error {
	switch {
	case t.template == "" && t.dap == "":
		return usageErrorf("give the template with --template ID or --dap FILE")
	case t.template != "" && t.dap != "":
		return usageErrorf("--template and --dap exclude each other: give one")
	}
	return nil
}

// open returns the embedded template of --dap; the file is streamed, opened
// afresh for each attempt.
func (t *templateFlags) open() (dynamo.Template, error) {
	tmpl, err := dynamo.TemplateFromFile(t.dap)
	if err != nil {
		return dynamo.Template{}, usageErrorf("--dap %s: %s", t.dap, strings.TrimPrefix(err.Error(), "dynamo: template: "))
	}
	return tmpl, nil
}

// PartFlag is one --part name=file.json: an extra JSON part that a task
// receives under the param of the same name.
type PartFlag struct {
	Name string
	File string
}

// extras are the --param and --part flags of a post, read and checked.
type extras struct {
	params map[string]string
	parts  []PartFlag
}

// parseExtras reads and checks the --param and --part flags of a post whose
// template flags are t. With idParam, --param id=... is the task's record
// (the Task API); without, it is refused: a batch's records come from --id
// or the CSV.
func parseExtras(t *templateFlags, params, parts []string, idParam bool) (extras, error) {
	if len(parts) > 0 && t.dap == "" {
		return extras{}, usageErrorf("--part needs an embedded template (--dap FILE): parts cannot go with --template")
	}
	p, err := parseParams(params, idParam)
	if err != nil {
		return extras{}, err
	}
	pf, err := parseParts(parts, p)
	if err != nil {
		return extras{}, err
	}
	return extras{params: p, parts: pf}, nil
}

// parseParams reads --param key=value flags into a map.
func parseParams(flags []string, idParam bool) (map[string]string, error) {
	params := make(map[string]string, len(flags))
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		switch {
		case !ok || k == "":
			return nil, usageErrorf("--param %q: expected key=value", f)
		case strings.EqualFold(k, "id") && !idParam:
			return nil, usageErrorf("--param %s: the id comes from --id or the CSV's id column", k)
		}
		if _, dup := params[k]; dup {
			return nil, usageErrorf("--param %s: given twice", k)
		}
		params[k] = v
	}
	return params, nil
}

// parseParts reads --part name=file flags and checks that each file holds
// one JSON value, reading it as a stream.
func parseParts(flags []string, params map[string]string) ([]PartFlag, error) {
	var parts []PartFlag
	seen := make(map[string]bool)
	for _, f := range flags {
		name, file, ok := strings.Cut(f, "=")
		switch {
		case !ok || name == "" || file == "":
			return nil, usageErrorf("--part %q: expected name=file.json", f)
		case seen[name]:
			return nil, usageErrorf("--part %s: given twice", name)
		case strings.EqualFold(name, "id"):
			return nil, usageErrorf("--part %s: a part cannot replace the task's id", name)
		}
		if _, ok := params[name]; ok {
			return nil, usageErrorf("--part %s: --param %s sets the same param", name, name)
		}
		if err := checkJSONFile(file); err != nil {
			return nil, usageErrorf("--part %s=%s: %v", name, file, err)
		}
		seen[name] = true
		parts = append(parts, PartFlag{Name: name, File: file})
	}
	return parts, nil
}

// checkJSONFile reports whether the file holds exactly one JSON value,
// token by token so that a large file is not loaded whole.
func checkJSONFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return errors.New(openProblem(err))
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	depth, values := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("not valid JSON: %v", err)
		}
		if depth == 0 && values == 1 {
			return fmt.Errorf("not valid JSON: more than one value (at byte %d)", dec.InputOffset())
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			values++
		}
	}
	switch {
	case depth > 0:
		return errors.New("not valid JSON: unexpected end of file")
	case values == 0:
		return errors.New("empty: expected a JSON value")
	}
	return nil
}

// streamParts makes each --part an extra JSON part streamed from its file.
func streamParts(parts []PartFlag) ([]dynamo.Part, error) {
	var out []dynamo.Part
	for _, p := range parts {
		s, err := dynamo.JSONStreamFromFile(p.File)
		if err != nil {
			return nil, usageErrorf("--part %s=%s: %s", p.Name, p.File, strings.TrimPrefix(err.Error(), "dynamo: JSON part: "))
		}
		out = append(out, dynamo.Part{Name: p.Name, Value: s})
	}
	return out, nil
}
