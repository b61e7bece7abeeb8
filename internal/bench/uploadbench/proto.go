package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// proto is how the clients reach the sink.
type proto string

const (
	// protoHTTP is HTTP/1.1 over plain TCP. net/http may then hand a raw
	// file to sendfile, but not a multipart body, so it flatters a
	// file-only upload; no real call is made this way.
	protoHTTP proto = "http"
	// protoH1TLS is HTTP/1.1 over TLS, every byte encrypted by crypto/tls
	// in the client's own process.
	protoH1TLS proto = "h1tls"
	// protoH2 is HTTP/2 over TLS, negotiated with ALPN as the real API
	// does with a client that offers it (net/http does by default).
	protoH2 proto = "h2"
)

var protos = []proto{protoHTTP, protoH1TLS, protoH2}

func parseProto(s string) (proto, error) {
	p := proto(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(protos, p) {
		return "", fmt.Errorf("protocol %q: want http, h1tls or h2", s)
	}
	return p, nil
}

func (p proto) isTLS() bool { return p != protoHTTP }

// wire is the protocol the sink must see a request arrive on.
func (p proto) wire() string {
	if p == protoH2 {
		return "HTTP/2.0"
	}
	return "HTTP/1.1"
}

func (p proto) scheme() string {
	if p.isTLS() {
		return "https"
	}
	return "http"
}

// protoList is a flag.Value: protocols separated by commas, each once.
type protoList []proto

func (l *protoList) String() string {
	if l == nil {
		return ""
	}
	s := make([]string, len(*l))
	for i, p := range *l {
		s[i] = string(p)
	}
	return strings.Join(s, ",")
}

func (l *protoList) Set(v string) error {
	var ps protoList
	for _, f := range strings.Split(v, ",") {
		p, err := parseProto(f)
		if err != nil {
			return err
		}
		if slices.Contains(ps, p) {
			return fmt.Errorf("protocol %q given twice", p)
		}
		ps = append(ps, p)
	}
	*l = ps
	return nil
}

// variant is one way of reaching the sink in a run: a protocol, and whether
// the settings of -tune apply. A tuned variant is measured beside the
// untuned one of the same protocol, so that its effect is a ratio within a
// run rather than a difference between runs on a noisy machine.
type variant struct {
	proto proto
	tuned bool
}

// String names the variant, and the sink's listener for it: the protocol,
// with a star when tuned.
func (v variant) String() string {
	if v.tuned {
		return string(v.proto) + "*"
	}
	return string(v.proto)
}

// variants lists the ways the clients reach the sink in a run: each
// protocol of -proto, followed by its tuned variant when -tune changes it.
func (o *options) variants() []variant {
	var vs []variant
	for _, p := range o.protos {
		vs = append(vs, variant{proto: p})
		if o.tune.affects(p) {
			vs = append(vs, variant{proto: p, tuned: true})
		}
	}
	return vs
}

// newTransport returns the transport of a client trial. Both clients get
// the same one, so that they differ only in how they make and send the
// body. It starts from http.DefaultTransport, which is what the baseline
// would use and what the SDK clones when given no client.
func newTransport(p proto, roots *x509.CertPool, tu *tuning) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	switch p {
	case protoH1TLS:
		t.TLSClientConfig = &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}}
		// A non-nil TLSNextProto keeps net/http from offering h2.
		t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		t.ForceAttemptHTTP2 = false
	case protoH2:
		t.TLSClientConfig = &tls.Config{RootCAs: roots}
		// Without it a custom TLSClientConfig turns HTTP/2 off.
		t.ForceAttemptHTTP2 = true
	}
	tu.applyClient(t)
	return t
}

// newSinkServer returns the server of the sink's listener for v. For TLS it
// presents cert. The h2 listener offers HTTP/1.1 as well, as real servers do;
// a client that fell back to it is caught by the sink's protocol check.
func newSinkServer(v variant, h http.Handler, cert tls.Certificate, tu *tuning) (*http.Server, error) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout}
	if v.proto.isTLS() {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	if v.proto == protoH1TLS {
		// A non-nil TLSNextProto keeps net/http from offering h2.
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	if v.tuned {
		if err := tu.applySink(srv); err != nil {
			return nil, err
		}
	}
	return srv, nil
}
