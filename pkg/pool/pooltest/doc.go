// Package pooltest holds what tests of pool backends and of their users
// need: RunConformance, the one suite every pool.Backend must pass (against
// fakes and against the real etcd and HAProxy), and Fake, an in-memory
// Backend for fast unit tests of other packages.
package pooltest
