//go:build !go1.24

package main

import (
	"fmt"
	"net/http"
)

// applySink fails: the server's HTTP/2 settings are in net/http from Go 1.24.
func (tu *tuning) applySink(*http.Server) error {
	if !tu.sinkSide() {
		return nil
	}
	return fmt.Errorf("-tune %s needs Go 1.24 or later", tu.sinkKeys())
}
