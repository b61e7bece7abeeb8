package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/dynamokit/dynamo"
)

// runProfile runs the SDK side of one case (or the baseline's) alone for
// o.profileTime and writes its CPU and allocation profiles. The server runs in the same process and
// shows in the profiles too, as the same share it takes of the baseline's.
func runProfile(ctx context.Context, o *options, w io.Writer) error {
	srv := newAPIServer(o.statusesTasks)
	defer srv.Close()
	c, err := newClients(srv)
	if err != nil {
		return err
	}
	defer c.close()

	var hand, sdk func(context.Context) error
	switch name := o.profileCase; {
	case slices.Contains(callCaseNames, name):
		cs := c.selectedCases([]string{name})[0]
		if cs.tasks > 0 {
			srv.expectTasks(cs.tasks)
		}
		hand, sdk = cs.hand, cs.sdk
	case name == "PostBulk":
		srv.expectTasks(dynamo.MaxTasksPerBatch)
		hand, sdk = c.bulkJobs(newRecords(o.bulkRecords[len(o.bulkRecords)-1]))
	case name == "BatchTaskStatuses":
		hand, sdk = c.statusJobs(o.statusesTasks)
	default:
		return fmt.Errorf("-profile-case: unknown %q (want %s, PostBulk or BatchTaskStatuses)", name, strings.Join(callCaseNames, ", "))
	}
	op, who := sdk, "SDK"
	if o.profileHand {
		op, who = hand, "net/http"
	}
	if err := op(ctx); err != nil { // warm up, before the profiles start
		return clientError(!o.profileHand, o.profileCase, err)
	}

	if o.memProfile != "" {
		// Count every allocation from here on: the profile then shows the
		// case's, and few of the setup's.
		runtime.MemProfileRate = 1
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	calls, start := 0, time.Now()
	for time.Since(start) < o.profileTime {
		if err := op(ctx); err != nil {
			pprof.StopCPUProfile()
			return clientError(!o.profileHand, o.profileCase, err)
		}
		calls++
	}
	elapsed := time.Since(start)
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if o.memProfile != "" {
		f, err := os.Create(o.memProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "profiled %s (%s): %d operations in %v, %s each\n", o.profileCase, who, calls, elapsed.Round(time.Millisecond), fmtDuration(elapsed/time.Duration(max(calls, 1))))
	return nil
}
