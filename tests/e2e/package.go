package main

// E2E_MODE=package: the installed Debian package, used the way a Nomad client uses it
// (tests/vm/guest-package.sh runs this inside the VM, after dpkg -i). go-plugin's client starts
// the installed plugin as root with the arguments of the README's plugin block (--user
// nomad-sandbox); the plugin talks to the packaged sandboxd (socket-activated, the default
// policy from /etc/sandboxd/sandboxd.conf) and runs a task in a group network namespace
// (E2E_NETNS), as Nomad's bridge networking gives one. TAP on stdout.

import (
	"bufio"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	basepb "e2epb/hashicorp_nomad_plugins_base_proto"
	drvpb "e2epb/hashicorp_nomad_plugins_drivers_proto"
)

// procUID is the real uid of a process (the first field of /proc/PID/status's Uid line).
func procUID(pid int) string {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.HasPrefix(s.Text(), "Uid:") {
			if fs := strings.Fields(s.Text()); len(fs) > 1 {
				return fs[1]
			}
		}
	}
	return ""
}

func packageMain() {
	fmt.Println("# nomad-driver-sandbox package: the installed plugin under go-plugin's client")
	go func() {
		time.Sleep(120 * time.Second)
		bail("watchdog: the package checks did not finish in 120 s (last test %d)", nTest)
	}()
	netns := os.Getenv("E2E_NETNS")
	if netns == "" {
		bail("E2E_NETNS is not set (a group network namespace path)")
	}

	sh, err := launchShim("--user", "nomad-sandbox")
	if !ok(err == nil, "go-plugin started the installed plugin with --user nomad-sandbox", err) {
		bail("no plugin")
	}
	u, err := user.Lookup("nomad-sandbox")
	uid := procUID(shimPid(sh))
	ok(err == nil && uid == u.Uid, "the plugin runs as nomad-sandbox (uid "+uid+")", err)

	ctx, cancel := ctxT(10 * time.Second)
	defer cancel()
	cs, err := sh.s.base.ConfigSchema(ctx, &basepb.ConfigSchemaRequest{})
	if !ok(err == nil, "ConfigSchema", err) {
		bail("no config schema")
	}
	pluginAttrs = attrNames(cs.GetSpec())
	ok(setConfig(sh) == nil, "SetConfig: sandboxd's socket "+os.Getenv("E2E_SOCKET"))
	ts, err := sh.s.drv.TaskConfigSchema(ctx, &drvpb.TaskConfigSchemaRequest{})
	if !ok(err == nil, "TaskConfigSchema", err) {
		bail("no task schema")
	}
	taskAttrs = attrNames(ts.GetSpec())

	// Healthy means sandboxd accepted the plugin's uid and driver name under the default policy.
	fs, err := sh.s.drv.Fingerprint(ctx, &drvpb.FingerprintRequest{})
	var f *drvpb.FingerprintResponse
	if err == nil {
		f, err = fs.Recv()
	}
	ok(err == nil && f.GetHealth() == drvpb.FingerprintResponse_HEALTHY,
		"Fingerprint: healthy (sandboxd lets nomad-sandbox use driver 'sandbox')", err, f)

	group := &drvpb.NetworkIsolationSpec{Mode: drvpb.NetworkIsolationSpec_GROUP, Path: netns}
	t := newTask("hello", map[string]interface{}{"command": "/bin/echo", "args": []string{"hello from the package"},
		"promises": "stdio"})
	t.cfg.NetworkIsolationSpec = group
	res, out, errs, err := runTask(sh, t)
	ok(err == nil && res.GetExitCode() == 0 && strings.TrimSpace(out) == "hello from the package",
		"a task through the plugin: echo in a group network, 'stdio': exit 0, its line in Nomad's log FIFO",
		err, res, "stdout: "+out, "stderr: "+errs)

	// What the default policy refuses, named in the error Nomad would show.
	t = newTask("hostnet", map[string]interface{}{"command": "/bin/echo", "args": []string{"x"}, "promises": "stdio"})
	_, _, _, err = runTask(sh, t)
	ok(err != nil && strings.Contains(err.Error(), "network 'host' not allowed"),
		"the default policy refuses the host network, naming it", err)
	t = newTask("nopromises", map[string]interface{}{"command": "/bin/echo", "args": []string{"x"}})
	t.cfg.NetworkIsolationSpec = group
	_, _, _, err = runTask(sh, t)
	ok(err != nil && strings.Contains(err.Error(), "require_promises"),
		"the default policy refuses a task without promises, naming require_promises", err)
	t = newTask("root", map[string]interface{}{"command": "/bin/echo", "args": []string{"x"}, "promises": "stdio"})
	t.cfg.NetworkIsolationSpec = group
	t.cfg.User = "root"
	_, _, _, err = runTask(sh, t)
	ok(err != nil && strings.Contains(err.Error(), "user 'root' not allowed"),
		"the default policy refuses root, naming it", err)

	fmt.Printf("1..%d\n", nTest)
	cleanup()
	if nFail > 0 {
		os.Exit(1)
	}
}
