package checks

import (
	"strings"
	"testing"
)

func TestMatcherScan(t *testing.T) {
	tests := []struct {
		name             string
		spec             Spec
		log              string
		entries, matches int
		firstShown       string // prefix of the first entry shown
	}{
		{
			name: "text levels, info ignored",
			spec: Spec{},
			log: "2026-11-25T10:00:00.000Z INFO started\n" +
				"2026-11-25T10:00:01.000Z ERROR request failed: upstream timeout\n" +
				"2026-11-25T10:00:02.000Z WARN slow\n" +
				"2026-11-25T10:00:03.000Z FATAL storage: lost connection\n" +
				"2026-11-25T10:00:04.000Z INFO no error found in lowercase\n",
			entries: 5, matches: 2, firstShown: "2026-11-25T10:00:01.000Z ERROR request failed",
		},
		{
			name: "exampleapp stack counts once",
			spec: Spec{},
			log: "2026-11-25T10:00:01.000Z ERROR TypeError: Cannot read properties of undefined (reading 'title')\n" +
				"  at renderPage (/srv/app/lib/render.js:42:17)\n" +
				"  at handleRequest (/srv/app/lib/server.js:118:5)\n" +
				"2026-11-25T10:00:01.001Z INFO next\n",
			entries: 2, matches: 1, firstShown: "2026-11-25T10:00:01.000Z ERROR TypeError: Cannot read properties of undefined (reading 'title')\n  at renderPage",
		},
		{
			name: "python traceback counts once",
			spec: Spec{},
			log: "2026-11-25 10:00:01,000 ERROR app: request failed\n" +
				"Traceback (most recent call last):\n" +
				"  File \"app.py\", line 3, in handle\n" +
				"    raise ValueError(\"ERROR in value\")\n" +
				"ValueError: ERROR in value\n" +
				"\n" +
				"During handling of the above exception, another exception occurred:\n" +
				"\n" +
				"Traceback (most recent call last):\n" +
				"  File \"app.py\", line 5, in handle\n" +
				"KeyError: 'x'\n" +
				"2026-11-25 10:00:02,000 INFO app: ok\n",
			entries: 2, matches: 1,
		},
		{
			name: "java caused by counts once",
			spec: Spec{},
			log: "10:00:01 ERROR [main] boom\n" +
				"java.lang.IllegalStateException: ERROR state\n" +
				"\tat com.example.App.main(App.java:10)\n" +
				"Caused by: java.io.IOException: ERROR io\n" +
				"\t... 3 more\n",
			// The exception line at column 0 is its own entry without
			// entry_start; it names ERROR, so it counts.
			entries: 2, matches: 2,
		},
		{
			name: "java with entry_start counts once",
			spec: Spec{EntryStart: `^\d\d:\d\d:\d\d `},
			log: "10:00:01 ERROR [main] boom\n" +
				"java.lang.IllegalStateException: ERROR state\n" +
				"\tat com.example.App.main(App.java:10)\n" +
				"Caused by: java.io.IOException: ERROR io\n" +
				"10:00:02 INFO fine\n",
			entries: 2, matches: 1,
		},
		{
			name:    "logfmt level",
			spec:    Spec{},
			log:     "ts=1 level=info msg=ok\nts=2 level=error msg=bad\nts=3 level=\"fatal\" msg=worse\n",
			entries: 3, matches: 2, firstShown: "ts=2 level=error",
		},
		{
			name:    "aliases: CRITICAL is FATAL, ERR is ERROR",
			spec:    Spec{},
			log:     "x CRITICAL y\nx ERR y\nx ERR_CONN_REFUSED y\n",
			entries: 3, matches: 2,
		},
		{
			name:    "levels: FATAL only",
			spec:    Spec{Levels: []string{"fatal"}},
			log:     "a ERROR b\na FATAL b\n",
			entries: 2, matches: 1, firstShown: "a FATAL b",
		},
		{
			name:    "patterns only, anywhere in the entry",
			spec:    Spec{Levels: []string{}, Patterns: []string{`Cassandra.*(timeout|unavailable)`}},
			log:     "a ERROR b\na INFO query\n  Cassandra says unavailable\na INFO c\n",
			entries: 3, matches: 1, firstShown: "a INFO query\n  Cassandra",
		},
		{
			name: "bunyan numbers",
			spec: Spec{Format: FormatJSON},
			log: `{"name":"exampleapp","level":30,"msg":"started"}` + "\n" +
				`{"name":"exampleapp","level":50,"msg":"TypeError","err":{"stack":"TypeError\n    at renderPage"}}` + "\n" +
				`{"name":"exampleapp","level":60,"msg":"storage: lost connection"}` + "\n" +
				`{"name":"exampleapp","level":40,"msg":"ERROR in a warning's message"}` + "\n",
			entries: 4, matches: 2, firstShown: `{"name":"exampleapp","level":50`,
		},
		{
			name: "json level names and a dotted field",
			spec: Spec{Format: FormatJSON, LevelField: "log.level"},
			log: `{"log":{"level":"info"},"msg":"a"}` + "\n" +
				`{"log":{"level":"error"},"msg":"b"}` + "\n" +
				`{"log":{"level":"critical"},"msg":"c"}` + "\n" +
				`{"level":"error","msg":"no log.level"}` + "\n",
			entries: 4, matches: 2,
		},
		{
			name: "json log with a crash dump in text",
			spec: Spec{Format: FormatJSON},
			log: `{"level":30,"msg":"a"}` + "\n" +
				"FATAL ERROR: Reached heap limit Allocation failed\n" +
				" 1: 0xb7a940 node::Abort()\n" +
				`{"level":30,"msg":"b"}` + "\n",
			entries: 3, matches: 1, firstShown: "FATAL ERROR: Reached heap limit",
		},
		{
			name:    "partial last line and CRLF",
			spec:    Spec{},
			log:     "a INFO x\r\nb ERROR y",
			entries: 2, matches: 1, firstShown: "b ERROR y",
		},
		{name: "empty", spec: Spec{}, log: "", entries: 0, matches: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spec
			s.Type, s.Path = KindLog, "/x.log"
			m, err := newMatcher(s.WithDefaults())
			if err != nil {
				t.Fatal(err)
			}
			got := m.scan([]byte(tt.log))
			if got.entries != tt.entries || got.matches != tt.matches {
				t.Errorf("scan = %d entries, %d matches; want %d, %d (shown %q)", got.entries, got.matches, tt.entries, tt.matches, got.shown)
			}
			if len(got.shown) != min(got.matches, maxShownEntries) {
				t.Errorf("shown %d entries for %d matches", len(got.shown), got.matches)
			}
			if tt.firstShown != "" && (len(got.shown) == 0 || !strings.HasPrefix(got.shown[0], tt.firstShown)) {
				t.Errorf("first shown = %q, want prefix %q", got.shown, tt.firstShown)
			}
		})
	}
}
