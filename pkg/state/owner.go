package state

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"
)

// Owner says who holds a lock, runs a rollout or asked for an abort.
type Owner struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`    // hostname of the deploy host
	User    string    `json:"user"`    // the person: $SUDO_USER when set, else the current user
	Command string    `json:"command"` // what it runs, e.g. "rollout v2"
	Message string    `json:"message,omitempty"`
	Time    time.Time `json:"time"` // when it took the lock or made the request
}

// String is a one-line description for messages:
// alice@deploy1 pid 1234 ("rollout v2": hotfix) since 2026-11-25T10:15:00Z.
func (o Owner) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s@%s pid %d", orUnknown(o.User), orUnknown(o.Host), o.PID)
	switch {
	case o.Command != "" && o.Message != "":
		fmt.Fprintf(&b, " (%q: %s)", o.Command, o.Message)
	case o.Command != "":
		fmt.Fprintf(&b, " (%q)", o.Command)
	case o.Message != "":
		fmt.Fprintf(&b, " (%s)", o.Message)
	}
	if !o.Time.IsZero() {
		fmt.Fprintf(&b, " since %s", o.Time.Format(time.RFC3339))
	}
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// filled returns o with its zero fields taken from this process: PID, host
// name, user and the current time.
func (o Owner) filled() Owner {
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	if o.Host == "" {
		o.Host, _ = os.Hostname()
	}
	if o.User == "" {
		o.User = currentUser()
	}
	if o.Time.IsZero() {
		o.Time = time.Now()
	}
	return o
}

// currentUser names the person behind the process: sudo's caller when there
// is one, since "root" says nothing about who deployed.
func currentUser() string {
	if u := os.Getenv("SUDO_USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "uid " + strconv.Itoa(os.Getuid())
}
