package main

// What a production Nomad client does that a friendlier client would not (issue 12): logmon's
// FIFO readers open only after StartTask went out, logs { disabled = true } sends /dev/null,
// the data_dir is a file system of its own, script checks give ExecTask a timeout, `nomad alloc
// exec` goes away mid-command; and jobs written for the exec2 and pledge drivers keep their
// `driver` line.

import (
	"context"
	"fmt"
	"io/ioutil"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/golang/protobuf/proto"
	"github.com/golang/protobuf/ptypes/duration"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	basepb "e2epb/hashicorp_nomad_plugins_base_proto"
	drvpb "e2epb/hashicorp_nomad_plugins_drivers_proto"
	structspb "e2epb/hashicorp_nomad_plugins_shared_structs"
)

// The bound the docs give: a command whose ExecTask deadline passed, or whose caller went away,
// is dead this soon.
const execKillBound = 100 * time.Millisecond

// sandboxd's log_reader_timeout in the test configuration (run.sh).
const logReaderTimeout = 5 * time.Second

func nomadChecks(sh *shim) {
	if sh == nil || sh.client.Exited() {
		sh = newShim()
		defer sh.client.Kill()
	}
	logChecks(sh)
	execLifetimeChecks(sh)
	workDirChecks(sh)
	dropInChecks()
	stateDirCheck()
}

// recoverable: the error as Nomad's client reads it (plugins/drivers/client.go StartTask): a
// RecoverableError in the status details, recoverable = true (the restart policy applies).
func recoverable(err error) bool {
	st, _ := status.FromError(err)
	for _, d := range st.Proto().GetDetails() {
		if strings.HasSuffix(d.GetTypeUrl(), "/hashicorp.nomad.plugins.shared.structs.RecoverableError") {
			var re structspb.RecoverableError
			return proto.Unmarshal(d.GetValue(), &re) == nil && re.GetRecoverable()
		}
	}
	return false
}

func listed(id string) bool {
	out, _ := exec.Command(os.Getenv("SANDBOXCTL"), "--socket", os.Getenv("E2E_SOCKET"), "list").Output()
	return strings.Contains(string(out), id)
}

// --- log FIFOs --------------------------------------------------------------------------------

func logChecks(sh *shim) {
	// logmon's reader 300 ms late: sandboxd waits for it, and the first bytes are there
	t := newTask("late-reader", map[string]interface{}{"command": "/bin/sh", "args": []string{"-c",
		"echo first-out; echo first-err >&2"}})
	t.readerDelay = 300 * time.Millisecond
	t0 := time.Now()
	_, err := start(sh, t)
	el := time.Since(t0)
	if ok(err == nil, "logmon's readers open 300 ms after StartTask: the start waits for them", err) {
		wait(sh, t.cfg.Id, 20*time.Second)
	}
	out, errs := t.logs()
	destroy(sh, t.cfg.Id)
	ok(strings.TrimSpace(out) == "first-out" && strings.TrimSpace(errs) == "first-err",
		"... and the task's first bytes reach them (stdout and stderr)", out, errs)
	ok(el >= 300*time.Millisecond && el < 3*time.Second, "... StartTask answered once the readers came", el)

	// stderr's reader later than stdout's: the FIFO opened first stays open (logmon never reopens)
	t = newTask("staggered", map[string]interface{}{"command": "/bin/sh", "args": []string{"-c",
		"echo one; echo two >&2; echo three"}})
	t.readerDelay = 50 * time.Millisecond
	t.stderrDelay = 400 * time.Millisecond
	if _, err = start(sh, t); ok(err == nil, "stdout's reader at 50 ms, stderr's at 450 ms: started", err) {
		wait(sh, t.cfg.Id, 20*time.Second)
	}
	out, errs = t.logs()
	destroy(sh, t.cfg.Id)
	ok(out == "one\nthree\n" && errs == "two\n", "... every line where it belongs, none lost", out, errs)

	// no reader at all for stderr: after log_reader_timeout a recoverable error naming the
	// field, the path and the step; meanwhile sandboxd keeps serving other requests
	t = newTask("no-reader", map[string]interface{}{"command": "/bin/echo", "args": []string{"never"}})
	t.stderrDelay = time.Hour
	type result struct {
		err error
		el  time.Duration
	}
	ch := make(chan result, 1)
	t0 = time.Now()
	go func() {
		_, err := start(sh, t)
		ch <- result{err, time.Since(t0)}
	}()
	time.Sleep(500 * time.Millisecond)
	other := newTask("meanwhile", map[string]interface{}{"command": "/bin/echo", "args": []string{"served"}})
	t1 := time.Now()
	res, oout, _, oerr := runTask(sh, other)
	oel := time.Since(t1)
	ok(oerr == nil && res.GetExitCode() == 0 && strings.TrimSpace(oout) == "served" && oel < 3*time.Second,
		"while a start waits for its reader, another task starts and ends", oerr, res, oout, oel)
	r := <-ch
	ok(r.err != nil && r.el >= logReaderTimeout-time.Second && r.el < logReaderTimeout+5*time.Second,
		"no reader for stderr: StartTask fails after log_reader_timeout (5 s)", r.err, r.el)
	ok(r.err != nil && recoverable(r.err), "... marked recoverable (Nomad restarts the task)", r.err)
	ok(r.err != nil && strings.Contains(r.err.Error(), "stderr_path") && strings.Contains(r.err.Error(), t.cfg.StderrPath) &&
		strings.Contains(r.err.Error(), "opening it for writing"),
		"... the message names the field, the path and the step", r.err)
	ok(!listed(t.cfg.Id), "... and nothing was started")
	t.logs()

	// sandboxd killed (restarting) while a start waits for its reader: recoverable too
	t = newTask("wait-restart", map[string]interface{}{"command": "/bin/true"})
	t.stderrDelay = time.Hour
	errc := make(chan error, 1)
	go func() {
		_, err := start(sh, t)
		errc <- err
	}()
	time.Sleep(500 * time.Millisecond)
	daemon.Signal(syscall.SIGKILL)
	daemon.Wait()
	err = <-errc
	ok(err != nil && recoverable(err) && strings.Contains(err.Error(), "connection lost"),
		"sandboxd killed while a start waits for its reader: the start fails, recoverable", err)
	t.logs()
	startSandboxd()

	// a configuration error is not recoverable
	t = newTask("badpromise2", map[string]interface{}{"command": "/bin/true", "promises": "stdio nosuch"})
	_, err = start(sh, t)
	t.logs()
	ok(err != nil && !recoverable(err), "a promise typo: StartTask fails, not recoverable", err)

	// logs { disabled = true }: Nomad passes /dev/null for both
	t = newTask("devnull", map[string]interface{}{"command": "/bin/sh", "args": []string{"-c", "echo to-nowhere; echo x >&2"}})
	os.Remove(t.cfg.StdoutPath)
	os.Remove(t.cfg.StderrPath)
	t.stdout, t.stderr = nil, nil
	t.cfg.StdoutPath, t.cfg.StderrPath = "/dev/null", "/dev/null"
	res, _, _, err = runTask(sh, t)
	ok(err == nil && res.GetExitCode() == 0, "logs disabled (stdout and stderr /dev/null): the task runs", err, res)

	tmpfsDataDirCheck(sh)
	logSwapChecks(sh)
}

// An alloc directory on a tmpfs of its own (a data_dir on its own disk or tmpfs crosses a
// mount point the same way on the way to the FIFOs).
func tmpfsDataDirCheck(sh *shim) {
	const alloc = "e2e00000-0000-4000-8000-00000000e12f"
	dir := filepath.Join(os.Getenv("E2E_NOMAD"), "alloc", alloc)
	os.MkdirAll(dir, 0755)
	if err := syscall.Mount("sbx-e2e-alloc", dir, "tmpfs", 0, "mode=0755,size=16m"); !ok(err == nil,
		"tmpfs mounted on an alloc directory", err) {
		return
	}
	atCleanup = append(atCleanup, func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	t := newTaskAlloc(alloc, "ontmpfs", map[string]interface{}{"command": "/bin/sh", "args": []string{"-c",
		"echo on-tmpfs; echo err-on-tmpfs >&2"}})
	res, out, errs, err := runTask(sh, t)
	ok(err == nil && res.GetExitCode() == 0 && strings.TrimSpace(out) == "on-tmpfs" && strings.TrimSpace(errs) == "err-on-tmpfs",
		"alloc dir on its own tmpfs: the task runs, its FIFOs carry its output", err, res, out, errs)
	syscall.Unmount(dir, syscall.MNT_DETACH)
}

// The protections around the root open of the FIFOs stay: a FIFO swapped for a symlink, a logs
// directory swapped for one, a hard link to a file elsewhere. Each start is refused, naming the
// field, and the file elsewhere is untouched.
func logSwapChecks(sh *shim) {
	victim := filepath.Join(tmp, "victim")
	ioutil.WriteFile(victim, []byte("keep\n"), 0644)
	check := func(name string, t *task, field, want string) {
		_, err := start(sh, t)
		t.logs()
		b, _ := ioutil.ReadFile(victim)
		ok(err != nil && strings.Contains(err.Error(), field) && strings.Contains(err.Error(), want) &&
			!recoverable(err) && string(b) == "keep\n", name, err, string(b))
		if err == nil {
			kill(sh, t)
		}
	}
	t := newTask("swap-link", map[string]interface{}{"command": "/bin/echo", "args": []string{"leaked"}})
	os.Remove(t.cfg.StdoutPath)
	os.Symlink(victim, t.cfg.StdoutPath)
	t.stdout = nil
	check("the stdout FIFO swapped for a symlink: refused, the target untouched", t, "stdout_path",
		"symbolic links")

	t = newTask("swap-hardlink", map[string]interface{}{"command": "/bin/echo", "args": []string{"leaked"}})
	os.Remove(t.cfg.StderrPath)
	os.Link(victim, t.cfg.StderrPath)
	t.stderr = nil
	check("the stderr FIFO swapped for a hard link to a file elsewhere: refused, the file untouched", t,
		"stderr_path", "hard links")
	os.Remove(t.cfg.StderrPath)

	// the whole logs directory swapped for a symlink to a directory holding a FIFO
	const alloc = "e2e00000-0000-4000-8000-00000000e130"
	elsewhere := filepath.Join(tmp, "elsewhere")
	os.MkdirAll(elsewhere, 0755)
	t = newTaskAlloc(alloc, "swap-dir", map[string]interface{}{"command": "/bin/echo", "args": []string{"leaked"}})
	logs := filepath.Dir(t.cfg.StdoutPath)
	os.RemoveAll(logs)
	os.Symlink(elsewhere, logs)
	t.stdout, t.stderr = newLogmon(t.cfg.StdoutPath), newLogmon(t.cfg.StderrPath) // the FIFOs, through the link
	check("the logs directory swapped for a symlink: refused", t, "stdout_path", "symbolic links")
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

	el, err, seen := execDeadline(sh, t.cfg.Id, 2*time.Second)
	ok(seen && status.Code(err) == codes.DeadlineExceeded, "ExecTask timeout 2 s (a script check): DEADLINE_EXCEEDED", err)
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

// --- work_dir (Nomad's exec and raw_exec option) ---------------------------------------------

func workDirChecks(sh *shim) {
	t := newTask("workdir", map[string]interface{}{"command": "/bin/pwd"})
	local := filepath.Join(t.cfg.AllocDir, "workdir", "local")
	t.cfg.MsgpackDriverConfig = objectFor(taskAttrs, map[string]interface{}{"command": "/bin/pwd", "work_dir": local})
	res, out, _, err := runTask(sh, t)
	ok(err == nil && res.GetExitCode() == 0 && strings.TrimSpace(out) == local, "work_dir = <task dir>/local: the task runs there",
		err, res, out)

	t = newTask("workdir-exec", map[string]interface{}{"command": "/bin/sleep", "args": []string{"1000"}})
	local = filepath.Join(t.cfg.AllocDir, "workdir-exec", "local")
	t.cfg.MsgpackDriverConfig = objectFor(taskAttrs, map[string]interface{}{"command": "/bin/sleep",
		"args": []string{"1000"}, "work_dir": local})
	if _, err := start(sh, t); ok(err == nil, "work_dir: a sleeping task started", err) {
		ctx, cancel := ctxT(10 * time.Second)
		er, err := sh.s.drv.ExecTask(ctx, &drvpb.ExecTaskRequest{TaskId: t.cfg.Id, Command: []string{"/bin/pwd"}})
		cancel()
		ok(err == nil && strings.TrimSpace(string(er.GetStdout())) == local, "work_dir: ExecTask runs there too", err, er)
		kill(sh, t)
	} else {
		t.logs()
	}

	t = newTask("workdir-rel", map[string]interface{}{"command": "/bin/pwd", "work_dir": "local"})
	_, err = start(sh, t)
	t.logs()
	ok(err != nil && strings.Contains(err.Error(), "work_dir") && !recoverable(err),
		"work_dir relative: refused naming work_dir, not recoverable", err)

	missing := filepath.Join(t.cfg.AllocDir, "workdir-missing", "nowhere")
	t = newTask("workdir-missing", map[string]interface{}{"command": "/bin/pwd", "work_dir": missing})
	_, err = start(sh, t)
	t.logs()
	ok(err != nil && strings.Contains(err.Error(), "chdir: "+missing+": No such file or directory") && !recoverable(err),
		"work_dir missing: the start fails naming the step and the path, not recoverable", err)
}

// --- drop-in names: exec2 and pledge ----------------------------------------------------------

// launchAs starts the shim the way Nomad starts a plugin file of that name.
func launchAs(file string, args ...string) (*shim, error) {
	dir := filepath.Join(tmp, "plugins")
	os.MkdirAll(dir, 0755)
	p := filepath.Join(dir, file)
	os.Remove(p)
	if err := os.Symlink(os.Getenv("SHIM"), p); err != nil {
		return nil, err
	}
	return launchShimPath(p, args...)
}

func configured(sh *shim) {
	ctx, cancel := ctxT(10 * time.Second)
	defer cancel()
	sh.s.base.ConfigSchema(ctx, &basepb.ConfigSchemaRequest{})
	setConfig(sh)
}

func dropInChecks() {
	ex, err := launchAs("nomad-driver-exec2")
	if !ok(err == nil, "the shim as plugin file nomad-driver-exec2", err) {
		return
	}
	defer ex.client.Kill()
	pl, err := launchShim("-name", "pledge")
	if !ok(err == nil, "the shim with args [-name pledge]", err) {
		return
	}
	defer pl.client.Kill()
	for _, c := range []struct {
		sh   *shim
		name string
	}{{ex, "exec2"}, {pl, "pledge"}} {
		ctx, cancel := ctxT(10 * time.Second)
		pi, err := c.sh.s.base.PluginInfo(ctx, &basepb.PluginInfoRequest{})
		ok(err == nil && pi.GetName() == c.name, "PluginInfo name "+c.name+" (jobs keep driver = \""+c.name+"\")", err, pi)
		configured(c.sh)
		f := waitHealth(fingerprintWatch(ctx, c.sh), drvpb.FingerprintResponse_HEALTHY, 5*time.Second)
		_, own := f.GetAttributes()["driver."+c.name]
		ok(f != nil && !own && f.GetAttributes()["driver."+c.name+".version"] != nil,
			c.name+": healthy with the [driver "+c.name+"] policy; driver."+c.name+" itself is left to Nomad", f)
		cancel()
	}

	// the same job under each name: exec2 applies no promises, pledge's tool "stdio rpath"
	script := "read h < /etc/hostname && echo read-ok; echo x > \"$NOMAD_TASK_DIR/written\" && echo write-ok"
	res, out, errs, err := run(ex, "exec2-job", map[string]interface{}{"command": "/bin/sh", "args": []string{"-c", script},
		"oom_score_adj": 100})
	ok(err == nil && res.GetExitCode() == 0 && out == "read-ok\nwrite-ok\n",
		"an exec2 job (oom_score_adj, no promises) under driver exec2: no promises applied", err, res, out, errs)
	res, out, errs, err = run(pl, "pledge-job", map[string]interface{}{"command": "/bin/sh", "args": []string{"-c", script},
		"importance": "low"})
	ok(err == nil && res.GetExitCode() != 0 && strings.HasPrefix(out, "read-ok\n") && !strings.Contains(out, "write-ok") &&
		strings.Contains(errs, "Operation not permitted"),
		"a pledge job without promises under driver pledge: default_promises 'stdio rpath' (reads, cannot create)",
		err, res, out, errs)
	res, out, errs, err = run(pl, "pledge-job2", map[string]interface{}{"command": "/bin/sh", "args": []string{"-c", script},
		"promises": "stdio rpath wpath cpath"})
	ok(err == nil && res.GetExitCode() == 0 && out == "read-ok\nwrite-ok\n",
		"... a pledge job naming its promises gets those, not the default", err, res, out, errs)

	// an exec into a task that got the default promises gets them too
	t := newTask("pledge-exec", map[string]interface{}{"command": "/bin/sleep", "args": []string{"1000"}})
	if _, err := start(pl, t); ok(err == nil, "pledge: a sleeping task without promises: started", err) {
		ctx, cancel := ctxT(10 * time.Second)
		er, err := pl.s.drv.ExecTask(ctx, &drvpb.ExecTaskRequest{TaskId: t.cfg.Id,
			Command: []string{"/bin/sh", "-c", "echo x > \"$NOMAD_TASK_DIR/by-exec\""}})
		cancel()
		ok(err == nil && er.GetResult().GetExitCode() != 0 && strings.Contains(string(er.GetStderr()), "Operation not permitted"),
			"... an exec into it runs under the same default promises", err, er)
		kill(pl, t)
	} else {
		t.logs()
	}
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
