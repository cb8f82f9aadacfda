package testfleet

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// PushgatewayBin is Debian's Prometheus Pushgateway (make deps installs it).
const PushgatewayBin = "/usr/bin/prometheus-pushgateway"

// StartPushgateway runs a Pushgateway on 127.0.0.1 with persistence off
// and returns its base URL once it is ready; the test's cleanup stops it
// by its PID. A missing binary skips the test, except under CI=true,
// where it fails it.
func StartPushgateway(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(PushgatewayBin); err != nil {
		err = fmt.Errorf("%w: %s (apt-get install prometheus-pushgateway, or make deps)", ErrPrerequisite, PushgatewayBin)
		if skippable(err, os.Getenv("CI")) {
			t.Skipf("%v\n(skipped because CI is not \"true\"; under CI=true this fails)", err)
		}
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logf, err := os.Create(filepath.Join(t.TempDir(), "pushgateway.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(PushgatewayBin, "--web.listen-address="+addr, "--persistence.file=")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", PushgatewayBin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		logf.Close()
	})
	base := "http://" + addr
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case <-exited:
			t.Fatalf("pushgateway exited before it was ready: %v", cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pushgateway at %s not ready within 20s: %v", base, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
