package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// app holds what the handlers need.
type app struct {
	rel      release
	cfg      config
	name     string
	address  string
	metrics  *metrics
	requests atomic.Uint64 // requests to /, for bad-5xx
}

func newApp(rel release, cfg config, name, address string) *app {
	return &app{rel: rel, cfg: cfg, name: name, address: address, metrics: newMetrics(rel.Version, rel.Mode)}
}

// rootAnswer is the JSON body of /.
type rootAnswer struct {
	App      string `json:"app"`
	Version  string `json:"version"`
	Host     string `json:"host"`
	Address  string `json:"address"`
	Greeting string `json:"greeting"`
}

func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.counted(a.root))
	mux.HandleFunc("GET /version", a.counted(a.version))
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /slow", a.counted(a.slow))
	mux.HandleFunc("GET /metrics", a.serveMetrics)
	mux.HandleFunc("/", a.counted(http.NotFound))
	return mux
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// counted counts the answer of h in http_requests_total.
func (a *app) counted(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h(rec, r)
		a.metrics.observe(rec.code)
	}
}

func (a *app) root(w http.ResponseWriter, _ *http.Request) {
	n := a.requests.Add(1)
	if a.rel.Mode == modeBad5xx && n%3 == 0 {
		http.Error(w, "internal error: storage timeout", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(rootAnswer{ //nolint:errcheck // the client went away
		App:      "exampleapp",
		Version:  a.rel.Version,
		Host:     a.name,
		Address:  a.address,
		Greeting: a.cfg.Greeting,
	})
}

func (a *app) version(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(a.rel.Version + "\n")) //nolint:errcheck // the client went away
}

func (a *app) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if a.rel.Mode == modeBadHealth {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("unhealthy: storage backend unreachable\n")) //nolint:errcheck // the client went away
		return
	}
	w.Write([]byte("ok\n")) //nolint:errcheck // the client went away
}

func (a *app) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	a.metrics.write(w) //nolint:errcheck // the scraper went away
}

// maxSlow bounds how long /slow holds a request.
const maxSlow = 30 * time.Second

// slow answers after ?ms= milliseconds (at most maxSlow): a request in
// flight that a drain must wait for.
func (a *app) slow(w http.ResponseWriter, r *http.Request) {
	ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
	d := min(time.Duration(ms)*time.Millisecond, maxSlow)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		return
	}
	w.Write([]byte("slow " + d.String() + "\n")) //nolint:errcheck // the client went away
}
