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
	cmd := exec.Command(os.Getenv("SHIM"), args...)
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
	stdout, stderr *os.File // read ends
	wout, werr     *os.File // our own write ends, closed after exit
}

func newTask(name string, dc map[string]interface{}) *task {
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
		Env:                 map[string]string{"E2E_MARK": "seen-" + name, "PATH": "/usr/bin:/bin"},
		MsgpackDriverConfig: objectFor(taskAttrs, dc),
	}}
	t.cfg.StdoutPath = filepath.Join(logs, "."+name+".stdout.fifo")
	t.cfg.StderrPath = filepath.Join(logs, "."+name+".stderr.fifo")
	t.stdout, t.wout = fifo(t.cfg.StdoutPath)
	t.stderr, t.werr = fifo(t.cfg.StderrPath)
	return t
}

// fifo creates a logmon-style FIFO (0600, root) and holds it open for reading.
func fifo(p string) (r, w *os.File) {
	os.Remove(p)
	if err := syscall.Mkfifo(p, 0600); err != nil {
		bail("mkfifo %s: %v", p, err)
	}
	fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		bail("open %s: %v", p, err)
	}
	r = os.NewFile(uintptr(fd), p)
	w, err = os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		bail("open %s for writing: %v", p, err)
	}
	return r, w
}

// logs closes our write ends and reads what the task wrote (up to EOF or 5 s).
func (t *task) logs() (string, string) {
	t.wout.Close()
	t.werr.Close()
	// EOF once every writer is gone; a writer left open elsewhere costs the 2 s deadline
	deadline := time.Now().Add(2 * time.Second)
	read := func(f *os.File, res chan<- string) {
		f.SetReadDeadline(deadline)
		var b bytes.Buffer
		b.ReadFrom(f)
		f.Close()
		res <- b.String()
	}
	o, e := make(chan string, 1), make(chan string, 1)
	go read(t.stdout, o)
	go read(t.stderr, e)
	return <-o, <-e
}

func start(sh *shim, t *task) (*drvpb.TaskHandle, error) {
	ctx, cancel := ctxT(30 * time.Second)
	defer cancel()
	r, err := sh.s.drv.StartTask(ctx, &drvpb.StartTaskRequest{Task: t.cfg})
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
	// the encoder against the bytes the real cty v1.16.4 produced (fact sheet §4.2)
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
	fmt.Printf("1..%d\n", nTest)
	cleanup()
	if nFail > 0 {
		os.Exit(1)
	}
}
