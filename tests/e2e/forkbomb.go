package main

// Nomad sends no process limit with a task (no TaskConfig field becomes pids.max), so the
// driver's policy bounds every task itself (default_processes; 64 in this suite's config). A
// bash fork bomb with the 'proc' promise, started as Nomad starts tasks, saturates at the limit
// and stays there while the host keeps forking and sandboxd keeps answering.

import (
	"encoding/json"
	"io/ioutil"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// pidsDir is the directory with the task's pids.current and pids.max (cgroup v1 or v2).
func pidsDir(id string) (string, error) {
	out, err := exec.Command(os.Getenv("SANDBOXCTL"), "--socket", os.Getenv("E2E_SOCKET"), "inspect", "--json", id).Output()
	if err != nil {
		return "", err
	}
	var info struct{ Cgroup string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", err
	}
	if rel := strings.TrimPrefix(info.Cgroup, "cgroupfs-v1:"); rel != info.Cgroup {
		return "/sys/fs/cgroup/pids/" + strings.SplitN(rel, " ", 2)[0], nil
	}
	return info.Cgroup[strings.Index(info.Cgroup, ":")+1:], nil
}

func readNumber(path string) int {
	b, _ := ioutil.ReadFile(path)
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1
	}
	return n
}

func forkBombCheck(sh *shim) {
	t := newTask("forkbomb", map[string]interface{}{"command": "/bin/bash",
		"args": []string{"-c", "f() { while :; do f & done; }; f"}, "promises": "stdio rpath proc"})
	if _, err := start(sh, t); !ok(err == nil, "fork bomb: StartTask without any process limit (as Nomad sends it)", err) {
		t.logs()
		return
	}
	defer kill(sh, t)
	dir, err := pidsDir(t.cfg.Id)
	max := readNumber(dir + "/pids.max")
	if !ok(err == nil && max == 64, "fork bomb: its pids.max is the policy's default_processes (64)", err, dir, max) {
		return
	}
	peak, reached := 0, false
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !reached; time.Sleep(50 * time.Millisecond) {
		if cur := readNumber(dir + "/pids.current"); cur > peak {
			peak = cur
		}
		reached = peak >= max
	}
	ok(reached, "fork bomb: it reaches the limit", "peak", peak)
	// a second at the limit: never past it, the host still forks, sandboxd still answers
	for i := 0; i < 20; i++ {
		if cur := readNumber(dir + "/pids.current"); cur > peak {
			peak = cur
		}
		time.Sleep(50 * time.Millisecond)
	}
	ok(peak <= max, "fork bomb: never past the limit", "peak", peak, "max", max)
	ok(exec.Command("/bin/true").Run() == nil, "fork bomb: meanwhile the host forks and execs")
	out, err := exec.Command(os.Getenv("SANDBOXCTL"), "--socket", os.Getenv("E2E_SOCKET"), "list").CombinedOutput()
	ok(err == nil, "fork bomb: meanwhile sandboxd answers", err, string(out))
	ev, _ := ioutil.ReadFile(dir + "/pids.events")
	ok(strings.HasPrefix(string(ev), "max ") && strings.TrimSpace(string(ev)) != "max 0",
		"fork bomb: the kernel refused its forks at the limit (pids.events)", string(ev))
}
