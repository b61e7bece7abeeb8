package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// tuning is a set of transport settings to try against the defaults (flag
// -tune). The client's are what a program using the SDK could set itself;
// the sink's stand for settings of the API's servers, which are not ours,
// and show how much of a difference between protocols they explain.
type tuning struct {
	// The client's.
	writeBuffer    int  // http.Transport.WriteBufferSize
	readSize       int  // the largest Read the body is asked for
	expectContinue bool // send Expect: 100-continue, so the body waits for the server's go-ahead

	// The sink's, for HTTP/2 (they need Go 1.24's http.Server.HTTP2).
	streamWindow int // MaxReceiveBufferPerStream: the stream window the client may fill
	connWindow   int // MaxReceiveBufferPerConnection: the same for the connection
	frameSize    int // MaxReadFrameSize: the largest DATA frame the client may send
}

// tuningKeys are the settings -tune takes with a size.
var tuningKeys = []string{"write-buffer", "read-size", "h2-stream-window", "h2-conn-window", "h2-frame-size"}

// expectContinueKey is the one setting -tune takes without a value.
const expectContinueKey = "expect-continue"

func (tu *tuning) field(key string) *int {
	switch key {
	case "write-buffer":
		return &tu.writeBuffer
	case "read-size":
		return &tu.readSize
	case "h2-stream-window":
		return &tu.streamWindow
	case "h2-conn-window":
		return &tu.connWindow
	case "h2-frame-size":
		return &tu.frameSize
	}
	return nil
}

func (tu *tuning) isZero() bool { return *tu == tuning{} }

// String is the setting as -tune takes it, so that the benchmark can hand
// it to its children.
func (tu *tuning) String() string {
	if tu == nil {
		return ""
	}
	var kv []string
	if tu.expectContinue {
		kv = append(kv, expectContinueKey)
	}
	for _, k := range tuningKeys {
		if v := *tu.field(k); v != 0 {
			kv = append(kv, k+"="+exactSize(int64(v)))
		}
	}
	return strings.Join(kv, ",")
}

// Set parses key=size pairs (and expect-continue) separated by commas.
func (tu *tuning) Set(s string) error {
	var t tuning
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if f == expectContinueKey {
			t.expectContinue = true
			continue
		}
		k, v, ok := strings.Cut(f, "=")
		dst := t.field(strings.TrimSpace(k))
		if !ok || dst == nil {
			return fmt.Errorf("tuning %q: want %s or key=size, the keys being %s", f, expectContinueKey, strings.Join(tuningKeys, ", "))
		}
		n, err := parseSize(v)
		if err != nil {
			return err
		}
		if n <= 0 || n > 1<<30 {
			return fmt.Errorf("tuning %q: the size must be from 1 B to 1 GiB", f)
		}
		*dst = int(n)
	}
	*tu = t
	return nil
}

// sinkSide reports whether tu changes the sink.
func (tu *tuning) sinkSide() bool {
	return tu.streamWindow != 0 || tu.connWindow != 0 || tu.frameSize != 0
}

// affects reports whether tu changes anything for protocol p.
func (tu *tuning) affects(p proto) bool {
	return tu.writeBuffer != 0 || tu.readSize != 0 || tu.expectContinue || (p == protoH2 && tu.sinkSide())
}

// applyClient sets the client's settings on t.
func (tu *tuning) applyClient(t *http.Transport) {
	if tu.writeBuffer > 0 {
		t.WriteBufferSize = tu.writeBuffer
	}
}

// wrap applies the settings that act on the request rather than on the
// transport: both clients' requests go through it alike.
func (tu *tuning) wrap(rt http.RoundTripper) http.RoundTripper {
	if tu.readSize <= 0 && !tu.expectContinue {
		return rt
	}
	return &tunedRequests{next: rt, tu: tu}
}

// tunedRequests is a RoundTripper that sends each request with a body with
// Expect: 100-continue, or passes each Read call on its body on in pieces
// of at most readSize bytes, as a body that produced less than it is asked
// for would.
type tunedRequests struct {
	next http.RoundTripper
	tu   *tuning
}

func (t *tunedRequests) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return t.next.RoundTrip(req)
	}
	r := req.Clone(req.Context()) // a RoundTripper must not change the request
	if t.tu.expectContinue {
		r.Header.Set("Expect", "100-continue")
	}
	if t.tu.readSize > 0 {
		r.Body = &cappedBody{rc: req.Body, n: t.tu.readSize}
	}
	return t.next.RoundTrip(r)
}

type cappedBody struct {
	rc io.ReadCloser
	n  int
}

func (b *cappedBody) Read(p []byte) (int, error) { return b.rc.Read(p[:min(len(p), b.n)]) }
func (b *cappedBody) Close() error               { return b.rc.Close() }

// sinkKeys lists the sink's settings in tu, for an error message.
func (tu *tuning) sinkKeys() string {
	var ks []string
	for _, k := range tuningKeys {
		if strings.HasPrefix(k, "h2-") && *tu.field(k) != 0 {
			ks = append(ks, k)
		}
	}
	return strings.Join(ks, ", ")
}
