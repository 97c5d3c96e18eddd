package main

// More of the plugin contract: the process as Nomad sees it (cookie, handshake line, hclog
// JSON, privileges, Shutdown), raw gRPC (unknown method, health), the streams (TaskStats,
// TaskEvents, Fingerprint health), SignalTask, InspectTask, promises, exec, a second driver.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/ioutil"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/golang/protobuf/ptypes/duration"
	"google.golang.org/grpc/codes"
	// grpc's own health stubs (go-plugin links them; ours would register the same names twice)
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	basepb "e2epb/hashicorp_nomad_plugins_base_proto"
	drvpb "e2epb/hashicorp_nomad_plugins_drivers_proto"
)

// processChecks runs the shim by hand, the way an operator would, and as go-plugin does.
func processChecks() {
	// no cookie: a friendly message and exit 1
	var eb bytes.Buffer
	cmd := exec.Command(os.Getenv("SHIM"))
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.Stderr = &eb
	err := cmd.Run()
	ee, isExit := err.(*exec.ExitError)
	ok(isExit && ee.ExitCode() == 1 && strings.Contains(eb.String(), "This binary is a plugin"),
		"run by hand without the cookie: a message and exit 1", err, eb.String())

	// a client offering only protocol 1: refused
	eb.Reset()
	cmd = exec.Command(os.Getenv("SHIM"))
	cmd.Env = []string{"NOMAD_PLUGIN_MAGIC_COOKIE=" + handshake.MagicCookieValue, "PLUGIN_PROTOCOL_VERSIONS=1"}
	cmd.Stderr = &eb
	err = cmd.Run()
	ee, isExit = err.(*exec.ExitError)
	ok(isExit && ee.ExitCode() == 1 && strings.Contains(eb.String(), "speaks 2"),
		"PLUGIN_PROTOCOL_VERSIONS=1: refused", err, eb.String())

	// the handshake line and hclog JSON on stderr; the socket in $TMPDIR (writable for the
	// unprivileged user the shim becomes)
	sockdir := tmp + "/sockets"
	os.Mkdir(sockdir, 0777)
	os.Chmod(sockdir, 01777)
	cmd = exec.Command(os.Getenv("SHIM"))
	cmd.Env = []string{"NOMAD_PLUGIN_MAGIC_COOKIE=" + handshake.MagicCookieValue, "PLUGIN_PROTOCOL_VERSIONS=2",
		"PLUGIN_MIN_PORT=10000", "PLUGIN_MAX_PORT=25000", "TMPDIR=" + sockdir}
	out, _ := cmd.StdoutPipe()
	errp, _ := cmd.StderrPipe()
	if err := cmd.Start(); !ok(err == nil, "shim starts with the cookie", err) {
		return
	}
	started = append(started, cmd.Process)
	line, _ := bufio.NewReader(out).ReadString('\n')
	f := strings.Split(strings.TrimSpace(line), "|")
	ok(len(f) >= 5 && f[0] == "1" && f[1] == "2" && f[2] == "unix" && strings.HasPrefix(f[3], sockdir+"/plugin") && f[4] == "grpc",
		"handshake line 1|2|unix|$TMPDIR/plugin...|grpc", line)
	sock := ""
	if len(f) >= 4 {
		sock = f[3]
	}
	st, serr := os.Stat(sock)
	ok(serr == nil && st.Mode()&os.ModeSocket != 0, "the socket listens before the handshake is printed", serr)
	l, _ := bufio.NewReader(errp).ReadString('\n')
	var m map[string]interface{}
	jerr := json.Unmarshal([]byte(l), &m)
	_, lvlOK := m["@level"].(string)
	_, msgOK := m["@message"].(string)
	ts, _ := m["@timestamp"].(string)
	_, terr := time.Parse("2006-01-02T15:04:05.000000Z07:00", ts)
	ok(jerr == nil && lvlOK && msgOK && terr == nil, "stderr: hclog JSON (string @level/@message, Go timestamp layout)", l, jerr, terr)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	_, serr = os.Stat(sock)
	ok(os.IsNotExist(serr), "SIGTERM: the shim exits and removes its socket", serr)
}

func privilegeChecks(sh *shim) {
	pid := sh.client.ReattachConfig().Pid
	b, err := ioutil.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	s := string(b)
	field := func(name string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, name+":") {
				return strings.Join(strings.Fields(l[len(name)+1:]), " ")
			}
		}
		return ""
	}
	ok(err == nil && !strings.HasPrefix(field("Uid"), "0 ") && field("Uid") != "", "the shim runs unprivileged (started as root)", field("Uid"))
	ok(field("CapEff") == "0000000000000000" && field("CapPrm") == "0000000000000000" && field("CapBnd") != "",
		"the shim holds no capability", field("CapEff"), field("CapPrm"))
	ok(field("NoNewPrivs") == "1", "the shim has no_new_privs", field("NoNewPrivs"))
}

func grpcChecks(sh *shim) {
	ctx, cancel := ctxT(5 * time.Second)
	defer cancel()
	var req, resp drvpb.TaskEventsRequest
	t0 := time.Now()
	err := sh.s.conn.Invoke(ctx, "/hashicorp.nomad.plugins.drivers.proto.Driver/NoSuchMethod", &req, &resp)
	ok(status.Code(err) == codes.Unimplemented && time.Since(t0) < 2*time.Second, "an unknown method: UNIMPLEMENTED at once", err)
	err = sh.s.conn.Invoke(ctx, "/plugin.GRPCStdio/StreamStdio", &req, &resp)
	ok(status.Code(err) == codes.Unimplemented, "GRPCStdio: UNIMPLEMENTED (go-plugin tolerates it)", err)
	h := healthpb.NewHealthClient(sh.s.conn)
	hr, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: "plugin"})
	ok(err == nil && hr.GetStatus() == healthpb.HealthCheckResponse_SERVING, "grpc.health.v1 Check(\"plugin\"): SERVING", err, hr)
	_, err = sh.s.drv.CreateNetwork(ctx, &drvpb.CreateNetworkRequest{AllocId: allocID})
	ok(status.Code(err) == codes.FailedPrecondition && strings.Contains(err.Error(), "must_create_network"),
		"CreateNetwork: a clear refusal (Nomad creates group networks)", err)
	_, err = sh.s.drv.DestroyNetwork(ctx, &drvpb.DestroyNetworkRequest{AllocId: allocID})
	ok(err == nil, "DestroyNetwork: OK", err)
	caps, _ := sh.s.drv.Capabilities(ctx, &drvpb.CapabilitiesRequest{})
	c := caps.GetCapabilities()
	modes := map[drvpb.NetworkIsolationSpec_NetworkIsolationMode]bool{}
	for _, m := range c.GetNetworkIsolationModes() {
		modes[m] = true
	}
	ok(c.GetExec() && modes[drvpb.NetworkIsolationSpec_NONE] && modes[drvpb.NetworkIsolationSpec_HOST] &&
		modes[drvpb.NetworkIsolationSpec_GROUP], "Capabilities: exec, network modes none/host/group", c)
}

func streamChecks(sh *shim) {
	t := newTask("stats", map[string]interface{}{"command": "/bin/sh", "args": []string{"-c",
		"trap 'exit 3' USR1; while :; do sleep 0.1; done"}})
	if _, err := start(sh, t); !ok(err == nil, "stats/signal task: started", err) {
		return
	}
	ctx, cancel := ctxT(10 * time.Second)
	st, err := sh.s.drv.TaskStats(ctx, &drvpb.TaskStatsRequest{TaskId: t.cfg.Id,
		CollectionInterval: &duration.Duration{Nanos: 200000000}})
	n, good := 0, true
	var last *drvpb.TaskStatsResponse
	t0 := time.Now()
	for err == nil && n < 3 {
		var r *drvpb.TaskStatsResponse
		if r, err = st.Recv(); err == nil {
			n++
			last = r
			good = good && r.GetStats().GetAggResourceUsage() != nil && r.GetStats().GetTimestamp() != nil
		}
	}
	cancel()
	ok(err == nil && n == 3 && good, "TaskStats: a sample per interval, each with timestamp and agg_resource_usage", err, n)
	ok(time.Since(t0) < 3*time.Second, "TaskStats: 3 samples at 200 ms in under 3 s", time.Since(t0))
	mem := last.GetStats().GetAggResourceUsage().GetMemory()
	ok(mem.GetRss() > 0 || mem.GetUsage() > 0, "TaskStats: the task's memory is measured", mem)

	ictx, icancel := ctxT(5 * time.Second)
	ir, err := sh.s.drv.InspectTask(ictx, &drvpb.InspectTaskRequest{TaskId: t.cfg.Id})
	icancel()
	ok(err == nil && ir.GetTask().GetState() == drvpb.TaskState_RUNNING && ir.GetTask().GetStartedAt().GetSeconds() > 0 &&
		ir.GetTask().GetResult() != nil && ir.GetTask().GetName() == "stats", "InspectTask: running, started_at, result set", err, ir)

	// ExecTask: inside the task's sandbox, as the task's user, with the task's unveil
	ectx, ecancel := ctxT(15 * time.Second)
	er, err := sh.s.drv.ExecTask(ectx, &drvpb.ExecTaskRequest{TaskId: t.cfg.Id, Command: []string{"/usr/bin/id", "-u"}})
	ok(err == nil && strings.TrimSpace(string(er.GetStdout())) == "65534" && er.GetResult().GetExitCode() == 0,
		"ExecTask id -u: the task's user (nobody)", err, er)
	er, err = sh.s.drv.ExecTask(ectx, &drvpb.ExecTaskRequest{TaskId: t.cfg.Id, Command: []string{"/bin/cat", "/etc/shadow"}})
	ok(err == nil && er.GetResult().GetExitCode() != 0 && strings.Contains(string(er.GetStderr()), "denied"),
		"ExecTask cat /etc/shadow: refused as in the task", err, er)
	er, err = sh.s.drv.ExecTask(ectx, &drvpb.ExecTaskRequest{TaskId: t.cfg.Id, Command: []string{"/bin/ps", "-e", "-o", "comm="}})
	ok(err == nil && strings.Contains(string(er.GetStdout()), "sleep") && !strings.Contains(string(er.GetStdout()), "sandboxd"),
		"ExecTask ps: the task's pid namespace", err, er)
	_, err = sh.s.drv.ExecTask(ectx, &drvpb.ExecTaskRequest{TaskId: "no-such-task", Command: []string{"/bin/true"}})
	ok(status.Code(err) == codes.NotFound, "ExecTask into an unknown task: NOT_FOUND", err)
	ecancel()
	execStreaming(sh, t.cfg.Id)

	// TaskEvents stays open and quiet
	ectx2, ecancel2 := ctxT(1500 * time.Millisecond)
	ev, err := sh.s.drv.TaskEvents(ectx2, &drvpb.TaskEventsRequest{})
	if err == nil {
		_, err = ev.Recv()
	}
	ecancel2()
	ok(status.Code(err) == codes.DeadlineExceeded, "TaskEvents: open until the client leaves (no EOF)", err)

	sctx, scancel := ctxT(5 * time.Second)
	_, err = sh.s.drv.SignalTask(sctx, &drvpb.SignalTaskRequest{TaskId: t.cfg.Id, Signal: "SIGUSR1"})
	scancel()
	w, werr := wait(sh, t.cfg.Id, 10*time.Second)
	ok(err == nil && werr == nil && w.GetResult().GetExitCode() == 3, "SignalTask SIGUSR1: the task's trap ran (exit 3)", err, werr, w)
	t.logs()
	destroy(sh, t.cfg.Id)
}

func execStreaming(sh *shim, id string) {
	ctx, cancel := ctxT(15 * time.Second)
	defer cancel()
	run := func(setup *drvpb.ExecTaskStreamingRequest, stdin string) (string, string, *drvpb.ExitResult, error) {
		s, err := sh.s.drv.ExecTaskStreaming(ctx)
		if err != nil {
			return "", "", nil, err
		}
		s.Send(setup)
		if stdin != "" {
			s.Send(&drvpb.ExecTaskStreamingRequest{Stdin: &drvpb.ExecTaskStreamingIOOperation{Data: []byte(stdin)}})
		}
		s.Send(&drvpb.ExecTaskStreamingRequest{Stdin: &drvpb.ExecTaskStreamingIOOperation{Close: true}})
		var out, errs bytes.Buffer
		for {
			r, err := s.Recv()
			if err == io.EOF {
				return out.String(), errs.String(), nil, io.ErrUnexpectedEOF
			}
			if err != nil {
				return out.String(), errs.String(), nil, err
			}
			out.Write(r.GetStdout().GetData())
			errs.Write(r.GetStderr().GetData())
			if r.GetExited() {
				res := r.GetResult()
				_, err = s.Recv()
				if err != io.EOF {
					return out.String(), errs.String(), res, err
				}
				return out.String(), errs.String(), res, nil
			}
		}
	}
	out, _, res, err := run(&drvpb.ExecTaskStreamingRequest{Setup: &drvpb.ExecTaskStreamingRequest_Setup{
		TaskId: id, Command: []string{"/bin/sh", "-c", "read x; echo got:$x; exit 4"}}}, "hello\n")
	ok(err == nil && strings.TrimSpace(out) == "got:hello" && res.GetExitCode() == 4,
		"ExecTaskStreaming: stdin in, stdout out, exit code", err, out, res)
	out, _, res, err = run(&drvpb.ExecTaskStreamingRequest{
		Setup:   &drvpb.ExecTaskStreamingRequest_Setup{TaskId: id, Command: []string{"/bin/sh", "-c", "stty size; tty"}, Tty: true},
		TtySize: &drvpb.ExecTaskStreamingRequest_TerminalSize{Height: 33, Width: 77}}, "")
	ok(err == nil && strings.Contains(out, "33 77") && strings.Contains(out, "/dev/pts/") && res.GetExitCode() == 0,
		"ExecTaskStreaming with a TTY: a pty of the requested size", err, out, res)
}

func promiseChecks(sh *shim) {
	res, out, _, err := run(sh, "pledged", map[string]interface{}{"command": "/bin/echo", "args": []string{"pledged"},
		"promises": "stdio"})
	ok(err == nil && res.GetExitCode() == 0 && strings.TrimSpace(out) == "pledged", "promises = \"stdio\": echo works", err, res, out)
	res, _, errs, err := run(sh, "norpath", map[string]interface{}{"command": "/bin/cat", "args": []string{"/etc/hostname"},
		"promises": "stdio"})
	ok(err == nil && res.GetExitCode() != 0 && strings.Contains(errs, "Operation not permitted"),
		"promises = \"stdio\": opening a file is EPERM", err, res, errs)
}

// fingerprintWatch collects the health of every Fingerprint message until the context ends.
func fingerprintWatch(ctx context.Context, sh *shim) <-chan *drvpb.FingerprintResponse {
	ch := make(chan *drvpb.FingerprintResponse, 64)
	fs, err := sh.s.drv.Fingerprint(ctx, &drvpb.FingerprintRequest{})
	if err != nil {
		close(ch)
		return ch
	}
	go func() {
		defer close(ch)
		for {
			f, err := fs.Recv()
			if err != nil {
				return
			}
			ch <- f
		}
	}()
	return ch
}

func waitHealth(ch <-chan *drvpb.FingerprintResponse, want drvpb.FingerprintResponse_HealthState, d time.Duration) *drvpb.FingerprintResponse {
	deadline := time.After(d)
	for {
		select {
		case f, more := <-ch:
			if !more {
				return nil
			}
			if f.GetHealth() == want {
				return f
			}
		case <-deadline:
			return nil
		}
	}
}

func secondDriver() {
	sh2, err := launchShim("-name", "sandbox-privileged")
	if !ok(err == nil, "a second driver: the shim with args [-name sandbox-privileged]", err) {
		return
	}
	defer sh2.client.Kill()
	ctx, cancel := ctxT(10 * time.Second)
	defer cancel()
	pi, err := sh2.s.base.PluginInfo(ctx, &basepb.PluginInfoRequest{})
	ok(err == nil && pi.GetName() == "sandbox-privileged", "second driver: PluginInfo name sandbox-privileged", err, pi)
	setConfig(sh2)
	f := waitHealth(fingerprintWatch(ctx, sh2), drvpb.FingerprintResponse_UNHEALTHY, 5*time.Second)
	ok(f != nil && strings.Contains(f.GetHealthDescription(), "sandbox-privileged"),
		"second driver without a [driver sandbox-privileged] policy: unhealthy, saying why", f)
}

func shutdownCheck(sh *shim) {
	pid := sh.client.ReattachConfig().Pid
	t0 := time.Now()
	sh.client.Kill()
	el := time.Since(t0)
	err := syscall.Kill(pid, 0)
	ok(err == syscall.ESRCH && el < 1500*time.Millisecond, "Kill: Shutdown answered and the shim exited without SIGKILL", el, err)
}

// orphanCheck: a StartTask whose outcome the shim cannot know (sandboxd did not answer in time)
// fails as retryable, and Nomad retries under a new task id, so the shim must not leave the
// task sandboxd may still start running: it destroys it once sandboxd answers again.
func orphanCheck() {
	os.Setenv("SANDBOX_SHIM_START_TIMEOUT_MS", "1500")
	sh2, err := launchShim()
	os.Unsetenv("SANDBOX_SHIM_START_TIMEOUT_MS")
	if !ok(err == nil, "orphan check: a shim with a 1.5 s start timeout", err) {
		return
	}
	defer sh2.client.Kill()
	ctx, cancel := ctxT(10 * time.Second)
	defer cancel()
	sh2.s.base.ConfigSchema(ctx, &basepb.ConfigSchemaRequest{})
	setConfig(sh2)
	sh2.s.drv.InspectTask(ctx, &drvpb.InspectTaskRequest{TaskId: "warm-up"}) // connected to sandboxd
	t := newTask("orphan", map[string]interface{}{"command": "/bin/sleep", "args": []string{"1000"}})
	daemon.Signal(syscall.SIGSTOP)
	_, err = start(sh2, t)
	daemon.Signal(syscall.SIGCONT)
	ok(err != nil && strings.Contains(err.Error(), "did not answer in time") && recoverable(err),
		"StartTask while sandboxd does not answer: fails, saying so, recoverable", err)
	// sandboxd, running again, does start the task from the request it had queued ...
	started := false
	for i := 0; i < 50 && !started; i++ {
		b, _ := ioutil.ReadFile(filepath.Join(tmp, "sandboxd.log"))
		started = strings.Contains(string(b), "task '"+t.cfg.Id+"' starting")
		if !started {
			time.Sleep(100 * time.Millisecond)
		}
	}
	ok(started, "... sandboxd starts the task late, from its queued request")
	listed := func() bool {
		out, _ := exec.Command(os.Getenv("SANDBOXCTL"), "--socket", os.Getenv("E2E_SOCKET"), "list").Output()
		return strings.Contains(string(out), t.cfg.Id)
	}
	gone := false
	for i := 0; i < 50 && !gone; i++ {
		time.Sleep(100 * time.Millisecond)
		gone = !listed()
	}
	ok(gone, "... and the task sandboxd started late is destroyed, not left running with no owner")
	t.logs()
}
