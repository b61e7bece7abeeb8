package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows how many tasks have completed, on stderr. Its methods are
// safe for concurrent use.
type progress interface {
	// update reports the latest counts; total may grow (bulk learns the
	// tasks of each batch as it is posted).
	update(completed, errors, total int)
	// setTotal changes the total alone, without news to show.
	setTotal(total int)
	// log writes a line of its own, above the bar if there is one.
	log(line string)
	// finish ends the display; update must not be called after it.
	finish()
}

// newProgress picks the display for --progress: a bar when stderr is a
// terminal, plain lines when it is not (a log file, a pipe, a CI job).
func (a *app) newProgress(what string) progress {
	mode := a.progressMode
	if mode == "auto" {
		mode = "plain"
		if isTerminal(a.stderr) {
			mode = "bar"
		}
	}
	switch mode {
	case "bar":
		return newBarProgress(a.stderr, what)
	case "plain":
		return &lineProgress{w: a.stderr, what: what, start: time.Now(), last: counts{total: -1}}
	}
	return noProgress{w: a.stderr}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// noProgress shows no progress, only the lines logged.
type noProgress struct{ w io.Writer }

func (noProgress) update(int, int, int) {}
func (noProgress) setTotal(int)         {}
func (p noProgress) log(line string)    { fmt.Fprintln(p.w, line) }
func (noProgress) finish()              {}

// lineProgress writes a line when the counts are first known, then each
// time the completed or failed tasks change.
type lineProgress struct {
	mu    sync.Mutex
	w     io.Writer
	what  string
	start time.Time
	last  counts
}

func (p *lineProgress) update(completed, errors, total int) {
	c := counts{total: total, completed: completed, errors: errors}
	p.mu.Lock()
	defer p.mu.Unlock()
	first := p.last.total < 0
	if total <= 0 || !first && c.completed == p.last.completed && c.errors == p.last.errors {
		return
	}
	p.last = c
	fmt.Fprintf(p.w, "%s: %s, %s elapsed\n", p.what, c, time.Since(p.start).Round(100*time.Millisecond))
}

func (p *lineProgress) setTotal(int) {}

func (p *lineProgress) log(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, line)
}

func (p *lineProgress) finish() {}

// barProgress draws a bar of tasks completed of total, with the elapsed time
// and an estimate of the time left, redrawn each second between updates.
type barProgress struct {
	mu     sync.Mutex
	w      io.Writer
	what   string
	bar    *progressbar.ProgressBar // nil until the total is known
	total  int
	errors int
	done   chan struct{}
	ticker sync.WaitGroup
}

func newBarProgress(w io.Writer, what string) *barProgress {
	// Keep the bar on one line of a narrow terminal: a batch ID alone is 32
	// characters.
	if r := []rune(what); len(r) > 16 {
		what = string(r[:15]) + "…"
	}
	p := &barProgress{w: w, what: what, done: make(chan struct{})}
	p.ticker.Add(1)
	go p.tick()
	return p
}

// tick redraws the bar every second so that the elapsed time moves between
// two status calls, which may be seconds apart.
func (p *barProgress) tick() {
	defer p.ticker.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
			p.mu.Lock()
			if p.bar != nil {
				_ = p.bar.Add(0)
			}
			p.mu.Unlock()
		}
	}
}

func (p *barProgress) update(completed, errors, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if total <= 0 {
		return
	}
	if p.bar == nil {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(p.what),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("tasks"),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
		)
	} else if total != p.total {
		p.bar.ChangeMax(total)
	}
	p.total = total
	if errors != p.errors {
		p.errors = errors
		p.bar.Describe(fmt.Sprintf("%s (%d with errors)", p.what, errors))
	}
	_ = p.bar.Set(completed)
}

func (p *barProgress) setTotal(total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil && total > 0 && total != p.total {
		p.total = total
		p.bar.ChangeMax(total)
		_ = p.bar.Add(0)
	}
}

func (p *barProgress) log(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar == nil || p.bar.IsFinished() {
		fmt.Fprintln(p.w, line)
		return
	}
	_ = p.bar.Clear()
	fmt.Fprintln(p.w, line)
	_ = p.bar.RenderBlank()
}

func (p *barProgress) finish() {
	close(p.done)
	p.ticker.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil && !p.bar.IsFinished() {
		// Interrupted or failed: leave the bar as it is and end its line.
		_ = p.bar.Exit()
	}
}
