package state

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// idTime is the time part of a rollout ID: UTC, sortable as text.
const idTime = "20060102T150405Z"

// NewID returns a rollout ID for a rollout started at t, such as
// 20261125T101500Z-3fa9: IDs sort by start time, and the random suffix
// keeps two rollouts of the same second apart.
func NewID(t time.Time) string {
	var b [2]byte
	rand.Read(b[:]) // crypto/rand.Read never fails
	return t.UTC().Format(idTime) + "-" + hex.EncodeToString(b[:])
}

// LogPath is where the log of rollout id of env lives:
// <dir>/envs/<env>/logs/<id>.log. LogFile checks the names; LogPath only
// joins them.
func (s *Store) LogPath(env, id string) string {
	return filepath.Join(s.dir, "envs", env, logsName, id+".log")
}

// LogFile opens (creating, 0600, appending) the log file of rollout id of
// env. The caller closes it.
func (s *Store) LogFile(env, id string) (io.WriteCloser, error) {
	if err := checkName("rollout id", id); err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	dir, err := s.envDir(env)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	if err := mkdirIn(filepath.Join(dir, logsName)); err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	f, err := openShared(s.LogPath(env, id), os.O_WRONLY|os.O_APPEND)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	return f, nil
}
