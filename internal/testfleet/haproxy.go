package fleet

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// haproxyTimeout bounds one runtime API command.
const haproxyTimeout = 5 * time.Second

// ServerStatus returns the status column of `show stat` (UP, DOWN, DRAIN,
// MAINT, "UP 1/2", ...) for every server of the fleet's backend, by name.
func (f *Fleet) ServerStatus(ctx context.Context) (map[string]string, error) {
	out, err := f.HAProxyCommand(ctx, "show stat")
	if err != nil {
		return nil, err
	}
	return parseServerStatus(out, f.Backend)
}

// HAProxyCommand sends one command to the runtime API over TCP and returns
// the answer.
func (f *Fleet) HAProxyCommand(ctx context.Context, cmd string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, haproxyTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", f.HAProxyAPI)
	if err != nil {
		return "", fmt.Errorf("haproxy %s: %w", cmd, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return "", fmt.Errorf("haproxy %s: %w", cmd, err)
	}
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", fmt.Errorf("haproxy %s: %w", cmd, err)
	}
	b, err := io.ReadAll(io.LimitReader(conn, 4<<20))
	if err != nil {
		return "", fmt.Errorf("haproxy %s: %w", cmd, err)
	}
	return string(b), nil
}

// parseServerStatus reads `show stat` CSV ("# pxname,svname,...,status,...").
func parseServerStatus(stat, backend string) (map[string]string, error) {
	stat = strings.TrimPrefix(strings.TrimSpace(stat), "# ")
	r := csv.NewReader(strings.NewReader(stat))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("show stat: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	px, sv, st := col["pxname"], col["svname"], col["status"]
	if _, ok := col["status"]; !ok {
		return nil, errors.New("show stat: no status column")
	}
	out := map[string]string{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("show stat: %w", err)
		}
		if len(rec) <= st || rec[px] != backend || rec[sv] == "BACKEND" || rec[sv] == "FRONTEND" {
			continue
		}
		out[rec[sv]] = rec[st]
	}
	return out, nil
}
