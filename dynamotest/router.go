package dynamotest

import (
	"net/http"
	"net/url"
	"strings"
)

// The fake routes by hand rather than with http.ServeMux: a ServeMux answers an
// unclean path such as /v1//batch with a redirect to the cleaned one, and a wrong
// method with 405, both before any handler could check the credentials. A client
// that followed such a redirect would post a batch through a path the API does not
// have. Here every path is taken as sent: an empty segment matches nothing.

// endpoint is one path of a host and the one method it answers there.
type endpoint struct {
	method string
	route  Route
	handle handlerFunc
}

// allows reports whether the endpoint answers method. A GET endpoint answers HEAD
// too, as GET without the body (RFC 9110, section 9.3.2): the same status, headers
// and Content-Length, and the same route, so a HEAD consumes the route's next fault.
func (e endpoint) allows(method string) bool {
	return method == e.method || (e.method == http.MethodGet && method == http.MethodHead)
}

// allow is the endpoint's Allow header for a 405 answer.
func (e endpoint) allow() string {
	if e.method == http.MethodGet {
		return "GET, HEAD"
	}
	return e.method
}

// segments splits r's path into its unescaped segments; ok is false if a segment is
// empty or cannot be unescaped, which no endpoint matches.
func segments(r *http.Request) (segs []string, ok bool) {
	p := r.URL.EscapedPath()
	if !strings.HasPrefix(p, "/") {
		return nil, false
	}
	segs = strings.Split(p[1:], "/")
	for i, seg := range segs {
		u, err := url.PathUnescape(seg)
		if err != nil || u == "" {
			return nil, false
		}
		segs[i] = u
	}
	return segs, true
}

// apiEndpoint finds the endpoint r's path names and sets its path values; ok is
// false when the API has no such path.
func (s *Server) apiEndpoint(r *http.Request) (endpoint, bool) {
	segs, ok := segments(r)
	if !ok || len(segs) < 2 || segs[0] != "v1" {
		return endpoint{}, false
	}
	switch {
	case segs[1] == "batch" && len(segs) == 2:
		return endpoint{http.MethodPost, RoutePostBatch, s.postBatch}, true
	case segs[1] == "batch" && len(segs) == 3:
		r.SetPathValue("batchId", segs[2])
		return endpoint{http.MethodGet, RouteBatchStatus, s.batchStatus}, true
	case segs[1] == "batch" && len(segs) == 4:
		r.SetPathValue("batchId", segs[2])
		r.SetPathValue("taskId", segs[3])
		return endpoint{http.MethodGet, RouteBatchTaskStatus, s.taskStatus}, true
	case segs[1] == "task" && len(segs) == 2:
		return endpoint{http.MethodPost, RoutePostTask, s.postTask}, true
	case segs[1] == "task" && len(segs) == 3:
		r.SetPathValue("taskId", segs[2])
		return endpoint{http.MethodGet, RouteGetTask, s.getTask}, true
	}
	return endpoint{}, false
}

// serveAPI answers a request to the API host. Credentials come first: a request
// without them learns nothing about which paths exist.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	ep, known := s.apiEndpoint(r)
	var route Route
	if known && ep.allows(r.Method) {
		route = ep.route
	}
	s.serve(w, r, route, func(x *exchange, r *http.Request) *reply {
		if rep := s.authError(r); rep != nil {
			return rep
		}
		switch {
		case !known:
			return errorReply(http.StatusNotFound, "no such path: %s", r.URL.EscapedPath())
		case !ep.allows(r.Method):
			rep := errorReply(http.StatusMethodNotAllowed, "method %s is not allowed on %s: use %s", r.Method, r.URL.EscapedPath(), ep.allow())
			rep.header.Set("Allow", ep.allow())
			return rep
		}
		return ep.handle(x, r)
	})
}

// storageEndpoint finds the endpoint r's path names on the storage host and sets its
// path values; ok is false when the host has no such path.
func (s *Server) storageEndpoint(r *http.Request) (endpoint, bool) {
	segs, ok := segments(r)
	switch {
	case !ok:
	case len(segs) == 4 && segs[0] == batchFiles:
		r.SetPathValue("batchId", segs[1])
		r.SetPathValue("taskId", segs[2])
		r.SetPathValue("resultId", segs[3])
		return endpoint{http.MethodGet, RouteDownload, s.downloadBatchFile}, true
	case len(segs) == 3 && segs[0] == taskFiles:
		r.SetPathValue("taskId", segs[1])
		r.SetPathValue("resultId", segs[2])
		return endpoint{http.MethodGet, RouteDownloadTask, s.downloadTaskFile}, true
	}
	return endpoint{}, false
}

// serveStorage answers a request to the storage host, which takes no credentials
// but a signed URL, and answers errors as an object store does.
func (s *Server) serveStorage(w http.ResponseWriter, r *http.Request) {
	ep, known := s.storageEndpoint(r)
	var route Route
	if known && ep.allows(r.Method) {
		route = ep.route
	}
	s.serve(w, r, route, func(x *exchange, r *http.Request) *reply {
		switch {
		case !known:
			return storageError(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		case !ep.allows(r.Method):
			rep := storageError(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
			rep.header.Set("Allow", ep.allow())
			return rep
		}
		return ep.handle(x, r)
	})
}
