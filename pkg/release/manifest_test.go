package release

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"
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
		{"a marker in the repo is ours to replace", []hdr{{MarkerName, tar.TypeReg, "zzz"}, {"sub/" + MarkerName, tar.TypeReg, "y"}},
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

func TestMarker(t *testing.T) {
	rev := strings.Repeat("f", 40)
	full := Marker{Rev: rev, Manifest: &Manifest{Counts: Counts{Files: 3, Bytes: 10, Dirs: 1, Symlinks: 1}, TarBytes: 2048, TarSHA256: strings.Repeat("0", 64)}}
	tests := []struct {
		name    string
		text    string
		want    Marker
		wantErr bool
	}{
		{"round trip", full.encode(), full, false},
		{"rev only, as the example fleet writes", rev + "\n", Marker{Rev: rev}, false},
		{"rev only without newline", rev, Marker{Rev: rev}, false},
		{"incomplete counts: rev only", rev + "\nfiles=3\n", Marker{Rev: rev}, false},
		{"unknown keys ignored", strings.Replace(full.encode(), "files=3", "files=3\nfuture=x", 1), full, false},
		{"empty", "", Marker{}, true},
		{"not a rev", "main\n", Marker{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMarker(tt.text)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if got.Rev != tt.want.Rev || (got.Manifest == nil) != (tt.want.Manifest == nil) ||
				(got.Manifest != nil && *got.Manifest != *tt.want.Manifest) {
				t.Fatalf("got %+v %+v, want %+v %+v", got, got.Manifest, tt.want, tt.want.Manifest)
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
