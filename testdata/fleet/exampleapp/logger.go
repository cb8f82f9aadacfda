package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Log formats.
const (
	formatText = "text"
	formatJSON = "json"
)

// level is a log level with bunyan's numbers.
type level int

const (
	levelInfo  level = 30
	levelWarn  level = 40
	levelError level = 50
	levelFatal level = 60
)

func (l level) String() string {
	switch l {
	case levelInfo:
		return "INFO"
	case levelWarn:
		return "WARN"
	case levelError:
		return "ERROR"
	case levelFatal:
		return "FATAL"
	}
	return fmt.Sprintf("LEVEL%d", int(l))
}

// logger writes one record per call, whole, so that concurrent records never
// interleave: text lines "2026-11-25T10:00:00.000Z INFO message" (a stack
// follows as indented lines), or bunyan-like JSON lines.
type logger struct {
	mu     sync.Mutex
	w      io.Writer
	format string
	now    func() time.Time
	pid    int
	host   string
}

func newLogger(w io.Writer, format string) *logger {
	host, _ := os.Hostname()
	return &logger{w: w, format: format, now: time.Now, pid: os.Getpid(), host: host}
}

func (l *logger) Info(msg string)  { l.log(levelInfo, msg, nil) }
func (l *logger) Warn(msg string)  { l.log(levelWarn, msg, nil) }
func (l *logger) Error(msg string) { l.log(levelError, msg, nil) }
func (l *logger) Fatal(msg string) { l.log(levelFatal, msg, nil) }

// ErrorStack logs an error with a traceback: in text, the frames follow the
// ERROR line as "  at ..." lines; in JSON they are the record's err.stack.
func (l *logger) ErrorStack(msg string, frames []string) { l.log(levelError, msg, frames) }

// jsonRecord is one bunyan-like line.
type jsonRecord struct {
	Name     string     `json:"name"`
	Hostname string     `json:"hostname"`
	PID      int        `json:"pid"`
	Level    level      `json:"level"`
	Msg      string     `json:"msg"`
	Time     string     `json:"time"`
	Err      *jsonError `json:"err,omitempty"`
	V        int        `json:"v"`
}

type jsonError struct {
	Message string `json:"message"`
	Stack   string `json:"stack"`
}

func (l *logger) log(lv level, msg string, frames []string) {
	ts := l.now().UTC().Format("2006-01-02T15:04:05.000Z")
	var b []byte
	if l.format == formatJSON {
		rec := jsonRecord{Name: "exampleapp", Hostname: l.host, PID: l.pid, Level: lv, Msg: msg, Time: ts}
		if len(frames) > 0 {
			stack := msg
			for _, f := range frames {
				stack += "\n    at " + f
			}
			rec.Err = &jsonError{Message: msg, Stack: stack}
		}
		b, _ = json.Marshal(rec)
		b = append(b, '\n')
	} else {
		var sb strings.Builder
		sb.WriteString(ts + " " + lv.String() + " " + msg + "\n")
		for _, f := range frames {
			sb.WriteString("  at " + f + "\n")
		}
		b = []byte(sb.String())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(b) //nolint:errcheck // nowhere better to report a failed log write
}
