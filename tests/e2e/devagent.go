package main

// The dev agent's layout through the shim: `nomad agent -dev` keeps its data dir, and so every
// alloc dir, under /tmp (/tmp/NomadClient123456789). The task's private /tmp (on by default) must
// not hide the directories Nomad gave it: the task starts in its task dir and sees its own dirs.
// A sandboxd of its own, whose nomad_data_dir is that /tmp directory.

import (
	"fmt"
	"io/ioutil"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	basepb "e2epb/hashicorp_nomad_plugins_base_proto"
	drvpb "e2epb/hashicorp_nomad_plugins_drivers_proto"
)

func devAgentChecks() {
	data, err := ioutil.TempDir("/tmp", "NomadClient")
	if !ok(err == nil, "dev agent: a data dir under /tmp", err) {
		return
	}
	atCleanup = append(atCleanup, func() { os.RemoveAll(data) })
	os.Chmod(data, 0755)
	cg := fmt.Sprintf("sandboxd-e2e-dev-%d", os.Getpid())
	atCleanup = append(atCleanup, func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + cg + "/*")
		more, _ := filepath.Glob("/sys/fs/cgroup/" + cg + "/*")
		for _, d := range append(dirs, more...) {
			os.Remove(d)
		}
		tops, _ := filepath.Glob("/sys/fs/cgroup/*/" + cg)
		for _, d := range append(tops, "/sys/fs/cgroup/"+cg) {
			os.Remove(d)
		}
	})
	sock, conf := filepath.Join(tmp, "dev-sandboxd.sock"), filepath.Join(tmp, "dev-sandboxd.conf")
	// the dev agent's client policy: its data dir, the system's programs, this build's helper;
	// a socket the shim's user can connect to (no nomad-sandbox group here)
	policy := "[daemon]\nallowed_uids = 65534 0\nnomad_data_dir = " + data + "\ncgroup_backend = cgroupfs\n" +
		"cgroup_parent = " + cg + "\nsocket_mode = 0666\n[driver sandbox]\nusers = nobody\n" +
		"unveil = rwxc:" + data + "/alloc rx:" + filepath.Dir(os.Getenv("SANDBOX_PRELOAD")) + "\nnetworks = none host\n"
	if !ok(ioutil.WriteFile(conf, []byte(policy), 0644) == nil, "dev agent: sandboxd's config") {
		return
	}
	log, _ := os.OpenFile(filepath.Join(tmp, "dev-sandboxd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0644)
	cmd := exec.Command(os.Getenv("SANDBOXD"), "--config", conf, "--socket", sock, "--state-dir",
		filepath.Join(tmp, "dev-state"))
	cmd.Stdout, cmd.Stderr = log, log
	if !ok(cmd.Start() == nil, "dev agent: a sandboxd of its own") {
		return
	}
	started = append(started, cmd.Process)
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	for i := 0; i < 100; i++ {
		if exec.Command(os.Getenv("SANDBOXCTL"), "--socket", sock, "list").Run() == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	sh, err := launchShim()
	if !ok(err == nil, "dev agent: a shim", err) {
		return
	}
	defer sh.client.Kill()
	ctx, cancel := ctxT(10 * time.Second)
	defer cancel()
	key := "socket"
	for _, a := range pluginAttrs {
		if strings.Contains(a, "socket") {
			key = a
		}
	}
	_, err = sh.s.base.SetConfig(ctx, &basepb.SetConfigRequest{
		MsgpackConfig:    objectFor(pluginAttrs, map[string]interface{}{key: sock}),
		PluginApiVersion: "v0.1.0",
		NomadConfig: &basepb.NomadConfig{Driver: &basepb.NomadDriverConfig{
			ClientMinPort: 14000, ClientMaxPort: 14512}},
	})
	if !ok(err == nil, "dev agent: SetConfig with its sandboxd's socket", err) {
		return
	}

	// Nomad's alloc dir layout (client/allocdir), under /tmp
	alloc := filepath.Join(data, "alloc", allocID)
	taskd := filepath.Join(alloc, "web")
	logs := filepath.Join(alloc, "alloc", "logs")
	for _, d := range []string{logs, filepath.Join(taskd, "local"), filepath.Join(taskd, "secrets"),
		filepath.Join(taskd, "tmp")} {
		os.MkdirAll(d, 0755)
	}
	os.Chmod(filepath.Join(alloc, "alloc"), 0777)
	t := &task{cfg: &drvpb.TaskConfig{
		Id: allocID + "/web/dev", Name: "web", AllocId: allocID, JobName: "dev", JobId: "dev",
		TaskGroupName: "g", Namespace: "default", User: "nobody", AllocDir: alloc,
		Env: map[string]string{"PATH": "/usr/bin:/bin"},
		MsgpackDriverConfig: objectFor(taskAttrs, map[string]interface{}{"command": "/bin/sh", "args": []string{"-c",
			"pwd; echo x >local/f && echo y >../alloc/shared && echo z >/tmp/own && ls -A /tmp | tr '\\n' ' '"}}),
	}}
	t.cfg.StdoutPath = filepath.Join(logs, ".web.stdout.fifo")
	t.cfg.StderrPath = filepath.Join(logs, ".web.stderr.fifo")
	t.stdout = newLogmon(t.cfg.StdoutPath)
	t.stderr = newLogmon(t.cfg.StderrPath)
	res, out, errs, err := runTask(sh, t)
	_, ferr := os.Stat(filepath.Join(taskd, "local", "f"))
	_, serr := os.Stat(filepath.Join(alloc, "alloc", "shared"))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	ok(err == nil && res.GetExitCode() == 0 && lines[0] == taskd && ferr == nil && serr == nil &&
		len(lines) == 2 && strings.Fields(lines[1])[0] == filepath.Base(data) && strings.Contains(lines[1], "own"),
		"dev agent (alloc dirs under /tmp, private /tmp): the task starts in its task dir, writes its dirs, "+
			"and its /tmp shows only its own files and the path to its dirs", err, res, out, errs, ferr, serr)
}
