//go:build go1.24

package main

import "net/http"

// applySink sets the sink's HTTP/2 settings on srv. They are the server's
// side of flow control: the windows it advertises bound how much the client
// may send before it must wait for a WINDOW_UPDATE, and the frame size it
// advertises bounds each DATA frame and so the size of the client's reads.
func (tu *tuning) applySink(srv *http.Server) error {
	if !tu.sinkSide() {
		return nil
	}
	srv.HTTP2 = &http.HTTP2Config{
		MaxReceiveBufferPerStream:     tu.streamWindow,
		MaxReceiveBufferPerConnection: tu.connWindow,
		MaxReadFrameSize:              tu.frameSize,
	}
	return nil
}
