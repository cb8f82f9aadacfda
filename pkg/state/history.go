package state

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Record is one past rollout: a line of history.jsonl.
type Record struct {
	ID                string        `json:"id"`
	Env               string        `json:"env"`
	Kind              Kind          `json:"kind"`
	Ref               string        `json:"ref"`
	Rev               string        `json:"rev"`
	ConfigVersion     string        `json:"config_version,omitempty"`
	PreviousRev       string        `json:"previous_rev,omitempty"` // last good when it started
	User              string        `json:"user"`
	Host              string        `json:"host"` // the deploy host
	PID               int           `json:"pid"`
	Started           time.Time     `json:"started"`
	Finished          time.Time     `json:"finished"`
	Duration          time.Duration `json:"duration_ns"`
	Result            Result        `json:"result"`
	FailedHost        string        `json:"failed_host,omitempty"`
	Reason            string        `json:"reason,omitempty"`
	HostsChanged      []string      `json:"hosts_changed,omitempty"`
	HostsLeftDepooled []string      `json:"hosts_left_depooled,omitempty"`
	Log               string        `json:"log,omitempty"` // the rollout's log file
}

// maxRecordLine bounds one history line when reading; a longer line is
// skipped like a torn one.
const maxRecordLine = 1 << 20

// Append adds rec as one JSON line to env's history.jsonl (created 0600)
// and fsyncs it. A line torn by an earlier crash is ended first, so it
// cannot swallow this record.
func (s *Store) Append(env string, rec Record) error {
	dir, err := s.envDir(env)
	if err != nil {
		return fmt.Errorf("append history: %w", err)
	}
	path := filepath.Join(dir, historyName)
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("append history %s: %w", path, err)
	}
	line = append(line, '\n')
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, fs.ErrNotExist)
	f, err := openShared(path, os.O_RDWR|os.O_APPEND)
	if err != nil {
		return fmt.Errorf("append history: %w", err)
	}
	defer f.Close()
	torn, err := endsTorn(f)
	if err != nil {
		return fmt.Errorf("append history %s: %w", path, err)
	}
	if torn {
		line = append([]byte{'\n'}, line...)
	}
	// One write: O_APPEND puts it at the end even with another appender.
	if _, err := f.Write(line); err != nil {
		return fmt.Errorf("append history %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("append history %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("append history %s: %w", path, err)
	}
	if created {
		if err := syncDir(dir); err != nil {
			return fmt.Errorf("append history %s: %w", path, err)
		}
	}
	return nil
}

// endsTorn reports whether f is non-empty and does not end in a newline.
func endsTorn(f *os.File) (bool, error) {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return false, err
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], fi.Size()-1); err != nil {
		return false, err
	}
	return last[0] != '\n', nil
}

// History returns env's last limit records (all when limit <= 0), oldest
// first, newest last. A line that is not a JSON record, such as one torn by
// a crash mid-write, is skipped. A missing file is an empty history.
func (s *Store) History(env string, limit int) ([]Record, error) {
	dir, err := s.envPath(env)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	path := filepath.Join(dir, historyName)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	var recs []Record
	r := bufio.NewReader(f)
	for {
		line, err := readLine(r)
		if len(line) > 0 {
			var rec Record
			if json.Unmarshal(line, &rec) == nil {
				recs = append(recs, rec)
				if limit > 0 && len(recs) > 2*limit {
					recs = append(recs[:0], recs[len(recs)-limit:]...) // keep memory bounded
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("history %s: %w", path, err)
		}
	}
	if limit > 0 && len(recs) > limit {
		recs = recs[len(recs)-limit:]
	}
	return recs, nil
}

// readLine returns the next line without its newline. A line longer than
// maxRecordLine is consumed and returned empty, to be skipped.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	tooLong := false
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			line = append(line, chunk...)
			if len(line) > maxRecordLine {
				tooLong, line = true, nil
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimSpace(line), err
	}
}
