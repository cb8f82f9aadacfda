package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File names inside an environment's directory.
const (
	lockName    = "lock"
	ownerName   = "lock.json"
	stateName   = "state.json"
	historyName = "history.jsonl"
	abortName   = "abort"
	logsName    = "logs"
)

// Store is the local-files store of one deploy host. It is safe for
// concurrent use by several goroutines and several processes.
type Store struct {
	dir string
}

// Open returns the store in dir, creating the directory (0700, private)
// when it is missing. A dir that exists group-writable is shared by its
// group: see perm.go.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("open state: no directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, privateDirMode); err != nil {
		return nil, fmt.Errorf("open state: %w", err)
	}
	if err := mkdirIn(filepath.Join(abs, "envs")); err != nil {
		return nil, fmt.Errorf("open state: %w", err)
	}
	return &Store{dir: abs}, nil
}

// OpenShared returns the store in dir shared by a deploy group: the
// per-machine default. A missing dir is created group-writable and setgid
// (2770) when this process may; an existing one must be group-writable, or
// every operator would take a lock of their own.
func OpenShared(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", dir, err)
	}
	switch fi, err := os.Stat(abs); {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.Mkdir(abs, 0o770); err != nil {
			return nil, fmt.Errorf("state dir %s does not exist and cannot be created (%w): create it once as root, shared by the deploy group: install -d -m 2770 -g <deploy group> %s (or use a private --state-dir)", abs, err, abs)
		}
		if err := os.Chmod(abs, sharedDirMode); err != nil {
			return nil, fmt.Errorf("open state: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("open state: %w", err)
	case !fi.IsDir():
		return nil, fmt.Errorf("state dir %s is not a directory", abs)
	case fi.Mode().Perm()&0o070 != 0o070:
		return nil, fmt.Errorf("state dir %s is mode %04o: it is the per-machine default, shared by every operator of this deploy host, and must be group-rwx for the deploy group, or each operator would take a lock of their own; fix it with: chmod 2770 %s (and chgrp it to the deploy group), or use a private --state-dir", abs, fi.Mode().Perm(), abs)
	}
	return Open(abs)
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// envPath is the directory of env. It checks the name, so that no name can
// reach outside the store.
func (s *Store) envPath(env string) (string, error) {
	if err := checkName("environment", env); err != nil {
		return "", err
	}
	return filepath.Join(s.dir, "envs", env), nil
}

// envDir is envPath, created with the store's sharing when missing.
func (s *Store) envDir(env string) (string, error) {
	dir, err := s.envPath(env)
	if err != nil {
		return "", err
	}
	if err := mkdirIn(dir); err != nil {
		return "", fmt.Errorf("environment %s: %w", env, err)
	}
	return dir, nil
}

// maxName bounds names, which become file names.
const maxName = 128

// checkName accepts [A-Za-z0-9._-]+ except "." and "..".
func checkName(what, name string) error {
	if name == "" || name == "." || name == ".." || len(name) > maxName {
		return fmt.Errorf("%w: %s %q", ErrBadName, what, name)
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("%w: %s %q: use letters, digits, '.', '_' and '-'", ErrBadName, what, name)
		}
	}
	return nil
}

// readJSON decodes the file at path into v. found is false, with no error,
// when the file does not exist. A decoding error names the file.
func readJSON(path string, v any) (found bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("%s: %w", path, err)
	}
	return true, nil
}

// writeJSON writes v as indented JSON to path, atomically.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return writeFileAtomic(path, append(data, '\n'))
}

// removeFile removes path; a missing file is not an error.
func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
