package main

// Explained denials as Nomad task events (docs/learn.md): a call the task's promises refuse
// reaches the TaskEvents stream Nomad keeps open, naming the promise that would have allowed it
// (what `nomad alloc status` lists), while the task itself still gets EPERM.

import (
	"strings"
	"time"

	drvpb "e2epb/hashicorp_nomad_plugins_drivers_proto"
)

func denialChecks(sh *shim) {
	// lifecycle() ends with the shim's Shutdown: bring our own
	if sh == nil || sh.client.Exited() {
		sh = newShim()
		defer sh.client.Kill()
	}
	ctx, cancel := ctxT(60 * time.Second)
	defer cancel()
	stream, err := sh.s.drv.TaskEvents(ctx, &drvpb.TaskEventsRequest{})
	if !ok(err == nil, "TaskEvents stream opens", err) {
		return
	}
	events := make(chan *drvpb.DriverTaskEvent, 16)
	go func() {
		for {
			ev, err := stream.Recv()
			if err != nil {
				close(events)
				return
			}
			events <- ev
		}
	}()

	// /bin/sh under 'stdio rpath' cannot create a file: EPERM for the task, cpath in the event
	t := newTask("denied", map[string]interface{}{"command": "/bin/sh",
		"args": []string{"-c", "echo x > /tmp/e2e-denied; echo status $?"}, "promises": "stdio rpath"})
	res, out, errs, err := runTask(sh, t)
	ok(err == nil && strings.Contains(out, "status 2") && strings.Contains(errs, "Operation not permitted"),
		"a write under 'stdio rpath': the task still gets EPERM", err, res, out, errs)

	var got *drvpb.DriverTaskEvent
	deadline := time.After(10 * time.Second)
wait:
	for {
		select {
		case ev, open := <-events:
			if !open {
				break wait
			}
			if ev.GetTaskId() == t.cfg.Id {
				got = ev
				break wait
			}
		case <-deadline:
			break wait
		}
	}
	ok(got != nil, "the refused call reaches the TaskEvents stream as a task event", got)
	if got != nil {
		a := got.GetAnnotations()
		ok(strings.Contains(got.GetMessage(), "needs promise 'cpath'") && a["syscall"] == "openat" &&
			a["promises"] == "cpath", "the task event names the call and the promise that would allow it", got)
		ok(got.GetAllocId() == allocID && got.GetTaskName() == "denied" && got.GetTimestamp() != nil,
			"the task event carries the alloc, the task's name and a timestamp", got)
	}
}
