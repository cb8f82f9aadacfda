package pool

import (
	"errors"
	"fmt"
)

// Errors a Backend or Pool returns, wrapped with the host and the etcd key or
// HAProxy server they concern. Test with errors.Is.
var (
	// ErrBudget: the depool would leave fewer hosts serving than min_pooled.
	ErrBudget = errors.New("depool budget refused")
	// ErrNotPooled: Depool found the host out of the pool already (someone
	// else depooled it, or it is inactive) and left it alone.
	ErrNotPooled = errors.New("host is not pooled")
	// ErrUnknownHost: the pool has no record of the host.
	ErrUnknownHost = errors.New("host not in the pool")
	// ErrMissingKey: the host's etcd key does not exist. It is an ErrUnknownHost.
	ErrMissingKey = fmt.Errorf("%w: etcd key missing", ErrUnknownHost)
	// ErrUnknownServer: HAProxy has no such backend or server. It is an ErrUnknownHost.
	ErrUnknownServer = fmt.Errorf("%w: no such haproxy backend or server", ErrUnknownHost)
	// ErrBadValue: the etcd value is not conftool's JSON, or its pooled or
	// weight field is missing or unknown.
	ErrBadValue = errors.New("bad pool value in etcd")
	// ErrUnreachable: etcd or HAProxy did not answer within the timeout.
	ErrUnreachable = errors.New("pool backend unreachable")
	// ErrChanged: someone else changed the host meanwhile (a lost
	// compare-and-swap, or Repool found a state Depool did not leave);
	// nothing was written.
	ErrChanged = errors.New("changed by someone else")
	// ErrVerify: the load balancer did not show the change within
	// verify_timeout.
	ErrVerify = errors.New("change not seen by the load balancer")
)

// notPooled is Depool's error for a host it leaves alone.
func notPooled(h Host, where string, st State) error {
	return fmt.Errorf("depool %s (%s): %w: found %s, left as it is", h.Name, where, ErrNotPooled, st)
}
