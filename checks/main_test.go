package checks

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// TestMain quiets the default logger and, after every test ran, stops the
// shared Prometheus (by PID) and removes the exampleapp build.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	code := m.Run()
	if prom != nil {
		prom.stop()
	}
	if exampleApp.bin != "" {
		os.RemoveAll(filepath.Dir(exampleApp.bin))
	}
	os.Exit(code)
}
