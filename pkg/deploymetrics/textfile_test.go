package deploymetrics_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/deploymetrics"
)

// onlyFiles fails unless dir holds exactly names (no temp file left).
func onlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, names) { // ReadDir sorts by name
		t.Fatalf("%s holds %v, want exactly %v", dir, got, names)
	}
}

func TestTextfileWrite(t *testing.T) {
	old := syscall.Umask(0o077) // a strict umask must not make the file unreadable
	defer syscall.Umask(old)

	dir := t.TempDir()
	path := filepath.Join(dir, "deployctl.prom")
	cfg := deploymetrics.Config{Textfile: path}
	var c deploymetrics.Counters
	c.Start()
	if err := deploymetrics.Write(context.Background(), cfg, "web", "prod", c); err != nil {
		t.Fatal(err)
	}
	c.Finish("done", 3*time.Second, 2, false, "abc", "cv", time.Now())
	if err := deploymetrics.Write(context.Background(), cfg, "web", "prod", c); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := deploymetrics.Render("web", "prod", c); !bytes.Equal(got, want) {
		t.Errorf("file holds\n%s\nwant\n%s", got, want)
	}
	parseText(t, got)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o644 {
		t.Errorf("mode %v, want -rw-r--r-- so node_exporter can read it", fi.Mode())
	}
	onlyFiles(t, dir, "deployctl.prom")
}

func TestTextfilePlaceholders(t *testing.T) {
	dir := t.TempDir()
	cfg := deploymetrics.Config{Textfile: filepath.Join(dir, "deployctl-{app}-{env}.prom")}
	for _, env := range []string{"staging", "eu/prod"} {
		if err := deploymetrics.Write(context.Background(), cfg, "web", env, deploymetrics.Counters{}); err != nil {
			t.Fatal(err)
		}
	}
	onlyFiles(t, dir, "deployctl-web-eu_prod.prom", "deployctl-web-staging.prom")
}

// TestTextfileAtomic reads the file while it is being replaced over and
// over: every read is one whole version, never a part or a mix, and no
// temp file stays behind.
func TestTextfileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "deployctl.prom")
	cfg := deploymetrics.Config{Textfile: path}

	const writes = 150
	versions := map[string]bool{}
	var seq []deploymetrics.Counters
	var c deploymetrics.Counters
	for i := 0; i < writes; i++ {
		c.Start()
		c.Finish(deploymetrics.Outcomes()[i%5], time.Duration(i)*time.Second, i, i%2 == 0, "rev", "", time.Unix(int64(1e9+i), 0))
		seq = append(seq, c)
		versions[string(deploymetrics.Render("web", "prod", c))] = true
	}
	if err := deploymetrics.Write(context.Background(), cfg, "web", "prod", seq[0]); err != nil {
		t.Fatal(err)
	}

	done := make(chan struct{})
	var wg sync.WaitGroup
	var reads, bad int
	var badContent []byte
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			b, err := os.ReadFile(path)
			reads++
			if err != nil || !versions[string(b)] {
				bad++
				badContent = b
			}
		}
	}()
	for _, c := range seq[1:] {
		if err := deploymetrics.Write(context.Background(), cfg, "web", "prod", c); err != nil {
			close(done)
			wg.Wait()
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if bad > 0 {
		t.Fatalf("%d of %d reads saw neither an old nor a new version, e.g.:\n%s", bad, reads, badContent)
	}
	t.Logf("%d reads during %d writes, all whole", reads, writes-1)
	onlyFiles(t, dir, "deployctl.prom")
}

func TestTextfileErrorsLeaveNothing(t *testing.T) {
	dir := t.TempDir()
	// The directory is missing: an error, nothing created.
	missing := filepath.Join(dir, "nope", "deployctl.prom")
	if err := deploymetrics.Write(context.Background(), deploymetrics.Config{Textfile: missing}, "web", "prod", deploymetrics.Counters{}); err == nil {
		t.Error("no error for a missing directory")
	}
	// The target is a directory: the rename fails, the temp file goes.
	target := filepath.Join(dir, "taken.prom")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	err := deploymetrics.Write(context.Background(), deploymetrics.Config{Textfile: target}, "web", "prod", deploymetrics.Counters{})
	if err == nil {
		t.Error("no error when the textfile is a directory")
	}
	t.Logf("error: %v", err)
	onlyFiles(t, dir, "taken.prom")
	// Not .prom: refused before anything is written.
	err = deploymetrics.Write(context.Background(), deploymetrics.Config{Textfile: filepath.Join(dir, "x.txt")}, "web", "prod", deploymetrics.Counters{})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("metrics.textfile: ")) {
		t.Errorf("error %v, want one naming metrics.textfile", err)
	}
	onlyFiles(t, dir, "taken.prom")
}

func TestWriteNothingConfigured(t *testing.T) {
	if err := deploymetrics.Write(context.Background(), deploymetrics.Config{}, "", "", deploymetrics.Counters{}); err != nil {
		t.Errorf("no outputs: %v", err)
	}
	if err := deploymetrics.Write(context.Background(), deploymetrics.Config{Textfile: filepath.Join(t.TempDir(), "a.prom")}, "", "prod", deploymetrics.Counters{}); err == nil {
		t.Error("no error for an empty app")
	}
}
