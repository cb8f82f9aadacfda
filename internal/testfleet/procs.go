package testfleet

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// pidFiles lists every pid file of the fleet in dir: the services', the
// hosts' sshd, and the apps' under each host's /srv/run.
func pidFiles(dir string) ([]string, error) {
	var all []string
	for _, pattern := range []string{"*.pid", "hosts/*/sshd.pid", "hosts/*/srv/run/*.pid"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, fmt.Errorf("list pid files: %w", err)
		}
		all = append(all, m...)
	}
	return all, nil
}

// livePIDs returns the live processes the fleet's pid files name, keyed by
// pid, with the pid file as value.
func livePIDs(dir string) (map[int]string, error) {
	files, err := pidFiles(dir)
	if err != nil {
		return nil, err
	}
	live := map[int]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // removed meanwhile
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if processAlive(pid) {
			live[pid] = f
		}
	}
	return live, nil
}

// processAlive says whether pid runs; a zombie, waiting for its parent to
// reap it, counts as gone.
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesized command name, which may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	return b[i+2] != 'Z' && b[i+2] != 'X'
}
