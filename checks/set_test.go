package checks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := New([]Spec{
		{Name: "ok", Type: KindCommand, Argv: []string{"true"}},
		{Name: "", Type: KindHTTP},
		{Name: "ok", Type: KindCommand, Argv: []string{"true"}},
		{Name: "m", Type: KindMetric, Query: "up"},
	})
	if err == nil {
		t.Fatal("New accepted invalid specs")
	}
	for _, want := range []string{"checks[1].name: required", "checks[1].url: required", `checks[2].name: duplicate check name "ok"`, "checks[3].max: give min, max or both"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
}

// TestSetRun runs a whole stage on a real host stand-in: a listening port,
// an HTTP server, a log file and a shell.
func TestSetRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	logFile := filepath.Join(t.TempDir(), "app.log")
	appendFile(t, logFile, errorLine)

	specs := []Spec{
		{Name: "healthz", Type: KindHTTP, URL: "http://{address}:{port}/"},
		{Name: "port", Type: KindPort, PortTimeout: time.Second},
		{Name: "log", Type: KindLog, Path: logFile},
		{Name: "selftest", Type: KindCommand, Argv: []string{"sh", "-c", "echo fine"}},
		{Name: "log-pooled", Type: KindLog, Path: logFile, Stage: "pooled", MaxMatches: 1},
		{Name: "canary-cmd", Type: KindCommand, Argv: []string{"false"}, Stage: "canary"},
	}
	set, err := New(specs)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(set.Stage(StagePooled)); !slices.Equal(got, []string{"log-pooled"}) {
		t.Errorf("pooled checks = %v", got)
	}
	target := Target{Host: "h1", Address: "127.0.0.1", Port: port, Runner: localRunner{}}
	ctx := context.Background()
	base, err := set.Prepare(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if base.Host != "h1" || len(base.snaps) != 2 {
		t.Fatalf("baseline %+v: want snapshots of the two log checks", base)
	}

	res := set.Run(ctx, StageDepooled, target, base)
	if got := resultNames(res); !slices.Equal(got, []string{"healthz", "port", "log", "selftest"}) {
		t.Fatalf("results in order %v", got)
	}
	for _, r := range res {
		if r.Verdict != Pass || r.Err != nil || r.Evidence == "" || r.Host != "h1" || r.Stage != StageDepooled {
			t.Errorf("%s: %+v", r.Name, r)
		}
	}
	if err := Failures(res); err != nil {
		t.Errorf("Failures = %v", err)
	}

	// A new ERROR line: the pooled log check allows one, a second fails it.
	appendFile(t, logFile, errorLine)
	if err := Failures(set.Run(ctx, StagePooled, target, base)); err != nil {
		t.Errorf("one new error, max_matches 1: %v", err)
	}
	appendFile(t, logFile, errorLine)
	res = set.Run(ctx, StagePooled, target, base)
	if err := Failures(res); !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "log-pooled: check failed") {
		t.Errorf("two new errors: Failures = %v", err)
	}

	res = set.Run(ctx, StageCanary, target, base)
	if len(res) != 1 || res[0].Verdict != Fail || !errors.Is(res[0].Err, ErrFailed) {
		t.Errorf("canary: %+v", res)
	}
}

// TestPortFailureSkipsTheStage: when the port never opens, the stage's
// other checks do not run and say why.
func TestPortFailureSkipsTheStage(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	set, err := New([]Spec{
		{Name: "selftest", Type: KindCommand, Argv: []string{"touch", marker}},
		{Name: "port", Type: KindPort, PortTimeout: 300 * time.Millisecond},
		{Name: "admin-port", Type: KindPort, Port: 1, PortTimeout: 300 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, p, _ := strings.Cut(closedPort(t), ":")
	res := set.Run(context.Background(), StageDepooled, Target{Host: "h1", Address: "127.0.0.1", Port: atoi(t, p), Runner: localRunner{}}, nil)
	want := []Verdict{Skipped, Fail, Skipped}
	for i, r := range res {
		if r.Verdict != want[i] {
			t.Errorf("%s: verdict %v, want %v (%v)", r.Name, r.Verdict, want[i], r.Err)
		}
	}
	if !errors.Is(res[0].Err, ErrSkipped) || !strings.Contains(res[0].Err.Error(), "port check port failed") {
		t.Errorf("skipped: %v", res[0].Err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran after the port check failed")
	}
	err = Failures(res)
	if !errors.Is(err, ErrTimeout) || errors.Is(err, ErrSkipped) {
		t.Errorf("Failures = %v: want the port failure only", err)
	}
}

func TestVerdictString(t *testing.T) {
	for v, want := range map[Verdict]string{Pass: "pass", Fail: "fail", Inconclusive: "inconclusive", Skipped: "skipped", Verdict(7): "verdict(7)"} {
		if v.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(v), v.String(), want)
		}
	}
	var zero Verdict
	if zero == Pass {
		t.Error("the zero Verdict passes")
	}
}

func names(cs []*Check) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name())
	}
	return out
}

func resultNames(rs []Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func TestResultJSON(t *testing.T) {
	r := Result{
		Name: "5xx", Kind: KindMetric, Stage: StagePooled, Host: "h3", Verdict: Fail,
		Measurements: []Measurement{{Verdict: Fail, Value: 0.3, Detail: "0.3 > max 0.05"}, {Verdict: Inconclusive, Value: math.NaN(), Detail: "no data"}},
		Err:          fmt.Errorf("5xx: %w: 0.3 > max 0.05", ErrFailed),
		Duration:     time.Second,
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name":"5xx"`, `"type":"metric"`, `"stage":"pooled"`, `"verdict":"fail"`, `"error":"5xx: check failed: 0.3 \u003e max 0.05"`,
		`"value":0.3`, `"value":null`, `"verdict":"inconclusive"`, `"duration_ns":1000000000`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
	var back struct {
		Stage   Stage   `json:"stage"`
		Verdict Verdict `json:"verdict"`
	}
	if err := json.Unmarshal(b, &back); err != nil || back.Stage != StagePooled || back.Verdict != Fail {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}
