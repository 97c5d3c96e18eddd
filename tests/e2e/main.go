package main

// The e2e client: launches the shim exactly as Nomad does (go-plugin client, Nomad's base
// handshake, gRPC only) and drives BasePlugin + Driver against a private sandboxd.

import (
	"bytes"
	"context"
	"fmt"
	"io/ioutil"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/golang/protobuf/ptypes/duration"
	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	basepb "e2epb/hashicorp_nomad_plugins_base_proto"
	drvpb "e2epb/hashicorp_nomad_plugins_drivers_proto"
	hclspecpb "e2epb/hashicorp_nomad_plugins_shared_hclspec"
)

// Nomad plugins/base/plugin.go Handshake (verified against hashicorp/nomad v1.10.5).
var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  2,
	MagicCookieKey:   "NOMAD_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "e4327c2e01eabfd75a8a67adb114fb34a757d57eee7728d857a8cec6e91a7255",
}

type stubs struct {
	base basepb.BasePluginClient
	drv  drvpb.DriverClient
	conn *grpc.ClientConn
}

type driverPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (driverPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return nil }
func (driverPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return &stubs{basepb.NewBasePluginClient(c), drvpb.NewDriverClient(c), c}, nil
}

var nTest int
var nFail int

func ok(cond bool, name string, diag ...interface{}) bool {
	nTest++
	if cond {
		fmt.Printf("ok %d - %s\n", nTest, name)
	} else {
		nFail++
		fmt.Printf("not ok %d - %s\n", nTest, name)
		for _, d := range diag {
			for _, l := range strings.Split(fmt.Sprint(d), "\n") {
				fmt.Printf("#   %s\n", l)
			}
		}
	}
	return cond
}

func note(f string, a ...interface{}) { fmt.Printf("# "+f+"\n", a...) }

var tmp = os.Getenv("E2E_TMP")
var started []*os.Process // every process we started, killed by pid at the end

func bail(f string, a ...interface{}) {
	fmt.Printf("Bail out! "+f+"\n", a...)
	cleanup()
	os.Exit(1)
}

var atCleanup []func() // what else the run made (a netns), undone even after a bail-out

func cleanup() {
	for _, p := range started {
		p.Signal(syscall.SIGKILL)
		p.Wait()
	}
	started = nil
	for i := len(atCleanup) - 1; i >= 0; i-- {
		atCleanup[i]()
	}
	atCleanup = nil
}

// --- sandboxd -------------------------------------------------------------------------------

var daemon *os.Process

func startSandboxd() {
	log, _ := os.OpenFile(filepath.Join(tmp, "sandboxd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0644)
	cmd := exec.Command(os.Getenv("SANDBOXD"), "--config", os.Getenv("E2E_CONF"),
		"--socket", os.Getenv("E2E_SOCKET"), "--state-dir", os.Getenv("E2E_STATE"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		bail("cannot start sandboxd: %v", err)
	}
	daemon = cmd.Process
	started = append(started, daemon)
	for i := 0; i < 100; i++ {
		if exec.Command(os.Getenv("SANDBOXCTL"), "--socket", os.Getenv("E2E_SOCKET"), "list").Run() == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := ioutil.ReadFile(filepath.Join(tmp, "sandboxd.log"))
	bail("sandboxd did not come up: %s", strings.ReplaceAll(string(b), "\n", " | "))
}

// --- the shim, launched like Nomad does -----------------------------------------------------

type shim struct {
	client *plugin.Client
	s      *stubs
}

func launchShim(args ...string) (*shim, error) {
	return launchShimPath(os.Getenv("SHIM"), args...)
}

// launchShimPath starts the plugin file at bin (Nomad: plugin_dir/<file>) with args.
func launchShimPath(bin string, args ...string) (*shim, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdin = os.Stdin
	c := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  handshake,
		Plugins:          map[string]plugin.Plugin{"driver": driverPlugin{}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger: hclog.New(&hclog.LoggerOptions{Name: "e2e", Level: hclog.Warn,
			Output: mustCreate(filepath.Join(tmp, "shim.log"))}),
	})
	rpc, err := c.Client()
	if err != nil {
		c.Kill()
		return nil, err
	}
	raw, err := rpc.Dispense("driver")
	if err != nil {
		c.Kill()
		return nil, err
	}
	if rc := c.ReattachConfig(); rc != nil && rc.Pid > 0 {
		if p, e := os.FindProcess(rc.Pid); e == nil {
			started = append(started, p)
		}
	}
	return &shim{c, raw.(*stubs)}, nil
}

func mustCreate(p string) *os.File {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0644)
	if err != nil {
		bail("%v", err)
	}
	return f
}

func ctxT(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// attrNames lists the top-level attribute names of an Object spec (map key or Attr/Default name).
func attrNames(s *hclspecpb.Spec) []string {
	var names []string
	for k := range s.GetObject().GetAttributes() {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

var pluginAttrs, taskAttrs []string

func setConfig(sh *shim) error {
	vals := map[string]interface{}{}
	key := os.Getenv("E2E_SOCKET_KEY")
	for _, a := range pluginAttrs {
		if key == "" && strings.Contains(a, "socket") {
			key = a
		}
	}
	if key != "" {
		vals[key] = os.Getenv("E2E_SOCKET")
	}
	ctx, cancel := ctxT(10 * time.Second)
	defer cancel()
	_, err := sh.s.base.SetConfig(ctx, &basepb.SetConfigRequest{
		MsgpackConfig:    objectFor(pluginAttrs, vals),
		PluginApiVersion: "v0.1.0",
		NomadConfig: &basepb.NomadConfig{Driver: &basepb.NomadDriverConfig{
			ClientMinPort: 14000, ClientMaxPort: 14512}},
	})
	return err
}

// --- tasks ------------------------------------------------------------------------------------

var allocID = "e2e00000-0000-4000-8000-000000000001"

type task struct {
	cfg            *drvpb.TaskConfig
	stdout, stderr *logmon       // nil: the task logs to a file (quietTask) or /dev/null
	readerDelay    time.Duration // how long after StartTask went out the readers open the FIFOs
	stderrDelay    time.Duration // stderr's reader this much later still
	held           []*os.File    // bench: readers opened before the start (quietTask, E2E_LOGS=fifo)
}

func newTask(name string, dc map[string]interface{}) *task {
	return newTaskAlloc(allocID, name, dc)
}

func newTaskAlloc(allocID, name string, dc map[string]interface{}) *task {
	alloc := filepath.Join(os.Getenv("E2E_NOMAD"), "alloc", allocID)
	logs := filepath.Join(alloc, "alloc", "logs")
	for _, d := range []string{logs, filepath.Join(alloc, name, "local"), filepath.Join(alloc, name, "secrets"),
		filepath.Join(alloc, name, "tmp")} {
		os.MkdirAll(d, 0777)
	}
	t := &task{cfg: &drvpb.TaskConfig{
		Id:                  fmt.Sprintf("%s/%s/%08x", allocID, name, time.Now().UnixNano()&0xffffffff),
		Name:                name,
		AllocId:             allocID,
		JobName:             "e2e",
		JobId:               "e2e",
		TaskGroupName:       "g",
		Namespace:           "default",
		User:                "nobody",
		AllocDir:            alloc,
		Env: map[string]string{"E2E_MARK": "seen-" + name, "PATH": "/usr/bin:/bin",
			// as Nomad sets them for a driver with fs_isolation none
			"NOMAD_ALLOC_DIR": filepath.Join(alloc, "alloc"), "NOMAD_TASK_DIR": filepath.Join(alloc, name, "local"),
			"NOMAD_SECRETS_DIR": filepath.Join(alloc, name, "secrets")},
		MsgpackDriverConfig: objectFor(taskAttrs, dc),
	}}
	t.cfg.StdoutPath = filepath.Join(logs, "."+name+".stdout.fifo")
	t.cfg.StderrPath = filepath.Join(logs, "."+name+".stderr.fifo")
	t.stdout = newLogmon(t.cfg.StdoutPath)
	t.stderr = newLogmon(t.cfg.StderrPath)
	return t
}

// logmon reads one log FIFO the way Nomad's logmon does (client/logmon, client/lib/fifo): the
// FIFO is created (0600, root) before StartTask, but its reader goroutine opens it only later,
// with a blocking O_RDONLY open (which returns once a writer opens it), reads until the first
// EOF and never opens it again.
type logmon struct {
	path    string
	mu      sync.Mutex
	f       *os.File // once the open returned
	started bool
	done    chan struct{}
	out     string // what it read, once done is closed
}

func newLogmon(p string) *logmon {
	os.Remove(p)
	if err := syscall.Mkfifo(p, 0600); err != nil {
		bail("mkfifo %s: %v", p, err)
	}
	return &logmon{path: p, done: make(chan struct{})}
}

func (l *logmon) start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started {
		return
	}
	l.started = true
	go func() {
		defer close(l.done)
		f, err := os.OpenFile(l.path, os.O_RDONLY, os.ModeNamedPipe)
		if err != nil {
			return
		}
		l.mu.Lock()
		l.f = f
		l.mu.Unlock()
		var b bytes.Buffer
		b.ReadFrom(f)
		f.Close()
		l.out = b.String()
	}()
}

// wait returns what the reader read up to EOF (every writer gone), or after d what it has: a
// reader still blocked in open is released (we open for writing and close), one still reading
// is stopped. Called again, it returns the same.
func (l *logmon) wait(d time.Duration) string {
	if l == nil {
		return ""
	}
	l.start()
	select {
	case <-l.done:
		return l.out
	case <-time.After(d):
	}
	for i := 0; i < 20; i++ {
		l.mu.Lock()
		f := l.f
		l.mu.Unlock()
		if f != nil {
			f.SetReadDeadline(time.Now())
		} else if fd, err := syscall.Open(l.path, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0); err == nil {
			syscall.Close(fd)
		}
		select {
		case <-l.done:
			return l.out
		case <-time.After(100 * time.Millisecond):
		}
	}
	return ""
}

// logs returns what the task wrote to its FIFOs (up to EOF, at most 2 s more).
func (t *task) logs() (string, string) {
	o, e := make(chan string, 1), make(chan string, 1)
	go func() { o <- t.stdout.wait(2 * time.Second) }()
	go func() { e <- t.stderr.wait(2 * time.Second) }()
	return <-o, <-e
}

// startRaw sends StartTask and, as Nomad's logmon does, lets the FIFO readers open only after
// the request went out (t.readerDelay later).
func startRaw(sh *shim, t *task) (*drvpb.StartTaskResponse, error) {
	ctx, cancel := ctxT(30 * time.Second)
	defer cancel()
	type result struct {
		r   *drvpb.StartTaskResponse
		err error
	}
	ch := make(chan result, 1)
	go func() {
		r, err := sh.s.drv.StartTask(ctx, &drvpb.StartTaskRequest{Task: t.cfg})
		ch <- result{r, err}
	}()
	if t.stdout != nil {
		time.Sleep(t.readerDelay)
		t.stdout.start()
	}
	if t.stderr != nil {
		go func() {
			time.Sleep(t.stderrDelay)
			t.stderr.start()
		}()
	}
	res := <-ch
	return res.r, res.err
}

func start(sh *shim, t *task) (*drvpb.TaskHandle, error) {
	r, err := startRaw(sh, t)
	if err != nil {
		return nil, err
	}
	return r.GetHandle(), nil
}

func wait(sh *shim, id string, d time.Duration) (*drvpb.WaitTaskResponse, error) {
	ctx, cancel := ctxT(d)
	defer cancel()
	return sh.s.drv.WaitTask(ctx, &drvpb.WaitTaskRequest{TaskId: id})
}

func destroy(sh *shim, id string) error {
	ctx, cancel := ctxT(20 * time.Second)
	defer cancel()
	_, err := sh.s.drv.DestroyTask(ctx, &drvpb.DestroyTaskRequest{TaskId: id, Force: true})
	return err
}

func stop(sh *shim, id string, timeout time.Duration, sig string) error {
	ctx, cancel := ctxT(timeout + 20*time.Second)
	defer cancel()
	_, err := sh.s.drv.StopTask(ctx, &drvpb.StopTaskRequest{TaskId: id, Signal: sig,
		Timeout: &duration.Duration{Seconds: int64(timeout / time.Second)}})
	return err
}

// run starts a task, waits, returns exit result and logs.
func run(sh *shim, name string, dc map[string]interface{}) (*drvpb.ExitResult, string, string, error) {
	return runTask(sh, newTask(name, dc))
}

// runTask is run() for a task already set up with newTask (user, mounts, network, dns).
func runTask(sh *shim, t *task) (*drvpb.ExitResult, string, string, error) {
	if _, err := start(sh, t); err != nil {
		t.logs()
		return nil, "", "", err
	}
	w, err := wait(sh, t.cfg.Id, 60*time.Second)
	out, errs := t.logs()
	destroy(sh, t.cfg.Id)
	if err != nil {
		return nil, out, errs, err
	}
	return w.GetResult(), out, errs, nil
}

// kill ends a started task for good: SIGKILL, wait, logs drained, destroyed.
func kill(sh *shim, t *task) {
	stop(sh, t.cfg.Id, time.Second, "SIGKILL")
	wait(sh, t.cfg.Id, 10*time.Second)
	t.logs()
	destroy(sh, t.cfg.Id)
}

func main() {
	defer cleanup()
	if os.Getenv("E2E_MODE") == "package" {
		packageMain() // the installed package, in the VM (package.go)
		return
	}
	if mode := os.Getenv("E2E_MODE"); mode != "" {
		benchMain(mode) // measurements (bench.go), not tests
		return
	}
	fmt.Println("# nomad-driver-sandbox end-to-end, go-plugin client")
	// a watchdog: a hung RPC must not hang the suite (and leave processes behind)
	go func() {
		time.Sleep(240 * time.Second)
		bail("watchdog: the suite did not finish in 240 s (last test %d)", nTest)
	}()
	// the encoder against the bytes the real cty v1.16.4 produced
	want := []byte("\x85\xa4args\x91\xa2hi\xa7command\xa9/bin/echo\xaaimportance\xa6normal\xa8promises\xc0\xa6unveil\xc0")
	got := objectFor([]string{"args", "command", "importance", "promises", "unveil"},
		map[string]interface{}{"command": "/bin/echo", "args": []string{"hi"}, "importance": "normal"})
	ok(bytes.Equal(got, want), "msgpack encoder matches cty's bytes", fmt.Sprintf("%x", got))

	processChecks()
	startSandboxd()
	sh, err := launchShim()
	if !ok(err == nil, "go-plugin launched the shim and dispensed 'driver'", err) {
		bail("no shim")
	}
	lifecycle(sh)
	fsviewChecks(sh)
	devAgentChecks()
	nomadChecks(sh)
	denialChecks(sh)
	fmt.Printf("1..%d\n", nTest)
	cleanup()
	if nFail > 0 {
		os.Exit(1)
	}
}
