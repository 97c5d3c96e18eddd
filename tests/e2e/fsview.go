package main

// The task's own view of the file system, through the shim (issue 5): exec into a running task
// (user, pid namespace, the same denials and the same promises as the task), volumes from
// TaskConfig.Mounts, the private /tmp and TMPDIR, secrets of one user hidden from another task
// of the same alloc, and DNS from DnsConfig inside a group network namespace.

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io/ioutil"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	drvpb "e2epb/hashicorp_nomad_plugins_drivers_proto"
)

// The client binary doubles as the DNS responder run inside the test's network namespace
// (`ip netns exec NS e2e-client -dns-responder ADDR NAME IPV4`); init runs before main.
func init() {
	if len(os.Args) == 5 && os.Args[1] == "-dns-responder" {
		os.Exit(dnsResponder(os.Args[2], os.Args[3], os.Args[4]))
	}
}

// dnsResponder answers A queries for one name with one address over UDP, NXDOMAIN for any
// other name, no data for other types of that name. Each query is logged on stderr.
func dnsResponder(addr, name, ip string) int {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	a := net.ParseIP(ip).To4()
	pc, err := net.ListenPacket("udp4", addr)
	if err != nil || a == nil {
		fmt.Fprintf(os.Stderr, "dns-responder: %v (address %q)\n", err, ip)
		return 1
	}
	fmt.Println("ready")
	buf := make([]byte, 512)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return 1
		}
		q := buf[:n]
		if n < 12 {
			continue
		}
		var labels []string
		off := 12
		for off < n && q[off] != 0 && off+1+int(q[off]) <= n {
			labels = append(labels, string(q[off+1:off+1+int(q[off])]))
			off += 1 + int(q[off])
		}
		if off+5 > n || q[off] != 0 {
			continue
		}
		qtype := binary.BigEndian.Uint16(q[off+1:])
		qend := off + 5
		qname := strings.ToLower(strings.Join(labels, "."))
		fmt.Fprintf(os.Stderr, "query %s type %d\n", qname, qtype)
		rcode, an := byte(0), 0
		if qname != name {
			rcode = 3
		} else if qtype == 1 {
			an = 1
		}
		r := []byte{q[0], q[1], 0x80 | q[2]&0x01, 0x80 | rcode, 0, 1, 0, byte(an), 0, 0, 0, 0}
		r = append(r, q[12:qend]...)
		if an == 1 {
			r = append(r, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
			r = append(r, a...)
		}
		pc.WriteTo(r, from)
	}
}

// execIn runs a command in a task through ExecTask: stdout, stderr, exit code.
func execIn(sh *shim, id string, cmd ...string) (string, string, int32, error) {
	ctx, cancel := ctxT(15 * time.Second)
	defer cancel()
	r, err := sh.s.drv.ExecTask(ctx, &drvpb.ExecTaskRequest{TaskId: id, Command: cmd})
	if err != nil {
		return "", "", -1, err
	}
	return string(r.GetStdout()), string(r.GetStderr()), r.GetResult().GetExitCode(), nil
}

// waitFile waits for a file the task writes when it is ready.
func waitFile(p string, d time.Duration) bool {
	for t0 := time.Now(); time.Since(t0) < d; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

func readTrim(p string) string {
	b, _ := ioutil.ReadFile(p)
	return strings.TrimSpace(string(b))
}

func taskDir(name string) string {
	return filepath.Join(os.Getenv("E2E_NOMAD"), "alloc", allocID, name)
}

func fsviewChecks(sh *shim) {
	// lifecycle() ends with the shim's Shutdown: these checks bring their own
	if sh == nil || sh.client.Exited() {
		sh = newShim()
		defer sh.client.Kill()
	}
	data := filepath.Join(tmp, "data")
	execChecks(sh, data)
	volumeChecks(sh, data)
	tmpdirChecks(sh)
	secretsChecks(sh)
	dnsChecks(sh)
	stateDirCheck()
}

// 1. exec into a running task: its user, its pid namespace, its /tmp, its denials, its promises
func execChecks(sh *shim, data string) {
	unveiled, hidden := filepath.Join(data, "unveiled.txt"), filepath.Join(data, "hidden.txt")
	ioutil.WriteFile(unveiled, []byte("unveiled-content\n"), 0644)
	ioutil.WriteFile(hidden, []byte("hidden-content\n"), 0644)
	t := newTask("fsv-exec", map[string]interface{}{"command": "/bin/sh", "args": []string{"-c",
		"/bin/cat " + hidden + " 2>local/hidden.err; echo $? >local/hidden.rc; " +
			"echo from-the-task >/tmp/fsv-mark; touch local/ready; exec /bin/sleep 1000"},
		"unveil": []string{"r:" + unveiled}})
	t.cfg.User = "70001"
	if _, err := start(sh, t); !ok(err == nil, "fsview exec task (user 70001, unveil r:unveiled.txt): started", err) {
		t.logs()
		return
	}
	defer kill(sh, t)
	local := filepath.Join(taskDir("fsv-exec"), "local")
	if !ok(waitFile(filepath.Join(local, "ready"), 10*time.Second), "fsview exec task: ready") {
		return
	}
	id := t.cfg.Id
	out, errs, rc, err := execIn(sh, id, "/usr/bin/id")
	ok(err == nil && rc == 0 && strings.HasPrefix(out, "uid=70001 gid=70001") && !strings.Contains(out, "groups=0"),
		"exec id: the task's user 70001 (uid and gid, no root group)", err, rc, out, errs)

	out, errs, rc, err = execIn(sh, id, "/bin/ps", "-e", "-o", "pid=,comm=")
	var comms []string
	small := true
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			small = false
			continue
		}
		pid, _ := strconv.Atoi(f[0])
		small = small && pid > 0 && pid < 50
		comms = append(comms, f[1])
	}
	ok(err == nil && rc == 0 && small && contains(comms, "sleep") && contains(comms, "ps") && len(comms) <= 4,
		"exec ps: only the task's pid namespace (its sleep, the exec's ps, low pids)", err, rc, out, errs)

	out, errs, rc, err = execIn(sh, id, "/bin/cat", "/tmp/fsv-mark")
	ok(err == nil && rc == 0 && strings.TrimSpace(out) == "from-the-task",
		"exec cat /tmp/fsv-mark: the task's private /tmp (its mount namespace)", err, rc, out, errs)
	_, serr := os.Stat("/tmp/fsv-mark")
	ok(os.IsNotExist(serr), "... and that file is not in the host's /tmp", serr)

	out, errs, rc, err = execIn(sh, id, "/bin/cat", unveiled)
	ok(err == nil && rc == 0 && strings.TrimSpace(out) == "unveiled-content", "exec cat of the unveiled file: its content",
		err, rc, out, errs)

	taskErr, taskRC := readTrim(filepath.Join(local, "hidden.err")), readTrim(filepath.Join(local, "hidden.rc"))
	out, errs, rc, err = execIn(sh, id, "/bin/cat", hidden)
	ok(taskRC != "0" && strings.Contains(taskErr, "Permission denied"),
		"the task itself: cat of a file not unveiled is 'Permission denied'", taskRC, taskErr)
	ok(err == nil && strconv.Itoa(int(rc)) == taskRC && strings.TrimSpace(errs) == taskErr && !strings.Contains(out, "hidden-content"),
		"exec cat of the same file: the same exit code and error as in the task", err, rc, out, errs, taskErr)

	// positive control for the promises check below: this task may fork and exec
	out, errs, rc, err = execIn(sh, id, "/bin/sh", "-c", "/bin/true; echo rc=$?")
	ok(err == nil && rc == 0 && strings.TrimSpace(out) == "rc=0", "exec sh -c /bin/true under proc+exec promises: runs", err, rc, out, errs)

	// promises without proc/exec: the exec cannot do what the task cannot do
	script := "/bin/true; echo rc=$?"
	res, tout, terrs, err := run(sh, "fsv-noproc-ref", map[string]interface{}{"command": "/bin/sh", "args": []string{"-c", script},
		"promises": "stdio rpath"})
	ok(err == nil && strings.TrimSpace(tout) != "rc=0" && terrs != "",
		"a task with promises 'stdio rpath' cannot start /bin/true", err, res, tout, terrs)
	t2 := newTask("fsv-noproc", map[string]interface{}{"command": "/bin/sleep", "args": []string{"1000"}, "promises": "stdio rpath"})
	if _, err := start(sh, t2); ok(err == nil, "a sleeping task with promises 'stdio rpath': started", err) {
		out, errs, rc, err = execIn(sh, t2.cfg.Id, "/bin/sh", "-c", script)
		ok(err == nil && strings.TrimSpace(out) == strings.TrimSpace(tout) && strings.TrimSpace(errs) == strings.TrimSpace(terrs),
			"exec sh -c /bin/true into it: fails exactly as in such a task (its promises)", err, rc, out, errs, tout, terrs)
		_, errs, rc, err = execIn(sh, t2.cfg.Id, "/bin/sh", "-c", "echo x >/tmp/fsv-nocpath")
		ok(err == nil && rc != 0 && strings.Contains(errs, "Operation not permitted"),
			"exec: creating a file without the task's cpath/wpath promises is EPERM", err, rc, errs)
		kill(sh, t2)
	} else {
		t2.logs()
	}

	// a task that has exited: exec is refused
	t3 := newTask("fsv-done", map[string]interface{}{"command": "/bin/true"})
	if _, err := start(sh, t3); err == nil {
		wait(sh, t3.cfg.Id, 10*time.Second)
		_, _, _, err = execIn(sh, t3.cfg.Id, "/bin/true")
		ok(err != nil && (strings.Contains(err.Error(), "not running") || strings.Contains(err.Error(), "exited")),
			"exec into a task that has exited: a clear error", err)
		t3.logs()
		destroy(sh, t3.cfg.Id)
	} else {
		t3.logs()
		ok(false, "exec into a task that has exited: task started", err)
	}
}

// 2. volumes: TaskConfig.Mounts as bind mounts
func volumeChecks(sh *shim, data string) {
	hostRO, hostRW := filepath.Join(data, "vol-ro"), filepath.Join(data, "vol-rw")
	os.MkdirAll(hostRO, 0755)
	os.MkdirAll(hostRW, 0755)
	os.Chown(hostRW, 70002, 70002)
	ioutil.WriteFile(filepath.Join(hostRO, "ro.txt"), []byte("ro-content\n"), 0644)
	// an absolute task path (Nomad's volume_mount destination) and one relative to the task dir
	roTarget := filepath.Join(tmp, "targets", "ro")
	os.MkdirAll(roTarget, 0755)
	script := "echo ro:$(cat " + roTarget + "/ro.txt); " +
		"(echo x >" + roTarget + "/new) 2>&1 | sed 's/^/rowrite:/'; " +
		"echo rw-content >rw/written.txt && echo rwwrite:ok; " +
		"cat " + hostRO + "/ro.txt 2>&1 | sed 's/^/rawro:/'; " +
		"ls -A " + hostRW + " 2>&1 | sed 's/^/rawrw:/'; echo end"
	t := newTask("fsv-vol", map[string]interface{}{"command": "/bin/sh", "args": []string{"-c", script}})
	os.MkdirAll(filepath.Join(taskDir("fsv-vol"), "rw"), 0755)
	t.cfg.User = "70002"
	t.cfg.Mounts = []*drvpb.Mount{{TaskPath: roTarget, HostPath: hostRO, Readonly: true},
		{TaskPath: "rw", HostPath: hostRW}}
	res, out, errs, err := runTask(sh, t)
	if ok(err == nil && strings.Contains(out, "end"), "volumes: a task with a read-only and a read-write mount ran", err, res, out, errs) {
		ok(strings.Contains(out, "ro:ro-content"), "read-only volume: visible at its (absolute) task path", out)
		ok(strings.Contains(out, "rowrite:") && strings.Contains(out, "Read-only file system") && !fileExists(filepath.Join(hostRO, "new")),
			"read-only volume: a write is EROFS and nothing reaches the host", out)
		ok(strings.Contains(out, "rwwrite:ok") && readTrim(filepath.Join(hostRW, "written.txt")) == "rw-content",
			"read-write volume (relative task path): the write shows on the host path", out)
		ok(strings.Contains(out, "rawro:") && !strings.Contains(out, "rawro:ro-content"),
			"the raw host path of the read-only volume is not reachable from the task", out)
		ok(!strings.Contains(out, "written.txt"), "the raw host path of the read-write volume shows nothing", out)
	}
	os.Remove(filepath.Join(hostRW, "written.txt"))

	outside := filepath.Join(tmp, "outside")
	os.MkdirAll(outside, 0755)
	t = newTask("fsv-vol-bad", map[string]interface{}{"command": "/bin/true"})
	t.cfg.Mounts = []*drvpb.Mount{{TaskPath: roTarget, HostPath: outside, Readonly: true}}
	_, err = start(sh, t)
	t.logs()
	ok(err != nil && strings.Contains(err.Error(), "mounts") && strings.Contains(err.Error(), outside),
		"a mount outside the policy: StartTask fails naming 'mounts' and the path", err)
	if err == nil {
		destroy(sh, t.cfg.Id)
	}
	// r:$TMP/nomad in the policy: a read-write mount from there exceeds it, read-only is fine
	rOnly := filepath.Join(os.Getenv("E2E_NOMAD"), "fsv-ronly")
	os.MkdirAll(rOnly, 0755)
	t = newTask("fsv-vol-rw", map[string]interface{}{"command": "/bin/true"})
	t.cfg.Mounts = []*drvpb.Mount{{TaskPath: roTarget, HostPath: rOnly}}
	_, err = start(sh, t)
	t.logs()
	ok(err != nil && strings.Contains(err.Error(), "mounts") && strings.Contains(err.Error(), rOnly),
		"a read-write mount where the policy allows only r: refused, naming the path", err)
	if err == nil {
		destroy(sh, t.cfg.Id)
	}
	t = newTask("fsv-vol-ro", map[string]interface{}{"command": "/bin/true"})
	t.cfg.Mounts = []*drvpb.Mount{{TaskPath: roTarget, HostPath: rOnly, Readonly: true}}
	res, _, _, err = runTask(sh, t)
	ok(err == nil && res.GetExitCode() == 0, "... the same path read-only: allowed", err, res)

	t = newTask("fsv-vol-rel", map[string]interface{}{"command": "/bin/true"})
	t.cfg.Mounts = []*drvpb.Mount{{TaskPath: roTarget, HostPath: "data/vol-ro", Readonly: true}}
	_, err = start(sh, t)
	t.logs()
	ok(err != nil && strings.Contains(err.Error(), "mounts[0].host_path"), "a relative host path: refused, naming mounts[0].host_path", err)
	if err == nil {
		destroy(sh, t.cfg.Id)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// 3. TMPDIR and the private /tmp
func tmpdirChecks(sh *shim) {
	mark := fmt.Sprintf("fsv-private-%d", os.Getpid())
	hostFile := fmt.Sprintf("/tmp/fsv-host-%d", os.Getpid())
	ioutil.WriteFile(hostFile, []byte("host\n"), 0644)
	defer os.Remove(hostFile)
	script := "echo tmpdir=$TMPDIR; f=$(mktemp) && echo mktemp=$f && echo in-tmpdir >$f && echo read=$(cat $f); " +
		"echo x >/tmp/" + mark + " && echo tmpwrite:ok; " +
		"if test -e " + hostFile + "; then echo hostfile:visible; else echo hostfile:absent; fi"
	res, out, errs, err := run(sh, "fsv-tmp", map[string]interface{}{"command": "/bin/sh", "args": []string{"-c", script}})
	ok(err == nil && res.GetExitCode() == 0 && strings.Contains(out, "tmpdir=/tmp\n"), "TMPDIR: set to /tmp for the task", err, res, out, errs)
	ok(strings.Contains(out, "mktemp=/tmp/tmp.") && strings.Contains(out, "read=in-tmpdir"),
		"TMPDIR: the task creates, writes and reads a file there (mktemp)", out, errs)
	_, serr := os.Stat("/tmp/" + mark)
	ok(strings.Contains(out, "tmpwrite:ok") && os.IsNotExist(serr), "/tmp: the task writes a file, which is not in the host's /tmp", out, serr)
	ok(strings.Contains(out, "hostfile:absent"), "/tmp: the host's files are not in the task's /tmp", out)
}

// 4. secrets: two users of the same alloc
func secretsChecks(sh *shim) {
	secretsA := filepath.Join(taskDir("fsv-sec-a"), "secrets")
	ta := newTask("fsv-sec-a", map[string]interface{}{"command": "/bin/sh", "args": []string{"-c",
		"echo s3cr3t-a >secrets/token && cat secrets/token >local/own && touch local/ready; exec /bin/sleep 1000"}})
	ta.cfg.User = "70003"
	if _, err := start(sh, ta); !ok(err == nil, "secrets: task A (user 70003) started", err) {
		ta.logs()
		return
	}
	defer kill(sh, ta)
	local := filepath.Join(taskDir("fsv-sec-a"), "local")
	ok(waitFile(filepath.Join(local, "ready"), 10*time.Second) && readTrim(filepath.Join(local, "own")) == "s3cr3t-a",
		"secrets: task A writes and reads its own secret")
	var st syscall.Stat_t
	serr := syscall.Stat(secretsA, &st)
	ok(serr == nil && st.Uid == 70003 && st.Mode&0777 == 0700, "secrets: A's secrets dir is A's user's, mode 0700",
		serr, st.Uid, fmt.Sprintf("%o", st.Mode&0777))
	shared := filepath.Join(os.Getenv("E2E_NOMAD"), "alloc", allocID, "alloc", "fsv-shared.txt")
	ioutil.WriteFile(shared, []byte("shared-content\n"), 0644)
	defer os.Remove(shared)

	script := "ls " + secretsA + " 2>&1; echo ls-rc=$?; cat " + secretsA + "/token 2>&1; echo cat-rc=$?; cat " + shared
	unveil := []string{"r:" + secretsA}
	// B: a dynamic workload user of the same alloc, with A's secrets unveiled
	res, out, errs, err := run2(sh, "fsv-sec-b", "nomad-80123", script, unveil)
	ok(err == nil && strings.Contains(out, "ls-rc=2") && strings.Contains(out, "cat-rc=1") &&
		strings.Count(out, "Permission denied") == 2 && !strings.Contains(out, "s3cr3t"),
		"secrets: task B (nomad-80123, A's secrets unveiled) can neither list nor read them", err, res, out, errs)
	ok(strings.Contains(out, "shared-content"), "secrets: B reads the alloc's shared dir", out)
	// control: the same unveil under A's user reads them, so the barrier above is the owner
	res, out, errs, err = run2(sh, "fsv-sec-c", "70003", script, unveil)
	ok(err == nil && strings.Contains(out, "ls-rc=0") && strings.Contains(out, "s3cr3t-a"),
		"secrets: a task of A's user with the same unveil reads them (control)", err, res, out, errs)
}

func run2(sh *shim, name, user, script string, unveil []string) (*drvpb.ExitResult, string, string, error) {
	t := newTask(name, map[string]interface{}{"command": "/bin/sh", "args": []string{"-c", script}, "unveil": unveil})
	t.cfg.User = user
	return runTask(sh, t)
}

// 5. DNS from DnsConfig in a group network namespace with its own resolver
func dnsChecks(sh *shim) {
	ns := fmt.Sprintf("e2e-dns-%d", os.Getpid())
	if b, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); !ok(err == nil, "dns: ip netns add "+ns, err, string(b)) {
		return
	}
	del := func() { exec.Command("ip", "netns", "del", ns).Run() }
	atCleanup = append(atCleanup, del) // also after the watchdog's bail-out
	defer del()
	if b, err := exec.Command("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up").CombinedOutput(); !ok(err == nil, "dns: lo up in the namespace", err, string(b)) {
		return
	}
	self, _ := os.Executable()
	logPath := filepath.Join(tmp, "dns-responder.log")
	cmd := exec.Command("ip", "netns", "exec", ns, self, "-dns-responder", "127.0.0.1:53", "e2e-test.example", "192.0.2.77")
	cmd.Stderr = mustCreate(logPath)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); !ok(err == nil, "dns: responder started in the namespace", err) {
		return
	}
	started = append(started, cmd.Process)
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	ready := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		ready <- l
	}()
	select {
	case l := <-ready:
		if !ok(strings.TrimSpace(l) == "ready", "dns: responder listening on 127.0.0.1:53", l, readTrim(logPath)) {
			return
		}
	case <-time.After(10 * time.Second):
		ok(false, "dns: responder listening on 127.0.0.1:53 (timeout)", readTrim(logPath))
		return
	}
	dnsTask := func(name string, args ...string) (*drvpb.ExitResult, string, string, error) {
		t := newTask(name, map[string]interface{}{"command": args[0], "args": args[1:], "promises": "stdio rpath inet dns"})
		t.cfg.NetworkIsolationSpec = &drvpb.NetworkIsolationSpec{Mode: drvpb.NetworkIsolationSpec_GROUP,
			Path: "/var/run/netns/" + ns}
		t.cfg.Dns = &drvpb.DNSConfig{Servers: []string{"127.0.0.1"}, Searches: []string{"example"},
			Options: []string{"timeout:1", "attempts:2"}}
		return runTask(sh, t)
	}
	res, rout, errs, err := dnsTask("fsv-dns-conf", "/bin/cat", "/etc/resolv.conf")
	ok(err == nil && res.GetExitCode() == 0 && strings.Contains(rout, "nameserver 127.0.0.1\n") &&
		strings.Contains(rout, "search example\n") && strings.Contains(rout, "options timeout:1 attempts:2\n"),
		"dns: DnsConfig is the task's /etc/resolv.conf", err, res, rout, errs)
	host, _ := ioutil.ReadFile("/etc/resolv.conf")
	ok(string(host) != rout, "dns: the host's /etc/resolv.conf is not the task's", string(host))
	res, rout, errs, err = dnsTask("fsv-dns", "/usr/bin/getent", "hosts", "e2e-test.example")
	f := strings.Fields(rout)
	ok(err == nil && res.GetExitCode() == 0 && len(f) >= 2 && f[0] == "192.0.2.77" && f[1] == "e2e-test.example",
		"dns: getent hosts e2e-test.example in the group netns: 192.0.2.77", err, res, rout, errs)
	ok(strings.Contains(readTrim(logPath), "query e2e-test.example type 1"), "dns: the answer came from the namespace's responder",
		readTrim(logPath))
	res, rout, errs, err = dnsTask("fsv-dns-nx", "/usr/bin/getent", "hosts", "nope.e2e-test.example")
	ok(err == nil && res.GetExitCode() == 2 && strings.TrimSpace(rout) == "", "dns: a name the responder does not know: getent exit 2",
		err, res, rout, errs)

	// nomad alloc exec into such a task: the same resolv.conf and resolver
	t := newTask("fsv-dns-exec", map[string]interface{}{"command": "/bin/sleep", "args": []string{"1000"},
		"promises": "stdio rpath inet dns exec proc"})
	t.cfg.NetworkIsolationSpec = &drvpb.NetworkIsolationSpec{Mode: drvpb.NetworkIsolationSpec_GROUP, Path: "/var/run/netns/" + ns}
	t.cfg.Dns = &drvpb.DNSConfig{Servers: []string{"127.0.0.1"}, Options: []string{"timeout:1", "attempts:2"}}
	if _, err := start(sh, t); ok(err == nil, "dns: a sleeping task in the group netns: started", err) {
		out, errs, rc, err := execIn(sh, t.cfg.Id, "/usr/bin/getent", "hosts", "e2e-test.example")
		f = strings.Fields(out)
		ok(err == nil && rc == 0 && len(f) >= 2 && f[0] == "192.0.2.77", "dns: exec getent hosts in that task: 192.0.2.77",
			err, rc, out, errs)
		kill(sh, t)
	} else {
		t.logs()
	}
}

// sandboxd keeps a directory per task in its state dir: none must outlive DestroyTask
func stateDirCheck() {
	out, err := exec.Command(os.Getenv("SANDBOXCTL"), "--socket", os.Getenv("E2E_SOCKET"), "list").Output()
	live := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n")[1:] {
		if f := strings.Fields(l); len(f) > 0 {
			live[f[0]] = true
		}
	}
	ents, rerr := ioutil.ReadDir(filepath.Join(os.Getenv("E2E_STATE"), "tasks"))
	var stale []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			stale = append(stale, e.Name())
		}
	}
	ok(err == nil && rerr == nil && len(stale) == len(live), "sandboxd's state dir: nothing left of destroyed tasks",
		err, rerr, len(live), stale)
}
