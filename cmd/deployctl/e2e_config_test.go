package main

// End-to-end tests of configuration deploys (issue 8) on the real fleet:
// config templates in the repo, --config-only, diff, NDJSON without a TTY,
// promote, hooks and the schema guard.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deployctl/deployctl/pkg/gitsrc"
	"github.com/deployctl/deployctl/pkg/state"
)

// configOverlay makes the app read a rendered config file.
const configOverlay = `
config:
  templates: config
  files:
    - {template: app.conf.tmpl, path: /srv/etc/exampleapp/app.conf}
`

// tagCommit commits files on top of base in the fleet's repo and tags the
// commit: a release the test invents.
func tagCommit(t *testing.T, repo, base, tag string, files map[string]string) string {
	t.Helper()
	work := t.TempDir()
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@example.org",
			"GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@example.org", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git(work, "clone", "-q", repo, "w")
	w := filepath.Join(work, "w")
	git(w, "checkout", "-q", base)
	for name, content := range files {
		write(t, filepath.Join(w, name), content)
		git(w, "add", name)
	}
	git(w, "commit", "-q", "-m", tag)
	git(w, "tag", "-f", tag)
	git(w, "push", "-q", "-f", "origin", "refs/tags/"+tag)
	out, err := exec.Command("git", "-C", w, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// withOverlay appends YAML to the environment file of x.
func (x *e2e) withOverlay(yaml string) {
	p := filepath.Join(filepath.Dir(x.cfg), "environments", x.env, "inventory.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		x.t.Fatal(err)
	}
	write(x.t, p, string(b)+yaml)
}

// startWithConfig is the fleet's start argv plus --config.
func startWithConfig(x *e2e) string {
	var b strings.Builder
	b.WriteString("\nservice:\n  port_timeout: 4s\n  start:\n")
	for _, a := range x.f.StartArgv {
		b.WriteString("    - " + jsonString(a) + "\n")
	}
	b.WriteString("    - --config\n    - /srv/etc/exampleapp/app.conf\n")
	return b.String()
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func greeting(t *testing.T, h string) string {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(h + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Greeting string `json:"greeting"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.Greeting
}

func TestE2EConfigDeploys(t *testing.T) {
	x := newE2E(t)
	// The service block replaces the test overlay's: merge by hand.
	p := filepath.Join(filepath.Dir(x.cfg), "environments", x.env, "inventory.yaml")
	b, _ := os.ReadFile(p)
	write(t, p, strings.Replace(string(b), "\nservice:\n  port_timeout: 4s\n", startWithConfig(x), 1)+configOverlay)

	repo := x.f.RepoDir
	tmpl := "greeting: hello from {{ .host }} in {{ .dc }}\n"
	cfgA := tagCommit(t, repo, "v2", "cfg-a", map[string]string{"config/app.conf.tmpl": tmpl})
	tagCommit(t, repo, "cfg-a", "cfg-b", map[string]string{"config/app.conf.tmpl": "greeting: bonjour from {{ .host }}\n"})
	tagCommit(t, repo, "cfg-a", "cfg-broken", map[string]string{"config/app.conf.tmpl": "greting: typo\n"})
	tagCommit(t, repo, "cfg-a", "cfg-tmplerr", map[string]string{"config/app.conf.tmpl": "greeting: x\nshutdown_timeout: {{ .no_such_var }}\n"})

	stopLoad := x.load()
	defer stopLoad()

	// Code and config together.
	if code, _, _ := x.run("rollout", "cfg-a"); code != exitOK {
		t.Fatalf("rollout cfg-a: exit %d", code)
	}
	x.requireAllOn(cfgA)
	h1 := x.f.Hosts[0]
	if g := greeting(t, h1.AppURL()); g != "hello from host1 in dc1" {
		t.Errorf("greeting %q", g)
	}
	if r := x.lastHistory(); r.Kind != state.KindBoth || r.ConfigVersion == "" {
		t.Errorf("history kind %q config %q", r.Kind, r.ConfigVersion)
	}

	// diff shows the change and changes nothing.
	code, out, _ := x.run("diff", "cfg-b")
	if code != 0 || !strings.Contains(out, "-greeting: hello from host1 in dc1") || !strings.Contains(out, "+greeting: bonjour from host1") {
		t.Errorf("diff: exit %d\n%s", code, out)
	}
	if g := greeting(t, h1.AppURL()); g != "hello from host1 in dc1" {
		t.Errorf("diff changed the host: greeting %q", g)
	}

	// A template error fails before any host changes, naming file and line.
	code, _, errOut := x.run("rollout", "--config-only", "cfg-tmplerr")
	if code != exitError || !strings.Contains(errOut, "config/app.conf.tmpl:2") || !strings.Contains(errOut, "no_such_var") {
		t.Errorf("template error: exit %d: %s", code, errOut)
	}

	// Config only: the code stays, the config changes.
	if code, _, _ := x.run("rollout", "--config-only", "cfg-b"); code != exitOK {
		t.Fatalf("config-only cfg-b: exit %d", code)
	}
	x.requireAllOn(cfgA)
	if g := greeting(t, h1.AppURL()); g != "bonjour from host1" {
		t.Errorf("greeting after config-only: %q", g)
	}
	goodCfg := x.lastHistory().ConfigVersion
	if r := x.lastHistory(); r.Kind != state.KindConfig {
		t.Errorf("history kind %q", r.Kind)
	}

	// A config that breaks the service returns to the previous config,
	// code unchanged (exit 3), here from a process with no TTY and stdin
	// closed, which writes NDJSON.
	cmd := exec.Command(binary(t), x.args("rollout", "--config-only", "cfg-broken", "-o", "json", "--yes")...)
	cmd.Stdin = nil
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	events, summary := readNDJSON(t, stdout)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitRolledBack {
		t.Errorf("broken config: %v, want exit %d; stderr %s", err, exitRolledBack, stderr.String())
	}
	if events < 10 || summary["outcome"] != "rolled-back" {
		t.Errorf("NDJSON: %d events, summary %v", events, summary)
	}
	x.requireAllOn(cfgA)
	if g := greeting(t, h1.AppURL()); g != "bonjour from host1" {
		t.Errorf("greeting after rollback: %q", g)
	}
	st := x.status()
	if st.LastGood.ConfigVersion != goodCfg {
		t.Errorf("last good config %q, want %q", st.LastGood.ConfigVersion, goodCfg)
	}
}

// readNDJSON reads events until EOF: every line must be a JSON object; the
// last is the summary.
func readNDJSON(t *testing.T, r io.Reader) (int, map[string]any) {
	t.Helper()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	var summary map[string]any
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Errorf("not JSON: %q", sc.Text())
			continue
		}
		n++
		if m["type"] == "summary" {
			summary, _ = m["summary"].(map[string]any)
		}
	}
	return n, summary
}

func TestE2EHooksAndSchemaGuard(t *testing.T) {
	x := newE2E(t)
	x.withOverlay("schema_version_file: SCHEMA\n")
	schema2 := tagCommit(t, x.f.RepoDir, "v2", "schema-2", map[string]string{"SCHEMA": "2\n"})
	good := x.status().Hosts[0].Rev
	stopLoad := x.load()
	defer stopLoad()

	// A failing before_rollout hook changes nothing.
	hx := *x
	hx.cfg = filepath.Join(t.TempDir(), "deployctl.yaml")
	b, _ := os.ReadFile(x.cfg)
	write(t, hx.cfg, string(b)+"hooks:\n  before_rollout:\n    - {name: migrate, argv: [sh, -c, 'echo migrating $DEPLOYCTL_REV; exit 3'], timeout: 10s}\n")
	inv, _ := os.ReadFile(filepath.Join(filepath.Dir(x.cfg), "environments", x.env, "inventory.yaml"))
	write(t, filepath.Join(filepath.Dir(hx.cfg), "environments", x.env, "inventory.yaml"), string(inv))
	code, out, errOut := hx.run("rollout", "v1")
	if code != exitError || !strings.Contains(out+errOut, "hook migrate") {
		t.Errorf("failing before_rollout: exit %d", code)
	}
	x.requireAllOn(good)

	// The schema guard: a raise needs --allow-schema-change.
	code, _, errOut = x.run("rollout", "schema-2")
	if code != exitError || !strings.Contains(errOut, "--allow-schema-change") {
		t.Errorf("schema raise without the flag: exit %d: %s", code, errOut)
	}
	x.requireAllOn(good)
	if code, _, _ := x.run("rollout", "schema-2", "--allow-schema-change"); code != exitOK {
		t.Fatalf("schema raise: exit %d", code)
	}
	// Going back below the deployed schema is refused, saying what to do.
	code, _, errOut = x.run("rollback")
	if code != exitError || !strings.Contains(errOut, "commit a change raising SCHEMA to 2") {
		t.Errorf("rollback below the schema: exit %d: %s", code, errOut)
	}
	x.requireAllOn(schema2)
}

func TestE2EPromote(t *testing.T) {
	x := newE2E(t)
	good := x.status().Hosts[0].Rev
	target := pickOther(x, good)
	dir := filepath.Dir(x.cfg)
	b, _ := os.ReadFile(x.cfg)
	base := strings.Replace(string(b), "environments:\n  fleet: {}", "environments:\n  staging: {}\n  production: {}", 1)
	write(t, x.cfg, base)
	inv, _ := os.ReadFile(filepath.Join(dir, "environments", x.env, "inventory.yaml"))
	head := strings.SplitN(string(inv), "hosts:", 2)[0]
	overlay := testOverlay
	write(t, filepath.Join(dir, "environments", "staging", "inventory.yaml"), head+
		"pool: {min_pooled: 0}\nhosts:\n  - {name: host1, address: 127.0.1.1}\ngroups:\n  canary: [host1]\n"+
		strings.Replace(overlay, "rollout:\n", "rollout:\n  groups: [canary]\n", 1))
	write(t, filepath.Join(dir, "environments", "production", "inventory.yaml"), head+
		"hosts:\n  - {name: host2, address: 127.0.1.2}\n  - {name: host3, address: 127.0.1.3}\ngroups:\n  canary: [host2]\n  main: [host3]\n"+overlay)
	stopLoad := x.load()
	defer stopLoad()
	x.env = "staging"
	if code, _, _ := x.run("rollout", target); code != exitOK {
		t.Fatalf("staging rollout: exit %d", code)
	}
	code, _, errOut := deployctl(t, "promote", "--from", "staging", "--to", "production", "--config", x.cfg, "--state-dir", x.state)
	if code != exitOK {
		t.Fatalf("promote: exit %d: %s", code, errOut)
	}
	x.env = "production"
	x.requireAllOn(x.f.Rev(target))
	if r := x.lastHistory(); r.Ref != target || r.Rev != x.f.Rev(target) {
		t.Errorf("production history: %+v", r)
	}
}

// A rollout that raises the schema, killed (SIGKILL) after host1 runs the
// new code: last good recorded no schema, yet abort after the crash reads
// the schema file at the revs involved and refuses to put host1 back below
// it. host1 stays on the raised rev, in the pool; abort exits 4 naming it,
// and a rollout forward needs nothing else.
func TestE2EAbortAfterCrashKeepsSchemaGuard(t *testing.T) {
	x := newE2E(t)
	// host2's before_host hook (after its depool, before its stop) holds
	// the rollout there, so the kill lands at one known point.
	marker := filepath.Join(t.TempDir(), "host2-held")
	x.withOverlay(fmt.Sprintf("schema_version_file: SCHEMA\nhooks:\n  before_host:\n    - {name: hold, argv: [sh, -c, 'if [ \"$DEPLOYCTL_HOST\" = host2 ] && [ ! -e %[1]s ]; then touch %[1]s; sleep 60; fi'], timeout: 2m}\n", marker))
	good := x.status().Hosts[0].Rev
	raised := tagCommit(t, x.f.RepoDir, pickOther(x, good), "schema-crash", map[string]string{"SCHEMA": "5\n"})
	binary(t)
	stopLoad := x.load()
	cmd, _, wait := x.start("rollout", "schema-crash", "--allow-schema-change")
	for i := 0; i < 900; i++ {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the rollout never reached host2's before_host hook: %v", err)
	}
	cmd.Process.Kill()
	wait()
	code, out, errOut := x.run("abort")
	if code != exitRollbackFailed || !strings.Contains(out+errOut, "schema") || !strings.Contains(out+errOut, "host1") {
		t.Errorf("abort after the crash: exit %d, want %d naming host1 and the schema guard", code, exitRollbackFailed)
	}
	if v := x.view()["host1"]; v.Current != raised || !v.in() {
		t.Errorf("host1 after abort: %s; want it kept on %s and pooled", v, gitsrc.Short(raised))
	}
	if v := x.view()["host2"]; v.Current != good || !v.in() {
		t.Errorf("host2 after abort: %s; want its old code back and pooled", v)
	}

	// Every host serves and none is out: no unfinished rollout is kept,
	// and the way on is forward, a rollout of the raised rev.
	if st := x.status(); st.Current != nil {
		t.Errorf("after the abort the record still holds rollout %+v", st.Current)
	}
	if code, _, _ := x.run("rollout", "schema-crash", "--allow-schema-change"); code != exitOK {
		t.Fatalf("rollout forward: exit %d", code)
	}
	x.requireNoFailures(stopLoad)
	x.requireAllOn(raised)
}
