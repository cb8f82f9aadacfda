package checks

import (
	"context"
	"fmt"
	"math"

	"github.com/deployctl/deployctl/pkg/hosttmpl"
)

// relativeProbe judges the host against the rest of its pool with the same
// query: it fails when the host is worse by more than max_increase and/or
// max_increase_ratio. It is what catches a bad release while the whole
// site's error rate moves.
type relativeProbe struct{ d Spec }

// relativeQueries are the filled queries for the host and for its peers.
type relativeQueries struct {
	host, peers, hostReq, peersReq string
}

func (p relativeProbe) fill(e env) (string, relativeQueries, error) {
	var q relativeQueries
	base, err := hosttmpl.Expand(p.d.Prometheus, e.vars)
	if err != nil {
		return "", q, fmt.Errorf("prometheus: %w", err)
	}
	hostVars := e.vars.With("host", promAlternation([]string{e.t.Host}))
	peerVars := e.vars.With("host", promAlternation(e.t.Peers))
	for _, f := range []struct {
		name, tmpl string
		vars       hosttmpl.Vars
		out        *string
	}{
		{"query", p.d.Query, hostVars, &q.host},
		{"query", p.d.Query, peerVars, &q.peers},
		{"requests_query", p.d.RequestsQuery, hostVars, &q.hostReq},
		{"requests_query", p.d.RequestsQuery, peerVars, &q.peersReq},
	} {
		if *f.out, err = hosttmpl.Expand(f.tmpl, f.vars); err != nil {
			return "", q, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return base, q, nil
}

func (p relativeProbe) run(ctx context.Context, e env) (outcome, error) {
	base, q, err := p.fill(e)
	if err != nil {
		return outcome{}, err
	}
	prom := newPromClient(base)
	defer prom.close()
	out, err := measure(ctx, p.d, false, func(ctx context.Context) Measurement {
		if len(e.t.Peers) == 0 {
			return Measurement{Verdict: Inconclusive, Value: math.NaN(), Detail: "no peers to compare with"}
		}
		if m, ok := enoughRequests(ctx, prom, q.hostReq, p.d.MinRequests, "requests on "+e.t.Host); !ok {
			return m
		}
		if m, ok := enoughRequests(ctx, prom, q.peersReq, p.d.MinRequests, "requests on the peers"); !ok {
			return m
		}
		hv, hok, herr := prom.query(ctx, q.host)
		pv, pok, perr := prom.query(ctx, q.peers)
		switch {
		case herr != nil:
			return Measurement{Verdict: Inconclusive, Error: true, Value: math.NaN(), Detail: e.t.Host + ": " + herr.Error()}
		case perr != nil:
			return Measurement{Verdict: Inconclusive, Error: true, Value: math.NaN(), Detail: "peers: " + perr.Error()}
		case !hok:
			return Measurement{Verdict: Inconclusive, Value: math.NaN(), Detail: "no data for " + e.t.Host}
		case !pok:
			return Measurement{Verdict: Inconclusive, Value: math.NaN(), Detail: "no data for the peers"}
		}
		saw := fmt.Sprintf("%s %s vs peers %s", e.t.Host, fmtNum(hv), fmtNum(pv))
		if worse(hv, pv, p.d.MaxIncrease, p.d.MaxIncreaseRatio) {
			return Measurement{Verdict: Fail, Value: hv, Detail: saw + ": worse by more than " + increaseWhat(p.d)}
		}
		return Measurement{Verdict: Pass, Value: hv, Detail: saw + ": not worse by more than " + increaseWhat(p.d)}
	})
	if err != nil {
		return out, fmt.Errorf("query %s against peers %v: %w", q.host, e.t.Peers, err)
	}
	out.evidence = "query " + q.host + " against peers: " + out.evidence
	return out, nil
}

// worse reports whether v is worse (higher) than base by more than every
// bound given: the difference inc and the ratio ratio.
func worse(v, base float64, inc, ratio *float64) bool {
	if inc != nil && v-base <= *inc {
		return false
	}
	if ratio != nil && v <= base**ratio {
		return false
	}
	return true
}
