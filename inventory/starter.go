package inventory

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed starter
var starterFS embed.FS

// WriteStarter writes the commented starter configuration (deployctl.yaml
// and environments/staging/inventory.yaml) into dir and returns the paths
// it wrote. It never overwrites: if any of the files exists, it writes
// nothing and says which.
func WriteStarter(dir string) ([]string, error) {
	var files []string
	err := fs.WalkDir(starterFS, "starter", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	dst := func(f string) string {
		r, err := filepath.Rel("starter", f)
		if err != nil {
			panic(err) // both come from the embedded tree
		}
		return filepath.Join(dir, r)
	}
	// Refuse before writing anything, so a starter is never left half written.
	for _, f := range files {
		if _, err := os.Lstat(dst(f)); err == nil {
			return nil, fmt.Errorf("%s already exists: init never overwrites; move it away or use --dir", dst(f))
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	var wrote []string
	for _, f := range files {
		data, err := starterFS.ReadFile(f)
		if err != nil {
			return wrote, err
		}
		if err := os.MkdirAll(filepath.Dir(dst(f)), 0o755); err != nil {
			return wrote, err
		}
		// O_EXCL: a file created since the check above is still not overwritten.
		fh, err := os.OpenFile(dst(f), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return wrote, err
		}
		if _, err := fh.Write(data); err != nil {
			fh.Close()
			return wrote, err
		}
		if err := fh.Close(); err != nil {
			return wrote, err
		}
		wrote = append(wrote, dst(f))
	}
	return wrote, nil
}
