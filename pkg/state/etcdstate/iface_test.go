package etcdstate_test

import (
	"github.com/deployctl/deployctl/deploy"
	"github.com/deployctl/deployctl/pkg/state/etcdstate"
)

// The etcd store is a deploy.StateStore (etcdstate does not import deploy).
var _ deploy.StateStore = (*etcdstate.Store)(nil)
