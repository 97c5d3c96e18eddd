package main

// E2E_MODE=demo: the README's job, run the way Nomad runs it. go-plugin's client launches the
// shim, configures it and starts a python web server task through StartTask; the demo fetches
// a page from it, shows InspectTask and TaskStats, stops it with StopTask and prints WaitTask's
// result, then shows a bad job config refused with the field named. Prints prose, not TAP.

import (
	"fmt"
	"io/ioutil"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	drvpb "e2epb/hashicorp_nomad_plugins_drivers_proto"
)

func say(f string, a ...interface{}) { fmt.Printf("\n== "+f+"\n", a...) }

func demoMain(sh *shim) {
	www := filepath.Join(tmp, "data", "www")
	os.MkdirAll(www, 0755)
	ioutil.WriteFile(filepath.Join(www, "index.html"), []byte("<h1>hello from a Nomad task in the sandbox</h1>\n"), 0644)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		bail("no free port: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	cfg := map[string]interface{}{
		"command":  "/usr/bin/python3",
		"args":     []string{"-m", "http.server", fmt.Sprint(port), "--bind", "127.0.0.1", "--directory", www},
		"promises": "stdio rpath inet",
		"unveil":   []string{"r:/etc/mime.types", "r:" + www},
	}
	say("StartTask through the plugin (go-plugin's client, as Nomad): python3 -m http.server %d", port)
	fmt.Printf("   config { command = %q, args = %q,\n            promises = %q, unveil = %q }\n",
		cfg["command"], cfg["args"], cfg["promises"], cfg["unveil"])
	t := newTask("web", cfg)
	h, err := start(sh, t)
	if err != nil {
		bail("StartTask failed: %v", err)
	}
	fmt.Printf("   handle: state %v, driver_state %s\n", h.GetState(), h.GetDriverState())

	say("GET http://127.0.0.1:%d/ from the host", port)
	var body string
	for i := 0; i < 50 && body == ""; i++ {
		if r, e := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port)); e == nil {
			b, _ := ioutil.ReadAll(r.Body)
			r.Body.Close()
			body = strings.TrimSpace(string(b))
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	fmt.Printf("   %s\n", body)

	ctx, cancel := ctxT(10 * time.Second)
	defer cancel()
	if in, e := sh.s.drv.InspectTask(ctx, &drvpb.InspectTaskRequest{TaskId: t.cfg.Id}); e == nil {
		say("InspectTask")
		fmt.Printf("   state %v, started %v\n", in.GetTask().GetState(), in.GetTask().GetStartedAt())
	}
	if st, e := sh.s.drv.TaskStats(ctx, &drvpb.TaskStatsRequest{TaskId: t.cfg.Id}); e == nil {
		if m, e := st.Recv(); e == nil {
			u := m.GetStats().GetAggResourceUsage()
			say("TaskStats")
			fmt.Printf("   memory rss %d bytes, cpu total %.1f ticks\n", u.GetMemory().GetRss(),
				u.GetCpu().GetTotalTicks())
		}
	}

	say("StopTask (SIGTERM, kill_timeout 5s), then WaitTask")
	stop(sh, t.cfg.Id, 5*time.Second, "SIGTERM")
	if w, e := wait(sh, t.cfg.Id, 20*time.Second); e == nil {
		fmt.Printf("   exit code %d, signal %d\n", w.GetResult().GetExitCode(), w.GetResult().GetSignal())
	}
	_, errs := t.logs()
	if errs != "" {
		fmt.Printf("   the task's stderr (Nomad's log FIFO):\n")
		for _, l := range strings.Split(strings.TrimSpace(errs), "\n") {
			fmt.Printf("     %s\n", l)
		}
	}
	destroy(sh, t.cfg.Id)

	say("A job with a typo in a promise is refused, naming the field")
	bad := newTask("typo", map[string]interface{}{"command": "/bin/true", "promises": "stdio rpth"})
	if _, err := start(sh, bad); err != nil {
		fmt.Printf("   %v\n", err)
	} else {
		destroy(sh, bad.cfg.Id)
	}
	bad.logs()
	if body == "" {
		bail("the task's web server did not answer")
	}
}
