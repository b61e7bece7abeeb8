package dynamo

import (
	"encoding/json"
	"hash/maphash"
	"math"
)

// chunkFingerprint tells whether a source gave a chunk the same tasks on
// its second read as on its first, without encoding them: a 64-bit hash,
// keyed by a seed drawn for the run, of every task's params and part
// params, value for value. It keeps 8 bytes a chunk between the reads.
type chunkFingerprint struct{ seed maphash.Seed }

func newChunkFingerprint() chunkFingerprint { return chunkFingerprint{seed: maphash.MakeSeed()} }

// of returns the fingerprint of tasks.
func (f chunkFingerprint) of(tasks []Task) uint64 {
	h := uint64(len(tasks))
	for _, t := range tasks {
		var params uint64 // the params in any order: their map has none
		for k, v := range t.Params {
			params += mix64(maphash.String(f.seed, k) ^ mix64(f.value(v)))
		}
		h = mix64(h^params) + uint64(len(t.Params))
		for _, pp := range t.PartParams {
			h = mix64(h ^ maphash.String(f.seed, pp.PartName))
			h = mix64(h ^ maphash.String(f.seed, pp.ParamName))
		}
		h = mix64(h + uint64(len(t.PartParams)))
	}
	return h
}

// The kinds of value that value tells apart.
const (
	kindNil uint64 = iota + 1
	kindString
	kindBool
	kindInt
	kindUint
	kindFloat
	kindJSON
)

// value hashes v, a param's value, with its kind: the common kinds as they
// are, any other as its JSON (planJob found every value encodable).
func (f chunkFingerprint) value(v any) uint64 {
	word := func(kind, x uint64) uint64 { return mix64(x) ^ kind<<56 }
	switch v := v.(type) {
	case nil:
		return kindNil << 56
	case string:
		return maphash.String(f.seed, v) ^ kindString<<56
	case bool:
		if v {
			return word(kindBool, 1)
		}
		return word(kindBool, 0)
	case int:
		return word(kindInt, uint64(v))
	case int64:
		return word(kindInt, uint64(v))
	case int32:
		return word(kindInt, uint64(v))
	case uint64:
		return word(kindUint, v)
	case float64:
		return word(kindFloat, math.Float64bits(v))
	}
	data, _ := json.Marshal(v)
	return maphash.Bytes(f.seed, data) ^ kindJSON<<56
}

// mix64 is SplitMix64's finalizer: every bit of x moves about half the bits
// of the result.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
