package main

// What a production Nomad client does that a friendlier client would not (issue 12): script
// checks give ExecTask a timeout, and `nomad alloc exec` goes away mid-command.

import (
	"context"
	"fmt"
	"io/ioutil"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/golang/protobuf/ptypes/duration"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	drvpb "e2epb/hashicorp_nomad_plugins_drivers_proto"
)

// The bound the docs give: a command whose ExecTask deadline passed, or whose caller went away,
// is dead this soon.
const execKillBound = 100 * time.Millisecond

func nomadChecks(sh *shim) {
	if sh == nil || sh.client.Exited() {
		sh = newShim()
		defer sh.client.Kill()
	}
	execLifetimeChecks(sh)
	stateDirCheck()
}

// --- exec lifetimes ---------------------------------------------------------------------------

// sleepers finds the host pids of the `sleep` processes whose command lines carry the markers,
// one each, waiting up to d for all of them to run (nil if they do not).
func sleepers(markers []string, d time.Duration) []int {
	deadline := time.Now().Add(d)
	for {
		found := make([]int, len(markers))
		n := 0
		ents, _ := ioutil.ReadDir("/proc")
		for _, e := range ents {
			if _, err := strconv.Atoi(e.Name()); err != nil {
				continue
			}
			comm, _ := ioutil.ReadFile("/proc/" + e.Name() + "/comm")
			if strings.TrimSpace(string(comm)) != "sleep" {
				continue // also the shell before it execs, whose command line holds every marker
			}
			b, _ := ioutil.ReadFile("/proc/" + e.Name() + "/cmdline")
			for i, m := range markers {
				if found[i] == 0 && strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), m) {
					found[i], _ = strconv.Atoi(e.Name())
					n++
				}
			}
		}
		if n == len(markers) {
			return found
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
}

// alive: the process exists and is not a zombie.
func alive(pid int) bool {
	st, err := ioutil.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	i := strings.LastIndexByte(string(st), ')')
	return err == nil && i > 0 && i+2 < len(st) && st[i+2] != 'Z'
}

// waitDead waits up to d for every pid to be gone; false if one still lives then.
func waitDead(pids []int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		any := false
		for _, p := range pids {
			any = any || alive(p)
		}
		if !any {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Microsecond)
	}
}

var markerSeq = 0

// groupCommand: a command and a second process in its process group, each findable by pid.
func groupCommand() (string, []string) {
	markerSeq++
	a := fmt.Sprintf("%d.%04d", 10000+markerSeq, os.Getpid()%10000)
	b := fmt.Sprintf("%d.%04d", 20000+markerSeq, os.Getpid()%10000)
	return "/bin/sleep " + a + " & exec /bin/sleep " + b, []string{"sleep " + a, "sleep " + b}
}

// execDeadline runs ExecTask with a timeout on a command that never ends and returns how long
// after the deadline the command and its process group were gone (-1: not within 5 s).
func execDeadline(sh *shim, id string, timeout time.Duration) (time.Duration, error, bool) {
	script, markers := groupCommand()
	t0 := time.Now()
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := ctxT(timeout + 20*time.Second)
		defer cancel()
		_, err := sh.s.drv.ExecTask(ctx, &drvpb.ExecTaskRequest{TaskId: id, Command: []string{"/bin/sh", "-c", script},
			Timeout: &duration.Duration{Seconds: int64(timeout / time.Second), Nanos: int32(timeout % time.Second)}})
		errc <- err
	}()
	pids := sleepers(markers, timeout)
	deadline := t0.Add(timeout)
	gone := pids != nil && waitDead(pids, timeout+5*time.Second)
	el := time.Since(deadline)
	err := <-errc
	if !gone {
		el = -1
	}
	return el, err, pids != nil
}

// execCancel starts ExecTaskStreaming, then the caller goes away (its context is cancelled, as
// when `nomad alloc exec` ends); returns how long until the command's group was gone.
func execCancel(sh *shim, id string, tty bool) (time.Duration, bool) {
	script, markers := groupCommand()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := sh.s.drv.ExecTaskStreaming(ctx)
	if err != nil {
		return -1, false
	}
	s.Send(&drvpb.ExecTaskStreamingRequest{Setup: &drvpb.ExecTaskStreamingRequest_Setup{TaskId: id,
		Command: []string{"/bin/sh", "-c", script}, Tty: tty}})
	pids := sleepers(markers, 5*time.Second)
	if pids == nil {
		return -1, false
	}
	t0 := time.Now()
	cancel()
	if !waitDead(pids, 5*time.Second) {
		return -1, true
	}
	return time.Since(t0), true
}

func execLifetimeChecks(sh *shim) {
	t := newTask("exec-host", map[string]interface{}{"command": "/bin/sleep", "args": []string{"1000"}})
	if _, err := start(sh, t); !ok(err == nil, "a sleeping task for exec: started", err) {
		t.logs()
		return
	}
	defer kill(sh, t)

	el, err, seen := execDeadline(sh, t.cfg.Id, time.Second)
	ok(seen && status.Code(err) == codes.DeadlineExceeded, "ExecTask timeout 1 s (a script check): DEADLINE_EXCEEDED", err)
	ok(el >= 0 && el <= execKillBound, fmt.Sprintf("... the command and its process group are dead within %v of the deadline",
		execKillBound), el)
	note("exec: deadline to death %v", el)

	for _, tty := range []bool{false, true} {
		el, seen := execCancel(sh, t.cfg.Id, tty)
		ok(seen && el >= 0 && el <= execKillBound,
			fmt.Sprintf("ExecTaskStreaming (tty %v), the caller goes away: the command and its process group are dead within %v",
				tty, execKillBound), seen, el)
	}

	// the task itself is untouched
	ctx, cancel := ctxT(5 * time.Second)
	ir, err := sh.s.drv.InspectTask(ctx, &drvpb.InspectTaskRequest{TaskId: t.cfg.Id})
	cancel()
	ok(err == nil && ir.GetTask().GetState() == drvpb.TaskState_RUNNING, "... the task itself keeps running", err, ir)
}

// --- measurement: E2E_MODE=exec ----------------------------------------------------------------

// benchExecKill: E2E_RUNS ExecTask calls with a 1 s timeout on a command that never ends; the
// time from each deadline to the death of the command and its process group.
func benchExecKill(sh *shim) {
	runs := envInt("E2E_RUNS", 20)
	t := newTask("exec-bench", map[string]interface{}{"command": "/bin/sleep", "args": []string{"1000"}})
	if _, err := start(sh, t); err != nil {
		bail("exec bench task: %v", err)
	}
	defer kill(sh, t)
	var ms []float64
	for i := 0; i < runs; i++ {
		el, err, seen := execDeadline(sh, t.cfg.Id, time.Second)
		if !seen || el < 0 || status.Code(err) != codes.DeadlineExceeded {
			bail("ExecTask with a deadline: seen %v, %v after the deadline, %v", seen, el, err)
		}
		ms = append(ms, float64(el.Nanoseconds())/1e6)
	}
	fmt.Printf("# bench: exec_deadline_to_death %s\n", summarize(ms))
}
