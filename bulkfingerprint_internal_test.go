package dynamo

import "testing"

func TestChunkFingerprintTellsChunksApart(t *testing.T) {
	t.Parallel()
	f := newChunkFingerprint()
	base := func() []Task {
		return []Task{
			{Params: Params{"id": "a01", "n": 1, "f": 1.5, "ok": true, "none": nil, "list": []any{"x", 2}}},
			{Params: Params{"id": "a02"}, PartParams: []PartParam{{PartName: "p", ParamName: "q"}}},
		}
	}
	want := f.of(base())
	for range 20 { // a map's order differs from one walk to the next
		if got := f.of(base()); got != want {
			t.Fatalf("the same tasks give %x, then %x", want, got)
		}
	}
	for name, edit := range map[string]func([]Task) []Task{
		"a string":          func(ts []Task) []Task { ts[0].Params["id"] = "a03"; return ts },
		"a number":          func(ts []Task) []Task { ts[0].Params["n"] = 2; return ts },
		"a number's kind":   func(ts []Task) []Task { ts[0].Params["n"] = "1"; return ts },
		"a float":           func(ts []Task) []Task { ts[0].Params["f"] = 1.25; return ts },
		"a bool":            func(ts []Task) []Task { ts[0].Params["ok"] = false; return ts },
		"a nested value":    func(ts []Task) []Task { ts[0].Params["list"] = []any{"x", 3}; return ts },
		"a key":             func(ts []Task) []Task { ts[0].Params["m"] = ts[0].Params["n"]; delete(ts[0].Params, "n"); return ts },
		"values swapped":    func(ts []Task) []Task { ts[0].Params["id"], ts[1].Params["id"] = "a02", "a01"; return ts },
		"a param added":     func(ts []Task) []Task { ts[1].Params["x"] = ""; return ts },
		"a part param":      func(ts []Task) []Task { ts[1].PartParams[0].ParamName = "r"; return ts },
		"the order":         func(ts []Task) []Task { ts[0], ts[1] = ts[1], ts[0]; return ts },
		"a task fewer":      func(ts []Task) []Task { return ts[:1] },
		"a nil for a key":   func(ts []Task) []Task { ts[0].Params["none"] = ""; return ts },
		"a part param more": func(ts []Task) []Task { ts[0].PartParams = []PartParam{{}}; return ts },
	} {
		if f.of(edit(base())) == want {
			t.Errorf("%s changed: the fingerprint did not", name)
		}
	}
}
