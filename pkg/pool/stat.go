package pool

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Admin state flags of "show servers state" (srv_admin_state), from
// HAProxy's server.h.
const (
	admForcedMaint    = 0x01
	admInheritedMaint = 0x02
	admConfigMaint    = 0x04
	admForcedDrain    = 0x08
	admInheritedDrain = 0x10
	admResolvMaint    = 0x20
	admHostnameMaint  = 0x40

	admMaint = admForcedMaint | admInheritedMaint | admConfigMaint | admResolvMaint | admHostnameMaint
	admDrain = admForcedDrain | admInheritedDrain
)

// ServerStatus is one HAProxy server as the runtime API shows it.
type ServerStatus struct {
	Backend, Server string
	Status          string // show stat "status": UP, DOWN, MAINT, DRAIN, NOLB, "UP 1/2", "no check"...
	Sessions        int    // show stat "scur"
	Weight          int    // srv_uweight: the weight set by config or "set server weight"
	Admin           int    // srv_admin_state flags
}

// Maint reports whether the server is in maintenance, by anyone.
func (s ServerStatus) Maint() bool { return s.Admin&admMaint != 0 }

// Drain reports whether the server is draining.
func (s ServerStatus) Drain() bool { return s.Admin&admDrain != 0 }

// admDepool are the admin flags a depool sets: forced drain ("set server
// state drain"), then forced maint ("state maint"). "state ready" clears
// both, and only these.
const admDepool = admForcedDrain | admForcedMaint

// LeftByDepool reports whether the server's admin flags are some of those a
// depool sets and no others: forced maint as a finished depool leaves it,
// forced drain as an interrupted one does (or both). Any other flag
// (inherited from a tracked server, from the config, from DNS) was not set
// by us, and "state ready" would not clear it.
func (s ServerStatus) LeftByDepool() bool {
	return s.Admin != 0 && s.Admin&^admDepool == 0
}

// Up reports whether HAProxy considers the server healthy: UP (also while
// going down, "UP 1/3"), DRAIN (up but draining) or without checks.
func (s ServerStatus) Up() bool {
	return s.Status == "UP" || strings.HasPrefix(s.Status, "UP ") || s.Status == "no check" || s.Status == "DRAIN"
}

// FullyUp reports whether the server is UP with no failed check pending, or
// has no checks: the state a repool waits for.
func (s ServerStatus) FullyUp() bool { return s.Status == "UP" || s.Status == "no check" }

// State converts s to the pool's view.
func (s ServerStatus) State() State {
	p := PooledYes
	if s.Maint() || s.Drain() {
		p = PooledNo
	}
	return State{Pooled: p, Weight: s.Weight, LB: s.Status, Sessions: s.Sessions, Up: s.Up()}
}

// Server reads one server's status: "show stat" for status and sessions,
// "show servers state" for the admin flags and weight. An unknown backend
// or server is an ErrUnknownServer.
func (r *Runtime) Server(ctx context.Context, backend, server string) (ServerStatus, error) {
	if err := checkName(backend); err != nil {
		return ServerStatus{}, err
	}
	if err := checkName(server); err != nil {
		return ServerStatus{}, err
	}
	out, err := r.Command(ctx, "show stat "+backend+" 4 -1")
	if err != nil {
		return ServerStatus{}, err
	}
	stats, err := parseShowStat(out)
	if err != nil {
		return ServerStatus{}, fmt.Errorf("show stat %s: %w", backend, err)
	}
	out, err = r.Command(ctx, "show servers state "+backend)
	if err != nil {
		return ServerStatus{}, err
	}
	states, err := parseServersState(out)
	if err != nil {
		return ServerStatus{}, fmt.Errorf("show servers state %s: %w", backend, err)
	}
	st, ok1 := find(stats, "pxname", backend, "svname", server)
	ss, ok2 := find(states, "be_name", backend, "srv_name", server)
	if !ok1 || !ok2 {
		return ServerStatus{}, fmt.Errorf("%w: %s/%s on %s", ErrUnknownServer, backend, server, r)
	}
	s := ServerStatus{Backend: backend, Server: server, Status: st["status"]}
	for _, f := range []struct {
		row  map[string]string
		name string
		dst  *int
	}{
		{st, "scur", &s.Sessions},
		{ss, "srv_uweight", &s.Weight},
		{ss, "srv_admin_state", &s.Admin},
	} {
		v, err := strconv.Atoi(f.row[f.name])
		if err != nil {
			return ServerStatus{}, fmt.Errorf("haproxy %s/%s: field %s %q: not a number", backend, server, f.name, f.row[f.name])
		}
		*f.dst = v
	}
	return s, nil
}

// find returns the first row whose fields k1 and k2 have values v1 and v2.
func find(rows []map[string]string, k1, v1, k2, v2 string) (map[string]string, bool) {
	for _, r := range rows {
		if r[k1] == v1 && r[k2] == v2 {
			return r, true
		}
	}
	return nil, false
}

// ParseStatuses reads a "show stat" answer and returns the status column
// (UP, DOWN, DRAIN, MAINT, "UP 1/2", ...) of every server of backend, by
// server name; the FRONTEND and BACKEND rows are left out. An answer
// without a status column is an error.
func ParseStatuses(out, backend string) (map[string]string, error) {
	header, recs, err := readShowStat(out)
	if err != nil {
		return nil, fmt.Errorf("show stat: %w", err)
	}
	if !slices.Contains(header, "status") {
		return nil, errors.New("show stat: no status column")
	}
	statuses := map[string]string{}
	for _, row := range rowsByHeader(header, recs) {
		st, ok := row["status"]
		if !ok || row["pxname"] != backend || row["svname"] == "BACKEND" || row["svname"] == "FRONTEND" {
			continue
		}
		statuses[row["svname"]] = st
	}
	return statuses, nil
}

// parseShowStat parses "show stat" CSV by its header names (the first line,
// "# pxname,svname,..."), never by column position, so a newer HAProxy with
// more or reordered columns still parses.
func parseShowStat(out string) ([]map[string]string, error) {
	header, recs, err := readShowStat(out)
	if err != nil {
		return nil, err
	}
	return rowsByHeader(header, recs), nil
}

// readShowStat splits "show stat" CSV into its header (the first line,
// without its "# ") and its records.
func readShowStat(out string) (header []string, recs [][]string, err error) {
	if !strings.HasPrefix(out, "# ") {
		if err := answerErr("show stat", out); err != nil {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("no header line in %q", clip(out))
	}
	rd := csv.NewReader(strings.NewReader(out[2:]))
	rd.FieldsPerRecord = -1
	all, err := rd.ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("parse: %w", err)
	}
	if len(all) == 0 {
		return nil, nil, fmt.Errorf("no header line in %q", clip(out))
	}
	return all[0], all[1:], nil
}

// parseServersState parses "show servers state": a version line, a header
// line "# be_id be_name ...", then space-separated rows.
func parseServersState(out string) ([]map[string]string, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "# ") {
		if err := answerErr("show servers state", out); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("no header line in %q", clip(out))
	}
	header := strings.Fields(lines[1][2:])
	var recs [][]string
	for _, l := range lines[2:] {
		if f := strings.Fields(l); len(f) > 0 {
			recs = append(recs, f)
		}
	}
	return rowsByHeader(header, recs), nil
}

func rowsByHeader(header []string, recs [][]string) []map[string]string {
	rows := make([]map[string]string, 0, len(recs))
	for _, rec := range recs {
		row := make(map[string]string, len(header))
		for i, name := range header {
			if i < len(rec) && name != "" {
				row[name] = rec[i]
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// clip shortens text quoted in an error.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
