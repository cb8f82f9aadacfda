package deploy

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"
)

// portPollInterval is how often waitPort tries to connect.
const portPollInterval = 50 * time.Millisecond

// waitPort waits until address:port accepts a TCP connection from the
// deploy host, or timeout passes.
func waitPort(ctx context.Context, address string, port int, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	target := net.JoinHostPort(address, strconv.Itoa(port))
	start := time.Now()
	var d net.Dialer
	var last error
	for attempt := 1; ; attempt++ {
		c, err := d.DialContext(ctx, "tcp", target)
		if err == nil {
			c.Close()
			return fmt.Sprintf("%s bound after %s", target, time.Since(start).Round(time.Millisecond)), nil
		}
		last = err
		t := time.NewTimer(portPollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("%s not bound after %s (%d attempts): %v", target, timeout, attempt, last)
		case <-t.C:
		}
	}
}
