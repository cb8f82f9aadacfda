package main

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

//go:embed starter
var starterFS embed.FS

// InitOptions are the flags of init.
type InitOptions struct {
	Dir string
}

func newInitCommand(g *GlobalOptions) *cobra.Command {
	var opts InitOptions
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented starter deployctl.yaml and a staging environment file",
		Long: `Write a commented starter configuration: deployctl.yaml and
environments/staging/inventory.yaml. Existing files are never overwritten.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error { return runInit(g, opts) },
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", ".", "`directory` to write into")
	return cmd
}

func runInit(g *GlobalOptions, opts InitOptions) error {
	var files []string
	err := fs.WalkDir(starterFS, "starter", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	// Refuse before writing anything, so init never leaves half a starter.
	for _, f := range files {
		dst := filepath.Join(opts.Dir, mustRel("starter", f))
		if _, err := os.Lstat(dst); err == nil {
			return fmt.Errorf("%s already exists: init never overwrites; move it away or use --dir", dst)
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	for _, f := range files {
		dst := filepath.Join(opts.Dir, mustRel("starter", f))
		data, err := starterFS.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		// O_EXCL: a file created since the check above is still not overwritten.
		fh, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		if _, err := fh.Write(data); err != nil {
			fh.Close()
			return err
		}
		if err := fh.Close(); err != nil {
			return err
		}
		fmt.Fprintln(g.stdout, "wrote", dst)
	}
	fmt.Fprintln(g.stdout, "next: edit them, then run: deployctl validate")
	return nil
}

func mustRel(base, p string) string {
	r, err := filepath.Rel(base, p)
	if err != nil {
		panic(err) // both come from the embedded tree
	}
	return r
}
