package main

import (
	"context"
	"time"
)

// Timing of bad-log's error lines: a first burst soon after binding, then
// one ERROR line per period until shutdown.
const (
	badLogFirst  = 300 * time.Millisecond
	badLogPeriod = 2 * time.Second
)

// logErrors writes the ERROR and FATAL lines of bad-log while the service
// keeps answering 200: the kind of trouble only a log check notices.
func logErrors(ctx context.Context, log *logger) {
	select {
	case <-time.After(badLogFirst):
	case <-ctx.Done():
		return
	}
	log.ErrorStack("TypeError: Cannot read properties of undefined (reading 'title')", []string{
		"renderPage (/srv/app/lib/render.js:42:17)",
		"handleRequest (/srv/app/lib/server.js:118:5)",
		"process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
	})
	log.Fatal("storage: lost connection to 127.0.0.1:9042, giving up on retries")
	t := time.NewTicker(badLogPeriod)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			log.Error("request failed: upstream timeout after 1000ms")
		case <-ctx.Done():
			return
		}
	}
}
