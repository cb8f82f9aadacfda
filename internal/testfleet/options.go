package testfleet

import (
	"strconv"
	"time"
)

// Defaults for Options.
const (
	DefaultHosts    = 3
	DefaultDir      = "/tmp/deployctl-fleet-test"
	DefaultLockFile = "/tmp/deployctl-fleet.lock"
	// DefaultLockWait covers another test binary's whole use of the fleet
	// (the e2e suite is the longest), within make test's 14m timeout.
	DefaultLockWait    = 12 * time.Minute
	DefaultUpTimeout   = 4 * time.Minute // a cold Go build cache makes the first up slow
	DefaultDownTimeout = time.Minute
)

// Options configure the fleet that Main starts. Zero fields take the defaults.
type Options struct {
	Hosts       int           // number of hosts (DefaultHosts)
	Dir         string        // FLEET_DIR (DefaultDir)
	LockFile    string        // flock serializing fleet users (DefaultLockFile)
	LockWait    time.Duration // bound on waiting for the lock (DefaultLockWait)
	UpTimeout   time.Duration // bound on fleet.sh up (DefaultUpTimeout)
	DownTimeout time.Duration // bound on fleet.sh down (DefaultDownTimeout)
	Script      string        // fleet.sh (default: testdata/fleet/fleet.sh of this module)
	Ports       Ports         // zero fields take DefaultPorts
	// ForgivingLB makes HAProxy retry a failed request on another server
	// (FLEET_LB=forgiving: `retries 3`, `option redispatch`). By default it
	// is strict (`retries 0`, no redispatch), like a production LVS/PyBal
	// balancer: a request sent to a stopped server fails, so a rollout that
	// reports no failed requests really drained its hosts.
	ForgivingLB bool
}

// Ports are the loopback ports of one fleet.
type Ports struct {
	SSH        int // every host's sshd, on the host's address
	App        int // every host's app, on the host's address
	LB         int // HAProxy frontend on 127.0.0.1
	LBAPI      int // HAProxy runtime API on 127.0.0.1
	Etcd       int // etcd client port on 127.0.0.1
	EtcdPeer   int // etcd peer port on 127.0.0.1
	Prometheus int // Prometheus on 127.0.0.1
}

// DefaultPorts are the test fleet's ports. They differ from fleet.sh's own
// defaults (2222, 8080, 18080, 19999, 12379, 12380, 19090), which the demo
// fleet of `make fleet-up` uses.
var DefaultPorts = Ports{
	SSH:        2322,
	App:        8180,
	LB:         18180,
	LBAPI:      19199,
	Etcd:       12479,
	EtcdPeer:   12480,
	Prometheus: 19190,
}

func (o Options) withDefaults() Options {
	if o.Hosts <= 0 {
		o.Hosts = DefaultHosts
	}
	if o.Dir == "" {
		o.Dir = DefaultDir
	}
	if o.LockFile == "" {
		o.LockFile = DefaultLockFile
	}
	if o.LockWait <= 0 {
		o.LockWait = DefaultLockWait
	}
	if o.UpTimeout <= 0 {
		o.UpTimeout = DefaultUpTimeout
	}
	if o.DownTimeout <= 0 {
		o.DownTimeout = DefaultDownTimeout
	}
	o.Ports = o.Ports.withDefaults()
	return o
}

func (p Ports) withDefaults() Ports {
	d := DefaultPorts
	for _, f := range []struct{ v, def *int }{
		{&p.SSH, &d.SSH}, {&p.App, &d.App}, {&p.LB, &d.LB}, {&p.LBAPI, &d.LBAPI},
		{&p.Etcd, &d.Etcd}, {&p.EtcdPeer, &d.EtcdPeer}, {&p.Prometheus, &d.Prometheus},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return p
}

// env is the environment fleet.sh reads these options from.
func (o Options) env() []string {
	return []string{
		"FLEET_DIR=" + o.Dir,
		"SSH_PORT=" + strconv.Itoa(o.Ports.SSH),
		"APP_PORT=" + strconv.Itoa(o.Ports.App),
		"LB_PORT=" + strconv.Itoa(o.Ports.LB),
		"LB_API_PORT=" + strconv.Itoa(o.Ports.LBAPI),
		"ETCD_PORT=" + strconv.Itoa(o.Ports.Etcd),
		"ETCD_PEER_PORT=" + strconv.Itoa(o.Ports.EtcdPeer),
		"PROM_PORT=" + strconv.Itoa(o.Ports.Prometheus),
		"FLEET_LB=" + o.lbMode(),
	}
}

// LB modes of fleet.sh (FLEET_LB), as Fleet.LBMode reports them.
const (
	LBStrict    = "strict"
	LBForgiving = "forgiving"
)

func (o Options) lbMode() string {
	if o.ForgivingLB {
		return LBForgiving
	}
	return LBStrict
}
