package dynamotest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// randomHex returns n random bytes as 2n lowercase hex digits. The SDK and the
// benchmarks have helpers like it; the fake keeps its own on purpose, as it keeps
// everything it needs to judge the wire apart from the code it judges.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("dynamotest: reading random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}

// newUUID returns a random (version 4) UUID in its canonical text form.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("dynamotest: reading random bytes: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
