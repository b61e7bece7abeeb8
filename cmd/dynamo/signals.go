package main

import (
	"os"
	"sync"
)

// interrupts hands the signals the process receives (SIGINT, SIGTERM) to
// whatever handles them at the moment: by default the command's context is
// cancelled; "dynamo bulk" installs its graceful stop while it runs.
type interrupts struct {
	mu      sync.Mutex
	handler func(os.Signal)
}

// handle makes h the handler of every signal until restore is called, which
// puts back the handler it replaced.
func (in *interrupts) handle(h func(os.Signal)) (restore func()) {
	in.mu.Lock()
	defer in.mu.Unlock()
	prev := in.handler
	in.handler = h
	return func() {
		in.mu.Lock()
		defer in.mu.Unlock()
		in.handler = prev
	}
}

// deliver passes s to the handler of the moment.
func (in *interrupts) deliver(s os.Signal) {
	in.mu.Lock()
	h := in.handler
	in.mu.Unlock()
	if h != nil {
		h(s)
	}
}

// listen delivers every signal from c, one at a time, until the returned
// function is called; that function returns once no signal is being
// delivered. A nil c delivers nothing.
func (in *interrupts) listen(c <-chan os.Signal) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case s := <-c:
				in.deliver(s)
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}
