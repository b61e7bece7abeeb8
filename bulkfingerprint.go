package dynamo

import (
	"encoding/binary"
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
	var chunk, pair maphash.Hash
	chunk.SetSeed(f.seed)
	pair.SetSeed(f.seed)
	var buf [8]byte
	for _, t := range tasks {
		// The params in any order: their map has none.
		var params uint64
		for k, v := range t.Params {
			pair.Reset()
			writeString(&pair, k)
			writeValue(&pair, v)
			params += pair.Sum64()
		}
		chunk.Write(binary.LittleEndian.AppendUint64(buf[:0], params))
		chunk.Write(binary.LittleEndian.AppendUint64(buf[:0], uint64(len(t.Params))))
		chunk.Write(binary.LittleEndian.AppendUint64(buf[:0], uint64(len(t.PartParams))))
		for _, pp := range t.PartParams {
			writeString(&chunk, pp.PartName)
			writeString(&chunk, pp.ParamName)
		}
	}
	return chunk.Sum64()
}

// The kinds of value writeValue tells apart.
const (
	kindNil byte = iota
	kindString
	kindBool
	kindInt
	kindUint
	kindFloat
	kindJSON
)

func writeString(h *maphash.Hash, s string) {
	var buf [8]byte
	h.Write(binary.LittleEndian.AppendUint64(buf[:0], uint64(len(s))))
	h.WriteString(s)
}

// writeValue writes v, a param's value, with its kind: the common kinds as
// they are, any other as its JSON (planJob found every value encodable).
func writeValue(h *maphash.Hash, v any) {
	var buf [9]byte
	word := func(kind byte, x uint64) { h.Write(binary.LittleEndian.AppendUint64(append(buf[:0], kind), x)) }
	switch v := v.(type) {
	case nil:
		h.WriteByte(kindNil)
	case string:
		h.WriteByte(kindString)
		writeString(h, v)
	case bool:
		if v {
			word(kindBool, 1)
		} else {
			word(kindBool, 0)
		}
	case int:
		word(kindInt, uint64(v))
	case int64:
		word(kindInt, uint64(v))
	case int32:
		word(kindInt, uint64(v))
	case uint64:
		word(kindUint, v)
	case float64:
		word(kindFloat, math.Float64bits(v))
	default:
		data, _ := json.Marshal(v)
		h.WriteByte(kindJSON)
		h.Write(data)
	}
}
