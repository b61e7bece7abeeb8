package dynamotest

import (
	"net"
	"net/http"
	"net/http/httptest"
)

// WithListeners makes the server accept the API host's connections on api and the
// storage host's on storage, instead of on loopback ports of its own; a nil listener
// keeps the default for its host. The server's URL and StorageURL are then the
// listeners' addresses, and Close closes them. A program that runs the fake as a
// server of its own, such as "dynamo fake", listens on the address it was given.
func WithListeners(api, storage net.Listener) ServerOption {
	return func(c *serverConfig) {
		c.apiListener = api
		c.storageListener = storage
	}
}

// startServer serves h on l, or on a loopback port of its own when l is nil.
func startServer(l net.Listener, h http.Handler) *httptest.Server {
	if l == nil {
		return httptest.NewServer(h)
	}
	srv := httptest.NewUnstartedServer(h)
	_ = srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	return srv
}
