package pool

import (
	"errors"
	"reflect"
	"testing"
)

// showStatAll is a whole "show stat" (every proxy, no filter), trimmed to a
// few columns but in HAProxy's order.
const showStatAll = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,weight,
fe_exampleapp,FRONTEND,,,0,2,2000,40,OPEN,,
exampleapp,h1,0,0,0,1,,20,UP,10,
exampleapp,h2,0,0,0,1,,20,DRAIN,10,
exampleapp,h3,0,0,0,0,,0,UP 1/2,10,
exampleapp,BACKEND,0,0,0,2,200,40,UP,20,
other,h1,0,0,0,0,,0,DOWN,1,
stats,FRONTEND,,,1,1,2000,3,OPEN,,

`

func TestParseStatuses(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		backend string
		want    map[string]string
		unknown bool // an ErrUnknownServer
		wantErr bool
	}{
		{name: "servers of the backend", in: showStatAll, backend: "exampleapp",
			want: map[string]string{"h1": "UP", "h2": "DRAIN", "h3": "UP 1/2"}},
		{name: "other backend", in: showStatAll, backend: "other", want: map[string]string{"h1": "DOWN"}},
		{name: "no such backend in the answer", in: showStatAll, backend: "nosuch", want: map[string]string{}},
		{name: "one backend filtered by haproxy", in: showStat26, backend: "exampleapp",
			want: map[string]string{"h1": "UP", "h2": "MAINT", "h3": "no check"}},
		{name: "reordered columns", in: shuffleColumns(t, showStat26), backend: "exampleapp",
			want: map[string]string{"h1": "UP", "h2": "MAINT", "h3": "no check"}},
		{name: "no status column", in: "# pxname,svname\nexampleapp,h1\n", backend: "exampleapp", wantErr: true},
		{name: "header only, no status column", in: "# pxname,svname\n", backend: "exampleapp", wantErr: true},
		{name: "empty header", in: "# \n", backend: "exampleapp", wantErr: true},
		{name: "empty", in: "", backend: "exampleapp", wantErr: true},
		{name: "no such proxy", in: "No such proxy.\n\n", backend: "exampleapp", wantErr: true, unknown: true},
		{name: "permission denied", in: "Permission denied\n\n", backend: "exampleapp", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatuses(tt.in, tt.backend)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got := errors.Is(err, ErrUnknownServer); got != tt.unknown {
				t.Errorf("errors.Is(%v, ErrUnknownServer) = %v, want %v", err, got, tt.unknown)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
