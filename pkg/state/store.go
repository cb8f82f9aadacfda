package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File and directory modes: the state names hosts and users, so only the
// owner may read it.
const (
	dirMode  = 0o700
	fileMode = 0o600
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

// Open returns the store in dir, creating the directory (0700) when it is
// missing.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("open state: no directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", dir, err)
	}
	envs := filepath.Join(abs, "envs")
	if err := os.MkdirAll(envs, dirMode); err != nil {
		return nil, fmt.Errorf("open state: %w", err)
	}
	return &Store{dir: abs}, nil
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

// envDir is envPath, created (0700) when missing.
func (s *Store) envDir(env string) (string, error) {
	dir, err := s.envPath(env)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
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
