package inventory

// applyDefaults fills optional fields after validation. Sections owned by
// other packages (ssh, pool, checks) apply their own defaults where they are
// used, from the constants beside their types.
func (e *Env) applyDefaults() {
	c := &e.Config
	if c.DeployDir == "" {
		c.DeployDir = DefaultDeployDir
	}
	if c.KeepReleases == 0 {
		c.KeepReleases = DefaultKeepReleases
	}
	if c.Service.Name == "" {
		c.Service.Name = c.App
	}
	if c.Service.StopTimeout == 0 {
		c.Service.StopTimeout = DefaultStopTimeout
	}
	if c.Service.StartTimeout == 0 {
		c.Service.StartTimeout = DefaultStartTimeout
	}
	if c.Service.PortTimeout == 0 {
		c.Service.PortTimeout = DefaultPortTimeout
	}
	if c.Rollout.HealthyDeadline == 0 {
		c.Rollout.HealthyDeadline = DefaultHealthyDeadline
	}
	if c.Rollout.ProgressDeadline == 0 {
		c.Rollout.ProgressDeadline = DefaultProgressDeadline
	}
	if len(c.Rollout.BatchSize) == 0 {
		c.Rollout.BatchSize = BatchSize{{N: 1}}
	}
	c.State = c.State.WithDefaults(c.Pool)
}
