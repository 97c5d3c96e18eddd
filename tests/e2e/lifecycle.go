package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	basepb "e2epb/hashicorp_nomad_plugins_base_proto"
	drvpb "e2epb/hashicorp_nomad_plugins_drivers_proto"
)

func lifecycle(sh *shim) {
	ctx, cancel := ctxT(10 * time.Second)
	defer cancel()

	pi, err := sh.s.base.PluginInfo(ctx, &basepb.PluginInfoRequest{})
	ok(err == nil && pi.GetType() == basepb.PluginType_DRIVER, "PluginInfo: type driver", err, pi)
	ok(pi != nil && len(pi.GetPluginApiVersions()) > 0 && pi.GetPluginApiVersions()[0] == "v0.1.0",
		"PluginInfo: api v0.1.0", pi)
	ok(pi != nil && pi.GetName() != "" && pi.GetPluginVersion() != "", "PluginInfo: name and version", pi)

	cs, err := sh.s.base.ConfigSchema(ctx, &basepb.ConfigSchemaRequest{})
	ok(err == nil && cs.GetSpec().GetObject() != nil, "ConfigSchema: an object spec", err)
	pluginAttrs = attrNames(cs.GetSpec())
	note("plugin config attributes: %v", pluginAttrs)
	ok(setConfig(sh) == nil, "SetConfig with the cty-msgpack object and sandboxd's socket")

	ts, err := sh.s.drv.TaskConfigSchema(ctx, &drvpb.TaskConfigSchemaRequest{})
	ok(err == nil && ts.GetSpec().GetObject() != nil, "TaskConfigSchema: an object spec", err)
	taskAttrs = attrNames(ts.GetSpec())
	note("task config attributes: %v", taskAttrs)
	for _, a := range []string{"command", "args", "promises", "unveil"} {
		ok(contains(taskAttrs, a), "TaskConfigSchema has '"+a+"'")
	}

	caps, err := sh.s.drv.Capabilities(ctx, &drvpb.CapabilitiesRequest{})
	c := caps.GetCapabilities()
	ok(err == nil && c.GetSendSignals(), "Capabilities: send_signals", err, c)
	ok(c.GetDynamicWorkloadUsers(), "Capabilities: dynamic_workload_users", c)

	fctx, fcancel := ctxT(15 * time.Second)
	fs, err := sh.s.drv.Fingerprint(fctx, &drvpb.FingerprintRequest{})
	if err == nil {
		var f *drvpb.FingerprintResponse
		f, err = fs.Recv()
		ok(err == nil && f.GetHealth() == drvpb.FingerprintResponse_HEALTHY,
			"Fingerprint: first message healthy", err, f)
		sawAttr := false
		for k := range f.GetAttributes() {
			sawAttr = sawAttr || strings.HasPrefix(k, "driver.")
		}
		ok(sawAttr, "Fingerprint: driver.* attributes", f.GetAttributes())
		_, own := f.GetAttributes()["driver.sandbox"]
		ok(!own, "Fingerprint: no driver.sandbox attribute (Nomad sets driver.NAME itself)", f.GetAttributes())
	} else {
		ok(false, "Fingerprint stream opens", err)
	}
	fcancel()

	// --- seed jobs
	res, out, _, err := run(sh, "echo", map[string]interface{}{"command": "/bin/echo", "args": []string{"hello"}})
	ok(err == nil && res.GetExitCode() == 0, "echo hello: exit 0", err, res)
	ok(strings.TrimSpace(out) == "hello", "echo hello: 'hello' on the stdout FIFO", out)

	res, _, _, err = run(sh, "exit7", map[string]interface{}{"command": "/bin/sh", "args": []string{"-c", "exit 7"}})
	ok(err == nil && res.GetExitCode() == 7, "sh -c 'exit 7': WaitTask exit 7", err, res)

	res, out, errs, err := run(sh, "passwd", map[string]interface{}{"command": "/bin/cat", "args": []string{"/etc/passwd"}})
	ok(err == nil && res.GetExitCode() != 0, "cat /etc/passwd under the default unveil: nonzero", err, res, out)
	ok(strings.Contains(errs, "Permission denied"), "cat /etc/passwd: 'Permission denied' on stderr", errs)

	res, out, _, err = run(sh, "env", map[string]interface{}{"command": "/usr/bin/env"})
	ok(err == nil && res.GetExitCode() == 0 && strings.Contains(out, "E2E_MARK=seen-env"),
		"env: the task environment reaches the task", err, res, out)

	res, out, _, err = run(sh, "ps", map[string]interface{}{"command": "/bin/ps", "args": []string{"-e", "-o", "pid=,comm="}})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	ok(err == nil && res.GetExitCode() == 0 && len(lines) <= 3, "ps: a pid namespace (only the task's processes)", err, res, out)

	// python http.server + a client from inside the same task
	if _, e := os.Stat("/usr/bin/python3"); e == nil {
		script := "/usr/bin/python3 -m http.server 18781 --bind 127.0.0.1 >/dev/null 2>&1 & " +
			"for i in 1 2 3 4 5 6 7 8 9 10; do /usr/bin/python3 -c \"import urllib.request,sys; " +
			"sys.stdout.write(str(urllib.request.urlopen('http://127.0.0.1:18781/').status))\" && break; sleep 0.5; done; kill $!"
		res, out, errs, err = run(sh, "http", map[string]interface{}{"command": "/bin/sh", "args": []string{"-c", script},
			"unveil": []string{"r:/etc/mime.types"}})
		ok(err == nil && strings.Contains(out, "200"), "python3 http.server with unveil r:/etc/mime.types answers 200 inside", err, res, out, errs)
	}

	// curl (the pledge driver's first example) against a server of ours on loopback
	ln, lerr := net.Listen("tcp", "127.0.0.1:0")
	if ok(lerr == nil, "a local HTTP server for curl", lerr) {
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte("hello from the e2e server\n"))
		})}
		go srv.Serve(ln)
		url := "http://" + ln.Addr().String() + "/"
		res, out, errs, err = run(sh, "curl", map[string]interface{}{"command": "/usr/bin/curl",
			"args": []string{"-sS", url}, "promises": "stdio rpath inet dns"})
		ok(err == nil && res.GetExitCode() == 0 && strings.Contains(out, "hello from the e2e server"),
			"curl with promises 'stdio rpath inet dns': fetches a page", err, res, out, errs)
		res, _, errs, err = run(sh, "curlnoinet", map[string]interface{}{"command": "/usr/bin/curl",
			"args": []string{"-sS", url}, "promises": "stdio rpath"})
		ok(err == nil && res.GetExitCode() != 0, "curl without 'inet': fails", err, res, errs)
		srv.Close()
	}

	// java (a JVM: threads, JIT code, many mapped files)
	res, _, errs, err = run(sh, "java", map[string]interface{}{"command": "/usr/bin/java",
		"args": []string{"-Xmx64m", "-version"}, "promises": "stdio rpath prot_exec"})
	ok(err == nil && res.GetExitCode() == 0 && strings.Contains(errs, "OpenJDK"),
		"java -version with promises 'stdio rpath prot_exec': runs", err, res, errs)

	// --- stop
	t := newTask("sleep", map[string]interface{}{"command": "/bin/sleep", "args": []string{"1000"}})
	if _, err = start(sh, t); ok(err == nil, "sleep 1000: started", err) {
		t0 := time.Now()
		err = stop(sh, t.cfg.Id, 5*time.Second, "SIGTERM")
		w, werr := wait(sh, t.cfg.Id, 20*time.Second)
		el := time.Since(t0)
		ok(err == nil && werr == nil && el < 5*time.Second, "sleep 1000: StopTask(SIGTERM) ends it within kill_timeout", err, werr, el)
		ok(w.GetResult().GetSignal() == int32(syscall.SIGTERM) || w.GetResult().GetExitCode() == 128+15,
			"sleep 1000: reported as SIGTERM", w)
		t.logs()
		destroy(sh, t.cfg.Id)
	}
	t = newTask("ignore", map[string]interface{}{"command": "/bin/sh", "args": []string{"-c", "trap '' TERM; while :; do sleep 1; done"}})
	if _, err = start(sh, t); ok(err == nil, "TERM-ignoring task: started", err) {
		time.Sleep(500 * time.Millisecond)
		t0 := time.Now()
		err = stop(sh, t.cfg.Id, 2*time.Second, "SIGTERM")
		w, werr := wait(sh, t.cfg.Id, 20*time.Second)
		el := time.Since(t0)
		ok(err == nil && werr == nil && el >= 2*time.Second && el < 6*time.Second,
			"TERM-ignoring task: killed after kill_timeout 2s", err, werr, el)
		ok(w.GetResult().GetSignal() == int32(syscall.SIGKILL), "TERM-ignoring task: reported as SIGKILL", w)
		t.logs()
		destroy(sh, t.cfg.Id)
	}

	// --- bad configs name the field
	bad := []struct {
		name, field string
		dc          map[string]interface{}
	}{
		{"badpromise", "promises", map[string]interface{}{"command": "/bin/true", "promises": "stdio nosuchpromise"}},
		{"badunveil", "unveil", map[string]interface{}{"command": "/bin/true", "unveil": []string{"rwc:/root"}}},
		{"nocommand", "command", map[string]interface{}{}},
	}
	for _, b := range bad {
		tb := newTask(b.name, b.dc)
		_, err := start(sh, tb)
		tb.logs()
		ok(err != nil && strings.Contains(err.Error(), b.field), "bad config "+b.name+": StartTask error names '"+b.field+"'", err)
		if err == nil {
			stop(sh, tb.cfg.Id, time.Second, "SIGKILL")
			destroy(sh, tb.cfg.Id)
		}
	}
	ok(destroy(sh, "no-such-task") == nil, "DestroyTask of an unknown task: OK")

	promiseChecks(sh)
	forkBombCheck(sh)
	grpcChecks(sh)
	privilegeChecks(sh)
	streamChecks(sh)
	secondDriver()
	orphanCheck()
	sh = recoverAfterShimKill(sh)
	recoverAfterDaemonKill(sh)
	bench(sh)
	shutdownCheck(sh)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func newShim() *shim {
	sh, err := launchShim()
	if !ok(err == nil, "a new shim launched", err) {
		bail("no new shim")
	}
	ctx, cancel := ctxT(10 * time.Second)
	defer cancel()
	sh.s.base.ConfigSchema(ctx, &basepb.ConfigSchemaRequest{})
	ok(setConfig(sh) == nil, "new shim: SetConfig")
	return sh
}

func recoverAfterShimKill(sh *shim) *shim {
	t := newTask("survivor", map[string]interface{}{"command": "/bin/sh", "args": []string{"-c", "sleep 3; exit 5"}})
	h, err := start(sh, t)
	if !ok(err == nil, "survivor: started", err) {
		return sh
	}
	pid := sh.client.ReattachConfig().Pid
	syscall.Kill(pid, syscall.SIGKILL)
	for i := 0; i < 50 && !sh.client.Exited(); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	ok(sh.client.Exited(), "kill -9 of the shim: go-plugin sees it exit")
	sh = newShim()
	ctx, cancel := ctxT(20 * time.Second)
	defer cancel()
	_, err = sh.s.drv.RecoverTask(ctx, &drvpb.RecoverTaskRequest{TaskId: t.cfg.Id, Handle: stripDriverConfig(h)})
	ok(err == nil, "new shim: RecoverTask re-attaches (handle without msgpack_driver_config)", err)
	w, err := wait(sh, t.cfg.Id, 30*time.Second)
	ok(err == nil && w.GetResult().GetExitCode() == 5, "recovered task: WaitTask reports exit 5", err, w)
	t.logs()
	destroy(sh, t.cfg.Id)
	return sh
}

// stripDriverConfig: Nomad does not persist msgpack_driver_config across agent restarts.
func stripDriverConfig(h *drvpb.TaskHandle) *drvpb.TaskHandle {
	if h == nil || h.Config == nil {
		return h
	}
	c := *h.Config
	c.MsgpackDriverConfig = nil
	n := *h
	n.Config = &c
	return &n
}

func recoverAfterDaemonKill(sh *shim) {
	t := newTask("daemonkill", map[string]interface{}{"command": "/bin/sh", "args": []string{"-c", "sleep 3; exit 6"}})
	h, err := start(sh, t)
	if !ok(err == nil, "daemonkill: started", err) {
		return
	}
	fctx, fcancel := ctxT(60 * time.Second)
	defer fcancel()
	fch := fingerprintWatch(fctx, sh)
	daemon.Signal(syscall.SIGKILL)
	daemon.Wait()
	f := waitHealth(fch, drvpb.FingerprintResponse_UNHEALTHY, 10*time.Second)
	ok(f != nil && f.GetHealthDescription() != "", "sandboxd killed: Fingerprint turns unhealthy with a reason", f)
	startSandboxd()
	f = waitHealth(fch, drvpb.FingerprintResponse_HEALTHY, 15*time.Second)
	ok(f != nil, "sandboxd back: Fingerprint healthy again", f)
	ctx, cancel := ctxT(20 * time.Second)
	defer cancel()
	_, err = sh.s.drv.RecoverTask(ctx, &drvpb.RecoverTaskRequest{TaskId: t.cfg.Id, Handle: h})
	ok(err == nil, "kill -9 of sandboxd, restart: RecoverTask OK", err)
	w, err := wait(sh, t.cfg.Id, 30*time.Second)
	ok(err == nil && w.GetResult().GetExitCode() == 6, "after the sandboxd restart: WaitTask reports exit 6", err, w)
	t.logs()
	destroy(sh, t.cfg.Id)
}

func bench(sh *shim) {
	const n = 20
	var total time.Duration
	good := 0
	b0 := time.Now()
	for i := 0; i < n && time.Since(b0) < 30*time.Second; i++ {
		t := newTask("true", map[string]interface{}{"command": "/bin/true"})
		t0 := time.Now()
		if _, err := start(sh, t); err == nil {
			if _, err := wait(sh, t.cfg.Id, 30*time.Second); err == nil {
				total += time.Since(t0)
				good++
			}
		}
		t.logs()
		destroy(sh, t.cfg.Id)
	}
	var fe time.Duration
	for i := 0; i < n; i++ {
		t0 := time.Now()
		exec.Command("/bin/true").Run()
		fe += time.Since(t0)
	}
	if good > 0 {
		note("bench: StartTask->WaitTask /bin/true through the shim: %v mean over %d", total/time.Duration(good), good)
	}
	note("bench: plain fork+exec /bin/true (Go os/exec): %v mean over %d", fe/n, n)
}
