package checks

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/deployctl/deployctl/pkg/hosttmpl"
)

// Scrape bounds.
const (
	scrapeTimeout = 10 * time.Second // one scrape, within the check's timeout
	scrapeMaxBody = 16 << 20
)

// scrapeProbe reads the host's own /metrics every interval and judges the
// error share of a request counter over each interval.
type scrapeProbe struct {
	d     Spec
	codes *regexp.Regexp
}

func newScrapeProbe(d Spec) (*scrapeProbe, error) {
	re, err := regexp.Compile(`^(?:` + d.ErrorCodes + `)$`)
	if err != nil {
		return nil, fmt.Errorf("error_codes: %w", err)
	}
	return &scrapeProbe{d: d, codes: re}, nil
}

// series is one labelled counter value.
type series struct {
	value float64
	isErr bool
}

func (p *scrapeProbe) run(ctx context.Context, e env) (outcome, error) {
	target, err := hosttmpl.Expand(p.d.URL, e.vars)
	if err != nil {
		return outcome{}, fmt.Errorf("url: %w", err)
	}
	shown := target
	if u, err := url.Parse(target); err == nil {
		shown = u.Redacted()
	}
	hc := &http.Client{
		Transport: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: scrapeTimeout}).DialContext},
		Timeout:   scrapeTimeout,
	}
	defer hc.CloseIdleConnections()

	prev, prevErr := p.scrape(ctx, hc, target)
	out, err := measure(ctx, p.d, true, func(ctx context.Context) Measurement {
		cur, err := p.scrape(ctx, hc, target)
		if err != nil {
			return Measurement{Verdict: Inconclusive, Error: true, Value: math.NaN(), Detail: err.Error()}
		}
		if prev == nil {
			prev = cur
			return Measurement{Verdict: Inconclusive, Error: true, Value: math.NaN(), Detail: fmt.Sprintf("no earlier scrape to compare with (%v)", prevErr)}
		}
		m := p.judge(prev, cur)
		prev = cur
		return m
	})
	if err != nil {
		return out, fmt.Errorf("scrape %s: %w", shown, err)
	}
	out.evidence = "scrape " + shown + ": " + out.evidence
	return out, nil
}

// judge compares two scrapes one interval apart.
func (p *scrapeProbe) judge(prev, cur map[string]series) Measurement {
	if len(cur) == 0 {
		return Measurement{Verdict: Inconclusive, Value: math.NaN(), Detail: fmt.Sprintf("no %s series", p.d.Counter)}
	}
	total, errs, resets := counterDelta(prev, cur)
	note := ""
	if resets > 0 {
		note = fmt.Sprintf(" (%d series reset: counted from zero)", resets)
	}
	if total < p.d.MinRequests {
		return Measurement{Verdict: Inconclusive, Value: math.NaN(),
			Detail: fmt.Sprintf("too few requests: %s < min_requests %s in %s%s", fmtNum(total), fmtNum(p.d.MinRequests), p.d.Interval, note)}
	}
	ratio := errs / total
	saw := fmt.Sprintf("%s{%s=~%q} share %s (%s of %s requests in %s)%s", p.d.Counter, p.d.CodeLabel, p.d.ErrorCodes,
		fmtNum(ratio), fmtNum(errs), fmtNum(total), p.d.Interval, note)
	if ratio > *p.d.MaxErrorRatio {
		return Measurement{Verdict: Fail, Value: ratio, Detail: saw + " > max_error_ratio " + fmtNum(*p.d.MaxErrorRatio)}
	}
	return Measurement{Verdict: Pass, Value: ratio, Detail: saw + " <= max_error_ratio " + fmtNum(*p.d.MaxErrorRatio)}
}

// counterDelta sums what every series gained from prev to cur. A series
// that went down was reset (the restart) and counts from zero, as
// Prometheus's rate() does; a new series counts whole.
func counterDelta(prev, cur map[string]series) (total, errs float64, resets int) {
	for k, c := range cur {
		d := c.value
		if p, ok := prev[k]; ok {
			if c.value >= p.value {
				d = c.value - p.value
			} else {
				resets++
			}
		}
		total += d
		if c.isErr {
			errs += d
		}
	}
	return total, errs, resets
}

// scrape reads the counter's series from the host's /metrics.
func (p *scrapeProbe) scrape(ctx context.Context, hc *http.Client, target string) (map[string]series, error) {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, excerptBytes))
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, excerpt(body, excerptBytes))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(io.LimitReader(resp.Body, scrapeMaxBody))
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	out := map[string]series{}
	fam, ok := fams[p.d.Counter]
	if !ok {
		return out, nil
	}
	for _, m := range fam.GetMetric() {
		var v float64
		switch {
		case m.GetCounter() != nil:
			v = m.GetCounter().GetValue()
		case m.GetUntyped() != nil:
			v = m.GetUntyped().GetValue()
		default:
			return nil, fmt.Errorf("%s is a %s, not a counter", p.d.Counter, fam.GetType())
		}
		var sig []string
		code := ""
		for _, l := range m.GetLabel() {
			sig = append(sig, l.GetName()+"="+l.GetValue())
			if l.GetName() == p.d.CodeLabel {
				code = l.GetValue()
			}
		}
		sort.Strings(sig)
		out[strings.Join(sig, ",")] = series{value: v, isErr: p.codes.MatchString(code)}
	}
	return out, nil
}
