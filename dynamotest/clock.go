package dynamotest

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// AdvanceClock moves the server's clock forward by d, from now on: postings, task
// progress, auto-completion, the expiry of batches and tasks and the expiry of result
// URLs all see the moved clock, whether it is time.Now or the one WithClock gave.
// Reset moves it back. AdvanceClock panics if d is negative: a clock that went back
// would make tasks end before they started.
func (s *Server) AdvanceClock(d time.Duration) {
	if d < 0 {
		panic(fmt.Sprintf("dynamotest: AdvanceClock: negative duration %v", d))
	}
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	s.clockOffset += d
}

// Now returns the time on the server's clock: the WithClock clock (time.Now by
// default) moved by AdvanceClock; for instance the clock of a fake Salesforce
// (WithSalesforceClock) that should judge sessions on the same time.
func (s *Server) Now() time.Time { return s.cfg.now() }

// apiHandler serves the API host: the control API under ControlPrefix, unrecorded,
// and the Dynamo API on every other path.
func (s *Server) apiHandler() http.Handler {
	api := s.recorder(false, http.HandlerFunc(s.serveAPI))
	control := s.ControlHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, ControlPrefix) {
			control.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}
