package dynamotest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
)

// WithListeners makes the server accept the API host's connections on api and the
// storage host's on storage, instead of on loopback ports of its own; a nil listener
// keeps the default for its host. The server's URL and StorageURL are then the
// listeners' addresses (a loopback one for a listener on every interface), and
// Close closes them. A program that runs the fake as a
// server of its own, such as "dynamo fake", listens on the address it was given.
func WithListeners(api, storage net.Listener) ServerOption {
	return func(c *serverConfig) {
		c.apiListener = api
		c.storageListener = storage
	}
}

// startServer serves h on l, or on a loopback port of its own when l is nil. The
// URL of a listener on every interface (0.0.0.0 or ::) names the IPv4 loopback
// host, which reaches it: "http://[::]:port" is no address to connect to, and the
// SDK sends credentials over plain HTTP only to a loopback host.
func startServer(l net.Listener, h http.Handler) *httptest.Server {
	if l == nil {
		return httptest.NewServer(h)
	}
	srv := httptest.NewUnstartedServer(h)
	_ = srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	if a, ok := l.Addr().(*net.TCPAddr); ok && a.IP.IsUnspecified() {
		srv.URL = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port))
	}
	return srv
}
