package pool

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// showStat26 is "show stat exampleapp 4 -1" from HAProxy 2.6, trimmed to a
// few columns but in HAProxy's order.
const showStat26 = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,weight,check_status,check_desc,uweight,
exampleapp,h1,0,0,3,5,,120,UP,10,L7OK,"Layer7 check passed, code 200",10,
exampleapp,h2,0,0,0,0,,0,MAINT,20,,,20,
exampleapp,h3,0,0,0,0,,0,no check,7,,,7,

`

const serversState26 = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change
3 exampleapp 1 h1 127.0.1.11 2 0 10 10 10
3 exampleapp 2 h2 127.0.1.12 0 1 20 20 11
3 exampleapp 3 h3 127.0.1.13 2 8 7 7 10

`

// shuffleColumns returns a CSV table with the same columns in another order.
func shuffleColumns(t *testing.T, table string) string {
	t.Helper()
	rows, err := parseShowStat(table)
	if err != nil {
		t.Fatal(err)
	}
	header := strings.Split(strings.TrimSuffix(strings.SplitN(table[2:], "\n", 2)[0], ","), ",")
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(header), func(i, j int) { header[i], header[j] = header[j], header[i] })
	out := "# " + strings.Join(header, ",") + "\n"
	for _, row := range rows {
		var f []string
		for _, h := range header {
			v := row[h]
			if strings.Contains(v, ",") {
				v = `"` + v + `"`
			}
			f = append(f, v)
		}
		out += strings.Join(f, ",") + "\n"
	}
	return out
}

func TestParseShowStatByHeaderName(t *testing.T) {
	want, err := parseShowStat(showStat26)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 3 || want[0]["svname"] != "h1" || want[0]["scur"] != "3" || want[0]["check_desc"] != "Layer7 check passed, code 200" {
		t.Fatalf("parsed %v", want)
	}
	shuffled := shuffleColumns(t, showStat26)
	got, err := parseShowStat(shuffled)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reordered columns parse differently:\n%s\ngot  %v\nwant %v", shuffled, got, want)
	}
}

func TestParseShowStatErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		unknown bool // an ErrUnknownServer
	}{
		{name: "no such proxy", in: "No such proxy.\n\n", unknown: true},
		{name: "permission denied", in: "Permission denied\n\n"},
		{name: "empty", in: ""},
		{name: "garbage", in: "hello\n"},
		{name: "broken quotes", in: "# a,b\n\"x,y\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseShowStat(tt.in)
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, ErrUnknownServer); got != tt.unknown {
				t.Errorf("errors.Is(%v, ErrUnknownServer) = %v, want %v", err, got, tt.unknown)
			}
		})
	}
}

func TestParseServersState(t *testing.T) {
	rows, err := parseServersState(serversState26)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[2]["srv_name"] != "h3" || rows[2]["srv_admin_state"] != "8" || rows[1]["srv_uweight"] != "20" {
		t.Errorf("parsed %v", rows)
	}
	if _, err := parseServersState("Can't find backend.\n\n"); !errors.Is(err, ErrUnknownServer) {
		t.Errorf("unknown backend: %v, want ErrUnknownServer", err)
	}
	if _, err := parseServersState("1\n"); err == nil {
		t.Error("no header: no error")
	}
}

func TestServerStatusState(t *testing.T) {
	tests := []struct {
		name    string
		s       ServerStatus
		want    State
		fullyUp bool
	}{
		{name: "up", s: ServerStatus{Status: "UP", Weight: 10, Sessions: 2},
			want: State{Pooled: PooledYes, Weight: 10, LB: "UP", Sessions: 2, Up: true}, fullyUp: true},
		{name: "going down", s: ServerStatus{Status: "UP 1/2", Weight: 10},
			want: State{Pooled: PooledYes, Weight: 10, LB: "UP 1/2", Up: true}},
		{name: "down", s: ServerStatus{Status: "DOWN", Weight: 10},
			want: State{Pooled: PooledYes, Weight: 10, LB: "DOWN"}},
		{name: "no check", s: ServerStatus{Status: "no check", Weight: 7},
			want: State{Pooled: PooledYes, Weight: 7, LB: "no check", Up: true}, fullyUp: true},
		{name: "maint", s: ServerStatus{Status: "MAINT", Weight: 10, Admin: admForcedMaint},
			want: State{Pooled: PooledNo, Weight: 10, LB: "MAINT"}},
		{name: "drain", s: ServerStatus{Status: "DRAIN", Weight: 10, Admin: admForcedDrain},
			want: State{Pooled: PooledNo, Weight: 10, LB: "DRAIN", Up: true}},
		// A draining server that is also down shows DOWN: only the admin
		// flags tell it is out.
		{name: "drain and down", s: ServerStatus{Status: "DOWN", Weight: 10, Admin: admForcedDrain},
			want: State{Pooled: PooledNo, Weight: 10, LB: "DOWN"}},
		{name: "disabled in config", s: ServerStatus{Status: "MAINT", Weight: 10, Admin: admConfigMaint},
			want: State{Pooled: PooledNo, Weight: 10, LB: "MAINT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.State(); got != tt.want {
				t.Errorf("State() = %+v, want %+v", got, tt.want)
			}
			if got := tt.s.FullyUp(); got != tt.fullyUp {
				t.Errorf("FullyUp() = %v, want %v", got, tt.fullyUp)
			}
		})
	}
}

// TestLeftByDepool: only the forced flags our depool sets ("state drain",
// then "state maint"), alone or together, are ours to clear.
func TestLeftByDepool(t *testing.T) {
	tests := []struct {
		name  string
		admin int
		want  bool
	}{
		{name: "pooled", admin: 0},
		{name: "forced maint, a finished depool", admin: admForcedMaint, want: true},
		{name: "forced drain, an interrupted depool", admin: admForcedDrain, want: true},
		{name: "forced drain and maint", admin: admForcedDrain | admForcedMaint, want: true},
		{name: "inherited maint", admin: admInheritedMaint},
		{name: "inherited drain", admin: admInheritedDrain},
		{name: "forced drain and inherited maint", admin: admForcedDrain | admInheritedMaint},
		{name: "disabled in config", admin: admConfigMaint | admForcedMaint},
		{name: "dns resolution", admin: admResolvMaint},
		{name: "hostname", admin: admHostnameMaint | admForcedMaint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (ServerStatus{Admin: tt.admin}).LeftByDepool(); got != tt.want {
				t.Errorf("LeftByDepool() with admin state %#x = %v, want %v", tt.admin, got, tt.want)
			}
		})
	}
}
