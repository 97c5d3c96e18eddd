package main

// Measurement modes of the e2e client (E2E_MODE), used by bench/run.sh and for the shim issue's
// figures. They report, never assert: every figure is a line "# bench: NAME key=value ...".
//
//	E2E_MODE=latency  E2E_RUNS (200), E2E_PROMISES ("stdio rpath"), E2E_CLIENTS ("1 2 8"):
//	                  StartTask->WaitTask of /bin/true through the shim, then starts/s with
//	                  C concurrent clients, and plain fork+exec of /bin/true for scale.
//	                  E2E_LOGS=fifo: each task logs to FIFOs of its own whose reader is open
//	                  before StartTask (default: one regular file for every task).
//	E2E_MODE=scale    E2E_TASKS (1000): that many sleeping tasks, each with a WaitTask pending
//	                  as Nomad keeps one; shim and sandboxd memory idle and loaded; kill -9 of
//	                  the shim, then the time for a fresh shim to RecoverTask all of them.
//	E2E_MODE=exec     E2E_RUNS (20): ExecTask with a 1 s timeout on a command that never ends;
//	                  the time from each deadline to the death of its process group.

import (
	"fmt"
	"io/ioutil"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	basepb "e2epb/hashicorp_nomad_plugins_base_proto"
	drvpb "e2epb/hashicorp_nomad_plugins_drivers_proto"
)

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return def
}

func envStr(k, def string) string {
	if v, ok := os.LookupEnv(k); ok {
		return v
	}
	return def
}

// benchShim launches a shim and configures it the way Nomad does before any task.
func benchShim() *shim {
	sh, err := launchShim()
	if err != nil {
		bail("cannot launch the shim: %v", err)
	}
	ctx, cancel := ctxT(10 * time.Second)
	defer cancel()
	cs, err := sh.s.base.ConfigSchema(ctx, &basepb.ConfigSchemaRequest{})
	if err != nil {
		bail("ConfigSchema: %v", err)
	}
	pluginAttrs = attrNames(cs.GetSpec())
	if err := setConfig(sh); err != nil {
		bail("SetConfig: %v", err)
	}
	ts, err := sh.s.drv.TaskConfigSchema(ctx, &drvpb.TaskConfigSchemaRequest{})
	if err != nil {
		bail("TaskConfigSchema: %v", err)
	}
	taskAttrs = attrNames(ts.GetSpec())
	return sh
}

// quietTask is a task whose stdout and stderr go to one regular log file (no FIFO per task:
// a thousand tasks would need four thousand descriptors in this client).
func quietTask(name string, dc map[string]interface{}) *task {
	alloc := filepath.Join(os.Getenv("E2E_NOMAD"), "alloc", allocID)
	logs := filepath.Join(alloc, "alloc", "logs")
	os.MkdirAll(logs, 0777)
	for _, d := range []string{"local", "secrets", "tmp"} {
		os.MkdirAll(filepath.Join(alloc, name, d), 0777)
	}
	logf := filepath.Join(logs, "bench.log")
	if f, err := os.OpenFile(logf, os.O_CREATE|os.O_WRONLY, 0644); err == nil {
		f.Close()
	}
	var held []*os.File
	outf, errf := logf, logf
	if os.Getenv("E2E_LOGS") == "fifo" { // the reader already there, as a logmon that was quick
		outf, errf = filepath.Join(logs, "."+name+".stdout.fifo"), filepath.Join(logs, "."+name+".stderr.fifo")
		for _, p := range []string{outf, errf} {
			os.Remove(p)
			syscall.Mkfifo(p, 0600)
			if fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0); err == nil {
				held = append(held, os.NewFile(uintptr(fd), p))
			}
		}
	}
	return &task{held: held, cfg: &drvpb.TaskConfig{
		Id:                  fmt.Sprintf("%s/%s/%08x", allocID, name, time.Now().UnixNano()&0xffffffff),
		Name:                name,
		AllocId:             allocID,
		JobName:             "bench",
		JobId:               "bench",
		TaskGroupName:       "g",
		Namespace:           "default",
		User:                "nobody",
		AllocDir:            alloc,
		Env:                 map[string]string{"PATH": "/usr/bin:/bin"},
		MsgpackDriverConfig: objectFor(taskAttrs, dc),
		StdoutPath:          outf,
		StderrPath:          errf,
	}}
}

type stats struct {
	n                           int
	median, p10, p90, mean, min float64
}

func summarize(ms []float64) stats {
	if len(ms) == 0 {
		return stats{}
	}
	sort.Float64s(ms)
	sum := 0.0
	for _, v := range ms {
		sum += v
	}
	at := func(q float64) float64 { return ms[int(q*float64(len(ms)-1)+0.5)] }
	return stats{len(ms), at(0.5), at(0.1), at(0.9), sum / float64(len(ms)), ms[0]}
}

func (s stats) String() string {
	return fmt.Sprintf("n=%d median_ms=%.3f p10_ms=%.3f p90_ms=%.3f mean_ms=%.3f min_ms=%.3f",
		s.n, s.median, s.p10, s.p90, s.mean, s.min)
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Nanoseconds()) / 1e6 }

// memKiB reads VmRSS and Pss (KiB) of a process.
func memKiB(pid int) (rss, pss int) {
	if b, err := ioutil.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmRSS:") {
				rss, _ = strconv.Atoi(strings.Fields(l)[1])
			}
		}
	}
	if b, err := ioutil.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "Pss:") {
				pss, _ = strconv.Atoi(strings.Fields(l)[1])
			}
		}
	}
	return
}

func shimPid(sh *shim) int { return sh.client.ReattachConfig().Pid }

func startWaitDestroy(sh *shim, dc map[string]interface{}, name string) (float64, error) {
	t := quietTask(name, dc)
	defer func() {
		for _, f := range t.held {
			f.Close()
		}
	}()
	t0 := time.Now()
	if _, err := start(sh, t); err != nil {
		return 0, err
	}
	w, err := wait(sh, t.cfg.Id, 30*time.Second)
	d := msSince(t0)
	destroy(sh, t.cfg.Id)
	if err == nil && w.GetResult().GetExitCode() != 0 {
		err = fmt.Errorf("exit %d (signal %d)", w.GetResult().GetExitCode(), w.GetResult().GetSignal())
	}
	return d, err
}

func benchLatency(sh *shim) {
	runs := envInt("E2E_RUNS", 200)
	dc := map[string]interface{}{"command": "/bin/true"}
	if p := envStr("E2E_PROMISES", "stdio rpath"); p != "" {
		dc["promises"] = p
	}
	for i := 0; i < 5; i++ { // warm-up
		startWaitDestroy(sh, dc, "warm")
	}
	var ms []float64
	for i := 0; i < runs; i++ {
		d, err := startWaitDestroy(sh, dc, "true")
		if err != nil {
			bail("StartTask->WaitTask /bin/true: %v", err)
		}
		ms = append(ms, d)
	}
	fmt.Printf("# bench: shim_start_wait promises=%q %s\n", envStr("E2E_PROMISES", "stdio rpath"), summarize(ms))

	var fe []float64
	for i := 0; i < runs; i++ {
		t0 := time.Now()
		exec.Command("/bin/true").Run()
		fe = append(fe, msSince(t0))
	}
	fmt.Printf("# bench: go_fork_exec %s\n", summarize(fe))

	for _, cs := range strings.Fields(envStr("E2E_CLIENTS", "1 2 8")) {
		c, _ := strconv.Atoi(cs)
		if c <= 0 {
			continue
		}
		per := runs / c
		if per < 10 {
			per = 10
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		done, failed := 0, 0
		t0 := time.Now()
		for k := 0; k < c; k++ {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				for i := 0; i < per; i++ {
					_, err := startWaitDestroy(sh, dc, fmt.Sprintf("tp%d", k))
					mu.Lock()
					if err != nil {
						failed++
					} else {
						done++
					}
					mu.Unlock()
				}
			}(k)
		}
		wg.Wait()
		el := time.Since(t0).Seconds()
		fmt.Printf("# bench: shim_throughput clients=%d starts=%d failed=%d seconds=%.3f starts_per_s=%.1f\n",
			c, done, failed, el, float64(done)/el)
	}
}

// parallel runs f(i) for i in [0,n) on w workers.
func parallel(n, w int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for k := 0; k < w; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

func benchScale(sh *shim) {
	n := envInt("E2E_TASKS", 1000)
	daemonPid := daemon.Pid
	// Nomad keeps one Fingerprint stream open for the driver's whole life
	fctx, fcancel := ctxT(time.Hour)
	defer fcancel()
	fingerprintWatch(fctx, sh)
	time.Sleep(200 * time.Millisecond)
	rss, pss := memKiB(shimPid(sh))
	drss, _ := memKiB(daemonPid)
	fmt.Printf("# bench: idle shim_rss_kib=%d shim_pss_kib=%d sandboxd_rss_kib=%d\n", rss, pss, drss)

	tasks := make([]*task, n)
	handles := make([]*drvpb.TaskHandle, n)
	errs := make([]error, n)
	dc := map[string]interface{}{"command": "/bin/sleep", "args": []string{"100000"}, "promises": "stdio"}
	t0 := time.Now()
	parallel(n, 8, func(i int) {
		tasks[i] = quietTask(fmt.Sprintf("s%04d", i), dc)
		handles[i], errs[i] = start(sh, tasks[i])
	})
	startS := time.Since(t0).Seconds()
	good := 0
	var firstErr error
	for _, e := range errs {
		if e == nil {
			good++
		} else if firstErr == nil {
			firstErr = e
		}
	}
	fmt.Printf("# bench: scale_start tasks=%d started=%d seconds=%.3f starts_per_s=%.1f first_error=%q\n",
		n, good, startS, float64(good)/startS, fmt.Sprint(firstErr))

	// one pending WaitTask per task, as Nomad's task runners hold them
	waitAll := func(sh *shim) func() {
		ctx, cancel := ctxT(time.Hour)
		for i := range tasks {
			if errs[i] == nil {
				go sh.s.drv.WaitTask(ctx, &drvpb.WaitTaskRequest{TaskId: tasks[i].cfg.Id})
			}
		}
		return cancel
	}
	w1 := waitAll(sh)
	time.Sleep(2 * time.Second)
	rss, pss = memKiB(shimPid(sh))
	drss, dpss := memKiB(daemonPid)
	fmt.Printf("# bench: loaded tasks=%d shim_rss_kib=%d shim_pss_kib=%d sandboxd_rss_kib=%d sandboxd_pss_kib=%d\n",
		good, rss, pss, drss, dpss)
	if p := envInt("E2E_PAUSE_LOADED", 0); p > 0 { // time to look at the loaded shim (pid given)
		fmt.Printf("# bench: pausing %d s, shim pid %d\n", p, shimPid(sh))
		time.Sleep(time.Duration(p) * time.Second)
	}
	t0 = time.Now()
	out, err := exec.Command(os.Getenv("SANDBOXCTL"), "--socket", os.Getenv("E2E_SOCKET"), "list").Output()
	fmt.Printf("# bench: sandboxctl_list tasks=%d ms=%.1f lines=%d err=%v\n", good, msSince(t0),
		strings.Count(string(out), "\n"), err)

	// kill -9 of the shim; a fresh one recovers every task from its handle (without the
	// msgpack driver config, which Nomad does not persist)
	syscall.Kill(shimPid(sh), syscall.SIGKILL)
	for i := 0; i < 100 && !sh.client.Exited(); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	w1()
	sh = benchShim()
	for _, workers := range []int{1, 8} {
		if workers == 8 {
			// again from a fresh shim: the first pass re-attached everything already
			syscall.Kill(shimPid(sh), syscall.SIGKILL)
			for i := 0; i < 100 && !sh.client.Exited(); i++ {
				time.Sleep(50 * time.Millisecond)
			}
			sh = benchShim()
		}
		rerr := make([]error, n)
		t0 = time.Now()
		parallel(n, workers, func(i int) {
			if errs[i] != nil {
				return
			}
			ctx, cancel := ctxT(60 * time.Second)
			defer cancel()
			_, rerr[i] = sh.s.drv.RecoverTask(ctx, &drvpb.RecoverTaskRequest{TaskId: tasks[i].cfg.Id,
				Handle: stripDriverConfig(handles[i])})
		})
		el := msSince(t0)
		bad := 0
		for _, e := range rerr {
			if e != nil {
				bad++
			}
		}
		fmt.Printf("# bench: recover tasks=%d clients=%d failed=%d ms=%.1f\n", good, workers, bad, el)
	}
	w2 := waitAll(sh)
	time.Sleep(2 * time.Second)
	rss, pss = memKiB(shimPid(sh))
	fmt.Printf("# bench: recovered_loaded tasks=%d shim_rss_kib=%d shim_pss_kib=%d\n", good, rss, pss)
	w2()

	t0 = time.Now()
	parallel(n, 8, func(i int) {
		if errs[i] == nil {
			destroy(sh, tasks[i].cfg.Id)
		}
	})
	fmt.Printf("# bench: destroy tasks=%d seconds=%.3f\n", good, time.Since(t0).Seconds())
	out, _ = exec.Command(os.Getenv("SANDBOXCTL"), "--socket", os.Getenv("E2E_SOCKET"), "list").Output()
	left := 0
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, allocID) {
			left++
		}
	}
	if left > 0 {
		fmt.Printf("# bench: WARNING %d tasks left after DestroyTask\n", left)
	}
}

// benchMain runs a measurement mode instead of the tests.
func benchMain(mode string) {
	startSandboxd()
	sh := benchShim()
	switch mode {
	case "latency":
		benchLatency(sh)
	case "scale":
		benchScale(sh)
	case "demo":
		demoMain(sh)
	case "exec":
		benchExecKill(sh)
	default:
		bail("unknown E2E_MODE %q (latency, scale, demo, exec)", mode)
	}
}
