package deploy

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/deployctl/deployctl/pkg/gitsrc"
)

// Summary is the run's end in words, for people: what it did, what failed
// and why, and EndedText.
func (res *Result) Summary(verb string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (%s): %s in %s", verb, res.Ref, gitsrc.Short(res.Rev), res.Outcome, res.Duration.Round(time.Millisecond))
	if res.FailedHost != "" {
		fmt.Fprintf(&b, "\n  failed: %s at %s: %s", res.FailedHost, res.FailedStep, res.Reason)
	} else if res.Reason != "" {
		fmt.Fprintf(&b, "\n  reason: %s", res.Reason)
	}
	b.WriteString("\n  " + res.EndedText())
	return b.String()
}

// EndedText says which host ended on which rev, which hosts are out of the
// pool, and why.
func (res *Result) EndedText() string {
	parts := []string{res.nowOn()}
	if len(res.Tolerated) > 0 {
		parts = append(parts, "failed within failure_limit: "+strings.Join(res.Tolerated, " "))
	}
	if len(res.NotReturned) > 0 {
		parts = append(parts, "NOT back on what they ran before: "+strings.Join(res.NotReturned, " "))
	}
	if len(res.Refused) > 0 {
		parts = append(parts, "kept on the new code by the schema guard: "+strings.Join(res.Refused, " "))
		if res.Settled() {
			parts = append(parts, "the fleet is serving, mixed; go forward: roll out a rev at the storage's schema")
		}
	}
	if len(res.LeftDepooled) > 0 {
		parts = append(parts, "NEEDS A PERSON: left depooled: "+strings.Join(res.LeftDepooled, " "))
	}
	if len(res.LeftAlone) > 0 {
		parts = append(parts, "left out of the pool as someone else depooled them: "+strings.Join(res.LeftAlone, " "))
	}
	if res.Panic != "" {
		first, _, _ := strings.Cut(res.Panic, "\n")
		parts = append(parts, "PANIC (a deployctl bug; the stack is in the log): "+first)
	}
	return strings.Join(parts, "\n  ")
}

// nowOn says which changed host runs which rev now.
func (res *Result) nowOn() string {
	if len(res.Ended) == 0 {
		return "no host changed"
	}
	var hosts []string
	for _, h := range slices.Sorted(maps.Keys(res.Ended)) {
		hosts = append(hosts, h+"="+orNone(gitsrc.Short(res.Ended[h])))
	}
	return "hosts changed, now on: " + strings.Join(hosts, " ")
}
