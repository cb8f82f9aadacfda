package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Modes, one per tag of the generated repository.
const (
	modeGood        = "good"
	modeBadStart    = "bad-start"
	modeBadHealth   = "bad-health"
	modeBadLog      = "bad-log"
	modeBad5xx      = "bad-5xx"
	modeBadSlowBind = "bad-slowbind"
)

// defaultBindDelay is how long bad-slowbind waits when BIND_DELAY is absent.
const defaultBindDelay = 8 * time.Second

// maxBindDelay keeps a typo in BIND_DELAY from making a process that never binds.
const maxBindDelay = 5 * time.Minute

// release is what the release directory says about this build.
type release struct {
	Dir       string
	Version   string
	Mode      string
	BindDelay time.Duration
}

// loadRelease finds the release directory from the executable's resolved
// path (<release>/bin/exampleapp) and reads it.
func loadRelease() (release, error) {
	exe, err := os.Executable()
	if err != nil {
		return release{}, fmt.Errorf("find executable: %w", err)
	}
	exe, err = filepath.EvalSymlinks(exe)
	if err != nil {
		return release{}, fmt.Errorf("resolve executable: %w", err)
	}
	return readRelease(filepath.Dir(filepath.Dir(exe)))
}

// readRelease reads VERSION (required), MODE (default good) and BIND_DELAY
// (default 8s) from dir.
func readRelease(dir string) (release, error) {
	r := release{Dir: dir, Mode: modeGood, BindDelay: defaultBindDelay}
	v, err := readTrimmed(filepath.Join(dir, "VERSION"))
	if err != nil {
		return r, err
	}
	if v == "" {
		return r, fmt.Errorf("%s/VERSION is empty", dir)
	}
	r.Version = v

	m, err := readTrimmed(filepath.Join(dir, "MODE"))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return r, err
	default:
		r.Mode = m
	}
	switch r.Mode {
	case modeGood, modeBadStart, modeBadHealth, modeBadLog, modeBad5xx, modeBadSlowBind:
	default:
		return r, fmt.Errorf("%s/MODE: unknown mode %q", dir, r.Mode)
	}

	d, err := readTrimmed(filepath.Join(dir, "BIND_DELAY"))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return r, err
	default:
		if r.BindDelay, err = parseDelay(d); err != nil {
			return r, fmt.Errorf("%s/BIND_DELAY: %w", dir, err)
		}
	}
	return r, nil
}

// parseDelay accepts a Go duration ("8s", "1500ms") or whole seconds ("8").
func parseDelay(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		n, nerr := strconv.Atoi(s)
		if nerr != nil {
			return 0, fmt.Errorf("%q is neither a duration nor whole seconds", s)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 || d > maxBindDelay {
		return 0, fmt.Errorf("%s is outside 0..%s", d, maxBindDelay)
	}
	return d, nil
}

func readTrimmed(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
