package release

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestManifestWriter(t *testing.T) {
	type hdr struct {
		name string
		typ  byte
		body string
	}
	tests := []struct {
		name    string
		entries []hdr
		want    Counts
		wantErr string
	}{
		{"implied directories", []hdr{{"a/b/c.txt", tar.TypeReg, "abc"}, {"a/d.txt", tar.TypeReg, "d"}},
			Counts{Files: 2, Bytes: 4, Dirs: 2}, ""},
		{"explicit and implied dirs counted once", []hdr{{"a/", tar.TypeDir, ""}, {"a/x", tar.TypeReg, "x"}, {"./", tar.TypeDir, ""}},
			Counts{Files: 1, Bytes: 1, Dirs: 1}, ""},
		{"symlink, hard link, fifo", []hdr{{"f", tar.TypeReg, "12345"}, {"l", tar.TypeSymlink, ""}, {"h", tar.TypeLink, ""}, {"p", tar.TypeFifo, ""}},
			Counts{Files: 2, Bytes: 5, Symlinks: 1, Other: 1}, ""},
		{"marker files in the repo are ours to replace", []hdr{{MarkerName, tar.TypeReg, "zzz"}, {ManifestName, tar.TypeReg, "q"}, {"sub/" + MarkerName, tar.TypeReg, "y"}},
			Counts{Files: 1, Bytes: 1, Dirs: 1}, ""},
		{"same path twice: last wins", []hdr{{"f", tar.TypeReg, "long content"}, {"./f", tar.TypeReg, "s"}},
			Counts{Files: 1, Bytes: 1}, ""},
		{"dot-dot refused", []hdr{{"../x", tar.TypeReg, "x"}}, Counts{}, "leaves the release"},
		{"absolute refused", []hdr{{"/etc/x", tar.TypeReg, "x"}}, Counts{}, "absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "x"}})
			for _, e := range tt.entries {
				h := &tar.Header{Name: e.name, Typeflag: e.typ, Size: int64(len(e.body)), Mode: 0o644}
				if e.typ != tar.TypeReg {
					h.Size = 0
				}
				if e.typ == tar.TypeSymlink || e.typ == tar.TypeLink {
					h.Linkname = "f"
				}
				if err := tw.WriteHeader(h); err != nil {
					t.Fatal(err)
				}
				tw.Write([]byte(e.body[:h.Size]))
			}
			tw.Close()
			// Trailing record padding, as git archive writes, is fine.
			buf.Write(make([]byte, 10240))
			mw := newManifestWriter()
			// Small writes, as a pipe would deliver them.
			for b := buf.Bytes(); len(b) > 0; {
				n := min(len(b), 700)
				mw.Write(b[:n])
				b = b[n:]
			}
			m, err := mw.finish()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Counts != tt.want || m.TarBytes != int64(buf.Len()) || len(m.TarSHA256) != 64 {
				t.Fatalf("manifest %+v, want counts %+v and %d bytes", m, tt.want, buf.Len())
			}
		})
	}
}

func TestManifestWriterGarbage(t *testing.T) {
	mw := newManifestWriter()
	mw.Write(bytes.Repeat([]byte("garbage!"), 1000))
	if _, err := mw.finish(); err == nil {
		t.Fatal("no error for a stream that is not a tar")
	}
}

func TestListCounter(t *testing.T) {
	listing := strings.Join([]string{
		"drwxr-xr-x 0/0               0 2026-11-25 09:35 ./",
		`-rw-r--r-- 0/0               2 2026-11-25 09:35 ./q\nz`,
		"-rw-r--r-- 0/0               1 2026-11-25 09:35 ./a b",
		"-rw-r--r-- 0/0              10 2026-11-25 09:35 ./x ./",
		"lrwxrwxrwx 0/0               0 2026-11-25 09:35 ./lnk -> a b",
		"hrw-r--r-- 0/0               0 2026-11-25 09:35 ./hard link to ./a b",
		"-rw-r--r-- 0/0        52428800 2026-11-25 09:35 ./big",
		"drwxr-xr-x 0/0               0 2026-11-25 09:35 ./d/",
		"prw-r--r-- 0/0               0 2026-11-25 09:35 ./fifo",
		"crw-r--r-- 0/0             1,3 2026-11-25 09:35 ./null",
		"",
	}, "\n")
	var lc listCounter
	// Split mid-line to exercise the partial-line handling.
	lc.Write([]byte(listing[:37]))
	lc.Write([]byte(listing[37:]))
	got, err := lc.counts()
	if err != nil {
		t.Fatal(err)
	}
	want := Counts{Files: 5, Bytes: 52428813, Dirs: 1, Symlinks: 1, Other: 2}
	if got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
	var bad listCounter
	bad.Write([]byte("tar: something odd\n"))
	if _, err := bad.counts(); err == nil {
		t.Fatal("no error for an unexpected line")
	}
}

func TestMarkerFiles(t *testing.T) {
	rev := strings.Repeat("f", 40)
	for text, ok := range map[string]bool{
		rev + "\n":           true,
		rev:                  true, // no newline, as a hand-made marker may be
		rev + "\nmore\n":     true, // only the first line counts
		"  " + rev + "  \n":  true,
		"":                   false,
		"main\n":             false,
		strings.ToUpper(rev): false,
	} {
		got, err := parseRev(text)
		if (err == nil) != ok || (ok && got != rev) {
			t.Errorf("parseRev(%q) = %q, %v", text, got, err)
		}
	}

	staged := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	full := Marker{Rev: rev, StagedAt: staged, Manifest: &Manifest{
		Counts: Counts{Files: 3, Bytes: 10, Dirs: 1, Symlinks: 1}, TarBytes: 2048, TarSHA256: strings.Repeat("0", 64)}}
	tests := []struct {
		name    string
		text    string
		want    *Manifest
		wantErr bool
	}{
		{"round trip", full.encodeManifest(), full.Manifest, false},
		{"unknown keys ignored", "future=x\n" + full.encodeManifest(), full.Manifest, false},
		{"missing count", "files=3\n", nil, true},
		{"negative count", strings.Replace(full.encodeManifest(), "files=3", "files=-3", 1), nil, true},
		{"empty", "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, at, err := parseManifest(tt.text)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tt.want != nil && (*got != *tt.want || !at.Equal(staged)) {
				t.Fatalf("got %+v at %v, want %+v at %v", got, at, tt.want, staged)
			}
		})
	}
}

func TestRevFromLink(t *testing.T) {
	rev := strings.Repeat("0", 40)
	for link, ok := range map[string]bool{
		"revs/" + rev:              true,
		"/srv/app/revs/" + rev:     true,
		"revs/" + rev + "/":        true,
		"revs/" + rev + ".partial": false,
		"/tmp":                     false,
		"other/" + rev:             false,
	} {
		got, err := revFromLink(link)
		if (err == nil) != ok || (ok && got != rev) {
			t.Errorf("revFromLink(%q) = %q, %v", link, got, err)
		}
	}
}
