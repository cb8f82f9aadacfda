package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
)

// metrics counts answered requests by status code and writes them in the
// Prometheus text format. 200 and 500 are always present so that rate
// queries have a series from the first scrape.
type metrics struct {
	mu      sync.Mutex
	byCode  map[int]uint64
	version string
	mode    string
}

func newMetrics(version, mode string) *metrics {
	return &metrics{byCode: map[int]uint64{200: 0, 500: 0}, version: version, mode: mode}
}

func (m *metrics) observe(code int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.byCode[code]++
}

func (m *metrics) write(w io.Writer) error {
	m.mu.Lock()
	codes := make([]int, 0, len(m.byCode))
	for c := range m.byCode {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	counts := make([]uint64, len(codes))
	for i, c := range codes {
		counts[i] = m.byCode[c]
	}
	m.mu.Unlock()

	_, err := fmt.Fprintf(w, "# HELP app_info Version and mode of the running exampleapp.\n"+
		"# TYPE app_info gauge\n"+
		"app_info{version=%s,mode=%s} 1\n"+
		"# HELP http_requests_total HTTP requests answered, by status code (not /healthz or /metrics).\n"+
		"# TYPE http_requests_total counter\n",
		strconv.Quote(m.version), strconv.Quote(m.mode))
	if err != nil {
		return err
	}
	for i, c := range codes {
		if _, err := fmt.Fprintf(w, "http_requests_total{code=\"%d\"} %d\n", c, counts[i]); err != nil {
			return err
		}
	}
	return nil
}
