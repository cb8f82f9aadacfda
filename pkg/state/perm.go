package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The store's modes follow its directory. A directory shared by a deploy
// group (group-writable: the per-machine default, /var/lib/deployctl) gets
// group-writable, setgid sub-directories (2770) and files (0660), so that
// every operator of the group takes the same lock; a private directory (a
// per-user --state-dir) gets 0700 and 0600, since the state names hosts
// and users.
const (
	privateDirMode  = os.FileMode(0o700)
	privateFileMode = os.FileMode(0o600)
	sharedDirMode   = os.ModeSetgid | 0o770
	sharedFileMode  = os.FileMode(0o660)
)

// shared reports whether dir is group-writable.
func shared(dir string) bool {
	fi, err := os.Stat(dir)
	return err == nil && fi.Mode().Perm()&0o020 != 0
}

// fileModeIn is the mode of a file created in dir.
func fileModeIn(dir string) os.FileMode {
	if shared(dir) {
		return sharedFileMode
	}
	return privateFileMode
}

// mkdirIn creates path (one level) inside its parent with the parent's
// sharing, whatever the umask, or checks that an existing path keeps it.
func mkdirIn(path string) error {
	parent := filepath.Dir(path)
	mode := privateDirMode
	if shared(parent) {
		mode = sharedDirMode
	}
	err := os.Mkdir(path, mode.Perm())
	switch {
	case err == nil:
		return os.Chmod(path, mode) // the umask may have taken group bits; setgid too
	case errors.Is(err, fs.ErrExist):
		return checkShared(path, shared(parent))
	}
	return err
}

// checkShared refuses a path inside a shared store that other operators of
// the deploy group could not write: their lock would be another one, or
// none.
func checkShared(path string, wantShared bool) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !wantShared || fi.Mode().Perm()&0o060 == 0o060 {
		return nil
	}
	fix := "chmod g+rw"
	if fi.IsDir() {
		fix = "chmod g+rwxs"
	}
	return fmt.Errorf("%s is mode %04o in a state dir shared by its group: other operators could not take its lock, so their rollouts would not see this one; fix it with: %s %s (or use a private --state-dir)",
		path, fi.Mode().Perm(), fix, path)
}

// openShared opens (creating with the directory's sharing) a file of the
// store, and refuses one that the rest of the group could not write.
func openShared(path string, flag int) (*os.File, error) {
	dir := filepath.Dir(path)
	mode := fileModeIn(dir)
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, flag|os.O_CREATE, mode)
	if err != nil {
		return nil, err
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		err = f.Chmod(mode) // the umask may have taken the group bits
	} else {
		err = checkShared(path, shared(dir))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
