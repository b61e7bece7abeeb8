package dynamo

import (
	"encoding/json"
	"testing"
)

func TestTaskIDCountCountsWithoutKeeping(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		json string
		want int
		ok   bool
	}{
		{`null`, 0, true},
		{`[]`, 0, true},
		{`["a"]`, 1, true},
		{`[ "a" , "b,\"c\"", "d\\" ,"[e]"]`, 4, true},
		{`["a", 1]`, 0, false},
		{`["a", ["b"]]`, 0, false},
		{`"a"`, 0, false},
		{`{"a":"b"}`, 0, false},
	} {
		var n taskIDCount
		err := json.Unmarshal([]byte(tc.json), &n)
		if (err == nil) != tc.ok || int(n) != tc.want {
			t.Errorf("%s: %d, %v; want %d, ok %v", tc.json, n, err, tc.want, tc.ok)
		}
		if tc.ok {
			var ids []string
			if err := json.Unmarshal([]byte(tc.json), &ids); err != nil || len(ids) != tc.want {
				t.Errorf("%s: encoding/json reads %d IDs (%v)", tc.json, len(ids), err)
			}
		}
	}
}
