package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/deployctl/deployctl/deploy"
	"github.com/deployctl/deployctl/pkg/gitsrc"
)

// eventPrinter renders rollout events: NDJSON with --output json, live
// progress on a terminal, plain lines otherwise.
type eventPrinter struct {
	mu    sync.Mutex
	w     io.Writer
	json  bool
	tty   bool
	start time.Time

	// live line (TTY only)
	active map[string]activeStep
	stop   chan struct{}
	done   chan struct{}
}

type activeStep struct {
	step  string
	since time.Time
}

func newEventPrinter(w io.Writer, jsonOut bool) *eventPrinter {
	p := &eventPrinter{w: w, json: jsonOut, start: time.Now(), active: map[string]activeStep{}}
	if f, ok := w.(*os.File); ok && !jsonOut && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.tick()
	}
	return p
}

// Event renders one event.
func (p *eventPrinter) Event(ev deploy.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		b, _ := json.Marshal(ev)
		p.w.Write(append(b, '\n'))
		return
	}
	if ev.Type == deploy.EventStep {
		if ev.Status == deploy.StatusStart {
			p.active[ev.Host] = activeStep{step: ev.Step, since: ev.Time}
			return // the live line shows it; the end prints the line
		}
		delete(p.active, ev.Host)
	}
	if line := formatEvent(ev); line != "" {
		if p.tty {
			fmt.Fprint(p.w, "\r\033[K")
		}
		fmt.Fprintf(p.w, "%s %s\n", ev.Time.Format("15:04:05"), line)
	}
}

// Summary prints the final result.
func (p *eventPrinter) Summary(v any, text string) {
	p.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		b, _ := json.Marshal(map[string]any{"type": "summary", "summary": v})
		p.w.Write(append(b, '\n'))
		return
	}
	fmt.Fprintln(p.w, text)
}

// Close stops the live line.
func (p *eventPrinter) Close() {
	if p.tty && p.stop != nil {
		close(p.stop)
		<-p.done
		p.stop = nil
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func (p *eventPrinter) tick() {
	defer close(p.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			p.mu.Lock()
			var parts []string
			for h, a := range p.active {
				parts = append(parts, fmt.Sprintf("%s %s %s", h, a.step, now.Sub(a.since).Round(100*time.Millisecond)))
			}
			if len(parts) > 0 {
				fmt.Fprintf(p.w, "\r\033[K  … %s (%s total)", strings.Join(parts, " | "), now.Sub(p.start).Round(time.Second))
			}
			p.mu.Unlock()
		}
	}
}

func formatEvent(ev deploy.Event) string {
	var b strings.Builder
	switch ev.Type {
	case deploy.EventPhase:
		fmt.Fprintf(&b, "== %s %s", ev.Phase, ev.Status)
	case deploy.EventBatch:
		fmt.Fprintf(&b, "-- %s", ev.Message)
		return b.String()
	case deploy.EventHost:
		label := "host"
		if ev.Phase == deploy.PhaseRollback {
			label = "rollback"
		}
		fmt.Fprintf(&b, "%s %s %s", ev.Host, label, ev.Status)
		if ev.Status == deploy.StatusStart && ev.Rev != "" {
			fmt.Fprintf(&b, " -> %s", gitsrc.Short(ev.Rev))
		}
	case deploy.EventStep:
		fmt.Fprintf(&b, "%s   %-16s %s", ev.Host, ev.Step, ev.Status)
	case deploy.EventCheck:
		fmt.Fprintf(&b, "%s     check %s %s", ev.Host, ev.Step, ev.Status)
	default:
		if ev.Host != "" {
			b.WriteString(ev.Host + " ")
		}
		b.WriteString("note")
	}
	if ev.Elapsed > 0 {
		fmt.Fprintf(&b, " (%s)", ev.Elapsed.Round(time.Millisecond))
	}
	if ev.Message != "" && ev.Type != deploy.EventCheck {
		fmt.Fprintf(&b, " %s", ev.Message)
	}
	if ev.Error != "" {
		fmt.Fprintf(&b, ": %s", ev.Error)
	}
	if ev.Evidence != "" && ev.Status == deploy.StatusFail {
		fmt.Fprintf(&b, "\n      saw: %s", indent(ev.Evidence, "      "))
	}
	return b.String()
}

func indent(s, pad string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad)
}
